"""Soft (training) and hard (inference) modes compute the same thing when soft masks are sharp, and the
cached grouped scoring path keeps exactly the tokens the one-piece eager computation keeps.

The LTP comparison runs at a realistic temperature: masks near, not at, 0 and 1 (a faded token keeps a
tiny nonzero mask, a kept one a mask just under 1), with every threshold placed in a gap of the scores,
MARGIN temperatures from the nearest live token. At temperature 1e-9 the masks are exactly 0 or 1 and
the loop treats a faded token as padding, so the comparison would pass with soft mode's mechanisms
removed; here each removed mechanism makes it fail (the mutation tests at the end)."""
from __future__ import annotations

import __future__
import inspect
import textwrap
from dataclasses import dataclass, replace
from typing import Callable

import pytest
import torch
from torch import Tensor

from conftest import WORDS, make_bert, make_tokenizer
from pruning_core import attention, loop
from pruning_core.methods import LearnedTokenPruning, TaskSpecificDynamicPruning, TopK
from pruning_core.text import PrunedTextClassifier
from pruning_core.text.model import Encoding

NUM_LAYERS = 4
OPEN_LAYER = 2          # threshold 0: hard mode keeps every token; soft mode must not revive faded ones
MARGIN = 10.0           # temperatures between each live score and its threshold: masks within 5e-5 of 0 or 1
LOGIT_TOLERANCE = 1e-3  # soft - hard at this margin: ~1e-6; the mutants: 1e-2 and more
OUTPUT_TOLERANCE = 1e-3  # the same for each layer's output rows (LayerNorm'd, entries of order 1)


def long_texts(count: int = 6, seed: int = 0, shortest: int = 40, longest: int = 160) -> list[str]:
    generator = torch.Generator().manual_seed(seed)
    return [" ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (int(n),), generator=generator))
            for n in torch.randint(shortest, longest, (count,), generator=generator)]


@dataclass
class Run:
    """What one mode computed, laid out over the original token positions."""

    kept: Tensor           # (L, B, N) bool, alive after each layer
    outputs: list[Tensor]  # per layer but the last: (B, N, D) its output, zeros where a token is gone
    logits: Tensor         # (B, C)
    presence: Tensor | None = None  # soft mode: (L, B, N) cumulative mask after each layer


class _Recording:
    """Wraps loop.<name> (the real step or a mutant installed before) to record the state after each call."""

    def __init__(self, name: str, read: Callable[[loop._LoopState], tuple[Tensor, ...]]):
        self.name, self.read, self.calls = name, read, []

    def __enter__(self) -> "_Recording":
        step = self.original = getattr(loop, self.name)

        def recording(state, *args):
            step(state, *args)
            self.calls.append(self.read(state))
        setattr(loop, self.name, recording)
        return self

    def __exit__(self, *exc) -> None:
        setattr(loop, self.name, self.original)


def over_positions(hidden: Tensor, positions: Tensor, alive: Tensor, length: int) -> Tensor:
    """(B, K, D) rows at original positions (B, K), alive (B, K) -> (B, N, D), zeros where no live row."""
    placed = hidden.new_zeros(hidden.shape[0], length, hidden.shape[2])
    return placed.scatter(1, positions.unsqueeze(-1).expand_as(hidden), hidden * alive.unsqueeze(-1))


def run_hard(classifier: PrunedTextClassifier, encoding: Encoding) -> Run:
    """Kept sets and layer outputs from a recorded pass; logits from the inference path (CLS-only last layer)."""
    length = encoding.input_ids.shape[1]
    with torch.no_grad():
        with _Recording("_hard_step", lambda s: (over_positions(s.hidden, s.positions, s.alive, length),)) as steps:
            recorded = classifier(encoding.input_ids, encoding.attention_mask, record=True)
        logits = classifier(encoding.input_ids, encoding.attention_mask).logits
    kept = torch.stack([record.kept for record in recorded.loop.records])
    return Run(kept, [output for output, in steps.calls], logits)


def run_soft(classifier: PrunedTextClassifier, encoding: Encoding) -> Run:
    """A soft pass; a token counts as kept while its cumulative mask is above one half."""
    with torch.no_grad(), _Recording("_soft_step", lambda s: (s.hidden, s.presence)) as steps:
        logits = classifier(encoding.input_ids, encoding.attention_mask).logits
    presence = torch.stack([mask for _, mask in steps.calls])
    kept = (presence > 0.5) & encoding.attention_mask.bool()
    return Run(kept, [hidden for hidden, _ in steps.calls[:-1]], logits, presence)


def disagreements(soft: Run, hard: Run, tolerance: float = OUTPUT_TOLERANCE) -> list[str]:
    """Where soft mode computed something other than hard mode: kept sets, layer outputs, logits."""
    problems = [f"layer {layer}: {int((s != h).sum())} tokens kept differently"
                for layer, (s, h) in enumerate(zip(soft.kept, hard.kept)) if not torch.equal(s, h)]
    for layer, (s, h) in enumerate(zip(soft.outputs, hard.outputs)):
        if (gap := float((s - h).abs().max())) > tolerance:
            problems.append(f"layer {layer}: outputs differ by up to {gap:.3g}")
    if (gap := float((soft.logits - hard.logits).abs().max())) > LOGIT_TOLERANCE:
        problems.append(f"logits differ by up to {gap:.3g}")
    return problems


@dataclass
class LtpCase:
    classifier: PrunedTextClassifier
    encoding: Encoding
    thresholds: list[float]
    temperature: float
    hard: Run

    def soft(self) -> Run:
        self.classifier.method = LearnedTokenPruning(NUM_LAYERS, self.thresholds, self.temperature, mode="soft")
        return run_soft(self.classifier, self.encoding)


def gapped_thresholds(classifier: PrunedTextClassifier, encoding: Encoding, keep: float = 0.6
                      ) -> tuple[list[float], float]:
    """Layer by layer, a threshold in the widest gap between live tokens' hard-mode scores near the keep-quantile
    (OPEN_LAYER gets 0), and the smallest distance from any live score to its layer's threshold."""
    thresholds, distance = [0.0] * NUM_LAYERS, float("inf")
    for layer in range(NUM_LAYERS):
        classifier.method = LearnedTokenPruning(NUM_LAYERS, thresholds)
        with torch.no_grad():
            scores = classifier(encoding.input_ids, encoding.attention_mask, record=True).loop.records[layer].scores
        live = scores[:, 1:][~scores[:, 1:].isnan()].sort().values   # CLS is never dropped
        if layer == OPEN_LAYER:
            distance = min(distance, float(live[0]))
            continue
        low, high = (int(len(live) * (1 - keep + shift)) for shift in (-0.15, 0.15))
        gaps = live[low + 1:high] - live[low:high - 1]
        widest = int(gaps.argmax())
        thresholds[layer] = float(live[low + widest] + live[low + widest + 1]) / 2
        distance = min(distance, float(gaps[widest]) / 2)
    return thresholds, distance


@pytest.fixture(scope="module")
def ltp_case() -> LtpCase:
    classifier = PrunedTextClassifier(make_bert(num_layers=NUM_LAYERS), make_tokenizer())
    encoding = classifier.encode(long_texts(4, shortest=30, longest=80))
    thresholds, distance = gapped_thresholds(classifier, encoding)
    classifier.method = LearnedTokenPruning(NUM_LAYERS, thresholds)
    return LtpCase(classifier, encoding, thresholds, distance / MARGIN, run_hard(classifier, encoding))


def test_ltp_soft_at_a_realistic_temperature_computes_what_hard_mode_computes(ltp_case):
    hard, soft = ltp_case.hard, ltp_case.soft()
    counts = hard.kept.sum(dim=(1, 2))
    assert all(counts[layer] < counts[layer - 1] for layer in range(1, NUM_LAYERS) if layer != OPEN_LAYER), \
        f"every layer but the open one should prune, kept {counts.tolist()}"
    real = ltp_case.encoding.attention_mask.bool()
    faint, almost = (soft.presence > 0) & (soft.presence < 1e-3), (soft.presence > 0.5) & (soft.presence < 1)
    assert (faint & real).any() and almost.any(), "masks should be near 0 and 1, not exactly 0 or 1"
    assert disagreements(soft, hard) == []


def mutated_soft_step(old: str, new: str) -> Callable:
    """A copy of loop._soft_step with one statement replaced: the real code less one mechanism."""
    source = textwrap.dedent(inspect.getsource(loop._soft_step))
    assert source.count(old) == 1, f"loop._soft_step no longer contains {old!r}: update this mutant"
    namespace = dict(vars(loop))
    exec(compile(source.replace(old, new), loop.__file__, "exec", __future__.annotations.compiler_flag), namespace)
    return namespace["_soft_step"]


def without_query_weighting(monkeypatch) -> None:
    """Every live row counts as a whole query in the attention received, however faded."""
    received = attention._received
    monkeypatch.setattr(attention, "_received", lambda probs, weight: received(probs, (weight > 0).to(probs.dtype)))


def replacing(old: str, new: str) -> Callable:
    return lambda monkeypatch: monkeypatch.setattr(loop, "_soft_step", mutated_soft_step(old, new))


MUTANTS = {
    "key log-mask": replacing("state.mask = key_bias if padding is None else key_bias + padding",
                              "state.mask = padding"),
    "query weighting": without_query_weighting,
    "masks multiplied across layers": replacing("presence = state.presence * layer_mask",
                                                "presence = layer_mask"),
    "output scaled by the mask": replacing("block.feed_forward(attended) * state.presence.unsqueeze(-1)",
                                           "block.feed_forward(attended)"),
}


@pytest.mark.parametrize("mechanism", MUTANTS)
def test_the_comparison_fails_when_soft_mode_loses_a_mechanism(monkeypatch, ltp_case, mechanism):
    """The output scaling changes no logit here: a faded row's weight as a key is its mask, near 0, whatever
    its size; it shows in the faded rows' outputs, which hard mode removes and soft mode must zero."""
    MUTANTS[mechanism](monkeypatch)
    assert disagreements(ltp_case.soft(), ltp_case.hard) != []


def subnormal(values: Tensor) -> Tensor:
    return (values != 0) & (values.abs() < torch.finfo(values.dtype).tiny)


class FadingOddTokens(LearnedTokenPruning):
    """Soft masks of 1e-20 for the odd positions at every layer: two layers' product, 1e-40, is a subnormal float."""

    def select(self, state):
        chosen = super().select(state)
        faded = torch.ones_like(chosen.soft_mask)
        faded[:, 1::2] = 1e-20
        return replace(chosen, soft_mask=faded)


@pytest.mark.parametrize("floored", [True, False])
def test_soft_mode_removes_rows_faded_below_the_floor_so_no_subnormal_floats_arise(monkeypatch, floored):
    """Subnormal floats are slow on some CPUs: soft mode counts a row whose mask product falls under loop.FADED as
    removed, exactly 0 (as hard mode would have it), so none arise. The broken copy without the floor makes them."""
    if not floored:
        monkeypatch.setattr(loop, "_soft_step", mutated_soft_step(
            "state.presence = presence.masked_fill(presence < FADED, 0.0)", "state.presence = presence"))
    classifier = PrunedTextClassifier(make_bert(num_layers=NUM_LAYERS), make_tokenizer(),
                                      FadingOddTokens(NUM_LAYERS, mode="soft"))
    encoding = classifier.encode(long_texts(2, shortest=20, longest=40))
    soft = run_soft(classifier, encoding)
    arisen = bool(subnormal(soft.presence).any()) or any(bool(subnormal(output).any()) for output in soft.outputs)
    assert arisen != floored
    if floored:
        odd = soft.presence[:, :, 1::2]
        assert (odd == 0).all() and (soft.presence[:, :, 0] == 1).all()
        assert torch.isfinite(soft.logits).all()


def test_ltp_scores_are_relative_to_the_live_tokens_so_removal_does_not_inflate_them():
    """Every live query hands out a total of 1: after removals the live tokens' scores sum to their count (mean 1)."""
    texts = long_texts(3)
    classifier = PrunedTextClassifier(make_bert(num_layers=NUM_LAYERS), make_tokenizer())
    classifier.method = LearnedTokenPruning(NUM_LAYERS, [0.8, 0.9, 1.0, 1.1], score="relative")
    for trace in classifier.trace(texts):
        assert trace.kept[-1].sum() < 0.5 * len(trace.tokens), "the thresholds should prune"
        for layer in range(1, NUM_LAYERS):
            live = trace.scores[layer][trace.kept[layer - 1]]
            assert live.sum() == pytest.approx(trace.kept[layer - 1].sum(), rel=1e-4)


def test_ts_dtp_soft_computes_what_hard_mode_computes():
    """TS-DTP's soft masks are straight-through: exactly 0 or 1 in the forward pass at any temperature (here
    its default, 0.5), so soft mode must match hard mode to rounding. Of the four mechanisms only the output
    scaling shows in its forward pass (the others act on masks strictly between 0 and 1, i.e. on gradients)."""
    texts = long_texts()
    torch.manual_seed(0)
    method = TaskSpecificDynamicPruning(NUM_LAYERS, 32, offsets=[-0.3, 0.0, 0.2, 0.4], mode="hard")
    classifier = PrunedTextClassifier(make_bert(num_layers=NUM_LAYERS), make_tokenizer(), method)
    encoding = classifier.encode(texts)
    hard = run_hard(classifier, encoding)
    counts = hard.kept.sum(dim=(1, 2))
    assert counts[-1] < 0.5 * counts[0], f"the offsets should prune, kept {counts.tolist()}"
    method.mode = "soft"
    assert disagreements(run_soft(classifier, encoding), hard, tolerance=1e-5) == []
    with pytest.MonkeyPatch.context() as monkeypatch:
        MUTANTS["output scaled by the mask"](monkeypatch)
        assert disagreements(run_soft(classifier, encoding), hard, tolerance=1e-5) != []


@pytest.mark.parametrize("method", [
    lambda: LearnedTokenPruning(4, [0.004, 0.008, 0.01, 0.012]),
    lambda: TopK(r_max=0.7, alpha=1.0, score="received"),
])
def test_grouped_scoring_keeps_exactly_what_one_piece_eager_attention_keeps(monkeypatch, method):
    texts = long_texts(12, seed=3)
    classifier = PrunedTextClassifier(make_bert(num_layers=4), make_tokenizer(), method())
    monkeypatch.setattr(attention, "GROUP_BYTES", 1)          # one example at a time
    grouped = classifier.trace(texts, batch_size=12)
    monkeypatch.setattr(attention, "GROUP_BYTES", 10 ** 12)   # the whole batch in one piece
    whole = classifier.trace(texts, batch_size=12)
    for a, b in zip(grouped, whole):
        assert (a.kept == b.kept).all()
    with torch.enable_grad():   # the autograd path computes the same decisions
        encoding = classifier.encode(texts)
        output = classifier(encoding.input_ids, encoding.attention_mask, record=True)
    for row, trace in enumerate(whole):
        kept = torch.stack([record.kept[row, :len(trace.tokens)] for record in output.loop.records])
        assert (kept.numpy() == trace.kept).all()
