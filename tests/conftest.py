"""Tiny random models (hidden 32, a few layers) and a tiny tokenizer, built in memory: no downloads."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import settings
from transformers import (BertConfig, BertForSequenceClassification, BertTokenizer, DistilBertConfig,
                          DistilBertForSequenceClassification, RobertaConfig, RobertaForSequenceClassification)

from pruning_core.text import PrunedTextClassifier

WORDS = ("the a an this that it is was are be not very really so and but or of to in on for with as at by "
         "movie film story plot actor actress scene music ending director great good bad awful best worst "
         "love hate boring fun funny terrible amazing excellent waste recommend team win season league game "
         "stocks oil prices bank profit shares iraq president minister troops linux google internet space "
         "i you he she we they one two first last new old time life people world . , ! ? ' \" ( )").split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##s", "##ing", "##ed", "##ly", "##er"]


@pytest.fixture
def artifacts(tmp_path, monkeypatch) -> Path:
    """An empty artifacts folder the dashboard reads (LENS_ARTIFACTS), with Streamlit's model cache cleared."""
    import streamlit as st
    root = tmp_path / "artifacts"
    monkeypatch.setenv("LENS_ARTIFACTS", str(root))
    st.cache_resource.clear()
    threads = torch.get_num_threads()     # the app sets torch's process-wide thread count
    yield root
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="session")
def tiny_language_model(tmp_path_factory):
    """Every test that opens the KV cache page (directly or through every page) gets the tiny random Llama of
    kv_helpers, saved once, instead of loading the packaged SmolLM2 (a minute each)."""
    from kv_helpers import make_lm
    from pruning_core.paths import LANGUAGE_MODEL_ENV

    folder = tmp_path_factory.mktemp("tiny-language-model")
    lm = make_lm()
    lm.model.config.max_position_embeddings = 2048     # room for a haystack (RoPE has no position table)
    lm.model.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    patch = pytest.MonkeyPatch()
    patch.setenv(LANGUAGE_MODEL_ENV, str(folder))
    yield folder
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny models gain nothing from a second thread, and on a busy machine two threads wait on each
    other at every op (the vision training tests: 2 s on one thread, 69 s on two beside other jobs)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def make_tokenizer() -> BertTokenizer:
    return BertTokenizer(vocab={word: index for index, word in enumerate(VOCAB)}, model_max_length=512)


def make_bert(num_layers: int = 4, num_labels: int = 2, seed: int = 0, init: float = 0.3) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=num_layers, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=512, num_labels=num_labels,
                        attention_probs_dropout_prob=0.0, initializer_range=init)
    model = BertForSequenceClassification(config)
    model.set_attn_implementation("eager")
    return model.eval()


def make_distilbert(num_layers: int = 2, seed: int = 0) -> DistilBertForSequenceClassification:
    torch.manual_seed(seed)
    config = DistilBertConfig(vocab_size=len(VOCAB), dim=32, n_layers=num_layers, n_heads=4, hidden_dim=37,
                              max_position_embeddings=512, attention_dropout=0.0, initializer_range=0.3)
    model = DistilBertForSequenceClassification(config)
    model.set_attn_implementation("eager")
    return model.eval()


def make_roberta(num_layers: int = 3, seed: int = 0) -> RobertaForSequenceClassification:
    torch.manual_seed(seed)
    config = RobertaConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=num_layers, num_attention_heads=4,
                           intermediate_size=37, max_position_embeddings=514, pad_token_id=0,
                           attention_probs_dropout_prob=0.0, initializer_range=0.3)
    model = RobertaForSequenceClassification(config)
    model.set_attn_implementation("eager")
    return model.eval()


@pytest.fixture
def tokenizer() -> BertTokenizer:
    return make_tokenizer()


@pytest.fixture
def classifier() -> PrunedTextClassifier:
    return PrunedTextClassifier(make_bert(), make_tokenizer())


REVIEWS = [
    "this movie was great , i love the story and the music .",
    "awful plot . the worst film of the year , a waste of time .",
    "not bad",
    "the director and the actress were amazing ! i recommend it to you",
    "boring , boring , boring . the ending was so terrible that we left .",
]


# Property-based tests (Hypothesis): the same examples on every run and machine, no example database in the
# checkout, and no per-example deadline (a page run takes seconds on a busy CI machine).
settings.register_profile("lens", derandomize=True, database=None, deadline=None)
settings.load_profile("lens")
