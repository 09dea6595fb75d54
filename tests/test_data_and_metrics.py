"""Dataset loading, classification metrics and analytic FLOPs, checked against hand-made fixtures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_data import make_data_dir
from pruning_core.analysis.flops import encoder_flops, layer_flops
from pruning_core.data import DatasetUnavailableError, load_dataset
from pruning_core.metrics import classification_metrics, paired_bootstrap


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

def test_flops_count_attention_on_the_input_and_feed_forward_on_the_survivors():
    hidden, intermediate = 4, 8
    # 10 tokens attend; 5 survive into the feed-forward
    expected = 2 * 4 * 10 * 16 + 2 * 2 * 100 * 4 + 2 * 2 * 5 * 4 * 8
    assert layer_flops(10, 5, hidden, intermediate) == expected
    assert encoder_flops(10, [5, 2], hidden, intermediate) == expected + layer_flops(5, 2, hidden, intermediate)
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
