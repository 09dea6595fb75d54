"""Faithfulness: how far a pruned text classifier's answer is still its own weights' answer, per text.

For each text, y is the PRUNED model's predicted class and p_full is the probability the UNPRUNED model
(the same weights run with `NoPruning`) gives:
  - agreement: the pruned and the unpruned model predict the same class; confidence change
    p_pruned(y) - p_full(y);
  - the rationale: the tokens the classifier read (alive on entry to the last layer, `ExampleTrace.read_mask`, from
    a recorded forward pass), special tokens excluded: the head reads CLS alone after the last layer, and CLS's
    last attention reads exactly these, so the last layer's own decision cannot change the answer;
  - sufficiency = p_full(y) - p_full(y | the rationale tokens alone): near 0 (or below) when the tokens read
    alone give the unpruned model the same answer;
  - comprehensiveness = p_full(y) - p_full(y | the text without the rationale tokens): high when the answer
    leaves with the tokens read.
These are ERASER's sufficiency and comprehensiveness (DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate
Rationalized NLP Models"), with the tokens the pruned model read as the rationale. The reduced inputs are
built from token ids: [CLS] + the rationale's ids + [SEP], and [CLS] + the other ids + [SEP], in their
original order, packed to the front and padded (attention masks), so positions count from 0 as when the reduced
text is read alone. Everything is measured on what the model read: a text longer than max_length on its first
max_length tokens.

`gradient_x_input` and `rank_correlation` set a gradient saliency beside a layer's pruning scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..classifier import ClassifierOutput
from ..loop import compact
from ..methods import NoPruning
from .model import DEFAULT_MAX_LENGTH, Encoding, PrunedTextClassifier, checked_texts
from ..trace import ExampleTrace


@dataclass(frozen=True)
class Faithfulness:
    """One text's figures. Probabilities are over the classes in label order."""

    pruned_probabilities: tuple[float, ...]     # the pruned model
    unpruned_probabilities: tuple[float, ...]   # the same weights, nothing pruned, on the same tokens
    rationale_probability: float                # p_full(y | the rationale tokens alone)
    rest_probability: float                     # p_full(y | the text without the rationale tokens)
    n_kept: int                                 # rationale tokens: read by the classifier (specials excluded)
    n_tokens: int                               # tokens read (special tokens excluded)

    @property
    def pruned_prediction(self) -> int:
        return int(np.argmax(self.pruned_probabilities))

    @property
    def unpruned_prediction(self) -> int:
        return int(np.argmax(self.unpruned_probabilities))

    @property
    def agrees(self) -> bool:
        return self.pruned_prediction == self.unpruned_prediction

    @property
    def pruned_confidence(self) -> float:
        """p_pruned(y): the pruned model's probability for its answer."""
        return float(self.pruned_probabilities[self.pruned_prediction])

    @property
    def unpruned_confidence(self) -> float:
        """The unpruned model's probability for its own answer."""
        return float(self.unpruned_probabilities[self.unpruned_prediction])

    @property
    def full_probability(self) -> float:
        """p_full(y): the unpruned model's probability for the pruned model's answer."""
        return float(self.unpruned_probabilities[self.pruned_prediction])

    @property
    def confidence_change(self) -> float:
        """p_pruned(y) - p_full(y): how much surer of its answer pruning made the model (negative: less sure)."""
        return self.pruned_confidence - self.full_probability

    @property
    def sufficiency(self) -> float:
        """p_full(y) - p_full(y | rationale alone), y the pruned model's answer (ERASER)."""
        return self.full_probability - self.rationale_probability

    @property
    def comprehensiveness(self) -> float:
        """p_full(y) - p_full(y | the text without the rationale), y the pruned model's answer (ERASER)."""
        return self.full_probability - self.rest_probability


def read_positions(classifier: PrunedTextClassifier, output: ClassifierOutput, encoding: Encoding) -> Tensor:
    """(B, N) bool over the input's positions: the tokens the classifier read (each example's trace's read_mask),
    from the output of a recorded forward pass on encoding."""
    ids, lengths = encoding.input_ids, encoding.lengths
    fields = [{"tokens": classifier.tokenizer.convert_ids_to_tokens(ids[row, :n].tolist())}
              for row, n in enumerate(lengths)]
    read = torch.zeros(ids.shape, dtype=torch.bool)
    for row, trace in enumerate(classifier.example_traces(output, lengths, fields)):
        read[row, :lengths[row]] = torch.from_numpy(trace.read_mask)
    return read.to(ids.device)


def special_positions(encoding: Encoding) -> Tensor:
    """(B, N) bool: the real tokens that belong to no word of the text ([CLS], [SEP] and the like)."""
    no_word = [[word is None for word in encoding.batch.word_ids(row)] for row in range(len(encoding.lengths))]
    return torch.tensor(no_word, dtype=torch.bool, device=encoding.input_ids.device) & encoding.attention_mask.bool()


def packed(input_ids: Tensor, keep: Tensor, pad_id: int) -> tuple[Tensor, Tensor]:
    """input_ids (B, N) and keep (B, N) bool -> the kept ids moved to the front in order, (B, K) padded with
    pad_id, and their attention mask (B, K) int."""
    mask, ids = compact(keep, input_ids)
    return ids.masked_fill(~mask, pad_id), mask.long()


def probabilities(classifier: PrunedTextClassifier, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    """(B, N) ids and mask -> (B, C) class probabilities under the classifier's method."""
    return classifier(input_ids, attention_mask).logits.float().softmax(dim=-1)


def unpruned(classifier: PrunedTextClassifier) -> PrunedTextClassifier:
    """The same weights and tokenizer with nothing pruned (cheap: no copy)."""
    return PrunedTextClassifier(classifier.model, classifier.tokenizer, NoPruning())


@torch.inference_mode()
def measure(classifier: PrunedTextClassifier, texts: list[str], max_length: int = DEFAULT_MAX_LENGTH,
            batch_size: int = 32, progress: bool = False) -> list[Faithfulness]:
    """Each text's faithfulness figures (see the module docstring), in the order of texts (a bare string is one
    text; empty texts raise EmptyTextError). Texts run in batches of similar length; four forward passes per
    batch: the pruned model (recorded, for the tokens it read), then the unpruned one on the full, the
    rationale-only and the rationale-free inputs."""
    texts = checked_texts(texts)
    classifier.eval()
    full = unpruned(classifier)
    pad_id = classifier.tokenizer.pad_token_id or 0
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))   # similar lengths batch well
    results: list[Faithfulness | None] = [None] * len(texts)
    starts = range(0, len(order), batch_size)
    for start in tqdm(starts, desc="faithfulness", unit="batch", disable=not progress):
        chunk = order[start:start + batch_size]
        encoding = classifier.encode([texts[i] for i in chunk], max_length)
        ids, real = encoding.input_ids, encoding.attention_mask.bool()                 # (B, N)
        output = classifier(ids, encoding.attention_mask, record=True)
        special = special_positions(encoding)
        rationale = read_positions(classifier, output, encoding) & real & ~special     # (B, N)
        rest = real & ~special & ~rationale
        pruned_p = output.logits.float().softmax(dim=-1)                               # (B, C)
        full_p = probabilities(full, ids, encoding.attention_mask)                     # (B, C)
        alone_p = probabilities(full, *packed(ids, special | rationale, pad_id))       # (B, C)
        without_p = probabilities(full, *packed(ids, special | rest, pad_id))          # (B, C)
        answer = pruned_p.argmax(dim=-1, keepdim=True)                                  # (B, 1): y
        alone_y, without_y = alone_p.gather(1, answer)[:, 0], without_p.gather(1, answer)[:, 0]
        counts, lengths = rationale.sum(dim=1), (real & ~special).sum(dim=1)
        for row, i in enumerate(chunk):
            results[i] = Faithfulness(tuple(pruned_p[row].tolist()), tuple(full_p[row].tolist()),
                                      float(alone_y[row]), float(without_y[row]), int(counts[row]),
                                      int(lengths[row]))
    return results


def gradient_x_input(classifier: PrunedTextClassifier, texts: list[str], targets: list[int],
                     max_length: int = DEFAULT_MAX_LENGTH) -> list[np.ndarray]:
    """Per text, (n,) float32 over the tokens read (specials included, as in a trace): |sum_d g_d * x_d|, where x
    is a token's input embedding (word + position, normalised: what the first layer reads) and g the gradient of
    the UNPRUNED model's logit for the text's target class with respect to it. One batch; the model's weights get
    no gradient (only the embeddings are differentiated)."""
    texts = checked_texts(texts)
    if len(targets) != len(texts):
        raise ValueError(f"Got {len(targets)} targets for {len(texts)} texts: give one class per text.")
    full = unpruned(classifier).eval()
    encoding = classifier.encode(texts, max_length)
    with torch.enable_grad():
        embeddings = full.backbone.embed(encoding.input_ids).detach().requires_grad_(True)     # (B, N, D)
        logits = full.classify(embeddings, encoding.attention_mask.bool()).logits              # (B, C)
        chosen = logits.gather(1, torch.tensor(targets, device=logits.device)[:, None]).sum()
        (gradient,) = torch.autograd.grad(chosen, embeddings)
    saliency = (gradient * embeddings.detach()).sum(dim=-1).abs().float().cpu().numpy()         # (B, N)
    return [np.ascontiguousarray(saliency[row, :n], dtype=np.float32) for row, n in enumerate(encoding.lengths)]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two (n,) arrays (average ranks for ties); NaN for fewer than 2 values or a
    constant one."""
    a, b = pd.Series(np.asarray(a, dtype=float)).rank(), pd.Series(np.asarray(b, dtype=float)).rank()
    if len(a) < 2 or a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def last_scoring_layer(trace: ExampleTrace) -> int | None:
    """The last layer at which at least two of the text's own tokens (specials excluded) had a pruning score; None
    when no layer did."""
    words = np.array([word is not None for word in trace.word_ids], dtype=bool)           # (n,)
    scored = (~np.isnan(trace.scores) & words).sum(axis=1) >= 2                             # (L,)
    return int(np.flatnonzero(scored)[-1]) if scored.any() else None


def saliency_agreement(trace: ExampleTrace, saliency: np.ndarray, layer: int | None = None) -> tuple[int | None, float]:
    """(layer, Spearman's rho between saliency (n,) and that layer's pruning scores) over the text's own tokens
    scored there; the layer defaults to the last scoring layer. (None, NaN) when no layer scored two tokens."""
    layer = last_scoring_layer(trace) if layer is None else layer
    if layer is None:
        return None, float("nan")
    scores = trace.scores[layer]
    present = ~np.isnan(scores) & np.array([word is not None for word in trace.word_ids], dtype=bool)
    return layer, rank_correlation(np.asarray(saliency)[present], scores[present])
