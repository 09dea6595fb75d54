"""A tiny random Llama (2 layers, hidden 32, 4 query heads over 2 key-value heads) as the KV lens's model."""
from __future__ import annotations

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from conftest import VOCAB, make_tokenizer
from pruning_core.generation.model import LanguageModel, prepare


def make_lm(num_layers: int = 2, seed: int = 0) -> LanguageModel:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(VOCAB), hidden_size=32, intermediate_size=64, num_hidden_layers=num_layers,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         bos_token_id=2, eos_token_id=3, pad_token_id=0)
    return LanguageModel(prepare(LlamaForCausalLM(config)), make_tokenizer(), "tiny-llama")


REVIEW = ("this movie was really great and the actors were amazing , i love the story and the music but the "
          "ending was a bit boring . the director is the best !")
