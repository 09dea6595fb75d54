"""Bad arguments are refused where they are declared, with a ValueError naming the argument and the value: not an
obscure error at trace time (issue #30, the library's part)."""
from __future__ import annotations

import math

import pytest
import torch

from conftest import make_bert, make_tokenizer
from pruning_core import build_method
from pruning_core.methods import LearnedTokenPruning, TopK
from pruning_core.text import PrunedTextClassifier
from test_vision_model import make_vit


@pytest.mark.parametrize("settings, named", [
    (dict(r_max=math.nan), "r_max"), (dict(r_max="0.5"), "r_max"), (dict(r_max=2), "r_max"), (dict(r_max=-1), "r_max"),
    (dict(r_max=0.5, alpha=0), "alpha"), (dict(r_max=0.5, alpha=math.inf), "alpha"), (dict(r_max=0.5, alpha=True), "alpha"),
    (dict(keep_ratios=[0.5, math.nan]), "keep_ratios"), (dict(keep_ratios="0.5"), "keep_ratios"),
    (dict(keep_ratios=[]), "keep_ratios")])
def test_topk_refuses_settings_it_cannot_use(settings, named):
    with pytest.raises(ValueError, match=named):
        build_method("topk", **settings)


@pytest.mark.parametrize("settings, named", [
    (dict(thresholds=[0.5, math.nan]), "thresholds"), (dict(thresholds=[0.5, "1"]), "thresholds"),
    (dict(keep_lambda=-1.0), "keep_lambda"), (dict(temperature=math.inf), "temperature"), (dict(num_layers=0), "num_layers")])
def test_ltp_refuses_settings_it_cannot_use(settings, named):
    with pytest.raises(ValueError, match=named):
        LearnedTokenPruning(**{"num_layers": 2, **settings})


@pytest.mark.parametrize("method", [LearnedTokenPruning(3, [0.5] * 3), LearnedTokenPruning(6, [0.5] * 6),
                                    TopK(keep_ratios=[0.5, 0.4]), build_method("ts_dtp", num_layers=2, hidden_size=32)])
def test_a_method_for_another_number_of_layers_is_refused_when_attached(method):
    with pytest.raises(ValueError, match="layers"):
        PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer(), method)
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer())
    with pytest.raises(ValueError, match="layers"):
        classifier.method = method


def test_a_method_name_where_a_method_belongs_is_refused_by_name():
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer())
    with pytest.raises(ValueError, match="method must be a pruning method.*'topk'"):
        classifier.method = "topk"


@pytest.mark.parametrize("max_length", [-5, 0, 1, 2.5, None])
def test_a_length_limit_that_cannot_hold_a_text_is_refused(max_length):
    classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer())
    with pytest.raises(ValueError, match="max_length"):
        classifier.trace(["a good film"], max_length=max_length)


@pytest.mark.parametrize("images", [None, "cat.png", ["cat.png"], [torch.zeros(3, 32, 32)]])
def test_the_vit_refuses_what_is_not_a_picture(images):
    with pytest.raises(ValueError, match="PIL image"):
        make_vit().trace(images)


def test_store_readers_refuse_a_folder_and_an_unknown_projection(tmp_path):
    from pruning_core import storage
    with pytest.raises(ValueError, match="db must be a DuckDB file"):
        storage.runs(db=tmp_path)
    with pytest.raises(ValueError, match="method must be one of 'tsne', 'umap', got 'pca'"):
        storage.projections("some-run", method="pca", db=tmp_path / "lens.duckdb")
