"""Dataset loading, classification metrics and analytic FLOPs, checked against hand-made fixtures."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline_data import make_data_dir
from pruning_core.analysis.flops import encoder_flops, layer_flops
from pruning_core.data import DatasetUnavailableError, load_dataset
from pruning_core.metrics import classification_metrics


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


def test_missing_data_names_both_ways_to_get_it(tmp_path):
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


def test_flops_count_attention_on_the_input_and_feed_forward_on_the_survivors():
    hidden, intermediate = 4, 8
    # 10 tokens attend; 5 survive into the feed-forward
    expected = 2 * 4 * 10 * 16 + 2 * 2 * 100 * 4 + 2 * 2 * 5 * 4 * 8
    assert layer_flops(10, 5, hidden, intermediate) == expected
    assert encoder_flops(10, [5, 2], hidden, intermediate) == expected + layer_flops(5, 2, hidden, intermediate)
    assert encoder_flops(10, [10, 10], hidden, intermediate) > encoder_flops(10, [5, 2], hidden, intermediate)
