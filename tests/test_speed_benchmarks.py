"""The speed benchmark scripts on tiny models: what they report about the reference (a CLS-only last layer,
measured), the thread count they fix before timing, and the wait for a quiet machine. No timing is asserted."""
from __future__ import annotations

import argparse
import json

import pytest
import torch

from benchmarks import common, text_speed, vision_speed
from pipelines import timing
from conftest import make_bert, make_tokenizer
from pruning_core import loop
from pruning_core.text import PrunedTextClassifier
from test_vision_pipelines import full_last_layer
from vision_helpers import make_vit


@pytest.fixture
def quiet(monkeypatch):
    """A quiet machine at once, noting the thread count in force when the wait was asked; threads put back."""
    threads_when_waiting = []
    monkeypatch.setattr(timing, "wait_for_quiet", lambda **_: threads_when_waiting.append(torch.get_num_threads()) or 3.0)
    threads = torch.get_num_threads()
    yield threads_when_waiting
    torch.set_num_threads(threads)


def tiny_text_models() -> tuple[PrunedTextClassifier, torch.nn.Module]:
    return PrunedTextClassifier(make_bert(num_layers=3), make_tokenizer()), make_bert(num_layers=3)


def run_json(main, argv: list[str], capsys) -> dict:
    main(argv)
    return json.loads(capsys.readouterr().out)


def test_text_benchmark_fixes_threads_waits_for_quiet_and_measures_a_cls_only_reference(monkeypatch, quiet, capsys):
    monkeypatch.setattr(text_speed, "packaged_models", tiny_text_models)
    results = run_json(text_speed.main, ["--json", "--rounds", "1", "--seq-len", "16", "--threads", "1"], capsys)
    assert quiet == [1], "threads fixed first, then the wait for a quiet machine"
    assert results["threads"] == 1 and results["cpu_busy_percent"] == 3.0
    assert results["last_layer_cls_only"] is True and results["padding_percent"] == 0.0
    assert {"throughput_b32_transformers", "latency_b1_ms_transformers"} <= set(results), "the reference row stays"

    monkeypatch.setattr(loop, "_cls_step", full_last_layer)   # the loop as it was: every row in the last layer
    assert run_json(text_speed.main, ["--json", "--rounds", "1", "--seq-len", "16", "--threads", "1"],
                    capsys)["last_layer_cls_only"] is False, "measured, not hard-coded"


def test_text_benchmark_table_says_what_the_speed_ups_are_against(monkeypatch, quiet, capsys):
    monkeypatch.setattr(text_speed, "packaged_models", tiny_text_models)
    text_speed.main(["--rounds", "1", "--seq-len", "16", "--threads", "1"])
    header = capsys.readouterr().out.splitlines()[0]
    assert "16 real tokens per text (no padding), 1 threads" in header
    assert "against our unpruned loop with a CLS-only last layer" in header


def test_vision_benchmark_fixes_threads_and_measures_a_cls_only_reference(monkeypatch, quiet, capsys, tmp_path):
    folder = make_vit(num_layers=2).save(tmp_path / "vit")
    argv = ["--json", "--rounds", "1", "--batch", "2", "--threads", "1", "--model", str(folder)]
    results = run_json(vision_speed.main, argv, capsys)
    assert quiet == [1] and results["threads"] == 1 and results["cpu_busy_percent"] == 3.0
    assert results["last_layer_cls_only"] is True

    monkeypatch.setattr(loop, "_cls_step", full_last_layer)
    assert run_json(vision_speed.main, argv, capsys)["last_layer_cls_only"] is False, "measured, not hard-coded"


def test_threads_default_to_the_machines_cores_and_must_be_positive():
    parser = argparse.ArgumentParser()
    common.add_output_options(parser)
    assert parser.parse_args([]).threads == common.machine_cores() >= 1
    with pytest.raises(ValueError, match="threads.*0"):
        timing.settle(0)


def test_the_reference_note_follows_the_measurement():
    assert "CLS-only last layer" in common.reference_note({"last_layer_cls_only": True})
    assert "computed every row" in common.reference_note({"last_layer_cls_only": False})
