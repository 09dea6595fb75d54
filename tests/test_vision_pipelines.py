"""CIFAR-10 through the pipelines on a tiny ViT and a few dozen made-up pictures: train, trace, benchmark,
results and the demo, into a temporary DuckDB file."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import torch

from pipelines import benchmark, demo, results, timing, train, trace, vision
from pruning_core import loop
from pruning_core import storage as store
from pruning_core.methods import TokenMerging, schedule_counts
from pruning_core.runtime import cpu_name
from pruning_core.vision import VisionTrainConfig, load_cifar10, load_vision_classifier
from pruning_core.vision import data as vision_data
from pruning_core.vision.data import load_cifar10_training
from pruning_core.vision.profiles import VisionProfile
from test_vision_training import write_cifar_like


def tiny_profile(**changes) -> VisionProfile:
    profile = VisionProfile(name="quick", hidden_size=32, num_heads=4, intermediate_size=37, num_layers=3,
                            train_limit=None, eval_limit=None, trace_limit=12,
                            train=VisionTrainConfig(epochs=1, batch_size=8, warmup_epochs=0.2, precision="fp32"),
                            prune_after_epochs=0.5, alphas=(1.0, 2.0), bench_speed_batches=1,
                            bench_latency_examples=2, bench_rounds=1, validation_limit=10)
    return profile.with_overrides(**changes)


def no_wait(**_) -> float:
    return 0.0   # the benchmark waits for a quiet machine; a test has no time to wait on a shared one


def full_last_layer(state, block) -> None:
    """The loop before the CLS-only last layer: every row through the last layer."""
    attended, _ = block.attend(state.hidden, state.mask, None, state.presence)
    state.hidden = block.feed_forward(attended)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("vision-pipelines")
    data_dir, artifacts = root / "data", root / "artifacts"
    write_cifar_like(data_dir, "train", per_class=4)
    write_cifar_like(data_dir, "test", per_class=2)
    profile, db = tiny_profile(), artifacts / "lens.duckdb"
    stages, splits_read, scored = [], [], []
    real_load, real_accuracy = load_cifar10, vision.vision_accuracy

    def load(split, *args, **kwargs):   # which splits training reads
        splits_read.append(split)
        return real_load(split, *args, **kwargs)

    def accuracy(classifier, pixels, *args, **kwargs):   # which images training scores its models on
        scored.append(pixels.clone())
        return real_accuracy(classifier, pixels, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        for module in (vision_data, vision):
            patch.setattr(module, "load_cifar10", load)
        patch.setattr(vision, "vision_accuracy", accuracy)
        metrics = vision.train(profile, str(data_dir), str(artifacts),
                               on_stage=lambda stage, what: stages.append(stage))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vision, "wait_for_quiet", no_wait)
        traced = vision.trace(profile, db, str(data_dir), str(artifacts))
        rows = vision.benchmark(profile, db, str(data_dir), str(artifacts))
    return dict(data_dir=data_dir, artifacts=artifacts, db=db, profile=profile, metrics=metrics, stages=stages,
                traced=traced, rows=rows, splits_read=splits_read, scored=scored)


def test_training_saves_an_unpruned_a_pruned_a_distilled_and_a_merged_vit(built):
    assert built["stages"] == ["warmup", "forks"], "no budget: nothing to time"
    folder = built["artifacts"] / "models" / "cifar10-quick"
    for stage in vision.STAGES:
        metrics = json.loads((folder / stage / "metrics.json").read_text())
        assert metrics["dataset"] == "cifar10" and metrics["stage"] == stage and 0 <= metrics["accuracy"] <= 1
        assert metrics["n_train"] == 30 and metrics["r_max"] == 0.6 and metrics["train_alpha"] == 1.2
    assert load_vision_classifier(folder / "unpruned").method.name == "none"
    for stage in ("pruned", "distilled"):
        pruned = load_vision_classifier(folder / stage).method
        assert (pruned.name, pruned.r_max, pruned.alpha) == ("topk", 0.6, 1.2)
    assert json.loads((folder / "distilled" / "metrics.json").read_text())["distillation"]["weight"] == 0.5
    merged = load_vision_classifier(folder / "merged").method
    assert (merged.name, merged.r_max, merged.alpha) == ("merge", 0.6, 1.2)
    assert vision.stages(built["profile"].with_overrides(merging=False)) == ("unpruned", "pruned", "distilled")
    assert not (built["artifacts"] / "tmp" / "cifar10-quick-pruned").exists(), "finished folders are moved in place"


def test_training_scores_its_models_on_validation_images_held_out_of_the_training_split(built):
    assert set(built["splits_read"]) == {"train"}, "training never reads the test split"
    profile = built["profile"]
    train_set, validation = load_cifar10_training(built["data_dir"], profile.validation_limit, profile.train_limit,
                                                  profile.train.seed, profile.validation_seed)
    assert (len(train_set), len(validation)) == (30, 10)
    assert not set(train_set.ids) & set(validation.ids), "no validation image is trained on"
    assert sorted(validation.labels.tolist()) == list(range(10)), "a class-balanced validation set"
    assert len(built["scored"]) == len(vision.STAGES), "one score per model"
    assert all(torch.equal(pixels, validation.pixels) for pixels in built["scored"]), "scored on validation images"
    folder = built["artifacts"] / "models" / "cifar10-quick"
    for stage in vision.STAGES:
        metrics = json.loads((folder / stage / "metrics.json").read_text())
        assert (metrics["evaluated_on"], metrics["n_validation"]) == ("validation", 10)
        model = load_vision_classifier(folder / stage)
        assert metrics["accuracy"] == pytest.approx(vision.vision_accuracy(model, validation.pixels, validation.labels))


def test_a_rerun_skips_trained_models_and_retrains_only_a_missing_one(built, monkeypatch, tmp_path):
    stages = []
    vision.train(built["profile"], str(built["data_dir"]), str(built["artifacts"]),
                 on_stage=lambda stage, what: stages.append((stage, what)))
    assert stages == [(phase, "skipped (already complete)") for phase in vision.PHASES]

    artifacts = tmp_path / "artifacts"
    source = built["artifacts"] / "models" / "cifar10-quick" / "unpruned"
    target = artifacts / "models" / "cifar10-quick" / "unpruned"
    target.mkdir(parents=True)
    for file in source.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    before = (target / "model.safetensors").read_bytes()
    stages.clear()
    vision.train(built["profile"], str(built["data_dir"]), str(artifacts), on_stage=lambda s, w: stages.append(s))
    assert stages == ["warmup", "forks"]
    assert (artifacts / "models" / "cifar10-quick" / "pruned" / "metrics.json").is_file()
    assert (target / "model.safetensors").read_bytes() == before, "a complete model is not overwritten"


def test_traces_match_the_models_own_traces_and_follow_the_schedule(built):
    runs = store.runs(built["db"]).set_index("run_id")
    assert set(runs.index) == {"cifar10-quick-pruned-test", "cifar10-quick-unpruned_inference-test",
                               "cifar10-quick-distilled-test", "cifar10-quick-merged-test"}
    test = load_cifar10("test", built["data_dir"], limit=12)
    profile = built["profile"]
    expected = schedule_counts(145, profile.num_layers, profile.r_max, profile.train_alpha)
    merged = vision.merging(profile).expected_counts(145, profile.num_layers)
    assert runs.loc["cifar10-quick-merged-test", "mean_kept"].tolist() == merged, "merged patches count as gone"
    for run_id, stage in (("cifar10-quick-pruned-test", "pruned"),
                          ("cifar10-quick-unpruned_inference-test", "unpruned")):
        assert runs.loc[run_id, "n_examples"] == 12 and runs.loc[run_id, "mean_kept"].tolist() == expected
        examples, tokens = store.read_trace_rows(run_id, built["db"])
        model = load_vision_classifier(built["artifacts"] / "models" / "cifar10-quick" / stage, vision.schedule(profile))
        own = model.trace(test.pixels, test.labels.tolist())
        assert examples["prediction"].tolist() == [t.prediction for t in own]
        assert examples["text"].iloc[0] == f"cifar10 test #{int(test.split_indices()[0])}"
        first = tokens[tokens["example_id"] == 0].sort_values("position")
        assert first["drop_layer"].tolist() == own[0].drop_layer.tolist()
        assert first["drop_layer"].iloc[0] == profile.num_layers, "CLS reaches the classifier"
        survivors = [int((first["drop_layer"] > layer).sum()) for layer in range(profile.num_layers)]
        assert survivors == expected
        assert (tokens.groupby("example_id")["position"].count() == 145).all()


def test_benchmark_sweeps_unpruned_inference_and_trained_pruning_side_by_side(built):
    rows = store.benchmarks("cifar10", db=built["db"]).set_index("setting")
    assert set(rows.index) == {"unpruned", "inference-a1.0", "inference-a2.0", "pruned-a1.0", "pruned-a2.0",
                               "distilled-a1.0", "distilled-a2.0", "merging-a1.0", "merging-a2.0", "merged-a1.0",
                               "merged-a2.0"}
    assert list(rows.loc["merged-a1.0", "mean_kept"]) == vision.merging(built["profile"], 1.0).expected_counts(145, 3)
    assert rows.loc["unpruned", "speedup_b32"] == pytest.approx(1.0)
    assert (rows["throughput_b32"] > 0).all() and (rows["latency_b1_ms"] > 0).all()
    assert rows.loc["inference-a1.0", "flops"] < rows.loc["inference-a2.0", "flops"] < rows.loc["unpruned", "flops"]
    assert list(rows.loc["pruned-a2.0", "mean_kept"]) == schedule_counts(145, 3, 0.6, 2.0)
    assert (rows["n_examples"] == 20).all()
    pruned = load_vision_classifier(built["artifacts"] / "models" / "cifar10-quick" / "pruned")
    test = load_cifar10("test", built["data_dir"])
    pruned.method = vision.schedule(built["profile"], 1.0)
    accuracy = float((pruned.predict(test.pixels) == test.labels).float().mean())
    assert rows.loc["pruned-a1.0", "accuracy"] == pytest.approx(accuracy)
    stored = rows.loc["pruned-a1.0"]
    assert list(stored["labels"]) == test.labels.tolist(), "the sweep keeps the images' labels"
    assert list(stored["predictions"]) == pruned.predict(test.pixels).tolist(), "and every image's prediction"
    assert all(list(ids) == test.ids for ids in rows["example_ids"]), "each prediction's test image, in order"
    config = json.loads(stored["config"])
    assert config["last_layer_cls_only"] is True and config["threads"] == torch.get_num_threads()
    assert (config["reference"], config["batching"], config["padding_share"]) == (
        "unpruned", "batches of 32 test images, each 145 tokens", 0.0), "how it was timed, for the captions"


def test_the_sweep_says_cls_only_only_when_the_unpruned_model_measured_it(built, monkeypatch, tmp_path):
    monkeypatch.setattr(vision, "wait_for_quiet", no_wait)
    monkeypatch.setattr(loop, "_cls_step", full_last_layer)   # the loop as it was: every row in the last layer
    db = tmp_path / "lens.duckdb"
    vision.benchmark(built["profile"], db, str(built["data_dir"]), str(built["artifacts"]))
    config = json.loads(store.benchmarks("cifar10", db=db)["config"].iloc[0])
    assert config["last_layer_cls_only"] is False


def test_results_table_reports_the_vit_rows_from_the_database(built):
    table = results.vision_table(built["db"], profile="quick")
    assert "| unpruned |" in table and "| pruned-a1.0 |" in table and "| inference-a2.0 |" in table
    assert "1.00×" in table and "within 1 point of the unpruned model" in table
    pruned_line = next(line for line in table.splitlines() if line.startswith("| pruned-a1.0 |"))
    assert re.search(r"\| [+-]\d+\.\d \[[+-]?\d+\.\d, [+-]?\d+\.\d\] \|", pruned_line), "a paired interval"
    assert f"Trained on {cpu_name()} in fp32, " in table and f"; timed on {cpu_name()}." in table
    assert "plan" not in table.splitlines()[0], "no budget, no plan"
    planned = json.dumps({"cpu": "CPU A", "precision": "bf16", "train_seconds": 600.0, "timed_on": "CPU B",
                          "plan": {"planned_minutes": 9.5, "budget_minutes": 10}})
    assert results._machines(planned) == (" Trained on CPU A in bf16, 10.0 minutes (plan 9.5 minutes with the "
                                          "evaluation, for a 10-minute budget); timed on CPU B.")
    assert results._machines(json.dumps({"threads": 2})) == "", "sweeps from before the machine was stored"
    assert "No `cpu`" in results.vision_table(built["db"], profile="cpu")


def test_the_note_names_the_fastest_setting_within_one_point_with_its_paired_interval():
    labels = [0] * 200
    def correct(n):   # predictions right on the first n of 200 images
        return [0] * n + [1] * (200 - n)
    rows = pd.DataFrame({"setting": ["unpruned", "pruned-a1.0", "pruned-a0.8", "inference-a0.8", "inference-a1.0"],
                         "method": ["none", "topk", "topk", "topk", "topk"], "dataset": "cifar10",
                         "accuracy": [0.70, 0.695, 0.68, 0.689, 0.690], "throughput_b32": [100, 190, 220, 220, 180],
                         "speedup_b32": [1.0, 1.9, 2.2, 2.2, 1.8],
                         "predictions": [correct(140), correct(139), correct(136), correct(137), correct(138)],
                         "labels": [labels] * 5})
    unpruned = rows.iloc[0]
    note = results.fastest_within_note(rows, unpruned)
    assert "`pruned-a1.0`" in note and "1.90×" in note and "-0.5 points, 95% CI [" in note
    low, high = map(float, note.split("95% CI [")[1].split("]")[0].split(", "))
    assert low < -0.5 < high <= 0.0, "the same images, one fewer right: the interval straddles the difference"
    assert "`inference-a1.0`" in results.fastest_within_note(rows[rows["setting"] != "pruned-a1.0"], unpruned), \
        "exactly one point lost still counts"
    assert "No pruned setting" in results.fastest_within_note(rows[rows["accuracy"] < 0.69], unpruned)
    older = rows.drop(columns=["predictions", "labels"])
    assert "-0.5 points) at" in results.fastest_within_note(older, older.iloc[0]), "no predictions, no interval"


def test_command_lines_dispatch_cifar10_to_the_vision_pipeline(built, monkeypatch):
    calls = []
    monkeypatch.setattr(vision, "train", lambda profile, *a, **k: calls.append(
        ("train", profile.train.max_steps, profile.validation_limit)))
    monkeypatch.setattr(vision, "trace", lambda profile, *a, **k: calls.append(("trace", profile.name)))
    monkeypatch.setattr(vision, "benchmark", lambda profile, *a, **k: calls.append(("benchmark", profile.eval_limit)))
    train.main(["--dataset", "cifar10", "--profile", "cpu", "--max-steps", "3", "--validation-limit", "7"])
    trace.main(["--dataset", "cifar10", "--profile", "quick"])
    benchmark.main(["--dataset", "cifar10", "--eval-limit", "50"])
    assert calls == [("train", 3, 7), ("trace", "quick"), ("benchmark", 50)]
    with pytest.raises(SystemExit):
        train.main(["--dataset", "cifar10", "--profile", "full"])   # no GPU profile for the ViT: a clear usage error


def test_demo_builds_the_vit_with_progress(built, tmp_path, monkeypatch):
    monkeypatch.setattr(vision, "wait_for_quiet", no_wait)
    progress = tmp_path / "progress.json"
    artifacts = tmp_path / "artifacts"
    demo.run(("cifar10",), progress, str(built["data_dir"]), str(artifacts), profiles={"cifar10": tiny_profile()})
    final = json.loads(progress.read_text())
    assert final["done"] is True and final["error"] is None and final["fraction"] == 1.0
    assert set(store.benchmarks("cifar10", db=artifacts / "lens.duckdb")["setting"]) >= {"unpruned", "pruned-a1.0"}


def test_text_model_menus_leave_the_vits_out(built):
    from dashboard.catalog import discover_models
    keys = [entry.key for entry in discover_models(built["artifacts"])]
    assert keys == ["packaged/all-MiniLM-L6-v2"], keys


def test_accuracy_vs_speed_page_shows_the_vit_rows(built, monkeypatch):
    import streamlit as st

    from lens_helpers import open_page
    from test_dataset_pages import SPEED
    monkeypatch.setenv("LENS_ARTIFACTS", str(built["artifacts"]))
    st.cache_data.clear()
    app = open_page(SPEED)
    assert app.selectbox(key="bench_dataset").value == "cifar10"
    table = app.dataframe[0].value
    assert sorted(table["setting"]) == sorted(store.benchmarks("cifar10", db=built["db"])["setting"])
    versus = table.set_index("setting")["versus"]
    assert versus["unpruned"] == "", "the reference itself"
    assert re.fullmatch(r"[+-]\d+\.\d \[-?\d+\.\d, -?\d+\.\d\]", versus["pruned-a1.0"]), "a paired interval"
    assert "No setting of this sweep has learned thresholds" in " ".join(info.value for info in app.info)


def test_the_speed_benchmark_writes_its_figures_into_the_readme_block(built, monkeypatch, tmp_path):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=2147483647")   # no re-exec on import
    from benchmarks import vision_speed
    monkeypatch.setattr(timing, "wait_for_quiet", no_wait)
    threads = torch.get_num_threads()
    folder = built["artifacts"] / "models" / "cifar10-quick" / "pruned"
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{vision_speed.SPEED_START}\nold figures\n{vision_speed.SPEED_END}\nafter\n")
    monkeypatch.setattr("sys.argv", ["vision_speed", "--rounds", "1", "--batch", "2", "--threads", "1",
                                     "--model", str(folder), "--write", str(readme)])
    try:
        vision_speed.main()
    finally:
        torch.set_num_threads(threads)
    text = readme.read_text()
    assert "against our unpruned loop with a CLS-only last layer" in text.splitlines()[2]
    assert text.startswith(f"before\n{vision_speed.SPEED_START}\nMeasured on ") and text.endswith(
        f"{vision_speed.SPEED_END}\nafter\n") and "old figures" not in text
    rows = {line.split(" | ")[0].removeprefix("| "): line.split(" | ") for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| setting")}
    assert list(rows) == ["transformers (reference)", "unpruned (our loop)", *(f"α {a}" for a in vision_speed.ALPHAS),
                          "α 1.2, attention received", *(f"α {a}, token merging" for a in vision_speed.MERGE_ALPHAS)]
    assert rows["unpruned (our loop)"][1] == "145 × 3" and rows["unpruned (our loop)"][3] == "1.00x"
    assert rows["unpruned (our loop)"][5] == "1.00x |"
    assert rows["α 1.0"][1] == ", ".join(map(str, schedule_counts(145, 3, 0.6, 1.0)))
    merged = TokenMerging(r_max=0.6, alpha=0.8).expected_counts(145, 3)
    assert rows["α 0.8, token merging"][1] == ", ".join(map(str, merged)), "merging's own counts (half a layer at most)"
