"""Every pipeline end to end on a tiny model and made-up data, into a temporary DuckDB file."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import make_tokenizer
from pipeline_data import make_base_model, make_data_dir, tiny_profile
from pipelines import analyze, benchmark, demo, results, trace, train
from pruning_core import storage as store
from pruning_core.analysis.keywords import custom_keywords
from pruning_core.analysis.linguistics import facet_categories
from pruning_core.text.data import load_dataset
from pruning_core.text.examples import examples_of
from pruning_core.methods import TopK
from pruning_core.text import load_text_classifier, save_pruned


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Train the study (LTP's 3 stages, the equally trained control, top-k trained), trace every model,
    analyse the LTP run and benchmark, for IMDb-like data."""
    root = tmp_path_factory.mktemp("lens")
    data_dir = make_data_dir(root / "data")
    base = make_base_model(root / "base")
    artifacts, db = root / "artifacts", root / "artifacts" / "lens.duckdb"
    profile = tiny_profile()
    stages_seen = []
    metrics = train.run("imdb", profile, "imdb-tiny", str(base), str(data_dir), str(artifacts),
                        on_stage=lambda stage, what: stages_seen.append((stage, what)))
    for method in ("control", "topk"):
        metrics.update(train.run("imdb", profile, "imdb-tiny", str(base), str(data_dir), str(artifacts),
                                 method=method))
    folder = artifacts / "models" / "imdb-tiny"
    for stage in (*train.STAGES, "control", "topk_trained"):
        trace.run(folder / stage, db=db, data_dir=str(data_dir))
    analyze.run("imdb-tiny-ltp_hard-test", profile, db, str(data_dir), progress=False)
    bench = benchmark.run("imdb", profile, "imdb-tiny", db, str(data_dir), str(artifacts))
    return {"root": root, "data_dir": data_dir, "base": base, "artifacts": artifacts, "db": db, "profile": profile,
            "metrics": metrics, "stages_seen": stages_seen, "folder": folder, "bench": bench}


def test_training_writes_each_stage_with_its_metrics(built):
    assert [s for s, _ in built["stages_seen"]] == list(train.STAGES)
    for stage in train.STAGES:
        folder = built["folder"] / stage
        assert (folder / "pruning.json").is_file() and (folder / "model.safetensors").is_file()
        saved = json.loads((folder / "metrics.json").read_text())
        assert saved["stage"] == stage and saved["dataset"] == "imdb"
        assert saved["label_names"] == ["negative", "positive"]
        assert 0.0 <= saved["accuracy"] <= 1.0 and len(saved["mean_kept"]) == 3
    soft = json.loads((built["folder"] / "ltp_soft" / "pruning.json").read_text())
    hard = json.loads((built["folder"] / "ltp_hard" / "pruning.json").read_text())
    assert soft["method"] == hard["method"] == "ltp" and hard["config"]["mode"] == "hard"
    assert hard["config"]["thresholds"] == pytest.approx(soft["config"]["thresholds"]), "binarize fixes them"
    assert max(hard["config"]["thresholds"]) > 0, "the soft stage learned thresholds"
    assert not list((built["artifacts"] / "tmp").iterdir()), "no partial folder left behind"


def test_the_control_and_top_k_see_the_batches_ltp_sees_after_the_same_baseline(built):
    trained = {stage: metrics["train"] for stage, metrics in built["metrics"].items()}
    assert trained["control"]["steps"] == trained["topk_trained"]["steps"] == (
        trained["ltp_soft"]["steps"] + trained["ltp_hard"]["steps"])
    assert trained["ltp_soft"]["first_batch"] == trained["control"]["first_batch"] == trained["baseline"]["steps"]
    assert trained["ltp_hard"]["first_batch"] == trained["baseline"]["steps"] + trained["ltp_soft"]["steps"]
    assert trained["control"]["examples"] == trained["ltp_soft"]["examples"] + trained["ltp_hard"]["examples"]
    uncapped = replace(built["profile"], soft_epochs=0.5, hard_epochs=0.75, max_steps=None)
    plan = train.stage_plan(uncapped, 10)
    assert plan == {"baseline": (0, 10), "soft": (10, 5), "hard": (15, 8), "trained": (10, 13), "control": (10, 13)}
    assert train.stage_config(uncapped, "ltp_hard", 10).first_batch == 15
    topk = load_text_classifier(built["folder"] / "topk_trained")
    assert isinstance(topk.method, TopK) and topk.method.keep_ratios[-1] == pytest.approx(0.5)


def test_training_reads_no_test_example(tmp_path, monkeypatch):
    """Stage scores and the threshold calibration use a validation split carved from the training data."""
    from pruning_core.text import data
    splits, original = [], data.load_dataset
    monkeypatch.setattr(data, "load_dataset", lambda name, split="test", *a, **k: splits.append(split) or
                        original(name, split, *a, **k))
    data_dir, base = make_data_dir(tmp_path / "data"), make_base_model(tmp_path / "base")
    profile = replace(tiny_profile(), max_steps=1)
    metrics = train.run("imdb", profile, "imdb-split", str(base), str(data_dir), str(tmp_path / "artifacts"))
    assert splits and set(splits) == {"train"}
    assert metrics["ltp_hard"]["evaluated_on"] == "validation" and metrics["ltp_hard"]["n_validation"] == 8
    train_set, validation = data.training_splits("imdb", str(data_dir), None, 8)
    assert not set(train_set.ids) & set(validation.ids) and len(train_set) + len(validation) == 48


def test_rerun_skips_completed_stages_and_resumes_an_interrupted_one(built, tmp_path):
    folder = built["folder"]
    before = {stage: (folder / stage / "model.safetensors").stat().st_mtime_ns for stage in train.STAGES}
    # An interruption during ltp_hard: its folder never appeared, a partial one was left in tmp.
    hard_metrics = json.loads((folder / "ltp_hard" / "metrics.json").read_text())
    (folder / "ltp_hard").rename(tmp_path / "ltp_hard-moved")
    partial = built["artifacts"] / "tmp" / "imdb-tiny-ltp_hard"
    partial.mkdir(parents=True)
    (partial / "pruning.json").write_text("{half")
    seen = []
    train.run("imdb", built["profile"], "imdb-tiny", str(built["base"]), str(built["data_dir"]),
              str(built["artifacts"]), on_stage=lambda stage, what: seen.append((stage, what)))
    assert seen == [("baseline", "skipped (already complete)"), ("ltp_soft", "skipped (already complete)"),
                    ("ltp_hard", "training")]
    for stage in ("baseline", "ltp_soft"):
        assert (folder / stage / "model.safetensors").stat().st_mtime_ns == before[stage]
    resumed = json.loads((folder / "ltp_hard" / "metrics.json").read_text())
    assert resumed["thresholds"] == pytest.approx(hard_metrics["thresholds"])
    assert not partial.exists()


def test_trace_drop_layers_agree_with_the_models_own_trace(built, tmp_path):
    classifier = load_text_classifier(built["base"], method=TopK(keep_ratios=[0.9, 0.6, 0.4]))
    model = save_pruned(classifier, tmp_path / "topk")
    db = tmp_path / "lens.duckdb"
    row = trace.run(model, "imdb", db=db, data_dir=str(built["data_dir"]), max_length=32)
    data = load_dataset("imdb", "test", built["data_dir"])
    expected = classifier.trace(data.texts, data.labels, max_length=32)
    for example_id in (0, 5, len(data) - 1):
        tokens = store.example_tokens(row["run_id"], example_id, db)
        want = expected[example_id]
        assert tokens["token"].tolist() == want.tokens
        np.testing.assert_array_equal(tokens["drop_layer"].to_numpy(), want.drop_layer)
        np.testing.assert_allclose(np.stack(tokens["scores"].to_list()), want.scores.T, rtol=1e-6, equal_nan=True)
    assert any((t.drop_layer < t.num_layers).any() for t in expected), "the fixture prunes something"
    stored = store.examples(row["run_id"], limit=1000, db=db)
    assert stored["prediction"].tolist() == [t.prediction for t in expected]
    assert "<br" not in " ".join(stored["text"]), "IMDb tags are stripped"
    metrics = store.run_metrics(row["run_id"], db)
    assert metrics["summary"]["accuracy"] == pytest.approx(np.mean([t.prediction == t.label for t in expected]))
    assert int(metrics["confusion"].to_numpy().sum()) == len(data)
    assert metrics["per_class"]["support"].tolist() == [12, 12]
    survival = store.layer_survival(row["run_id"], db=db)
    kept = np.array([t.keep_counts for t in expected]).sum(axis=0)
    assert survival["kept"].tolist() == kept.tolist()
    assert survival["tokens"].iloc[0] == sum(len(t.tokens) for t in expected)


def _stored_run(db, run_id: str) -> dict[str, pd.DataFrame]:
    """Every table of a stored trace, without what depends on the clock."""
    tables = {table: _table(db, table, run_id) for table in ("runs", "class_metrics", "confusion", "examples", "tokens")}
    tables["runs"] = tables["runs"].drop(columns=["created_at", "seconds_model", "seconds_write"])
    return tables


def test_two_shards_merged_store_the_same_run_as_one_trace(built, tmp_path):
    model, data_dir = built["folder"] / "ltp_hard", str(built["data_dir"])
    whole, sharded = tmp_path / "whole.duckdb", tmp_path / "sharded.duckdb"
    trace.run(model, db=whole, data_dir=data_dir, limit=21, batch_size=4)
    for index in (1, 0):                                             # in any order
        trace.main(["--model", str(model), "--db", str(sharded), "--data-dir", data_dir, "--limit", "21",
                    "--batch-size", "4", "--shard", f"{index}/2"])
    assert not sharded.exists(), "a shard writes no database"
    trace.main(["--model", str(model), "--db", str(sharded), "--merge"])
    expected, got = _stored_run(whole, "imdb-tiny-ltp_hard-test"), _stored_run(sharded, "imdb-tiny-ltp_hard-test")
    assert got["examples"]["example_id"].tolist() == list(range(21))
    for table in expected:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=False, rtol=1e-5, obj=table)
    assert not trace.shard_folder(sharded, "imdb-tiny-ltp_hard-test").exists(), "merged shards are removed"


def test_a_merge_with_a_shard_missing_says_which(built, tmp_path):
    model, db = built["folder"] / "ltp_hard", tmp_path / "lens.duckdb"
    trace.run(model, db=db, data_dir=str(built["data_dir"]), shard=(2, 3))
    with pytest.raises(SystemExit, match="error: Shards 0, 1 of 3 are missing"):
        trace.main(["--model", str(model), "--db", str(db), "--merge"])
    with pytest.raises(SystemExit, match="error: No trace shards"):
        trace.main(["--run-id", "nothing-traced", "--db", str(db), "--merge"])
    assert [trace.shard_range(10, i, 3) for i in range(3)] == [(0, 3), (3, 6), (6, 10)]
    with pytest.raises(SystemExit):
        trace.main(["--model", str(model), "--shard", "3/3"])


def test_retention_rates_recompute_from_the_raw_rows(built):
    db, run_id = built["db"], "imdb-tiny-ltp_hard-test"
    _, tokens = store.read_trace_rows(run_id, db)
    spacy_rows = _table(db, "spacy_words", run_id)
    example_rows = store.examples(run_id, limit=1000, db=db)
    joined = spacy_rows.merge(example_rows[["example_id", "label", "prediction"]], on="example_id")
    assert len(spacy_rows) > 50 and joined["drop_layer"].max() <= 3
    for facet in ("pos", "stopword"):
        stored = store.retention(run_id, facet, by="true", layer=1, db=db)
        categories = facet_categories(joined, facet)
        for row in stored.itertuples():
            members = joined[(categories == row.category) & (joined["label"] == row.class_index)]
            assert row.total == len(members)
            assert row.rate == pytest.approx((members["drop_layer"] > 1).mean())
    overall = store.retention(run_id, "pos", db=db)
    assert set(overall["layer"]) == {0, 1, 2} and (overall["class_name"] == "all").all()


def test_keywords_top_words_and_projections_are_stored(built):
    db, run_id = built["db"], "imdb-tiny-ltp_hard-test"
    table = store.keyword_table(run_id, db=db)
    study = table[table["source"] == "study"].set_index("keyword")
    assert {"great", "worst", "boring"} <= set(study.index)
    words = _table(db, "words", run_id)
    great = words[words["word"] == "great"]
    assert study.loc["great", "occurrences"] == len(great)
    assert study.loc["great", "retention"][-1] == pytest.approx((great["drop_layer"] >= 3).mean())
    custom = custom_keywords(run_id, ["Great", "nonexistent"], db=db).set_index("keyword")
    assert custom.loc["great", "occurrences"] == len(great) and custom.loc["nonexistent", "occurrences"] == 0
    assert (table["source"] == "discovered").any()
    top = store.top_words(run_id, by="true", top=5, db=db)
    assert set(top["class_name"]) == {"negative", "positive"} and (top["rank"] <= 5).all()
    for level in ("example", "token"):
        for method in ("tsne", "umap"):
            points = store.projections(run_id, level, method, db=db)
            assert len(points) > 0 and points[["x", "y"]].notna().all().all()
            assert set(points["label_name"]) <= {"negative", "positive"}
    examples_points = store.projections(run_id, "example", "umap", db=db)
    assert len(examples_points) == 16 and examples_points["retained_text"].str.len().gt(0).any()


def test_benchmark_rows_side_by_side(built):
    rows = store.benchmarks("imdb", db=built["db"])
    assert rows["setting"].tolist()[0] == "transformers", "the reference row computes every row of every layer"
    assert set(rows["setting"]) == {"transformers", "unpruned", "control", "control-8", "topk-0.5", "topk_trained",
                                    "topk_trained-0.5", "ltp-x0", "ltp-x1", "ltp-x2", "ltp-calibrated",
                                    "merging-r0.5-a0.5"}
    by_setting = rows.set_index("setting")
    short, control = by_setting.loc["control-8"], by_setting.loc["control"]
    assert short["mean_kept"][0] < control["mean_kept"][0] and short["throughput_b32"] > 0, "reads only 8 tokens"
    unpruned = by_setting.loc["unpruned"]
    assert control["speedup_b32"] == pytest.approx(1.0), "speed-ups against the equally trained unpruned model"
    assert unpruned["flops"] == control["flops"] < by_setting.loc["transformers", "flops"], "CLS-only last layer"
    assert by_setting.loc["ltp-x0", "mean_kept"][-1] == pytest.approx(control["mean_kept"][-1]), "nothing pruned"
    assert list(by_setting.loc["transformers", "predictions"]) == list(control["predictions"])
    topk = by_setting.loc["topk-0.5"]
    assert topk["mean_kept"][-1] < unpruned["mean_kept"][-1]
    assert (rows["throughput_b32"] > 0).all() and (rows["latency_b1_ms"] > 0).all()
    test = load_dataset("imdb", "test", built["data_dir"])
    assert (rows["n_examples"] == len(test)).all(), "every row on the same examples"
    assert list(rows["labels"].iloc[0]) == test.labels
    assert all(list(ids) == test.ids for ids in rows["example_ids"]), "each row's examples by id, in order"
    assert len(rows["lengths"].iloc[0]) == len(test) and min(rows["lengths"].iloc[0]) > 2
    for row in rows.itertuples():
        assert np.mean(np.array(row.predictions) == np.array(test.labels)) == pytest.approx(row.accuracy)
    config = json.loads(rows["config"].iloc[0])
    assert set(config["trained_settings"].values()) == {"unpruned", "control", "ltp-x1", "topk_trained"}
    assert config["last_layer_cls_only"] is True and config["reference"] == "control"
    assert "length-sorted" in config["batching"] and 0.0 <= config["padding_share"] < 0.5
    assert config["training"]["control"]["steps"] == (config["training"]["ltp_hard"]["steps"]
                                                      + built["metrics"]["ltp_soft"]["train"]["steps"])


def test_results_table_comes_from_the_database(built, tmp_path):
    table = results.results_table(built["db"], profile="quick")
    lines = table.splitlines()
    assert lines[:2] == ["<!-- section: imdb -->", "**imdb**"], "one section per dataset"
    assert lines[3].startswith("| dataset") and "vs equally trained unpruned" in lines[3]
    sweep = store.benchmarks("imdb", profile="quick", db=built["db"])
    model = {setting: model for model, setting in results.trained_settings(sweep).items()}["unpruned"]
    unpruned = sweep.set_index("setting").loc["unpruned"]
    assert any(line.startswith(f"| imdb | {model} | ") and f"{unpruned['accuracy']:.4f}" in line for line in lines)
    assert any(line.startswith("imdb: ") for line in lines), "the fastest setting within 1 point, or why none"
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{results.START}\nold\n{results.END}\nafter\n")
    results.rewrite_block(readme, table)
    assert readme.read_text() == f"before\n{results.START}\n{table}\n{results.END}\nafter\n"
    assert "No `cpu` text benchmark" in results.results_table(built["db"], profile="cpu")


def test_ts_dtp_is_compared_with_ltp_at_equal_measured_speed():
    sweep = pd.DataFrame({"dataset": "imdb", "setting": ["unpruned", "ltp-x1.0", "ltp-x2.0", "ts_dtp"],
                          "method": ["none", "ltp", "ltp", "ts_dtp"], "n_examples": 500,
                          "accuracy": [0.91, 0.90, 0.86, 0.89], "speedup_b32": [1.0, 1.2, 1.6, 1.4]})
    note = results.equal_speed_note(sweep)
    assert "TS-DTP 0.8900 at 1.40×" in note and "0.8800" in note and "+1.0 points" in note
    faster = sweep.assign(speedup_b32=[1.0, 1.2, 1.6, 2.5])
    assert "nearest setting, ltp-x2.0 at 1.60×, scores 0.8600 (+3.0 points for TS-DTP)" in \
        results.equal_speed_note(faster)
    assert results.equal_speed_note(sweep[sweep["method"] != "ts_dtp"]) is None


def test_parquet_export_of_a_run(built, tmp_path):
    paths = store.export_run("imdb-tiny-ltp_hard-test", tmp_path / "export", db=built["db"])
    names = {p.stem for p in paths}
    assert {"runs", "examples", "tokens", "words", "keywords", "projections"} <= names
    tokens = pd.read_parquet(tmp_path / "export" / "tokens.parquet")
    assert (tokens["run_id"] == "imdb-tiny-ltp_hard-test").all() and len(tokens) > 100


def test_demo_writes_progress_and_builds_both_datasets(tmp_path, monkeypatch):
    data_dir = make_data_dir(tmp_path / "data", train=24, test=12)
    base = make_base_model(tmp_path / "base", num_layers=2)
    real_load = train.load_text_classifier
    monkeypatch.setattr(train, "load_text_classifier",
                        lambda source=None, **kw: real_load(source or base, **kw))
    profiles = {d: tiny_profile().with_overrides(max_steps=2, embed_limit=8) for d in ("imdb", "ag_news")}
    profiles["imdb"] = profiles["imdb"].with_overrides(methods=("ltp", "ts_dtp"))  # as the cpu profile does
    progress_file = tmp_path / "progress.json"
    demo.run(("imdb", "ag_news"), progress_file, str(data_dir), str(tmp_path / "artifacts"), profiles=profiles)
    final = json.loads(progress_file.read_text())
    assert {key: final[key] for key in ("fraction", "done", "error")} == {"fraction": 1.0, "done": True, "error": None}
    assert final["skipped"] == 0.0 and isinstance(final["started"], float)
    runs = store.runs(tmp_path / "artifacts" / "lens.duckdb")
    assert set(runs["dataset"]) == {"imdb", "ag_news"} and runs["analysed"].sum() == 2
    assert set(runs.loc[runs["dataset"] == "imdb", "stage"]) == {"baseline", "ltp_hard", "ts_dtp_hard"}
    assert set(runs.loc[runs["dataset"] == "ag_news", "stage"]) == {"baseline", "ltp_hard"}
    settings = set(store.benchmarks("imdb", db=tmp_path / "artifacts" / "lens.duckdb")["setting"])
    assert {"unpruned", "ltp-x1", "ts_dtp"} <= settings
    ag_news = runs[runs["dataset"] == "ag_news"].iloc[0]
    assert list(ag_news["label_names"]) == ["World", "Sports", "Business", "Sci/Tech"]
    for dataset, stage in (("imdb", "ltp_hard"), ("imdb", "ts_dtp_hard"), ("ag_news", "ltp_hard")):   # checked on
        metrics = json.loads((tmp_path / "artifacts" / "models" / f"{dataset}-quick" / stage / "metrics.json")
                             .read_text())                               # the built-in examples of its dataset
        assert [row["name"] for row in metrics["examples"]] == [e.name for e in examples_of(dataset)]
        assert all(0 < row["read"] <= row["tokens"] for row in metrics["examples"])


def test_training_progress_moves_within_each_stage_at_most_once_a_second(tmp_path):
    """A fake two-stage training, 10 steps of 0.4 s per stage: the file, read after every step, moves within
    the running stage's weight, never back, and is rewritten at most once a second in between."""
    now = [0.0]
    path = tmp_path / "progress.json"
    progress = demo.Progress(path, total=1.0, clock=lambda: now[0])
    stages = demo.StageProgress(progress, "IMDb", {"baseline": 0.6, "ltp_soft": 0.4}.__getitem__)
    read = {}
    for stage in ("baseline", "ltp_soft"):
        stages(stage, "training")
        for step in range(1, 11):
            now[0] += 0.4
            stages.step(step, 10)
            read.setdefault(stage, []).append(json.loads(path.read_text())["fraction"])
    stages.finish()
    everything = read["baseline"] + read["ltp_soft"] + [json.loads(path.read_text())["fraction"]]
    assert everything == sorted(everything), "never backwards"
    # Written at 1.2, 2.4 and 3.6 s into each stage (steps 3, 6, 9): the share of the stage's steps done by then.
    assert sorted(set(read["baseline"])) == pytest.approx([0.0, 0.18, 0.36, 0.54])
    assert sorted(set(read["ltp_soft"])) == pytest.approx([0.6, 0.72, 0.84, 0.96])
    assert everything[-1] == 0.99 and "ltp_soft done" in json.loads(path.read_text())["message"]
    stages("baseline", "skipped (already complete)")                 # met again for the next method: counted once
    assert json.loads(path.read_text())["skipped"] == 0.0


def test_progress_counts_stages_found_trained_as_skipped_work(tmp_path):
    path, now = tmp_path / "progress.json", [0.0]
    stages = demo.StageProgress(demo.Progress(path, total=2.0, clock=lambda: now[0]), "IMDb",
                                {"baseline": 0.5, "ltp_soft": 0.3}.get)
    stages("baseline", "skipped (already complete)")
    stages("ltp_soft", "training")
    now[0] += 1.0
    stages.step(1, 2)
    saved = json.loads(path.read_text())
    assert saved["fraction"] == pytest.approx(0.325) and saved["skipped"] == pytest.approx(0.25)
    assert saved["message"] == "IMDb: training ltp soft, step 1 of 2"


def test_demo_failure_is_reported_in_the_progress_file(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)    # no network, whatever the machine
    progress_file = tmp_path / "progress.json"
    with pytest.raises(Exception):
        demo.run(("imdb",), progress_file, str(tmp_path / "no-data"), str(tmp_path / "artifacts"))
    final = json.loads(progress_file.read_text())
    assert final["done"] is True and "Cannot load imdb" in final["error"] and "LENS_DATA_DIR" in final["error"]


def test_a_fresh_clone_without_data_or_network_gets_one_clear_line(tmp_path):
    """`python -m pipelines.demo` with no data folder and no hub: it says what it would download, then fails with
    one line that says what to do, never a traceback."""
    import os
    import subprocess
    import sys
    from pruning_core import paths
    environment = {**os.environ, "LENS_DATA_DIR": str(tmp_path / "no-data"), "HF_HUB_OFFLINE": "1",
                   "HF_HOME": str(tmp_path / "hf"), "LENS_ARTIFACTS": str(tmp_path / "artifacts")}
    done = subprocess.run([sys.executable, "-m", "pipelines.demo", "--datasets", "imdb"], cwd=paths.REPO_ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert "cannot be downloaded (HF_HUB_OFFLINE is set): hub file hf://datasets/stanfordnlp/imdb/" in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Cannot load imdb train") and "LENS_DATA_DIR" in last and "go online" in last


def _table(db, table: str, run_id: str) -> pd.DataFrame:
    import duckdb
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]).df()


def test_training_is_reproducible_even_with_a_new_head(built):
    """AG News needs a 4-way head on a 2-way backbone: its random start must follow the seed too."""
    from safetensors.torch import load_file
    profile = built["profile"].with_overrides(max_steps=1)
    weights = []
    for name in ("again-1", "again-2"):
        train.run("ag_news", profile, name, str(built["base"]), str(built["data_dir"]), str(built["artifacts"]),
                  stages=("baseline",))
        weights.append(load_file(built["artifacts"] / "models" / name / "baseline" / "model.safetensors"))
    assert weights[0]["classifier.weight"].shape[0] == 4
    assert all((weights[0][key] == weights[1][key]).all() for key in weights[0])


def test_command_lines_turn_fixable_errors_into_one_line(tmp_path):
    with pytest.raises(SystemExit, match="error: No model folder"):
        trace.main(["--model", str(tmp_path / "missing"), "--dataset", "imdb", "--db", str(tmp_path / "x.duckdb")])
    with pytest.raises(SystemExit, match="error: .*--data-dir.*LENS_DATA_DIR"):
        train.main(["--dataset", "imdb", "--data-dir", str(tmp_path / "none"), "--artifacts", str(tmp_path)])
    with pytest.raises(SystemExit, match="error: No database"):
        analyze.main(["--run", "nope", "--db", str(tmp_path / "x.duckdb")])


def test_ts_dtp_trains_from_the_same_baseline_and_joins_the_benchmark(built, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(built["artifacts"] / "models" / "imdb-tiny" / "baseline", artifacts / "models" / "imdb-tiny" / "baseline")
    seen = []
    metrics = train.run("imdb", built["profile"], "imdb-tiny", str(built["base"]), str(built["data_dir"]),
                        str(artifacts), on_stage=lambda stage, what: seen.append((stage, what)), method="ts_dtp")
    assert seen[0] == ("baseline", "skipped (already complete)")
    assert [stage for stage, _ in seen[1:]] == ["ts_dtp_soft", "ts_dtp_hard"]
    assert metrics["ts_dtp_hard"]["method"] == "ts_dtp" and len(metrics["ts_dtp_hard"]["offsets"]) == 3
    db = tmp_path / "lens.duckdb"
    rows = benchmark.run("imdb", built["profile"], "imdb-tiny", db, str(built["data_dir"]), str(artifacts))
    assert "ts_dtp" in set(rows["setting"])
    assert rows.set_index("setting").loc["ts_dtp", "method"] == "ts_dtp"


def test_token_merging_trains_through_the_controls_batches_and_joins_the_benchmark(built, tmp_path):
    artifacts = tmp_path / "artifacts"
    for stage in ("baseline", "control"):
        shutil.copytree(built["folder"] / stage, artifacts / "models" / "imdb-tiny" / stage)
    profile = replace(built["profile"], merge_r_max=0.5, merge_alpha=0.5, merge_settings=((0.5, 0.5), (0.3, 1.0)))
    seen = []
    metrics = train.run("imdb", profile, "imdb-tiny", str(built["base"]), str(built["data_dir"]), str(artifacts),
                        on_stage=lambda stage, what: seen.append((stage, what)), method="merge")
    assert [stage for stage, what in seen if what == "training"] == ["merge_trained"]
    merged, control = metrics["merge_trained"], built["metrics"]["control"]
    assert merged["method"] == "merge"
    assert {k: merged["train"][k] for k in ("first_batch", "steps", "examples")} == \
        {k: control["train"][k] for k in ("first_batch", "steps", "examples")}, "the control's batches, as often"
    saved = load_text_classifier(artifacts / "models" / "imdb-tiny" / "merge_trained")
    assert saved.method.config() == {"r_max": 0.5, "alpha": 0.5}
    rows = benchmark.run("imdb", profile, "imdb-tiny", tmp_path / "lens.duckdb", str(built["data_dir"]),
                         str(artifacts)).set_index("setting")
    assert {"merge_trained", "merge_trained-r0.3-a1", "merging-r0.5-a0.5", "merging-r0.3-a1"} <= set(rows.index)
    assert "merge_trained-r0.5-a0.5" not in rows.index, "its own setting is the merge_trained row, not a second one"
    assert rows.loc["merge_trained", "mean_kept"][-1] < rows.loc["control", "mean_kept"][-1], "rows merged away"
    config = json.loads(store.benchmarks("imdb", db=tmp_path / "lens.duckdb")["config"].iloc[0])
    assert config["trained_settings"]["token merging, trained with merging"] == "merge_trained"


def test_the_demo_sizes_the_vit_to_a_budget_given_on_the_command_line(monkeypatch):
    seen = {}
    monkeypatch.setattr(demo, "run", lambda datasets, *args: seen.update(datasets=datasets, profiles=args[4]))
    demo.main(["--datasets", "cifar10,imdb", "--profile", "cpu", "--budget-minutes", "35"])
    assert seen["datasets"] == ("cifar10", "imdb")
    assert seen["profiles"]["cifar10"].budget_minutes == 35 and "imdb" not in seen["profiles"]
    demo.main(["--datasets", "cifar10", "--profile", "cpu"])
    assert seen["profiles"] == {}, "the profile's own budget"


def test_timed_batches_are_consecutive_texts_of_the_length_sorted_sample_spread_over_its_lengths():
    tokenizer = make_tokenizer()
    texts = [" ".join(["plot"] * n) for n in (5, 40, 12, 33, 7, 21, 18, 26, 3, 30, 9, 15)]
    groups = benchmark.length_sorted_batches(texts, tokenizer, max_length=64, count=3)
    lengths = [[len(texts[i].split()) for i in group] for group in groups]
    assert [len(group) for group in groups] == [min(benchmark.BATCH, 12)] * len(groups)
    assert groups[0] == sorted(range(12), key=lambda i: len(texts[i].split())), "fewer texts than a batch: one"
    many = [" ".join(["plot"] * (1 + i % 10)) for i in range(400)]   # 40 texts of each length
    groups = benchmark.length_sorted_batches(many, tokenizer, max_length=64, count=4)
    spans = [[len(many[i].split()) for i in group] for group in groups]
    assert len(groups) == 4 and all(max(span) - min(span) <= 1 for span in spans), "almost no padding"
    assert min(spans[0]) == 1 and max(spans[-1]) == 10, "from the shortest texts to the longest"
    assert lengths == [sorted(lengths[0])]


def test_retiming_keeps_the_accuracy_rows_and_times_again(built):
    before = store.benchmarks("imdb", db=built["db"])
    frame = benchmark.run("imdb", built["profile"], "imdb-tiny", built["db"], str(built["data_dir"]),
                          str(built["artifacts"]), retime=True)
    after = store.benchmarks("imdb", db=built["db"])
    assert after["bench_id"].iloc[0] != before["bench_id"].iloc[0] and len(frame) == len(before)
    for column in ("accuracy", "flops"):
        assert after.set_index("setting")[column].to_dict() == before.set_index("setting")[column].to_dict()
    assert list(after.set_index("setting").loc["ltp-x1", "predictions"]) == list(
        before.set_index("setting").loc["ltp-x1", "predictions"])
    config = json.loads(after["config"].iloc[0])
    assert "evenly spaced" in config["batching"] and config["training_run"] == "imdb-tiny"
    with pytest.raises(store.RunNotFound, match="--retime needs a stored"):   # no ag_news sweep of this run
        benchmark.run("ag_news", built["profile"], "imdb-tiny", built["db"], str(built["data_dir"]),
                      str(built["artifacts"]), retime=True)
