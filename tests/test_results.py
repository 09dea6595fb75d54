"""The README's text results block from a made-up benchmark sweep whose answers are known."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from pipelines import results
from pruning_core import storage as store
from pruning_core.metrics import paired_bootstrap

N = 1000
LABELS = np.arange(N) % 2
# setting: (method, examples wrong, throughput at batch 32); the control is wrong on 100 of 1,000
SETTINGS = {"unpruned": ("none", 120, 101.0), "control": ("none", 100, 100.0), "ltp-x1.0": ("ltp", 105, 150.0),
            "ltp-x1.5": ("ltp", 107, 200.0), "ltp-x2.0": ("ltp", 112, 300.0), "topk-0.3": ("topk", 150, 250.0),
            "topk_trained-0.1": ("topk", 110, 180.0), "ts_dtp": ("ts_dtp", 103, 160.0)}
LINE = re.compile(r"^(\w+): fastest within 1 point of the equally trained unpruned model \((\d\.\d{4}), "
                  r"n = ([\d,]+)\): (\S+), (\d\.\d{4}) \(([+-]\d+\.\d) points, 95% CI \[(-?\d+\.\d), "
                  r"(-?\d+\.\d)\]\) at (\d+\.\d\d)× its throughput\.$")


def predictions(wrong: int, offset: int) -> np.ndarray:
    """Right except on `wrong` consecutive examples from offset (so pairs differ example by example)."""
    correct = np.ones(N, dtype=bool)
    correct[offset:offset + wrong] = False
    return np.where(correct, LABELS, 1 - LABELS)


def sweep_rows(settings: dict = SETTINGS) -> pd.DataFrame:
    rows = []
    for number, (setting, (method, wrong, throughput)) in enumerate(settings.items()):
        kept = [100.0, 60.0, 30.0] if method != "none" else [120.0] * 3
        rows.append({"setting": setting, "method": method, "n_examples": N, "accuracy": 1 - wrong / N,
                     "macro_f1": 1 - wrong / N - 0.001, "mean_kept": kept, "keep_fraction": [k / 120 for k in kept],
                     "flops": 1e9 / throughput, "throughput_b32": throughput, "speedup_b32": throughput / 101.0,
                     "predictions": predictions(wrong, 20 * number).tolist()})
    return pd.DataFrame(rows)


def write_sweep(db, rows: pd.DataFrame, bench_id: str = "imdb-1", config: dict | None = None,
                dataset: str = "imdb") -> None:
    store.write_benchmark({"bench_id": bench_id, "dataset": dataset, "profile": "cpu", "labels": LABELS.tolist(),
                           "config": json.dumps(config or {})}, rows, db)


def correct(setting: str) -> np.ndarray:
    number = list(SETTINGS).index(setting)
    return predictions(SETTINGS[setting][1], 20 * number) == LABELS


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "lens.duckdb"
    write_sweep(path, sweep_rows())
    return path


def test_the_fastest_setting_within_one_point_of_the_control_is_named_with_its_paired_interval(db):
    line = results.fastest_within_control_note(store.benchmarks("imdb", profile="cpu", db=db))
    match = LINE.match(line)
    assert match, line
    dataset, control, n, setting, accuracy, points, low, high, speed = match.groups()
    # ltp-x2.0 (1.2 points below) and topk-0.3 are faster but excluded; ltp-x1.5 beats topk_trained-0.1 (180)
    assert (dataset, control, n, setting, accuracy, speed) == ("imdb", "0.9000", "1,000", "ltp-x1.5", "0.8930", "2.00")
    assert points == "-0.7" and float(low) <= -0.7 <= float(high)
    difference, low_, high_ = paired_bootstrap(correct("ltp-x1.5"), correct("control"))
    assert line == (f"imdb: fastest within 1 point of the equally trained unpruned model (0.9000, n = 1,000): "
                    f"ltp-x1.5, 0.8930 ({100 * difference:+.1f} points, 95% CI [{100 * low_:.1f}, "
                    f"{100 * high_:.1f}]) at 2.00× its throughput.")


def test_exactly_one_point_below_still_counts_and_without_any_the_line_says_so(tmp_path):
    db = tmp_path / "lens.duckdb"
    exact = {k: v for k, v in SETTINGS.items() if k in ("unpruned", "control", "topk_trained-0.1", "ltp-x2.0")}
    write_sweep(db, sweep_rows(exact))
    assert LINE.match(results.fastest_within_control_note(store.benchmarks("imdb", db=db))).group(4) == \
        "topk_trained-0.1"
    below = {k: v for k, v in SETTINGS.items() if k in ("unpruned", "control", "ltp-x2.0", "topk-0.3")}
    write_sweep(db, sweep_rows(below))
    assert results.fastest_within_control_note(store.benchmarks("imdb", db=db)) == (
        "imdb: no pruned setting stays within 1 point of the equally trained unpruned model (0.9000, n = 1,000).")


def test_the_table_has_one_line_per_trained_model_against_the_control(db):
    sections = results.results_sections(db, profile="cpu")
    assert list(sections) == ["imdb"], "a section per dataset with a sweep"
    assert results.results_table(db, profile="cpu") == f"<!-- section: imdb -->\n{sections['imdb']}"
    lines = sections["imdb"].splitlines()
    assert lines[:2] == ["**imdb**", ""]
    assert lines[2].startswith("| dataset | model | test examples") and "95% CI" in lines[2]
    rows = {line.split(" | ")[1]: line.strip("|").split(" | ") for line in lines[4:] if line.startswith("| imdb")}
    assert list(rows) == list(results.TRAINED_SETTINGS), "ltp-x1.5, ltp-x2.0 and topk-0.3 are no trained models"
    control, ltp = rows["unpruned, equally trained"], rows["LTP"]
    assert control[2:5] == ["1,000", "0.9000", "0.8990"] and control[5] == "" and control[7].strip() == "1.00×"
    assert ltp[6] == "120 → 100 → 60" and ltp[7].strip() == "1.50×", "alive on entry to each layer: input, 2, 3"
    difference, low, high = paired_bootstrap(correct("ltp-x1.0"), correct("control"))
    assert ltp[5] == f"{100 * difference:+.1f} [{100 * low:.1f}, {100 * high:.1f}]" and ltp[5].startswith("-0.5 [")
    assert rows["baseline (1 epoch, no pruning)"][5].startswith("-2.0 [")
    assert any(LINE.match(line) for line in lines) and any(line.startswith("- imdb") for line in lines)


def test_the_sweep_config_names_the_trained_models(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_sweep(db, sweep_rows(), config={"trained_settings": {"unpruned, equally trained": "control",
                                                               "LTP, wider thresholds": "ltp-x1.5"}})
    models = [line.split(" | ")[1] for line in results.results_table(db).splitlines() if line.startswith("| imdb |")]
    assert models == ["unpruned, equally trained", "LTP, wider thresholds"]


def test_a_sweep_without_a_control_or_predictions_says_so_instead_of_failing(tmp_path):
    db = tmp_path / "lens.duckdb"
    old = sweep_rows({k: v for k, v in SETTINGS.items() if k in ("unpruned", "ltp-x1.0", "ltp-x2.0")})
    write_sweep(db, old.drop(columns="predictions"), bench_id="imdb-old")
    table = results.results_table(db)
    assert "| imdb | LTP | 1,000 | 0.8950 | 0.8940 |  | 120 → 100 → 60 |  |" in table
    assert "imdb: the latest sweep (`imdb-old`) has no equally trained unpruned model" in table
    assert "imdb: This sweep does not record how its timed batches were formed" in table
    assert ("imdb: accuracy by length needs every example's prediction and length, which the sweep `imdb-old` did "
            "not store; rerun the benchmark.") in table
    assert "No `quick` text benchmark" in results.results_table(db, profile="quick")


def test_ts_dtp_against_ltp_at_equal_speed_has_a_paired_interval(db):
    note = results.equal_speed_note(store.benchmarks("imdb", db=db))
    # TS-DTP at 160/101 lies between ltp-x1.0 (150) and ltp-x1.5 (200); its nearest is ltp-x1.0
    difference, low, high = paired_bootstrap(correct("ts_dtp"), correct("ltp-x1.0"))
    assert note.startswith("- imdb, 1,000 test examples: TS-DTP 0.8970 at 1.58×; LTP at the same speed-up")
    assert note.endswith(f"against LTP's nearest setting, ltp-x1.0 at 1.49×, {100 * difference:+.1f} points, "
                         f"95% CI [{100 * low:.1f}, {100 * high:.1f}].")


def test_the_length_note_sets_the_whole_text_against_its_first_tokens(tmp_path):
    """control-256 is an unpruned reading: it is never the 'fastest pruned setting', and the note compares it."""
    settings = {**SETTINGS, "control-256": ("none", 106, 400.0)}
    path = tmp_path / "lens.duckdb"
    write_sweep(path, sweep_rows(settings))
    sweep = store.benchmarks("imdb", db=path)
    assert "ltp-x1.5," in results.fastest_within_control_note(sweep)
    note = results.length_note(sweep)
    assert note.startswith("- imdb, the whole text against its first 256 tokens: the equally trained unpruned "
                           "model reading only 256 tokens scores 0.8940 (-0.6 points")
    assert "at 4.00× its throughput; ltp-x1.5, reading the whole text with pruning, scores -0.1 points" in note
    assert note.endswith("at 0.50× its throughput.")
    assert results.length_note(store.benchmarks("imdb", db=tmp_path / "none.duckdb")) is None


# --- sweeps timed against the strongest unpruned path (example ids, lengths, ltp-x0, transformers) -------------

# 300 texts under 128 tokens, 400 of 128–255, 300 of 256–399, none of 400 or more
LENGTHS = [100] * 300 + [200] * 400 + [300] * 300
HONEST = {"batching": "length-sorted batches of 32", "padding_share": 0.0031, "last_layer_cls_only": True,
          "reference": "control", "threads": 2}


def honest_rows(settings: dict) -> pd.DataFrame:
    """sweep_rows with every row's example ids and LTP's thresholds (all 0 for ltp-x0); the transformers row has the
    control's weights, so its predictions."""
    rows = sweep_rows(settings)
    scale = {name: float(name[len("ltp-x"):]) for name in settings if name.startswith("ltp-x")}
    rows["thresholds"] = [[0.01 * scale[name], 0.02 * scale[name]] if name in scale else None
                          for name in rows["setting"]]
    rows["example_ids"] = [list(range(5000, 5000 + N))] * len(rows)
    if "transformers" in settings:
        control = rows.index[rows["setting"] == "control"][0]
        rows.loc[rows["setting"] == "transformers", "predictions"] = pd.Series([rows.at[control, "predictions"]],
                                                                               index=[rows.index[-1]])
    return rows


def write_honest(db, settings: dict) -> pd.DataFrame:
    store.write_benchmark({"bench_id": "imdb-honest", "dataset": "imdb", "profile": "cpu", "labels": LABELS.tolist(),
                           "lengths": LENGTHS, "config": json.dumps(HONEST)}, honest_rows(settings), db)
    return store.benchmarks("imdb", profile="cpu", db=db)


HONEST_SETTINGS = {**SETTINGS, "ltp-x0": ("ltp", 101, 95.0), "transformers": ("none", 100, 40.0)}


def test_the_table_shows_ltp_unpruned_before_ltp_and_speed_ups_against_the_reference(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_honest(db, HONEST_SETTINGS)
    lines = results.results_sections(db)["imdb"].splitlines()
    assert "what the classifier read" in lines[2] and "vs the strongest unpruned path" in lines[2]
    rows = {line.split(" | ")[1]: line.strip("|").split(" | ") for line in lines[4:] if line.startswith("| imdb")}
    assert list(rows) == ["baseline (1 epoch, no pruning)", "unpruned, equally trained",
                          "LTP's weights, nothing pruned", "LTP", "top-k, trained with pruning", "TS-DTP"]
    assert "transformers" not in " ".join(rows), "a printed reference, not a model of the table"
    unpruned_ltp = rows["LTP's weights, nothing pruned"]
    assert unpruned_ltp[3] == "0.8990" and unpruned_ltp[5].startswith("-0.1 [") and unpruned_ltp[7].strip() == "0.95×"
    assert rows["LTP"][7].strip() == "1.50×" and rows["unpruned, equally trained"][7].strip() == "1.00×"


def test_the_timing_note_says_how_batches_were_formed_and_prints_the_transformers_reference(tmp_path):
    db = tmp_path / "lens.duckdb"
    note = results.timing_note(write_honest(db, HONEST_SETTINGS))
    assert note == ("imdb: Timed on length-sorted batches of 32, 0.3% of the timed tokens being padding, 2 threads; "
                    "every model's last layer, pruned or not, computes only CLS's row (all the classifier reads). "
                    "Speed-ups are against `control`, the equally trained unpruned model on the strongest unpruned "
                    "path (the same batches). For reference, the transformers model as most users run it (dynamic "
                    "padding, batches in arbitrary order, every row of every layer): 40.0 examples/s at batch 32, "
                    "2.50× slower than `control` (100.0 examples/s).")
    assert note in results.results_table(db)


def test_neither_ltp_unpruned_nor_the_transformers_reference_is_a_fastest_pruned_setting(tmp_path):
    """ltp-x0 (within a point, fast here) prunes nothing and transformers is a reference: neither may be named."""
    db = tmp_path / "lens.duckdb"
    settings = {"control": ("none", 100, 100.0), "ltp-x0": ("ltp", 101, 500.0), "transformers": ("none", 100, 600.0),
                "ltp-x2.0": ("ltp", 112, 300.0)}
    sweep = write_honest(db, settings)
    assert results.fastest_within_control_note(sweep) == (
        "imdb: no pruned setting stays within 1 point of the equally trained unpruned model (0.9000, n = 1,000).")


def test_accuracy_by_length_has_every_model_and_the_bucket_sizes_in_the_header(tmp_path):
    db = tmp_path / "lens.duckdb"
    table = results.length_table(write_honest(db, HONEST_SETTINGS))
    lines = table.splitlines()
    assert lines[0] == ("imdb, accuracy by text length (tokens read), in brackets the paired difference from the "
                        "equally trained unpruned model (points, 95% CI):")
    assert lines[2] == "| model | < 128 (n = 300) | 128–256 (n = 400) | 256–400 (n = 300) | ≥ 400 (n = 0) |"
    cells = {line.split(" | ")[0][2:]: line.strip("|").split(" | ")[1:] for line in lines[4:]}
    sweep = store.benchmarks("imdb", db=db)
    best = results.fastest_within(sweep, results.setting_row(sweep, "control"))["setting"]
    assert best not in results.table_settings(sweep).values()        # a sweep setting, not one of the models:
    assert list(cells) == [*results.table_settings(sweep), f"`{best}`, the fastest within 1 point"]   # shown too
    # the control is wrong on examples 20..119, LTP (ltp-x1.0) on 40..144: all under 128 tokens
    assert [c.strip() for c in cells["unpruned, equally trained"]] == ["0.667", "1.000", "1.000", "empty"]
    difference, low, high = paired_bootstrap(correct("ltp-x1.0")[:300], correct("control")[:300])
    assert cells["LTP"][0] == f"0.650 ({100 * difference:+.1f} [{100 * low:.1f}, {100 * high:.1f}])"
    assert cells["LTP"][0].startswith("0.650 (-1.7 [")
    assert cells["LTP"][1] == "1.000 (+0.0 [0.0, 0.0])" and cells["LTP"][3].strip() == "empty"
    assert table in results.results_table(db)


def test_a_row_stored_in_another_order_is_refused_not_compared(tmp_path):
    """The same predictions as ltp-x1.0 but stored shuffled (ids say so): pairing them with the labels' order would
    give a large false difference."""
    rows = honest_rows(SETTINGS)
    order = np.random.default_rng(0).permutation(N)
    ltp = rows.index[rows["setting"] == "ltp-x1.0"][0]
    rows.at[ltp, "predictions"] = np.asarray(rows.at[ltp, "predictions"])[order].tolist()
    rows.at[ltp, "example_ids"] = np.asarray(rows.at[ltp, "example_ids"])[order].tolist()
    db = tmp_path / "lens.duckdb"
    store.write_benchmark({"bench_id": "imdb-shuffled", "dataset": "imdb", "profile": "cpu", "labels": LABELS.tolist(),
                           "lengths": LENGTHS, "config": json.dumps(HONEST)}, rows, db)
    with pytest.raises(ValueError, match="'ltp-x1.0' and 'control' hold different examples or a different order"):
        results.results_table(db)


def test_the_training_note_says_which_batches_each_model_saw(tmp_path):
    training = {"baseline": {"first_batch": 0, "steps": 125, "examples": 2000},
                "control": {"first_batch": 125, "steps": 126, "examples": 2016},
                "ltp_soft": {"first_batch": 125, "steps": 63, "examples": 1008},
                "ltp_hard": {"first_batch": 188, "steps": 63, "examples": 1008}}
    db = tmp_path / "lens.duckdb"
    store.write_benchmark({"bench_id": "imdb-honest", "dataset": "imdb", "profile": "cpu", "labels": LABELS.tolist(),
                           "lengths": LENGTHS, "config": json.dumps({**HONEST, "training": training})},
                          honest_rows(HONEST_SETTINGS), db)
    note = results.training_note(store.benchmarks("imdb", profile="cpu", db=db))
    assert "control batches 125–250 (2,016 examples)" in note and "ltp_hard batches 188–250 (1,008 examples)" in note
    assert note in results.results_table(db)
    assert results.training_note(write_honest(tmp_path / "old.duckdb", HONEST_SETTINGS)) is None, "not recorded"


# --- the README's headline table and the writer ----------------------------------------------------------------

def cifar_rows() -> pd.DataFrame:
    """An image sweep: the unpruned model is the reference; no LTP; its config predates the CLS-only reference."""
    return sweep_rows({"unpruned": ("none", 120, 100.0), "inference-a1.0": ("topk", 125, 180.0),
                       "pruned-a1.0": ("topk", 140, 250.0)})


def test_the_headline_has_one_line_per_dataset_against_its_unpruned_reference(tmp_path):
    db = tmp_path / "lens.duckdb"
    write_honest(db, HONEST_SETTINGS)
    write_sweep(db, cifar_rows(), bench_id="cifar10-1", dataset="cifar10")
    table = results.headline_table(db)
    lines = table.splitlines()
    assert lines[0].startswith("| dataset | test examples | unpruned reference: accuracy | fastest pruned setting")
    best = paired_bootstrap(correct("ltp-x1.5"), correct("control"))
    ltp = paired_bootstrap(correct("ltp-x1.0"), correct("control"))

    def cell(found: tuple) -> str:
        return f"{100 * found[0]:+.1f} [{100 * found[1]:.1f}, {100 * found[2]:.1f}]"

    # ltp-x2.0 and topk-0.3 are faster but more than a point below; speed-ups against `control` (100 examples/s)
    assert lines[2] == (f"| imdb | 1,000 | `control` 0.9000 | `ltp-x1.5` | 0.8930 ({cell(best)}) | 2.00× | "
                        f"0.8950 ({cell(ltp)}) | 1.50× | `imdb-honest` |"), "the honest imdb sweep needs no warning"
    # no control and no LTP: against the unpruned model, pruned-a1.0 is 2 points below, so inference-a1.0 is fastest
    assert lines[3].startswith("| cifar10 | 1,000 | `unpruned` 0.8800 | `inference-a1.0` | 0.8750 (") and \
        lines[3].endswith(") | 1.80× |  |  | `cifar10-1`; timed before every model's last layer computed only CLS's "
                          "row, so its speed-ups flatter pruning |")
    assert {line.count("|") for line in lines[:4]} == {10}, "nine columns in every line"
    note = lines[-1]
    assert note == results.headline_note("cpu"), "the note names no sweep: it holds for rows kept from elsewhere"
    assert "`control`: the unpruned model trained on as many batches" in note and "imdb" not in note
    assert "`unpruned`: the unpruned model" in note and "throughput at batch 32 against that unpruned model" in note
    cpu = {"cpu": "CPU A", "last_layer_cls_only": True}
    assert results.sweep_cell(store.benchmarks("imdb", db=db).assign(config=json.dumps(cpu))) == "`imdb-honest`, CPU A"
    vit = {"cpu": "trained on CPU A", "timed_on": "CPU B", "last_layer_cls_only": True}
    assert results.sweep_cell(store.benchmarks("imdb", db=db).assign(config=json.dumps(vit))) == "`imdb-honest`, CPU B"
    assert results.headline_table(tmp_path / "none.duckdb", profile="quick").startswith("_No `quick` benchmark")


def test_the_readme_and_the_app_pick_the_same_reference_for_a_sweep_without_control(tmp_path):
    """An older text sweep (no `control`, a config naming no reference): the headline and the Accuracy vs speed page
    both compare accuracy and speed with `unpruned`, by the one rule in pruning_core.analysis.sweeps."""
    from dashboard import tradeoff
    from pruning_core.analysis import sweeps
    db = tmp_path / "lens.duckdb"
    write_sweep(db, sweep_rows({name: value for name, value in SETTINGS.items() if name != "control"}))
    sweep = store.benchmarks("imdb", db=db)
    page = tradeoff.with_reference_speedups(sweep).set_index("setting")["speedup_b32"]
    headline = results.headline_table(db).splitlines()[2]
    assert headline.startswith("| imdb | 1,000 | `unpruned` 0.8800 | `ltp-x2.0` | 0.8880 (")
    assert f"| {page['ltp-x2.0']:.2f}× | 0.8950 (" in headline and f"| {page['ltp-x1.0']:.2f}× | `imdb-1`" in headline
    assert tradeoff.versus_reference(sweep)[0] == "unpruned" and \
        tradeoff.setting_roles(sweep)[list(sweep["setting"]).index("unpruned")] == "speed-up reference"
    assert tradeoff.reference_setting is sweeps.reference_setting and results.reference_row is sweeps.reference_row
    assert sweeps.reference_setting(["ltp-x1.0", "unpruned", "control"]) == "control"
    assert sweeps.reference_setting(["ltp-x1.0", "topk-0.3"]) is None


def _block(start: str, end: str, content: str) -> str:
    return f"{start}\n{content}\n{end}"


RESULTS_DOC = "# Results\n\nintro, kept as written\n" + "".join(
    f"\n## {name}\ntext before {name}\n\n{_block(start, end, f'old {name}')}\n\ntext after {name}\n"
    for name, (start, end) in results.RESULT_BLOCKS.items()) + \
    "\n<!-- vision-speed:start -->\nspeed figures\n<!-- vision-speed:end -->\nthe end\n"
README_TEXT = (f"# Lens\n\nWhat it is.\n\n{_block(results.HEADLINE_START, results.HEADLINE_END, 'old headline')}\n\n"
               "[more](docs/results.md)\n")


@pytest.fixture
def house(tmp_path, monkeypatch):
    """A repository with docs/results.md and README.md holding the markers, and a database with one text sweep."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "results.md").write_text(RESULTS_DOC)
    (root / "README.md").write_text(README_TEXT)
    monkeypatch.setattr(results, "REPO_ROOT", root)
    db = tmp_path / "lens.duckdb"
    write_honest(db, HONEST_SETTINGS)
    return root, db


def test_write_with_no_path_rewrites_the_results_doc_and_the_readme_headline_only_between_markers(house):
    root, db = house
    results.main(["--db", str(db), "--write"])
    table, headline = results.results_table(db), results.headline_table(db)
    start, end = results.RESULT_BLOCKS["results"]
    assert (root / "docs" / "results.md").read_text() == RESULTS_DOC.replace(
        _block(start, end, "old results"), _block(start, end, table)), "nothing stored elsewhere: the rest kept"
    assert (root / "README.md").read_text() == README_TEXT.replace(
        "old headline", headline), "the README gets the headline alone, its text untouched"
    results.main(["--db", str(db), "--write"])                       # a second run changes nothing
    assert (root / "README.md").read_text().count(headline) == 1


def test_write_refuses_a_missing_marker_before_touching_either_file(house):
    root, db = house
    (root / "README.md").write_text("# Lens, without its headline block\n")
    with pytest.raises(SystemExit, match=r"README\.md has no <!-- headline:start --> \.\.\. <!-- headline:end -->"):
        results.main(["--db", str(db), "--write"])
    assert (root / "docs" / "results.md").read_text() == RESULTS_DOC, "checked before anything was written"


def test_write_path_rewrites_that_files_blocks_and_its_headline_when_it_holds_one(house, tmp_path):
    root, db = house
    both = tmp_path / "both.md"
    both.write_text(RESULTS_DOC + README_TEXT)
    results.main(["--db", str(db), "--write", str(both)])
    text = both.read_text()
    assert results.headline_table(db) in text and results.results_table(db) in text
    assert "old headline" not in text and "old results" not in text and "old findings" in text
    with pytest.raises(SystemExit, match="no <!-- results:start -->.*`--write` with no path writes docs/results.md"):
        results.main(["--db", str(db), "--write", str(root / "README.md")])   # the README holds the headline alone
    assert (root / "README.md").read_text() == README_TEXT


# --- merging per dataset: what another machine wrote stays -----------------------------------------------------

OLD_AG_NEWS = "**ag_news**\n\n| dataset | model |\n|---|---|\n| ag_news | LTP |\n\nag_news: an old note."


def test_a_dataset_without_data_keeps_its_section_and_one_with_data_is_regenerated(house):
    root, db = house                                 # the database holds an imdb sweep alone
    start, end = results.RESULT_BLOCKS["results"]
    old = results.join_sections({"imdb": "**imdb**\n\nold imdb figures", "ag_news": OLD_AG_NEWS})
    doc = root / "docs" / "results.md"
    doc.write_text(RESULTS_DOC.replace(_block(start, end, "old results"), _block(start, end, old)))
    results.main(["--db", str(db), "--write"])
    content = doc.read_text().split(start + "\n")[1].split("\n" + end)[0]
    imdb = results.results_sections(db)["imdb"]
    assert content == f"<!-- section: imdb -->\n{imdb}\n\n<!-- section: ag_news -->\n{OLD_AG_NEWS}"
    assert "old imdb figures" not in content and "| imdb | LTP |" in content
    results.main(["--db", str(db), "--write"])                       # a second run changes nothing
    assert doc.read_text().split(start + "\n")[1].split("\n" + end)[0] == content


def test_sections_follow_the_datasets_order_and_old_content_without_sections_is_replaced_whole():
    from pipelines import doc_blocks
    old = doc_blocks.join_sections({"zeta": "z", "ag_news": "a", "imdb": "i"})
    assert doc_blocks.split_sections(old) == {"imdb": "i", "ag_news": "a", "zeta": "z"}
    assert list(doc_blocks.split_sections(old)) == ["imdb", "ag_news", "zeta"], "DATASETS, then the others sorted"
    new = doc_blocks.join_sections({"imdb": "new i"})
    assert doc_blocks.merge_sections(old, new) == doc_blocks.join_sections({"imdb": "new i", "ag_news": "a",
                                                                             "zeta": "z"})
    today = "| dataset | model |\n|---|---|\n| imdb | LTP |\n| ag_news | LTP |\n\nag_news: a note."
    assert doc_blocks.merge_sections(today, new) == new, "no section markers: nothing to keep"
    assert doc_blocks.merge_sections(old, "a table with no sections") == "a table with no sections"


def test_the_headline_keeps_the_rows_of_datasets_without_data_and_regenerates_the_others(house):
    root, db = house                                 # the database holds an imdb sweep alone
    new = results.headline_table(db)
    header = new.splitlines()[:2]
    old_rows = ["| cifar10 | 10,000 | `unpruned` 0.7273 | none |  |  |  |  | `cifar10-old`, CPU B |",
                "| ag_news | 7,600 | `control` 0.9067 | `ltp-x1` | 0.9005 (-0.6 [-1.1, -0.2]) | 1.67× | "
                "0.9005 (-0.6 [-1.1, -0.2]) | 1.67× | `ag_news-old`, CPU B |",
                "| imdb | 2,000 | `control` 0.9035 | `ltp-x0.75` | 0.8955 (-0.8 [-1.7, 0.1]) | 1.11× | "
                "0.8770 (-2.6 [-3.9, -1.5]) | 1.83× | `imdb-old`, CPU B |"]
    old = "\n".join([*header, *old_rows, "", "An old note naming `imdb-old`."])
    readme = root / "README.md"
    readme.write_text(README_TEXT.replace("old headline", old))
    results.main(["--db", str(db), "--write"])
    imdb_row = new.splitlines()[2]
    assert imdb_row.startswith("| imdb | 1,000 | `control` 0.9000 |")
    expected = "\n".join([*header, imdb_row, old_rows[1], old_rows[0], "", results.headline_note("cpu")])
    assert readme.read_text() == README_TEXT.replace("old headline", expected), "text datasets, then images"


def test_old_headline_rows_under_other_columns_are_refused_not_misaligned(house):
    root, db = house
    old = "| dataset | accuracy |\n|---|---:|\n| cifar10 | 0.7273 |\n\nAn old note."
    readme = root / "README.md"
    readme.write_text(README_TEXT.replace("old headline", old))
    with pytest.raises(SystemExit, match=r"headline block cannot be merged: its old rows for cifar10 have other "
                                         r"columns.*nothing was written"):
        results.main(["--db", str(db), "--write"])
    assert readme.read_text() == README_TEXT.replace("old headline", old)
    assert (root / "docs" / "results.md").read_text() == RESULTS_DOC, "checked before anything was written"
