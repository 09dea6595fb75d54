"""One weight-decay rule for text and vision: weight matrices decay; biases, norms and free tokens do not."""
from __future__ import annotations

import pytest
from torch import nn

from conftest import make_bert, make_tokenizer
from pruning_core.methods import LearnedTokenPruning
from pruning_core.optim import parameter_groups
from pruning_core.text import PrunedTextClassifier
from vision_helpers import make_vit


def bert():
    return PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), LearnedTokenPruning(2))


def vit():
    return make_vit(num_layers=2, method=LearnedTokenPruning(2), stem="conv")


@pytest.mark.parametrize("make", [bert, vit])
def test_norms_biases_and_free_tokens_are_exempt_from_weight_decay(make):
    classifier = make()
    groups = parameter_groups(classifier, learning_rate=1e-3, method_learning_rate=5e-2, weight_decay=0.1)
    decay_of = {id(p): group["weight_decay"] for group in groups for p in group["params"]}
    rate_of = {id(p): group["lr"] for group in groups for p in group["params"]}
    parameters = [*classifier.model.parameters(), *classifier.method.parameters()]
    assert len(decay_of) == len(parameters) == sum(len(g["params"]) for g in groups), "each in exactly one group"
    for module in classifier.model.modules():
        for name, parameter in module.named_parameters(recurse=False):
            matrix = name == "weight" and isinstance(module, (nn.Linear, nn.Conv2d, nn.Embedding))
            assert decay_of[id(parameter)] == (0.1 if matrix else 0.0), f"{type(module).__name__}.{name}"
    norms = [m for m in classifier.model.modules() if isinstance(m, (nn.LayerNorm, nn.BatchNorm2d))]
    assert norms and all(decay_of[id(m.weight)] == decay_of[id(m.bias)] == 0.0 for m in norms)
    assert all(decay_of[id(p)] == 0.0 and rate_of[id(p)] == 5e-2 for p in classifier.method.parameters())
    if make is vit:   # parameters no layer owns: ViT's CLS token and position embeddings
        embeddings = classifier.model.vit.embeddings
        assert decay_of[id(embeddings.cls_token)] == decay_of[id(embeddings.position_embeddings)] == 0.0

