"""Dataset loading, classification metrics and analytic FLOPs, checked against hand-made fixtures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_data import make_data_dir
from pruning_core.analysis.flops import encoder_flops, layer_flops
from pruning_core.text.data import DatasetUnavailableError, load_dataset
from pruning_core.metrics import (LengthBucket, accuracy_by_length, alive_on_entry, classification_metrics,
                                   describe_timing, length_buckets, length_labels, paired_bootstrap,
                                   points_cell, points_versus, prunes_tokens)


def test_local_parquet_brings_label_names_and_strips_imdb_tags(tmp_path):
    data = load_dataset("imdb", "train", make_data_dir(tmp_path))
    assert data.label_names == ["negative", "positive"] and len(data) == 48
    assert not any("<br" in text for text in data.texts) and all("  " not in text for text in data.texts)
    assert load_dataset("ag_news", "test", tmp_path).label_names == ["World", "Sports", "Business", "Sci/Tech"]


def test_data_dir_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    make_data_dir(tmp_path)
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path))
    assert load_dataset("ag_news", "train").source == str(tmp_path / "ag_news" / "train.parquet")


def test_a_sample_is_class_balanced_and_reproducible(tmp_path):
    make_data_dir(tmp_path)
    first = load_dataset("ag_news", "train", tmp_path, limit=20, seed=3)
    again = load_dataset("ag_news", "train", tmp_path, limit=20, seed=3)
    assert first.texts == again.texts and len(first) == 20
    assert pd.Series(first.labels).value_counts().tolist() == [5, 5, 5, 5]


def test_missing_data_names_both_ways_to_get_it(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("offline")
    monkeypatch.setattr("huggingface_hub.hf_hub_download", offline)   # no network in tests
    with pytest.raises(DatasetUnavailableError) as error:
        load_dataset("imdb", "test", tmp_path / "empty")
    message = str(error.value)
    assert "--data-dir" in message and "LENS_DATA_DIR" in message and "stanfordnlp/imdb" in message


def test_bad_labels_and_unknown_names_are_refused(tmp_path):
    (tmp_path / "imdb").mkdir()
    pd.DataFrame({"text": ["fine", "bad"], "label": [0, 7]}).to_parquet(tmp_path / "imdb" / "test.parquet")
    with pytest.raises(DatasetUnavailableError, match="outside 0..1"):
        load_dataset("imdb", "test", tmp_path)
    with pytest.raises(ValueError, match="Unknown dataset"):
        load_dataset("sst2", "test", tmp_path)


def test_metrics_match_a_hand_counted_example():
    labels = [0, 0, 0, 1, 1, 2]
    predictions = [0, 0, 1, 1, 2, 2]
    metrics = classification_metrics(labels, predictions, ["a", "b", "c"])
    assert metrics.accuracy == pytest.approx(4 / 6)
    assert metrics.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    # precision: a 2/2, b 1/2, c 1/2; recall: a 2/3, b 1/2, c 1/1
    assert [c["precision"] for c in metrics.per_class] == pytest.approx([1.0, 0.5, 0.5])
    assert [c["recall"] for c in metrics.per_class] == pytest.approx([2 / 3, 0.5, 1.0])
    assert metrics.per_class[0]["f1"] == pytest.approx(0.8) and metrics.per_class[2]["support"] == 1
    assert metrics.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_a_class_never_predicted_gets_zero_precision_not_nan():
    metrics = classification_metrics([0, 1], [0, 0], ["a", "b"])
    assert metrics.per_class[1]["precision"] == 0.0 and metrics.macro_precision == pytest.approx(0.25)


def test_paired_bootstrap_of_identical_models_is_exactly_zero():
    correct = np.random.default_rng(0).random(500) < 0.8
    assert paired_bootstrap(correct, correct.copy()) == (0.0, 0.0, 0.0)


def test_paired_bootstrap_of_a_known_difference_excludes_zero():
    always = np.ones(1000, dtype=bool)
    nine_in_ten = np.arange(1000) % 10 != 0
    difference, low, high = paired_bootstrap(always, nine_in_ten)
    assert difference == pytest.approx(0.1)
    assert 0.0 < low < 0.1 < high < 0.2 and high - low == pytest.approx(0.037, abs=0.01)   # 3.92 * 0.3 / sqrt(1000)


def test_paired_bootstrap_interval_holds_the_difference_and_narrows_with_more_examples():
    rng = np.random.default_rng(1)
    widths = []
    for n in (200, 2000, 20000):
        a, b = rng.random(n) < 0.85, rng.random(n) < 0.80
        difference, low, high = paired_bootstrap(a, b, resamples=2000)
        assert low <= difference <= high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_paired_bootstrap_is_reproducible_with_a_seed():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    assert paired_bootstrap(a, b, seed=7) == paired_bootstrap(a, b, seed=7)
    assert paired_bootstrap(a, b, seed=7)[1:] != paired_bootstrap(a, b, seed=8)[1:]


def test_paired_bootstrap_refuses_unpaired_or_empty_inputs():
    with pytest.raises(ValueError, match="same examples"):
        paired_bootstrap([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="at least one example"):
        paired_bootstrap([], [])


# --- benchmark rows: pairing by example ids, accuracy by length ------------------------------------------------

def bench_row(setting: str, predictions, ids=None, lengths=None, labels=None) -> dict:
    """A benchmark row as store.benchmarks() gives it: its predictions (and example ids), the sweep's labels and
    lengths."""
    predictions = list(predictions)
    labels = list(labels if labels is not None else np.arange(len(predictions)) % 2)
    return {"dataset": "imdb", "setting": setting, "method": "ltp", "accuracy": float(np.mean(np.equal(predictions,
            labels))), "predictions": predictions, "labels": labels, "example_ids": ids, "lengths": lengths}


def test_pairing_refuses_a_shuffled_row_and_names_both_settings():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    ids = np.arange(1000, 1200)
    predictions = np.where(rng.random(200) < 0.9, labels, 1 - labels)    # 90% right
    control = bench_row("control", labels, ids.tolist(), labels=labels)
    order = rng.permutation(200)
    # The same model's predictions, stored in another order: compared with the sweep's labels it looks worse
    shuffled = bench_row("ltp-x1.0", predictions[order], ids[order].tolist(), labels=labels)
    with pytest.raises(ValueError, match="'ltp-x1.0' and 'control' hold different examples or a different order"):
        points_versus(shuffled, control)
    with pytest.raises(ValueError, match="'control' and 'ltp-x1.0'"):
        points_cell(control, shuffled)
    fewer = bench_row("ts_dtp", predictions[:150], ids[:150].tolist(), labels=labels[:150])
    with pytest.raises(ValueError, match="150 and 200 examples"):
        points_versus(fewer, control)
    aligned = bench_row("ltp-x1.0", predictions, ids.tolist(), labels=labels)
    difference, interval = points_versus(aligned, control)
    assert difference == pytest.approx(100 * (np.mean(predictions == labels) - 1.0))
    assert interval[0] <= difference <= interval[1]


def test_rows_without_example_ids_pair_as_before_and_ids_must_match_the_predictions():
    labels = np.arange(100) % 2
    right = bench_row("control", labels, labels=labels)
    wrong_ten = labels.copy()
    wrong_ten[:10] = 1 - wrong_ten[:10]
    old = bench_row("ltp-x1.0", wrong_ten, labels=labels)           # older sweeps stored no ids
    assert points_cell(old, right).startswith("-10.0 [")
    assert points_versus(old, {**right, "example_ids": list(range(100))})[0] == pytest.approx(-10.0)
    with pytest.raises(ValueError, match="100 predictions for 100 labels and 99 example ids"):
        points_versus({**old, "example_ids": list(range(99))}, right)


def test_accuracy_by_length_buckets_at_the_edges_and_pairs_with_the_reference():
    assert length_labels() == ["< 128", "128–256", "256–400", "≥ 400"]
    assert length_buckets([1, 127, 128, 255, 256, 399, 400, 512]).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    # 40 short texts (< 128) and 60 of 128–255 tokens; none of 256 or more
    lengths = [100] * 40 + [200] * 60
    labels = np.arange(100) % 2
    reference = labels.copy()
    reference[40:46] = 1 - reference[40:46]                         # the reference: 6 long ones wrong
    row = labels.copy()
    row[:4] = 1 - row[:4]                                           # the row: 4 short ones wrong,
    row[40:58] = 1 - row[40:58]                                     # 18 long ones wrong
    ids = list(range(100))
    found = accuracy_by_length(bench_row("ltp-x1.0", row, ids, lengths, labels),
                               bench_row("control", reference, ids, lengths, labels))
    assert [(b.label, b.n) for b in found] == [("< 128", 40), ("128–256", 60), ("256–400", 0), ("≥ 400", 0)]
    short, long, empty = found[0], found[1], found[2]
    assert short.accuracy == pytest.approx(0.9) and short.points == pytest.approx(-10.0)
    assert long.accuracy == pytest.approx(0.7) and long.points == pytest.approx(-20.0)
    assert long.interval[0] < -20.0 < long.interval[1] < 0
    expected = paired_bootstrap(row[40:] == labels[40:], reference[40:] == labels[40:])
    assert long.interval == pytest.approx((100 * expected[1], 100 * expected[2]))
    assert empty == LengthBucket("256–400", 0, None) and empty.cell() == "empty"
    assert long.cell() == f"0.700 (-20.0 [{long.interval[0]:.1f}, {long.interval[1]:.1f}])"
    alone = accuracy_by_length(bench_row("control", reference, ids, lengths, labels))
    assert alone[1].cell() == "0.900" and alone[1].points is None
    assert accuracy_by_length(bench_row("control", reference, ids, None, labels)) is None, "older sweeps"
    with pytest.raises(ValueError, match="'ltp-x1.0' and 'control'"):
        accuracy_by_length(bench_row("ltp-x1.0", row, ids[::-1], lengths, labels),
                           bench_row("control", reference, ids, lengths, labels))
    with pytest.raises(ValueError, match="edges"):
        length_buckets([10], edges=(256, 128))


def test_tokens_read_and_settings_that_prune_nothing():
    # after each of 3 layers: 100, 60, 30 of 120 input tokens; the classifier read the 60 alive on entry to layer 3
    assert alive_on_entry([100.0, 60.0, 30.0], [100 / 120, 0.5, 0.25]) == pytest.approx([120.0, 100.0, 60.0])
    assert alive_on_entry([], []) == []
    assert prunes_tokens({"method": "ltp", "thresholds": [0.01, 0.02]})
    assert not prunes_tokens({"method": "ltp", "thresholds": [0.0, 0.0]}), "ltp-x0: LTP's weights, nothing pruned"
    assert not prunes_tokens({"method": "none", "thresholds": None})
    assert prunes_tokens({"method": "topk", "thresholds": float("nan")})


def test_the_timing_sentence_reads_the_sweep_config_and_says_when_an_older_sweep_did_not_record_it():
    config = {"batching": "length-sorted batches of 32", "padding_share": 0.0031, "last_layer_cls_only": True,
              "reference": "control", "threads": 2}
    assert describe_timing(config) == (
        "Timed on length-sorted batches of 32, 0.3% of the timed tokens being padding, 2 threads; every model's last "
        "layer, pruned or not, computes only CLS's row (all the classifier reads). Speed-ups are against `control`, "
        "the equally trained unpruned model on the strongest unpruned path (the same batches).")
    old = describe_timing({"threads": 2})
    assert old.startswith("This sweep does not record how its timed batches were formed")
    assert old.endswith("speed-ups here are against `control`.")


def test_flops_count_attention_on_the_input_and_feed_forward_on_the_survivors():
    hidden, intermediate = 4, 8
    # 10 tokens attend; 5 survive into the feed-forward
    expected = 2 * 4 * 10 * 16 + 2 * 2 * 100 * 4 + 2 * 2 * 5 * 4 * 8
    assert layer_flops(10, 5, hidden, intermediate) == expected
    # The last layer: keys and values on the 5 tokens alive on entry, CLS's query, attention row and feed-forward,
    # whatever it decided (2 or 5 kept: the same cost).
    last = 2 * (2 * 5 + 2 * 1) * 16 + 2 * 2 * 1 * 5 * 4 + 2 * 2 * 1 * 4 * 8
    assert layer_flops(5, 1, hidden, intermediate, queries=1) == last
    assert encoder_flops(10, [5, 2], hidden, intermediate) == expected + last
    assert encoder_flops(10, [5, 5], hidden, intermediate) == encoder_flops(10, [5, 2], hidden, intermediate)
    assert encoder_flops(10, [10, 10], hidden, intermediate) > encoder_flops(10, [5, 2], hidden, intermediate)


def test_ag_news_escapes_become_text(tmp_path):
    (tmp_path / "ag_news").mkdir()
    raw = ["Oil #36;50 a barrel\\\\Reuters &lt;b&gt;AT&amp;T&lt;/b&gt; says x < y"]
    pd.DataFrame({"text": raw, "label": [2]}).to_parquet(tmp_path / "ag_news" / "test.parquet")
    assert load_dataset("ag_news", "test", tmp_path).texts == ["Oil $50 a barrel Reuters AT&T says x < y"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_metrics_agree_with_scikit_learn(seed):
    """Random labels over 4 classes, one of them never predicted (zero_division=0, as ours)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
    rng = np.random.default_rng(seed)
    labels, predictions = rng.integers(0, 4, 300), rng.integers(0, 3, 300)
    ours = classification_metrics(labels, predictions, ["a", "b", "c", "d"])
    precision, recall, f1, support = precision_recall_fscore_support(labels, predictions, labels=[0, 1, 2, 3],
                                                                     zero_division=0)
    assert ours.accuracy == pytest.approx(accuracy_score(labels, predictions))
    assert (ours.macro_precision, ours.macro_recall, ours.macro_f1) == pytest.approx(
        (precision.mean(), recall.mean(), f1.mean()))
    assert [row["f1"] for row in ours.per_class] == pytest.approx(f1.tolist())
    assert [row["support"] for row in ours.per_class] == support.tolist()
    assert ours.confusion == confusion_matrix(labels, predictions, labels=[0, 1, 2, 3]).tolist()
