"""Finding the models the dashboard offers, and clear messages when one cannot be loaded."""
from __future__ import annotations

import pytest

from dashboard.catalog import PACKAGED_KEY, default_model, describe, discover_models, load_model
from lens_helpers import save_tiny_model
from pruning_core.methods import NoPruning, TopK
from pruning_core.classifier import ModelLoadError


def test_discovers_nested_model_folders_then_the_packaged_model(tmp_path):
    save_tiny_model(tmp_path, "imdb-quick/ltp_hard",
                    metrics={"dataset": "imdb", "accuracy": 0.8123, "label_names": ["negative", "positive"]})
    save_tiny_model(tmp_path, "agnews/baseline", method=TopK(r_max=0.5))
    (tmp_path / "models" / "notes").mkdir()                                   # no pruning.json: not a model
    entries = discover_models(tmp_path)
    assert [entry.key for entry in entries] == ["agnews/baseline", "imdb-quick/ltp_hard", PACKAGED_KEY]
    imdb = entries[1]
    assert imdb.fine_tuned and imdb.method == "ltp" and "imdb" in imdb.label and "0.812" in imdb.label
    assert not entries[-1].fine_tuned and "not fine-tuned" in entries[-1].label
    rows = describe(entries[:2])
    assert rows[1]["accuracy"] == pytest.approx(0.8123) and rows[0]["accuracy"] is None


def test_pages_start_on_a_trained_model_that_prunes(tmp_path):
    assert default_model(discover_models(tmp_path)).key == PACKAGED_KEY
    save_tiny_model(tmp_path, "a/baseline", method=NoPruning())
    assert default_model(discover_models(tmp_path)).key == "a/baseline"
    save_tiny_model(tmp_path, "b/ltp_hard")
    assert default_model(discover_models(tmp_path)).key == "b/ltp_hard"


def test_no_models_folder_still_offers_the_packaged_model(tmp_path):
    assert [entry.key for entry in discover_models(tmp_path / "nothing-here")] == [PACKAGED_KEY]


def test_loading_names_labels_from_metrics(tmp_path):
    save_tiny_model(tmp_path, "m", metrics={"label_names": ["negative", "positive"], "accuracy": "n/a"})
    classifier = load_model(discover_models(tmp_path)[0])
    assert classifier.label_names == ["negative", "positive"]


def test_broken_metrics_json_leaves_the_model_usable(tmp_path):
    folder = save_tiny_model(tmp_path, "m")
    (folder / "metrics.json").write_text("{not json")
    entry = discover_models(tmp_path)[0]
    assert entry.metrics == {} and load_model(entry).num_layers == 4


def test_a_folder_with_missing_weights_gives_a_clear_error(tmp_path):
    folder = save_tiny_model(tmp_path, "broken")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="broken"):
        load_model(discover_models(tmp_path)[0])


def test_a_corrupt_pruning_json_gives_a_clear_error(tmp_path):
    folder = save_tiny_model(tmp_path, "corrupt")
    entry = discover_models(tmp_path)[0]
    (folder / "pruning.json").write_text('{"method": "ltp", "config": {"thresholds": "oops"}}')
    with pytest.raises(ModelLoadError, match="Could not load the model folder"):
        load_model(entry)


def test_a_model_removed_after_discovery_gives_a_clear_error(tmp_path):
    folder = save_tiny_model(tmp_path, "gone")
    entry = discover_models(tmp_path)[0]
    for path in folder.iterdir():
        path.unlink()
    with pytest.raises(ModelLoadError, match="is gone"):
        load_model(entry)
