"""Run sizes for the CIFAR-10 ViT: `quick` (a demo in minutes on 2 CPU cores) and `cpu` (about 1.5 hours
on 2 cores with native bf16, see below).

The model follows the vision study: 8 layers, 145 tokens (32x32 pictures resized to 48x48, 4x4
patches: a 12 x 12 grid plus CLS), pruned by the schedule keep(l) = 1 - r_max * ((l + 1) / L) ** alpha
with r_max 0.6 and alpha swept over ALPHAS. Both profiles use the same architecture, so the speed
benchmark and the pages see the model the profiles train: hidden 128, 2 heads, a wide MLP (768,
ratio 6) and a convolutional stem in place of the linear patch embedding (backbone.py). A layer
attends over the patches it received but runs its MLP only on those it keeps, so the MLP's share of
the work is what pruning saves most of: at r_max 0.6, alpha 1.2, batch 64 on 2 quiet cores, MLP 512
gave 1.61-1.68x and MLP 768 1.72-1.79x, for ~8% slower training.

Why the stem: see backbone.py. After 300 steps (batch 128) on CIFAR-10, the linear patch embedding
reached 35.0% and the conv stem 39.2% (2,000 test pictures), at the same step time.

A run trains once on every patch up to `prune_after_epochs`, forks (VisionTrainer.fork), and
continues one copy unpruned and one pruned with the train_alpha schedule; both models are then
evaluated under every alpha at inference.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from transformers import ViTConfig

from .model import vit_config
from .training import VisionTrainConfig

ALPHAS = (0.8, 1.0, 1.2, 1.5, 2.0)


@dataclass(frozen=True)
class VisionProfile:
    name: str
    hidden_size: int
    num_heads: int
    intermediate_size: int
    train_limit: int | None               # training images (class-balanced sample); None = all 50,000
    eval_limit: int | None                # test images scored per setting; None = all 10,000
    trace_limit: int                      # test images traced into the database
    train: VisionTrainConfig
    prune_after_epochs: float             # warm-up epochs on every patch; the pruned model forks off here
    num_layers: int = 8
    stem: str = "conv"
    r_max: float = 0.6
    train_alpha: float = 1.2              # the schedule the pruned model is trained with
    alphas: tuple[float, ...] = ALPHAS    # swept at inference, on both models
    score: str = "cls"
    bench_speed_batches: int = 4          # batches of 32 test images timed per round
    bench_latency_examples: int = 16      # single images timed per round
    bench_rounds: int = 3

    def model_config(self) -> ViTConfig:
        return vit_config(hidden_size=self.hidden_size, num_layers=self.num_layers, num_heads=self.num_heads,
                          intermediate_size=self.intermediate_size, stem=self.stem)

    def with_overrides(self, **changes) -> "VisionProfile":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROFILES: dict[str, VisionProfile] = {
    # ~3 minutes on 2 AMX cores (measured 2.8 with tracing and the benchmark; 12.2 on 2 AVX2-only cores):
    # 5,000 pictures x 3 epochs, a pruned fork for the last 1.5 epochs, then 1,000 test pictures per
    # setting. About 34% accuracy: a demo, not a result.
    "quick": VisionProfile(
        name="quick", hidden_size=128, num_heads=2, intermediate_size=768, train_limit=5000, eval_limit=1000,
        trace_limit=200, train=VisionTrainConfig(epochs=3, batch_size=128, warmup_epochs=0.3),
        prune_after_epochs=1.5),
    # About 1.5 hours on 2 cores (measured 91.8 min: 85.5 training, 6 loading, tracing and benchmarking):
    # 16 epochs of 50,000 pictures, 12 of them shared on every patch (56.5 min), then the pruned fork's
    # last 4 (9.3 min) and the unpruned one's (19.7 min). 11 epochs (65 min) reached 68.5%, 16 71.1%. Measured
    # on the project's machine, 2 quiet cores, bf16 autocast (AMX): 0.72 s per batch of 128 unpruned
    # (eager attention; see pruning_core/attention.py). Without native bf16 it trains in fp32, much slower:
    # 4.35 s per batch on 2 AVX2-only AMD EPYC cores, which makes this run about 9 hours there.
    # The pruned model trains at alpha 0.8, the sweep's fastest setting.
    "cpu": VisionProfile(
        name="cpu", hidden_size=128, num_heads=2, intermediate_size=768, train_limit=None, eval_limit=None,
        trace_limit=1000, train=VisionTrainConfig(epochs=16, batch_size=128, warmup_epochs=0.5),
        prune_after_epochs=12, train_alpha=0.8, bench_rounds=5),
}
