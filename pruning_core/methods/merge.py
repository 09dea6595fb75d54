"""`merge`: token merging (ToMe-style): at each layer, fold the most redundant rows into their nearest neighbours.

Instead of dropping a token, merging averages it into the row it most resembles, so what it carried stays in
the sum. After a layer's attention, the live rows are split in two alternating sets (A: rows 0, 2, 4, ...;
B: rows 1, 3, 5, ...), each A row finds its most similar B row (cosine similarity of the hidden states after
attention), and the A rows with the highest similarity are averaged into their B partners, weighted by how
many input tokens each row already stands for (its size). CLS (row 0, in A) is never merged away.
Merged rows stand for several tokens, so later attention counts each key once per token it holds: log(size) is
added to its attention logits (ToMe's proportional attention), done by the layer loop from `Merge.sizes`.

How many rows remain after each layer follows the cascading schedule of `topk` (r_max, α), so a merged model
and a pruned one at the same settings run the same number of rows through every layer. One layer can merge
at most every A row but CLS (about half its rows); the schedule's cut is capped there.

Differences from ToMe (Bolya et al., 2023): the similarity is taken between the hidden states after attention
(ToMe uses the keys, averaged over heads), and the count per layer is a schedule rather than a constant r.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from .base import LayerState, Merge, PruningMethod, Selection, finite_number
from .controls import Control
from .topk import schedule_keep_ratio


def merge_count(current: Tensor, ratio: float) -> Tensor:
    """(B,) live rows (CLS included) -> (B,) rows each example merges away at this layer: the schedule's cut
    (keep 1 + floor(ratio * (rows - 1))), capped at the A set's rows other than CLS."""
    wanted = 1 + torch.floor(ratio * (current - 1).double()).long()
    return (current - wanted).clamp(min=0).minimum((current - 1) // 2)


def bipartite_merge(hidden: Tensor, sizes: Tensor, alive: Tensor, merges: Tensor) -> tuple[Merge, Tensor]:
    """Fold `merges` (B,) A rows of each example into their most similar B rows.

    hidden (B, K, D) rows after attention, sizes (B, K) input tokens per row (0 for padding), alive (B, K).
    Returns the Merge (hidden with the merged B rows averaged by size, the new sizes, and for each row merged
    away the row it joined) and each row's distinctiveness (B, K): 1 - its highest similarity to the other set.
    Only the r = max(merges) best-matched A rows of each example are gathered and added into their partners: the
    layer's cost grows with r, not with the row count (a few dozen small operations per layer)."""
    batch, length, width = hidden.shape
    with torch.autocast(hidden.device.type, enabled=False):   # similarities in float32 even under bf16 autocast
        unit = F.normalize(hidden.detach().float(), dim=-1)
        similarity = unit[:, 0::2] @ unit[:, 1::2].transpose(1, 2)                   # (B, Ka, Kb)
    if not bool(alive.all()):   # padding neither merges nor receives
        similarity = similarity.masked_fill(~alive[:, 1::2].unsqueeze(1), float("-inf"))
        similarity = similarity.masked_fill(~alive[:, 0::2].unsqueeze(2), float("-inf"))
    similarity[:, 0] = float("-inf")                                                   # CLS never merges away
    best, partner = similarity.max(dim=2)                                             # (B, Ka) each A row's best B
    order = best.argsort(dim=1, descending=True, stable=True)                         # most redundant A rows first
    ranked = order[:, :int(merges.max())]                                             # (B, r) A indices, best first
    merging = (torch.arange(ranked.shape[1], device=hidden.device) < merges.unsqueeze(1)) \
        & torch.isfinite(best.gather(1, ranked))                                      # (B, r) really merged
    source, target = 2 * ranked, 2 * partner.gather(1, ranked) + 1                    # (B, r) row numbers
    sizes = sizes.to(hidden.dtype)
    brought = sizes.gather(1, source) * merging                                       # (B, r) tokens each brings
    totals = sizes.scatter_add(1, target, brought)                                    # sizes after merging
    # Each target moves towards what joins it by brought / total: after all r additions it holds the size-weighted
    # mean, also where several rows join one; no other row is touched.
    rows = lambda numbers: hidden.gather(1, numbers.unsqueeze(-1).expand(-1, -1, width))   # (B, r, D)
    step = (brought / totals.gather(1, target).clamp(min=1e-6)).unsqueeze(-1) * (rows(source) - rows(target))
    merged_hidden = hidden.scatter_add(1, target.unsqueeze(-1).expand(-1, -1, width), step)
    new_sizes = totals.scatter(1, source, totals.gather(1, source) * ~merging)
    into = torch.full((batch, length), -1, dtype=torch.long, device=hidden.device)
    into = into.scatter(1, source, torch.where(merging, target, -1))

    closest = torch.empty((batch, length), device=hidden.device)
    closest[:, 0::2], closest[:, 1::2] = best, similarity.max(dim=1).values
    distinct = (1 - closest).masked_fill(~torch.isfinite(closest), 1.0)
    return Merge(merged_hidden, new_sizes, into), distinct


class TokenMerging(PruningMethod):
    name = "merge"
    title = "Token merging"
    attention_summary = None   # it needs the rows, not an attention summary
    merges_tokens = True

    def __init__(self, r_max: float = 0.6, alpha: float = 1.0):
        super().__init__()
        self.r_max = finite_number("r_max", r_max, 0.0, 1.0, high_open=True)
        self.alpha = finite_number("alpha", alpha, 0.0, low_open=True)

    @classmethod
    def controls(cls) -> tuple[Control, ...]:
        return (
            Control("r_max", "r_max", 0.6, low=0.0, high=0.95, step=0.05, url="merge_r_max",
                    help="keep(l) = 1 − r_max · ((l+1)/L)^α of the previous layer's rows: the rest are merged into "
                         "their most similar neighbours (at most about half a layer's rows)."),
            Control("alpha", "α", 1.0, low=0.2, high=4.0, step=0.1, url="merge_alpha",
                    help="Above 1, early layers merge little and late ones much; below 1, merging starts early."),
        )

    @classmethod
    def settings_from_controls(cls, values: dict, num_layers: int | None) -> dict:
        return {"r_max": values["r_max"], "alpha": values["alpha"]}

    def describe(self) -> str:
        return (f"Token merging: after each layer's attention, rows are averaged into their most similar neighbour "
                f"(cosine similarity of the hidden states, two alternating sets) until 1 − {self.r_max:g}·((l+1)/L)"
                f"^{self.alpha:g} of the previous layer's rows remain; merged rows count once per token they hold "
                f"in later attention. CLS is never merged away.")

    def expected_counts(self, num_tokens: int, num_layers: int) -> list[int] | None:
        counts, previous = [], num_tokens
        for layer in range(num_layers):
            ratio = schedule_keep_ratio(layer, num_layers, self.r_max, self.alpha)
            previous -= int(merge_count(torch.tensor([previous]), ratio))
            counts.append(previous)
        return counts

    def select(self, state: LayerState) -> Selection:
        ratio = schedule_keep_ratio(state.index, state.num_layers, self.r_max, self.alpha)
        merges = merge_count(state.alive.sum(dim=1), ratio)
        merge, distinct = bipartite_merge(state.hidden, state.presence, state.alive, merges)
        keep = state.alive & (merge.into < 0)
        rows = None
        if state.dense:   # every example merges as many rows: the loop takes the kept rows as they are
            rows = keep.nonzero()[:, 1].view(keep.shape[0], -1)
        return Selection(scores=distinct, keep=keep, rows=rows, merge=merge)

    def config(self) -> dict:
        return {"r_max": self.r_max, "alpha": self.alpha}

