"""The batched decode benchmark (benchmarks/kv_batch_speed.py) on the tiny random Llama: each sequence of a batch
decodes what it would alone, the cache grows with the batch, the byte ceiling follows the formula."""
from __future__ import annotations

import pytest
import torch

from benchmarks import kv_batch_speed
from kv_helpers import REVIEW, make_lm
from pruning_core.analysis.kv import FULL
from pruning_core.generation import answer, prefill, press_cache, press_from_label
from pruning_core.generation.trace import MEGABYTE


@pytest.fixture(scope="module")
def lm():
    return make_lm()


def test_each_sequence_of_a_batch_decodes_what_one_sequence_alone_does(lm):
    prompt = lm.prompt(REVIEW, "is it good ?")
    pressed = press_cache(prefill(lm, prompt), press_from_label("snapkv"), 0.5)
    alone, _, _, _ = answer(lm, pressed, prompt, None, 5, stop_at_eos=False)
    ids, ms = kv_batch_speed.decode_batch(lm, kv_batch_speed.batched(pressed, 3), prompt, 5)
    assert ids.tolist() == [alone] * 3 and ms > 0
    broken = kv_batch_speed.batched(pressed, 3)
    broken.keys[0][1] = torch.randn_like(broken.keys[0][1])   # one sequence's cache differs: the others do not notice
    changed, _ = kv_batch_speed.decode_batch(lm, broken, prompt, 5)
    assert changed[0].tolist() == alone and changed[2].tolist() == alone


def test_rows_hold_each_batch_with_the_full_cache_first_and_the_ceiling_of_the_batchs_bytes(lm):
    prompt = lm.prompt(REVIEW, "is it good ?")
    rows = kv_batch_speed.measure(lm, prompt, ["streaming"], 0.25, [1, 2], rounds=1, tokens=3, progress=False)
    assert [(row["batch"], row["press"]) for row in rows] == [(1, FULL), (1, "streaming"), (2, FULL), (2, "streaming")]
    weights = lm.weight_bytes / MEGABYTE
    for full, pressed in (rows[0:2], rows[2:4]):
        assert full["speedup"] == pytest.approx(1.0) and full["ceiling"] == pytest.approx(1.0)
        assert pressed["cache_mb"] < full["cache_mb"]
        assert pressed["ceiling"] == pytest.approx((weights + full["cache_mb"]) / (weights + pressed["cache_mb"]))
    assert rows[2]["cache_mb"] == pytest.approx(2 * rows[0]["cache_mb"]), "two sequences hold two caches"
    table = kv_batch_speed.markdown_table(rows, 48, prompt.length, 3, 1, weights)
    assert table.count("\n| 2 |") == 2 and "| full cache | 100% |" in table


def test_bad_arguments_are_refused_naming_them(capsys):
    for argv, named in ((["--batches", "0,4"], "--batches"), (["--budget", "1.5"], "--budget"),
                        (["--presses", "snapkv:kernel"], "--presses")):
        with pytest.raises(SystemExit):
            kv_batch_speed.main(argv)
        assert named in capsys.readouterr().err
