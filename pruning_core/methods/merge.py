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
    away the row it joined) and each row's distinctiveness (B, K): 1 - its highest similarity to the other set."""
    batch, length, _ = hidden.shape
    a_rows, b_rows = torch.arange(0, length, 2, device=hidden.device), torch.arange(1, length, 2, device=hidden.device)
    with torch.autocast(hidden.device.type, enabled=False):   # similarities in float32 even under bf16 autocast
        unit = F.normalize(hidden.detach().float(), dim=-1)
        similarity = unit[:, a_rows] @ unit[:, b_rows].transpose(1, 2)                # (B, Ka, Kb)
    similarity = similarity.masked_fill(~alive[:, b_rows, None].transpose(1, 2), float("-inf"))
    similarity = similarity.masked_fill(~alive[:, a_rows, None], float("-inf"))
    similarity[:, 0] = float("-inf")                                                   # CLS never merges away
    best, partner = similarity.max(dim=2)                                             # (B, Ka) each A row's best B
    order = best.argsort(dim=1, descending=True, stable=True)                         # most redundant A rows first
    chosen = torch.arange(len(a_rows), device=hidden.device) < merges.unsqueeze(1)    # (B, Ka) in ranking order
    merged_a = torch.zeros_like(chosen).scatter_(1, order, chosen) & torch.isfinite(best)   # (B, Ka)

    into = torch.full((batch, length), -1, dtype=torch.long, device=hidden.device)
    into[:, a_rows] = torch.where(merged_a, b_rows[partner], -1)                      # (B, K) row joined, or -1
    sizes = sizes.to(hidden.dtype)
    weight = sizes * (into >= 0)                                                      # what each merged row brings
    target = into.clamp(min=0)                                                        # rows not merged add 0 to row 0
    totals = sizes.scatter_add(1, target, weight)                                     # sizes after merging
    sums = (hidden * sizes.unsqueeze(-1)).scatter_add(1, target.unsqueeze(-1).expand_as(hidden),
                                                      hidden * weight.unsqueeze(-1))
    merged_hidden = torch.where((totals > 0).unsqueeze(-1), sums / totals.clamp(min=1e-6).unsqueeze(-1), hidden)
    new_sizes = torch.where(into >= 0, torch.zeros_like(totals), totals)

    closest = torch.full((batch, length), float("-inf"), device=hidden.device)
    closest[:, a_rows] = best
    closest[:, b_rows] = similarity.max(dim=1).values
    distinct = (1 - closest).masked_fill(~torch.isfinite(closest), 1.0)
    return Merge(merged_hidden, new_sizes, into), distinct


class TokenMerging(PruningMethod):
    name = "merge"
    title = "Token merging"
    attention_summary = None   # it needs the rows, not an attention summary

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

