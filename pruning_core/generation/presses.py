"""Presses: rules that choose which of a prompt's context tokens stay in the key-value cache.

A press ranks the context tokens of every layer and key-value head with a score (higher stays) and keeps a budget of
them; each key-value head keeps its own tokens (grouped query heads share their key-value head's choice, their
attention summed), and every head of a layer keeps as many. The question and the answer's tokens are never pressed.
Like kvpress's presses, written here from the papers:

  full          keeps everything (the reference)
  streaming     StreamingLLM: the first `sinks` tokens and the most recent ones
  h2o           H2O: heavy hitters by attention received from every prompt query, plus a share of recent tokens
  snapkv        SnapKV: votes of the prompt's last queries (the question's end), averaged over neighbours
  tova          TOVA: the last prompt token's attention; while decoding, each new query evicts the least attended
  pyramid       PyramidKV: SnapKV's votes with budgets falling linearly from the lowest layer to the highest
  random        a uniformly random choice (the floor any rule must beat)

A press describes itself (`controls`, `describe`, `layer_budgets`), so no caller needs its name. Its `label` names it
with the settings that differ from the defaults ("snapkv:kernel=15"); `press_from_label` builds it back.
Shapes: B batch (1), Hk key-value heads, C context tokens, k kept.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..methods.base import finite_number
from ..methods.controls import Control
from .attention import OBSERVATION_WINDOW, LayerAttention


def tokens_kept(budget: float | int, context: int) -> int:
    """How many of `context` tokens a budget keeps: a float in (0, 1] is a share (rounded up), an int ≥ 1 a count
    (at most `context`). ValueError naming the budget otherwise."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise ValueError(f"budget must be a share in (0, 1] or a token count ≥ 1, got {budget!r}.")
    if isinstance(budget, int):
        if budget < 1:
            raise ValueError(f"budget must be a token count ≥ 1 or a share in (0, 1], got {budget!r}.")
        return min(budget, context)
    share = finite_number("budget", budget, 0.0, 1.0, low_open=True)
    return min(context, max(1, math.ceil(share * context)))


def keep_positions(scores: Tensor, kept: int) -> Tensor:
    """(B, Hk, C) scores -> (B, Hk, k) the positions of the k highest, in ascending order."""
    return scores.topk(kept, dim=-1).indices.sort(dim=-1).values


def recency(shape: tuple[int, ...], device: torch.device) -> Tensor:
    """(B, Hk, C) scores that rank later tokens higher, in [0, 1)."""
    context = shape[-1]
    return (torch.arange(context, device=device, dtype=torch.float32) / context).expand(shape)


class Press:
    """Base class: a subclass sets name and title and implements `scores` (from the LayerAttention it is given)."""

    name = "base"
    title = "base"
    rolls = False                 # it has a rule for evicting while decoding (`step_scores`)
    paper = ""

    def __init__(self, **settings):
        values = {control.name: control.default for control in self.controls()}
        for name, value in settings.items():
            control = next((c for c in self.controls() if c.name == name), None)
            if control is None:
                raise ValueError(f"{self.title} has no setting {name!r}; it takes "
                                 f"{', '.join(c.name for c in self.controls()) or 'none'}.")
            values[name] = control.check(value)
        self.settings = values

    @classmethod
    def controls(cls) -> tuple[Control, ...]:
        return ()

    def describe(self) -> str:
        """One line on what this press, with these settings, keeps."""
        return self.title

    def config(self) -> dict:
        return {"press": self.name, **self.settings}

    @property
    def label(self) -> str:
        """The name, then each setting that differs from its default: "snapkv", "snapkv:kernel=15"."""
        defaults = {control.name: control.default for control in self.controls()}
        return self.name + "".join(f":{name}={value:g}" for name, value in self.settings.items()
                                   if value != defaults[name])

    def layer_budgets(self, kept: int, context: int, num_layers: int) -> list[int]:
        """Tokens kept at each layer for a budget of `kept` per layer on average."""
        return [kept] * num_layers

    def scores(self, attention: LayerAttention | None, context: int, kept: int, shape: tuple[int, int, int],
               device: torch.device) -> Tensor:
        """(B, Hk, C) the context tokens' scores at one layer (higher stays), for a budget of `kept`."""
        raise NotImplementedError

    def step_scores(self, attention: Tensor, accumulated: Tensor) -> Tensor:
        """While decoding: (B, Hk, S) the cache's context entries' scores after a new query paid `attention`;
        `accumulated` is the attention each entry has received, prefill included (B, Hk, S)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.describe()


class FullCache(Press):
    name, title = "full", "Full cache"
    paper = "the reference: nothing evicted"

    def describe(self) -> str:
        return "Full cache: keeps every token (the reference)"

    def layer_budgets(self, kept, context, num_layers):
        return [context] * num_layers

    def scores(self, attention, context, kept, shape, device):
        return recency(shape, device)


class StreamingLLM(Press):
    name, title, rolls = "streaming", "StreamingLLM", True
    paper = "Xiao et al. 2024, Efficient Streaming Language Models with Attention Sinks"

    @classmethod
    def controls(cls):
        return (Control("sinks", "Sink tokens", 4.0, low=0, high=64, step=1, url="sinks", on_steps=True,
                        help="The first tokens of the prompt, always kept: attention piles up on them."),)

    def describe(self) -> str:
        return f"StreamingLLM: the first {self.settings['sinks']:g} tokens (sinks) and the most recent ones"

    def scores(self, attention, context, kept, shape, device):
        scores = recency(shape, device).clone()
        scores[..., :int(self.settings["sinks"])] = math.inf
        return scores

    def step_scores(self, attention, accumulated):
        scores = recency(attention.shape, attention.device).clone()
        scores[..., :int(self.settings["sinks"])] = math.inf
        return scores


class H2O(Press):
    name, title, rolls = "h2o", "H2O", True
    paper = "Zhang et al. 2023, H2O: Heavy-Hitter Oracle"

    @classmethod
    def controls(cls):
        return (Control("recent", "Share kept for recent tokens", 0.5, low=0, high=1, step=0.05, url="recent",
                        help="H2O keeps the most recent tokens beside the heavy hitters; the paper splits half-half."),)

    def describe(self) -> str:
        return (f"H2O: the tokens that received the most attention from every prompt token (summed), with "
                f"{self.settings['recent']:.0%} of the budget for the most recent")

    def scores(self, attention, context, kept, shape, device):
        scores = attention.received[..., :context].clone()
        recent = int(round(self.settings["recent"] * kept))
        if recent:
            scores[..., context - recent:] = math.inf
        return scores

    def step_scores(self, attention, accumulated):
        return accumulated


class SnapKV(Press):
    name, title = "snapkv", "SnapKV"
    paper = "Li et al. 2024, SnapKV: LLM Knows What You are Looking for Before Generation"

    @classmethod
    def controls(cls):
        return (Control("kernel", "Pooling width", 5.0, low=1, high=31, step=2, url="kernel", on_steps=True,
                        help="Votes are averaged over this many neighbouring tokens, so a kept token tends to keep "
                             "its neighbours. 15 keeps whole phrases: on validation needles it kept the secret "
                             "code's digits, which 5 drops, but it read sentiment less well."),)

    def describe(self) -> str:
        return (f"SnapKV: the tokens the prompt's last {OBSERVATION_WINDOW} queries (the question and the context's "
                f"end) attend to most, averaged over {self.settings['kernel']:g} neighbours")

    def scores(self, attention, context, kept, shape, device):
        return pooled(attention.window[..., :context], int(self.settings["kernel"]))


def pooled(votes: Tensor, kernel: int) -> Tensor:
    """(B, Hk, C) votes averaged over `kernel` neighbours (odd), same length."""
    if kernel <= 1:
        return votes
    batch, heads, context = votes.shape
    flat = votes.reshape(batch * heads, 1, context)
    spread = F.avg_pool1d(flat, kernel, stride=1, padding=kernel // 2, count_include_pad=False)
    return spread.reshape(batch, heads, context)


class TOVA(Press):
    name, title, rolls = "tova", "TOVA", True
    paper = "Oren et al. 2024, Transformers are Multi-State RNNs"

    def describe(self) -> str:
        return "TOVA: the tokens the last prompt token attends to most (while decoding, each new token's attention)"

    def scores(self, attention, context, kept, shape, device):
        return attention.last[..., :context]

    def step_scores(self, attention, accumulated):
        return attention


class PyramidKV(SnapKV):
    name, title = "pyramid", "PyramidKV"
    paper = "Cai et al. 2024, PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information Funneling"

    @classmethod
    def controls(cls):
        return SnapKV.controls() + (
            Control("slope", "Pyramid slope", 0.5, low=0, high=1, step=0.05, url="slope",
                    help="The lowest layer keeps (1 + slope) × the budget, the highest (1 − slope) ×, linearly "
                         "between; 0 is SnapKV."),)

    def describe(self) -> str:
        return (f"PyramidKV: SnapKV's votes, budgets from {1 + self.settings['slope']:.2g}× the average at the "
                f"lowest layer to {1 - self.settings['slope']:.2g}× at the highest")

    def layer_budgets(self, kept, context, num_layers):
        slope = self.settings["slope"]
        if num_layers == 1:
            return [kept]
        shares = [1 + slope - 2 * slope * layer / (num_layers - 1) for layer in range(num_layers)]
        return [min(context, max(1, round(kept * share))) for share in shares]


class RandomPress(Press):
    name, title = "random", "Random"
    paper = "a floor: any rule should beat a random choice"

    @classmethod
    def controls(cls):
        return (Control("seed", "Seed", 0.0, low=0, high=1_000_000, step=1, url="seed", on_steps=True),)

    def describe(self) -> str:
        return f"Random: a uniformly random choice of tokens (seed {self.settings['seed']:g})"

    def scores(self, attention, context, kept, shape, device):
        generator = torch.Generator().manual_seed(int(self.settings["seed"]))
        return torch.rand(shape, generator=generator).to(device)


PRESSES: dict[str, type[Press]] = {press.name: press for press in
                                   (FullCache, StreamingLLM, H2O, SnapKV, TOVA, PyramidKV, RandomPress)}


def build_press(name: str, **settings) -> Press:
    """A press by name with its settings (defaults for the rest); ValueError naming what is wrong."""
    if name not in PRESSES:
        raise ValueError(f"press must be one of {', '.join(PRESSES)}, got {name!r}.")
    return PRESSES[name](**settings)


def press_from_label(label: str) -> Press:
    """The press a label names: "snapkv", or with settings after colons, "pyramid:kernel=15:slope=0.3"; ValueError
    naming the label when a part is not `setting=number`."""
    name, *parts = label.strip().split(":")
    settings = {}
    for part in parts:
        setting, _, value = part.partition("=")
        try:
            settings[setting.strip()] = float(value)    # "" (no "=") raises too
        except ValueError:
            raise ValueError(f"press {label!r}: each setting after the name must be setting=number, "
                             f"got {part!r}.") from None
    return build_press(name, **settings)
