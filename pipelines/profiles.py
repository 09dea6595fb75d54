"""Run sizes per profile and dataset: `quick` (a demo, minutes on 2 CPU cores), `cpu` (the best a 2-core
machine reaches in about an hour per dataset) and `full` (all data, for a GPU).

Sizes follow the measured speeds in DESIGN.md (MiniLM-L6, 2 cores): training at 6.7 ex/s at sequence
256, 15 ex/s at 128, 33 ex/s at 64; inference about 26 ex/s at 256 with batch 32.
LTP: scores are attention received (about 1/n on average), so thresholds start at 0 and are learned in
the soft stage with their own small learning rate (2e-4); temperature 1e-3 sits in the paper's range.
Lambda (paper: 0.01..0.2) sets how hard it prunes. Measured on the quick profile (2 cores): IMDb at 0.1
kept 121.6, 58.6, 42.6, 39.0, 31.4, 16.7 of 123 tokens after layers 1..6 (2.15x fewer FLOPs) at
accuracy 0.810 vs the baseline's 0.8025; AG News at 0.1 kept 13.6 of 49.4 tokens from layer 2 and
3.9 from layer 4, losing 1.8 points; at 0.03 its soft stage kept everything through layer 3 and
about a third after (about 1.4x by FLOPs, soft accuracy 0.900). Hence 0.05 for AG News. IMDb's cpu
profile at 0.15 (256 tokens, 0.6 epochs each stage) kept 51 of 201 tokens after layer 1 and 18 at the
end, at accuracy 0.826 against the baseline's 0.880 (500 test reviews): too hard. Hence 0.08, with a
longer hard stage to recover accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

PROFILES = ("quick", "cpu", "full")


@dataclass(frozen=True)
class Profile:
    name: str
    train_limit: int | None          # training examples (class-balanced sample); None = all
    eval_limit: int | None           # test examples scored after each training stage
    trace_limit: int | None          # test examples traced and benchmarked (one seeded sample for every row)
    max_length: int
    batch_size: int = 16
    learning_rate: float = 5e-5
    baseline_epochs: float = 1.0
    soft_epochs: float = 1.0
    hard_epochs: float = 1.0
    threshold_learning_rate: float = 2e-4
    keep_lambda: float = 0.1
    temperature: float = 1e-3
    ltp_init_keep: float = 0.1       # LTP's thresholds start calibrated to keep a share falling to this
    calibration_texts: int = 64      # training texts the threshold calibration looks at
    topk_final_keep: float = 0.1     # the top-k schedule trained with pruning (shares fall geometrically to it)
    ts_dtp_learning_rate: float = 2e-2   # TS-DTP's scorer, mixing weights and offsets (in standard deviations)
    ts_dtp_target_keep: float = 0.4      # cumulative keep rate TS-DTP's auxiliary loss aims for at the last layer
    max_steps: int | None = None     # cap per stage (tests, checks)
    bench_speed_batches: int = 4     # batches of 32 test texts timed per round
    bench_latency_examples: int = 16
    bench_rounds: int = 3
    topk_final_keeps: tuple[float, ...] = (0.2, 0.1, 0.05)   # top-k schedules swept in the benchmark
    ltp_threshold_scales: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
    embed_limit: int = 2000          # examples projected with t-SNE / UMAP
    tokens_per_example: int = 3      # retained tokens sampled per embedded example
    linguistics_limit: int | None = None   # examples annotated with spaCy; None = all traced
    methods: tuple[str, ...] = ("ltp",)  # trained from the same baseline (pipelines/train.py METHODS)
    seed: int = 0

    def with_overrides(self, **changes) -> Profile:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_STUDY = ("control", "ltp", "topk", "ts_dtp")
_SIZES: dict[tuple[str, str], dict] = {
    ("quick", "imdb"): dict(train_limit=1000, eval_limit=300, trace_limit=400, max_length=128,
                            learning_rate=1e-4, soft_epochs=0.75, hard_epochs=0.75, ltp_init_keep=0.2,
                            bench_speed_batches=2, bench_latency_examples=8, bench_rounds=3, embed_limit=300),
    ("quick", "ag_news"): dict(train_limit=1600, eval_limit=400, trace_limit=600, max_length=64,
                               learning_rate=1e-4, soft_epochs=0.75, hard_epochs=0.75, keep_lambda=0.05,
                               ltp_init_keep=0.2, bench_speed_batches=3, bench_latency_examples=8, bench_rounds=3,
                               embed_limit=400),
    ("cpu", "imdb"): dict(train_limit=2000, eval_limit=400, trace_limit=2000, max_length=512,
                          soft_epochs=0.5, hard_epochs=0.5, keep_lambda=0.02, temperature=2e-4,
                          threshold_learning_rate=2e-5,
                          bench_speed_batches=4, linguistics_limit=2000, methods=_STUDY),
    ("cpu", "ag_news"): dict(train_limit=8000, eval_limit=1000, trace_limit=None, max_length=128,
                             soft_epochs=0.5, hard_epochs=0.5, keep_lambda=0.02, ltp_init_keep=0.15,
                             threshold_learning_rate=5e-5,
                             topk_final_keep=0.15, topk_final_keeps=(0.3, 0.15, 0.08),
                             bench_speed_batches=8, methods=_STUDY),
    ("full", "imdb"): dict(train_limit=None, eval_limit=None, trace_limit=None, max_length=512, batch_size=32,
                           learning_rate=3e-5, baseline_epochs=2, soft_epochs=1, hard_epochs=1,
                           bench_speed_batches=16, methods=_STUDY),
    ("full", "ag_news"): dict(train_limit=None, eval_limit=None, trace_limit=None, max_length=128, batch_size=32,
                              learning_rate=3e-5, baseline_epochs=2, soft_epochs=1, hard_epochs=1,
                              bench_speed_batches=16, methods=_STUDY),
}


def profile_for(name: str, dataset: str) -> Profile:
    """The profile's sizes for a dataset."""
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}; choose from {', '.join(PROFILES)}.")
    try:
        sizes = _SIZES[(name, dataset)]
    except KeyError:
        raise ValueError(f"No {name!r} profile for dataset {dataset!r}.") from None
    return Profile(name=name, **sizes)
