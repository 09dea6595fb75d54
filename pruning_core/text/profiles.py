"""Run sizes per profile and dataset: `quick` (a demo, minutes on 2 CPU cores), `cpu` (the study on a
2-core machine: IMDb about 135 minutes, AG News about 50) and `full` (all data, for a GPU).

The `cpu` study trains, from one 1-epoch baseline, an unpruned control, then LTP (soft then hard stage), TS-DTP (the
same) and a model fine-tuned with a top-k schedule on (its shape chosen on validation at `topk_flops_share` of the
unpruned FLOPs), each through the same batches of training data after the baseline's (a soft and a hard stage
together; pipelines/train.py `stage_plan`), the pruned ones distilling from the control. Every choice made
while training (stage scores, threshold calibration) uses a seeded validation split carved from the training
data; every model is traced and benchmarked on one seeded sample of the official test set, used nowhere else.
IMDb reads 512 tokens (41% of test reviews exceed 256, 13% exceed 512), on 8,000 training reviews.

Token merging (`merge`) is a fifth fork trained like the top-k model, through the same batches: rows averaged into
their most similar neighbours instead of dropped (methods/merge.py), at (`merge_r_max`, `merge_alpha`). Its schedule
was chosen on IMDb's validation split with the control's weights, merging at inference: r_max 0.4, α 0.3 read 201,
143, 96, 62 and 38 tokens on entry to layers 2..6 at 1.7 points below the control (top-k at about those counts lost
7.5), r_max 0.5, α 0.05 (half the rows at every layer) 143, 75, 39, 20 and 11 at 10 points below. It trains between
them, at r_max 0.5 and, for AG News, α 0.15 (about 163, 94, 52 and 28 tokens on entry to layers 2..5: the count a
2.5× speed-up needs). IMDb's trains at α 0.25: on 4,000 reviews its model trained at α 0.15 ran at 2.85× and merged at
α 0.3 at 2.45× (measured speed, not accuracy, chose it).

LTP: scores are a token's attention received relative to an average token's (1 under uniform attention, at every
length), so one threshold means the same for short and long texts; thresholds start calibrated on
`calibration_texts` validation texts to keep a share of the tokens falling geometrically to `ltp_init_keep`
after the last layer, and learn at a rate sized to that scale (Adam moves a threshold by about the rate each
step: 1e-2 against thresholds near 1). The temperature sits near the typical gap between scores near a
threshold; lambda (paper: 0.01..0.2) keeps pushing thresholds up against the classification loss. TS-DTP's
offsets start calibrated to its target keep schedule, and its auxiliary loss (weight `ts_dtp_aux_lambda`) holds
them there. With a `distillation`, every stage that trains with pruning also learns the control's logits.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from pruning_core.distillation import Distillation

PROFILES = ("quick", "cpu", "full")


@dataclass(frozen=True)
class Profile:
    name: str
    train_limit: int | None          # training examples (class-balanced sample); None = all
    validation_limit: int            # validation examples carved from the training split, scored after each stage
    trace_limit: int | None          # test examples traced and benchmarked (one seeded sample for every row)
    max_length: int
    short_length: int | None = None  # also benchmark the control reading only this many tokens
    batch_size: int = 16
    learning_rate: float = 5e-5
    baseline_epochs: float = 1.0
    soft_epochs: float = 1.0
    hard_epochs: float = 1.0
    threshold_learning_rate: float = 1e-2
    keep_lambda: float = 0.1
    temperature: float = 0.02       # LTP's soft masks, in units of relative attention (an average token: 1)
    ltp_init_keep: float = 0.1       # LTP's thresholds start calibrated to keep a share falling to this
    calibration_texts: int = 64      # validation texts the threshold calibration looks at
    topk_final_keep: float = 0.1     # the top-k schedule trained with pruning (shares fall geometrically to it)
    topk_flops_share: float | None = None   # instead: the schedule shape best on validation at this FLOPs share
    topk_shapes: tuple[float, ...] = (0.5, 1.0, 2.0)   # the shapes compared (analysis/schedules.py)
    ts_dtp_learning_rate: float = 2e-2   # TS-DTP's scorer, mixing weights and offsets (in standard deviations)
    ts_dtp_target_keep: float = 0.4      # cumulative keep rate TS-DTP's auxiliary loss aims for at the last layer
    ts_dtp_aux_lambda: float = 10.0      # weight of TS-DTP's keep-rate loss (squared error per layer)
    ts_dtp_offset_shifts: tuple[float, ...] = (0.0, 0.5, 1.0)   # TS-DTP's offsets moved by these, swept in the benchmark
    merge_r_max: float = 0.5         # the token-merging model trains with TokenMerging(merge_r_max, merge_alpha)
    merge_alpha: float = 0.15
    # (r_max, α) of merging swept in the benchmark, on the control and on the merged model
    merge_settings: tuple[tuple[float, float], ...] = ((0.4, 0.3), (0.5, 0.3), (0.5, 0.15), (0.5, 0.05))
    distillation: Distillation | None = None   # pruned stages also learn the control's logits
    max_steps: int | None = None     # cap per stage (tests, checks)
    bench_speed_batches: int = 4     # batches of 32 test texts timed per round
    bench_latency_examples: int = 16
    bench_rounds: int = 3
    bench_quiet_wait: float = 300.0  # seconds the benchmark waits at most for other processes to leave the CPUs
    topk_final_keeps: tuple[float, ...] = (0.2, 0.1, 0.05)   # top-k schedules swept in the benchmark
    ltp_threshold_scales: tuple[float, ...] = (0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)   # 0: LTP's weights, nothing pruned
    embed_limit: int = 2000          # examples projected with t-SNE / UMAP
    tokens_per_example: int = 3      # retained tokens sampled per embedded example
    linguistics_limit: int | None = None   # examples annotated with spaCy; None = all traced
    methods: tuple[str, ...] = ("ltp",)  # trained from the same baseline (pipelines/train.py METHODS)
    seed: int = 0

    def with_overrides(self, **changes) -> Profile:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_STUDY = ("control", "ltp", "topk", "ts_dtp", "merge")   # the control first: the pruned stages distil from it
# Weight and temperature: one setting tried on IMDb's validation split, not tuned further (with the relative score,
# LTP's hard stage reached 0.865 against the control's 0.8875; the share score without distillation had 0.80).
_DISTILLATION = Distillation(weight=0.5, temperature=2.0)
_SIZES: dict[tuple[str, str], dict] = {
    # IMDb's quick LTP: init keep 0.3 and lambda 0.05, chosen on its validation split and the built-in examples
    # (0.2/0.1 read 10% of validation texts at -7 points; 0.4/0.02 left a 22-token example 73% read).
    ("quick", "imdb"): dict(train_limit=1000, validation_limit=300, trace_limit=400, max_length=128,
                            learning_rate=1e-4, soft_epochs=0.75, hard_epochs=0.75, ltp_init_keep=0.3,
                            keep_lambda=0.05,
                            bench_speed_batches=2, bench_latency_examples=8, bench_rounds=3, embed_limit=300),
    ("quick", "ag_news"): dict(train_limit=1600, validation_limit=400, trace_limit=600, max_length=64,
                               learning_rate=1e-4, soft_epochs=0.75, hard_epochs=0.75, keep_lambda=0.05,
                               ltp_init_keep=0.2, bench_speed_batches=3, bench_latency_examples=8, bench_rounds=3,
                               embed_limit=400),
    # The pruned path is cheap (a hard step at a quarter of the tokens costs about a third of an unpruned one), so
    # the hard stages run 3 (IMDb) or 2 (AG News) times as long as the soft ones; the control and the top-k model
    # go through the same batches, and every pruned stage distils from the control.
    ("cpu", "imdb"): dict(train_limit=8000, validation_limit=400, trace_limit=2000, max_length=512, short_length=256,
                          soft_epochs=0.5, hard_epochs=1.5, keep_lambda=0.05, ltp_init_keep=0.06,
                          distillation=_DISTILLATION, topk_flops_share=0.4, merge_alpha=0.25,
                          merge_settings=((0.4, 0.3), (0.5, 0.3), (0.5, 0.25), (0.5, 0.2), (0.5, 0.15), (0.5, 0.05)),
                          bench_speed_batches=4, linguistics_limit=2000, methods=_STUDY),
    ("cpu", "ag_news"): dict(train_limit=8000, validation_limit=1000, trace_limit=None, max_length=128,
                             soft_epochs=0.5, hard_epochs=1.0, keep_lambda=0.05, ltp_init_keep=0.1,
                             distillation=_DISTILLATION, topk_flops_share=0.4,
                             topk_final_keep=0.15, topk_final_keeps=(0.3, 0.15, 0.08),
                             bench_speed_batches=8, methods=_STUDY),
    ("full", "imdb"): dict(train_limit=None, validation_limit=2000, trace_limit=None, max_length=512, batch_size=32,
                           learning_rate=3e-5, baseline_epochs=2, soft_epochs=1, hard_epochs=2,
                           distillation=_DISTILLATION, topk_flops_share=0.4, bench_speed_batches=16, methods=_STUDY),
    ("full", "ag_news"): dict(train_limit=None, validation_limit=2000, trace_limit=None, max_length=128, batch_size=32,
                              learning_rate=3e-5, baseline_epochs=2, soft_epochs=1, hard_epochs=2,
                              distillation=_DISTILLATION, topk_flops_share=0.4, bench_speed_batches=16,
                              methods=_STUDY),
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
