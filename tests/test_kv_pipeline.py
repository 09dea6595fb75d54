"""The KV-cache benchmark (pipelines/kv.py) end to end on the tiny random Llama and made-up data, its store
(pruning_core/storage/kv.py), its statistics (pruning_core/analysis/kv.py) and its docs block
(pipelines/kv_results.py)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from kv_helpers import make_lm
from pipeline_data import make_data_dir
from pipelines import kv, kv_results, results
from pruning_core.analysis import kv as kv_analysis
from pruning_core.analysis.linguistics import Annotation, FrequencyBands
from pruning_core.generation import tokens_kept
from pruning_core.runtime import cpu_name
from pruning_core.storage import kv as kv_store

PRESSES = ("streaming", "snapkv", "snapkv:kernel=1", "pyramid")   # two SnapKVs: rows are keyed by label
BUDGETS = (0.25, 0.5)
STOPWORDS = {"the", "a", "and", "of", "to", "in", "is", "was", "it", "this"}


def whitespace_annotator(texts):
    """Whitespace words, stopwords tagged DET and the rest NOUN: no spaCy model needed."""
    for text in texts:
        matches = list(re.finditer(r"\S+", text))
        words = [m.group().lower() for m in matches]
        yield Annotation(np.array([m.start() for m in matches], dtype=np.int64),
                         np.array([m.end() for m in matches], dtype=np.int64), words,
                         ["DET" if w in STOPWORDS else "NOUN" for w in words], ["none"] * len(words),
                         [w in STOPWORDS for w in words], [w == "." for w in words])


def tiny_options(**changes) -> kv.KVOptions:
    settings = dict(imdb=6, needles=2, depths=3, haystack_tokens=60, budgets=BUDGETS, presses=PRESSES,
                    timing_contexts=(48,), repeats=1, decode_tokens=3, token_sample=2, threads=1, quiet_wait=0.0)
    return kv.kv_options("quick", **{**settings, **changes})


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("kv")
    data_dir, db = make_data_dir(root / "data"), root / "lens.duckdb"
    options = tiny_options()
    sweep_id = kv.run(options, db, str(data_dir), lm=make_lm(), annotate=whitespace_annotator, progress=False)
    return {"db": db, "data_dir": data_dir, "options": options, "sweep_id": sweep_id}


def test_the_pipeline_writes_every_table_with_each_row_on_the_sweeps_examples(swept):
    db, options = swept["db"], swept["options"]
    assert kv_store.latest_kv_sweep("quick", db) == swept["sweep_id"] and kv_store.latest_kv_sweep("cpu", db) is None
    sweep = kv_store.kv_sweep(db=db)
    assert sweep["config"]["finished"] == ["imdb", "needle", "timing"] and "stopped" not in sweep["config"]
    assert sweep["config"]["cpu"] == cpu_name() and sweep["model"] == "tiny-llama"
    rows = kv_store.kv_results(db=db)
    settings = 1 + len(PRESSES) * len(BUDGETS)
    assert rows.groupby("task").size().to_dict() == {"imdb": settings, "needle": settings}
    assert set(zip(rows["press"], rows["budget"])) == {("full", 1.0)} | {(p, b) for p in PRESSES for b in BUDGETS}
    imdb, needle = rows[rows["task"] == "imdb"], rows[rows["task"] == "needle"]
    assert len(sweep["imdb_ids"]) == options.imdb and len(sweep["needle_ids"]) == options.needles * options.depths
    assert all(list(ids) == list(sweep["imdb_ids"]) for ids in imdb["example_ids"]), "one example order per task"
    assert all(list(ids) == list(sweep["needle_ids"]) for ids in needle["example_ids"])
    assert all(list(depths) == [0.0, 0.5, 1.0] * options.needles for depths in needle["depths"])
    for _, row in rows.iterrows():
        assert row["n"] == len(row["correct"]) == len(row["agrees"]) == len(row["kl"])
        assert row["accuracy"] == pytest.approx(np.mean(row["correct"]))
        assert row["agreement"] == pytest.approx(np.mean(row["agrees"])) and row["kl_mean"] >= 0
    full = rows[rows["press"] == "full"]
    assert full["agreement"].tolist() == [1.0, 1.0] and full["kl_mean"].tolist() == [0.0, 0.0]
    assert (imdb[imdb["press"] != "full"]["kl_mean"] > 0).all(), "a pressed cache moves the first token's distribution"


def test_timings_hold_every_setting_beside_the_full_cache_at_each_context(swept):
    timings = kv_store.kv_timings(db=swept["db"])
    assert len(timings) == 1 + len(PRESSES) * len(BUDGETS) and set(timings["context_tokens"]) == {48}
    full = timings[timings["press"] == "full"].iloc[0]
    assert (timings["full_decode_ms"] == full["decode_ms"]).all() and (timings["decode_ms"] > 0).all()
    pressed = timings[timings["press"] != "full"]
    assert (pressed["cache_mb"] < full["cache_mb"]).all(), "a pressed cache holds less than the full one"


def test_the_byte_ceiling_compares_weights_plus_full_cache_with_weights_plus_pressed(swept):
    weights_mb = kv_store.kv_sweep(db=swept["db"])["config"]["weights_mb"]
    assert weights_mb == pytest.approx(make_lm().weight_bytes / 1e6)
    timed = kv_analysis.speedups(kv_store.kv_timings(db=swept["db"]), weights_mb)
    full = timed[timed["press"] == "full"].iloc[0]
    pressed = timed[timed["press"] != "full"]
    assert full["ceiling"] == pytest.approx(1.0)
    expected = (weights_mb + full["cache_mb"]) / (weights_mb + pressed["cache_mb"])
    assert np.allclose(pressed["ceiling"], expected) and (pressed["ceiling"] > 1).all()
    assert "ceiling" not in kv_analysis.speedups(kv_store.kv_timings(db=swept["db"])).columns


def test_kept_tokens_and_their_retention_by_category(swept):
    tokens = kv_store.kv_tokens(db=swept["db"])
    sample = kv_store.kv_sweep(db=swept["db"])["imdb_ids"][:2]
    assert sorted(tokens["example_id"].unique()) == sorted(sample) and set(tokens["press"]) == set(PRESSES)
    assert set(tokens["budget"]) == {0.25} and tokens["kept_share"].between(0, 1).all()
    for (example_id, press), group in tokens.groupby(["example_id", "press"]):
        assert group["position"].tolist() == list(range(len(group)))
        if press != "pyramid":   # every layer keeps the budget: each (layer, head) cache a quarter of the context
            kept = tokens_kept(0.25, len(group))
            assert group["kept_share"].sum() == pytest.approx(kept)
        assert group["layers_kept"].between(0, 2).all()
        if press == "streaming":   # its sinks stay in every layer
            assert group["layers_kept"].iloc[0] == 2
    retention = kv_store.kv_retention(db=swept["db"])
    assert set(retention["facet"]) == {"pos", "entity", "stopword", "punctuation", "frequency"}
    for (press, facet), group in retention.groupby(["press", "facet"]):
        words = tokens[(tokens["press"] == press) & (tokens["char_end"] > 0)]
        assert group["total"].sum() == len(words), "each token in the text counted once per facet"
        assert group["kept"].sum() == pytest.approx(words["kept_share"].sum())
    assert set(retention.loc[retention["facet"] == "pos", "category"]) <= {"DET", "NOUN"}


def test_tokens_outside_the_text_are_left_out_of_the_categories():
    annotation = next(whitespace_annotator(["the plot was great"]))
    spans = [(0, 0), (0, 3), (4, 8), (0, 0), (9, 12), (13, 18)]      # template tokens have no span
    frame = kv_analysis.token_categories(["the plot was great"], [spans], [annotation],
                                         FrequencyBands.from_texts(["the plot"]))[0]
    assert frame["position"].tolist() == [1, 2, 4, 5]
    assert frame["pos"].tolist() == ["DET", "NOUN", "DET", "NOUN"]
    assert frame["frequency"].tolist() == ["top 100", "top 100", "unseen", "unseen"]


def test_an_interrupted_run_keeps_the_finished_task(tmp_path, monkeypatch):
    data_dir, db = make_data_dir(tmp_path / "data"), tmp_path / "lens.duckdb"

    def broken(*args, **kwargs):
        raise RuntimeError("the machine went away")

    monkeypatch.setattr(kv, "needle_prompt", broken)
    with pytest.raises(RuntimeError, match="went away"):
        kv.run(tiny_options(imdb=4, token_sample=1), db, str(data_dir), lm=make_lm(), annotate=whitespace_annotator,
               progress=False)
    config = kv_store.kv_sweep(db=db)["config"]
    assert config["finished"] == ["imdb"] and config["stopped"]["task"] == "needle"
    assert "went away" in config["stopped"]["error"]
    stored = kv_store.kv_results(db=db)
    assert set(stored["task"]) == {"imdb"} and len(stored) == 1 + len(PRESSES) * len(BUDGETS)
    assert len(kv_store.kv_tokens(db=db)) and len(kv_store.kv_retention(db=db))
    assert kv_store.kv_timings(db=db).empty
    block = kv_results.kv_block(db, "quick")
    assert "It stopped in the needle part" in block and "IMDb zero-shot sentiment" in block
    assert "AG News needle" not in block and "Decode speed" not in block


def hand_built(accuracies: dict[tuple[str, float], list[int]], task: str = "imdb",
               ids: list[int] | None = None) -> pd.DataFrame:
    """kv_results rows from each setting's per-example correctness, every row on the same example ids."""
    rows = []
    for (press, budget), correct in accuracies.items():
        example_ids = ids or list(range(100, 100 + len(correct)))
        rows.append({"task": task, "press": press, "budget": budget, "n": len(correct),
                     "accuracy": float(np.mean(correct)), "agreement": 1.0, "kl_mean": 0.0,
                     "example_ids": example_ids, "correct": [bool(c) for c in correct], "depths": None})
    return pd.DataFrame(rows)


def with_cell(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    """A copy of the frame with one list-valued cell replaced."""
    return frame.assign(**{column: [list(value) if number == row else cell
                                    for number, cell in enumerate(frame[column])]})


def _correct(hits: int, n: int = 200) -> list[int]:
    return [1] * hits + [0] * (n - hits)


def test_the_smallest_budget_within_a_point_is_named_on_a_hand_built_sweep():
    frame = hand_built({("full", 1.0): _correct(160),                    # 0.800
                        ("h2o", 0.1): _correct(140), ("h2o", 0.25): _correct(159), ("h2o", 0.5): _correct(160),
                        ("snapkv", 0.1): _correct(158), ("snapkv", 0.25): _correct(150),   # 0.79: exactly a point
                        ("tova", 0.1): _correct(100), ("tova", 0.5): _correct(157)})     # 0.785: beyond
    table = kv_analysis.paired_table(frame, "imdb")
    assert table["press"].tolist() == ["full", "h2o", "h2o", "h2o", "snapkv", "snapkv", "tova", "tova"]
    smallest = kv_analysis.smallest_within(table)
    assert smallest == {"h2o": 0.25, "snapkv": 0.1, "tova": None}
    assert kv_analysis.first_within(table, smallest) == ["snapkv", "h2o"]
    line = kv_results.within_line(table, "imdb")
    assert "`h2o` 25%; `snapkv` 10%; `tova` none of its budgets" in line
    assert "`snapkv` gets there at ≤ 25% of the cache first (10%), then `h2o` (25%)" in line
    assert "over the task's 7 comparisons" in line


def test_pairing_is_by_example_id_and_the_holm_interval_is_wider():
    rng = np.random.default_rng(0)
    full, pressed = rng.random(120) < 0.8, rng.random(120) < 0.6
    frame = hand_built({("full", 1.0): full, ("h2o", 0.25): pressed, ("snapkv", 0.25): full})
    table = kv_analysis.paired_table(frame, "imdb")
    order = rng.permutation(120)                 # the same outcomes stored in another order, their ids with them
    shuffled = with_cell(with_cell(frame, 1, "example_ids", np.asarray(frame.at[1, "example_ids"])[order]), 1,
                         "correct", np.asarray(frame.at[1, "correct"])[order])
    pd.testing.assert_frame_equal(kv_analysis.paired_table(shuffled, "imdb"), table)
    h2o = table.iloc[1]
    assert h2o["points"] == pytest.approx(100 * (pressed.mean() - full.mean()))
    assert h2o["corrected_low"] <= h2o["low"] and h2o["high"] <= h2o["corrected_high"]
    assert h2o["corrected_confidence"] > 0.95
    unpaired = with_cell(frame, 1, "correct", np.asarray(frame.at[1, "correct"])[order])   # ids not moved with them
    assert kv_analysis.paired_table(unpaired, "imdb").iloc[1]["points"] == pytest.approx(h2o["points"])
    assert kv_analysis.paired_table(unpaired, "imdb").iloc[1]["low"] != pytest.approx(h2o["low"])
    other = with_cell(frame, 2, "example_ids", list(range(1, 121)))
    with pytest.raises(ValueError, match="snapkv at 0.25 and the full cache hold different examples"):
        kv_analysis.paired_table(other, "imdb")


def test_the_block_renders_from_the_database_and_results_writes_it(swept, tmp_path):
    block = kv_results.kv_block(swept["db"], "quick")
    assert swept["sweep_id"] in block and cpu_name() in block and "1 thread." in block
    for text in ("IMDb zero-shot sentiment", "AG News needle", "Needle exact match by depth", "Decode speed",
                 "byte ceiling", "Byte ceiling: the speed-up if a token cost only reading the weights (",
                 "| full cache | 100% |", "| `snapkv` | 25% |", "Smallest budget within 1 point", "48 tokens"):
        assert text in block, text
    depth_header = next(line for line in block.splitlines() if line.startswith("| press | 0% "))
    assert depth_header == "| press | 0% | 50% | 100% |"
    assert kv_results.kv_block(swept["db"], "cpu").startswith("_No `cpu` KV-cache benchmark yet")
    doc = tmp_path / "results.md"
    doc.write_text("".join(f"{start}\nold\n{end}\n" for start, end in results.RESULT_BLOCKS.values()))
    results.main(["--db", str(swept["db"]), "--profile", "quick", "--write", str(doc)])
    assert block in doc.read_text()


@pytest.mark.parametrize("changes, named", [
    ({"imdb": -1}, "imdb"), ({"depths": 0}, "depths"), ({"budgets": (0.25, 1.5)}, "budgets"),
    ({"budgets": ()}, "budgets"), ({"presses": ("full",)}, "presses"), ({"presses": ("snapkv", "nope")}, "presses"),
    ({"presses": ("snapkv:kernel",)}, "setting=number"), ({"presses": ("snapkv:width=3",)}, "width"),
    ({"timing_contexts": (8,)}, "timing-contexts"), ({"repeats": 0}, "repeats"), ({"warp": 2}, "warp")])
def test_bad_options_are_refused_naming_them(changes, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        tiny_options(**changes)


def test_bad_profiles_contexts_and_command_lines_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="profile must be one of quick, cpu, got 'gpu'"):
        kv.kv_options("gpu")
    with pytest.raises(ValueError, match="timing-contexts must stay below the model's 512 positions, got 600"):
        kv.run(tiny_options(imdb=0, needles=0, timing_contexts=(600,)), tmp_path / "lens.duckdb", lm=make_lm())
    with pytest.raises(SystemExit):
        kv.main(["--budgets", "0.1,2", "--db", str(tmp_path / "lens.duckdb")])
    assert "budgets must be distinct shares strictly between 0 and 1, got [0.1, 2.0]" in capsys.readouterr().err
    assert not (tmp_path / "lens.duckdb").exists(), "nothing written for refused options"


def test_kept_by_kind_weighs_each_category_by_its_tokens_and_reads_the_template_apart():
    retention = pd.DataFrame({
        "press": ["h2o"] * 4, "budget": [0.25] * 4, "facet": ["pos", "pos", "pos", "stopword"],
        "category": ["NOUN", "NOUN", "PUNCT", "stopword"], "total": [4, 6, 5, 10], "kept": [1.0, 4.0, 0.0, 2.5]})
    tokens = pd.DataFrame({"press": ["h2o"] * 3, "budget": [0.25] * 3, "char_end": [0, 0, 7],
                           "kept_share": [1.0, 0.5, 0.0]})
    table = kv_analysis.kept_by_kind(retention, tokens)
    assert table.loc["h2o", "NOUN"] == pytest.approx(0.5)          # 5 kept of 10, not the mean of 0.25 and 0.67
    assert table.loc["h2o", "PUNCT"] == 0.0 and table.loc["h2o", "stopwords"] == pytest.approx(0.25)
    assert table.loc["h2o", "chat template"] == pytest.approx(0.75)   # the two tokens outside the review only


def test_the_block_says_what_each_press_keeps(swept):
    block = kv_results.kv_block(swept["db"], "quick")
    assert "**What each press keeps** at 25% of the cache" in block
    section = block.split("**What each press keeps**")[1].split("**Decode speed**")[0]
    assert all(f"| `{press}` |" in section for press in PRESSES)
