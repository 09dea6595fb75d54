"""Training as library functions: baseline fine-tuning and the three stages of a learned method (soft,
binarize, hard), LTP's recipe.

The stages work for any trainable method (`ltp`, `ts_dtp`): soft mode learns the method's parameters
(in their own optimizer group) together with the weights; binarize freezes them and switches to hard
mode; the hard stage fine-tunes the weights with pruned tokens really removed. `fine_tune` trains
whatever method the classifier holds, so a fixed schedule (`TopK`) trains pruning-aware the same way.
Batches group texts of similar length (shuffled within and across groups), so little time goes to padding.
The batches form one seeded stream, epoch after epoch; a stage starts at `first_batch` of it, so a stage that
follows another continues through the data instead of replaying the batches the earlier one saw.
With a `Distillation` in the config, a stage also learns a teacher's logits, computed once over the training
texts (`teacher_logits`): a pruned student learns from the unpruned model trained on the same examples.
Calibration (`calibrate`) starts a learned method's cuts where they keep a wanted share of the tokens per layer.

The loop runs through `accelerate`, so the same code runs on one CPU, one GPU, or several processes
under `accelerate launch`. CPU by default, CUDA when present. With N processes the work is divided: each
rank sees its shard of every epoch and runs 1/N of the steps one process would, and the learning-rate
schedule, counted in those per-rank steps, ends exactly at the last one. One process trains as before.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from ..distillation import Distillation
from ..methods import NoPruning, TrainableMethod
from ..optim import parameter_groups
from ..training import StepCallback, TrainResult, check_precision, uses_bf16
from .model import DEFAULT_MAX_LENGTH, PrunedTextClassifier


@dataclass
class TrainConfig:
    epochs: float = 1.0
    batch_size: int = 16
    learning_rate: float = 5e-5
    method_learning_rate: float = 2e-3   # thresholds and scorers: their own optimizer group
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = DEFAULT_MAX_LENGTH
    seed: int = 0
    max_steps: int | None = None         # stop early (tests, demos): steps of one process, shared by N
    steps: int | None = None             # exact optimizer steps of one process (instead of `epochs`)
    first_batch: int = 0                 # where in the seeded stream of batches this stage starts
    distillation: Distillation | None = None   # learn the teacher's logits too (fine_tune's `teacher_logits`)
    precision: str = "auto"              # "fp32", "bf16" (autocast) or "auto": bf16 where the hardware is fast at it;
                                         # soft stages always train in fp32 (training.uses_bf16)

    def __post_init__(self) -> None:
        check_precision(self.precision)




def fine_tune(classifier: PrunedTextClassifier, texts: list[str], labels: list[int], config: TrainConfig,
              description: str = "train", on_step: StepCallback | None = None,
              teacher_logits: torch.Tensor | None = None) -> TrainResult:
    """Train the classifier (backbone and method parameters) in whatever mode its method is in.

    With `config.distillation`, `teacher_logits` (N, C), row i the teacher's logits for texts[i], are learned too.
    `on_step(done, total)` is called after every step with this process's counts (keep it cheap)."""
    if (config.distillation is None) != (teacher_logits is None):
        raise ValueError("fine_tune distils exactly when config.distillation is set: pass teacher_logits then, "
                         f"and only then (distillation={config.distillation!r}).")
    if teacher_logits is not None and len(teacher_logits) != len(texts):
        raise ValueError(f"teacher_logits has {len(teacher_logits)} rows for {len(texts)} texts.")
    set_seed(config.seed)
    accelerator = Accelerator(kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
    loader = DataLoader(list(enumerate(zip(texts, labels))), collate_fn=_collator(classifier, config.max_length),
                        batch_sampler=LengthGroupedBatches([len(text) for text in texts], config.batch_size,
                                                           config.seed, start=config.first_batch))
    optimizer = torch.optim.AdamW(parameter_groups(classifier, config.learning_rate, config.method_learning_rate,
                                                   config.weight_decay))
    total = rank_steps(len(loader), config, accelerator.num_processes)
    # Not handed to accelerate: its wrapper steps the schedule once per process at every step, which
    # would end it after 1/N of the training. Counted in this rank's steps, it ends at the last one.
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
    model, optimizer, loader = accelerator.prepare(classifier, optimizer, loader)
    # Soft stages learn cut-offs from small score differences (temperature 0.02 against scores near 1), finer than
    # bf16's 3 significant digits: they stay in fp32.
    bf16 = uses_bf16(config.precision, classifier.device) and not classifier.method.is_soft
    model.train()
    losses, keep_history, step, examples = [], [], 0, 0
    progress = tqdm(total=total, desc=description, disable=not accelerator.is_local_main_process)
    while step < total:
        for batch in loader:
            rows = batch.pop("rows")
            with torch.autocast(classifier.device.type, dtype=torch.bfloat16, enabled=bf16):
                output = model(**batch)
            loss, logits = output.loss.float(), output.logits.float()
            if config.distillation is not None:
                label_loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
                loss = config.distillation.loss(label_loss, logits, teacher_logits[rows.cpu()].to(logits))
                loss = loss if output.auxiliary_loss is None else loss + output.auxiliary_loss
            accelerator.backward(loss)
            optimizer.step()
            if not accelerator.optimizer_step_was_skipped:   # fp16 overflow: no step, so no schedule step
                scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            examples += len(batch["labels"])
            if output.loop.keep_fractions:
                keep_history.append([float(k.detach()) for k in output.loop.keep_fractions])
            step += 1
            progress.update()
            progress.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
            if on_step is not None:
                on_step(step, total)
            if step >= total:
                break
    progress.close()
    classifier.eval()
    recent = keep_history[-20:]
    keep = [sum(column) / len(recent) for column in zip(*recent)] if recent else []
    return TrainResult(step, sum(losses) / max(len(losses), 1), losses[-1] if losses else math.nan, keep,
                       config.first_batch, examples, "bf16" if bf16 else "fp32")


def rank_steps(batches_per_epoch: int, config: TrainConfig, num_processes: int = 1) -> int:
    """Optimizer steps each of `num_processes` ranks runs: one process's count (epochs of batches, capped
    at max_steps), divided among them. Every rank runs the same number, so DDP's gradient exchanges pair up."""
    return max(1, math.ceil(_total_steps(batches_per_epoch, config) / num_processes))


class LengthGroupedBatches(torch.utils.data.Sampler):
    """Batches of texts of similar length: shuffle, sort each run of 50 batches' worth by length, cut it into
    batches, shuffle the batches. Epoch e's order depends on the seed and e alone, so the seed fixes one stream
    of batches, epoch after epoch; the sampler starts at batch `start` of it, and each pass over it yields one
    epoch's count of batches, continuing where the last pass stopped.

    The one short batch can come anywhere in an epoch, so this sampler advertises no `batch_size`:
    accelerate then shards the batches among processes as batches of varying size (given a batch size,
    it would drop every round of batches that ends in a short one)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 0, group_batches: int = 50, start: int = 0):
        if start < 0:
            raise ValueError(f"start must be a batch number >= 0, got {start}.")
        self.lengths, self.size, self.group, self.seed = lengths, batch_size, batch_size * group_batches, seed
        self.position = start
        self._epoch: tuple[int, list[list[int]]] = (-1, [])

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.size)

    def __iter__(self):
        for _ in range(len(self)):
            epoch, index = divmod(self.position, len(self))
            self.position += 1
            yield self.epoch_batches(epoch)[index]

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """Epoch `epoch` of the stream: lists of example indices."""
        if self._epoch[0] != epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(len(self.lengths), generator=generator).tolist()
            batches = []
            for start in range(0, len(order), self.group):
                group = sorted(order[start:start + self.group], key=self.lengths.__getitem__, reverse=True)
                batches += [group[i:i + self.size] for i in range(0, len(group), self.size)]
            self._epoch = (epoch, [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()])
        return self._epoch[1]


def calibrate(classifier: PrunedTextClassifier, method: TrainableMethod, texts: list[str], keep: list[float],
              max_length: int = DEFAULT_MAX_LENGTH) -> list[float]:
    """Set the method's cut at each layer (LTP's threshold, TS-DTP's offset) so that about the share keep[l] of the
    input tokens is left after layer l, over `texts`; returns the cuts.

    Layer by layer, with the earlier layers already pruning at their new cuts, the cut is the quantile of the cut
    values (`method.cut_values`) of the tokens still alive that leaves the wanted number; CLS always stays.
    Starting training there makes the method prune from layer 0 on, at the rate asked for, instead of waiting for
    its cuts to climb there."""
    if len(keep) != classifier.num_layers:
        raise ValueError(f"keep needs one share per layer ({classifier.num_layers}), got {len(keep)}.")
    saved, saved_mode, classifier.method = classifier.method, method.mode, method
    method.mode = "hard"
    method.open_cuts()
    try:
        for layer, share in enumerate(keep):
            traces = classifier.trace(texts, max_length=max_length)
            live = [trace.scores[layer][1:][~np.isnan(trace.scores[layer][1:])] for trace in traces]
            values = np.concatenate([method.cut_values(scores) for scores in live if len(scores)] or [np.empty(0)])
            wanted = share * sum(len(trace.tokens) for trace in traces) - len(traces)   # CLS always stays
            drop = 1.0 - min(max(wanted / max(len(values), 1), 0.0), 1.0)
            method.set_cut(layer, float(np.quantile(values, drop)) if drop > 0 and values.size else None)
    finally:
        classifier.method, method.mode = saved, saved_mode
    return method.cuts()


def train_baseline(classifier: PrunedTextClassifier, texts: list[str], labels: list[int],
                   config: TrainConfig, on_step: StepCallback | None = None) -> TrainResult:
    """Plain fine-tuning, no pruning."""
    classifier.method = NoPruning()
    return fine_tune(classifier, texts, labels, config, description="baseline", on_step=on_step)


def soft_stage(classifier: PrunedTextClassifier, texts: list[str], labels: list[int],
               config: TrainConfig, on_step: StepCallback | None = None,
               teacher_logits: torch.Tensor | None = None) -> TrainResult:
    """Stage 1: learn the method's parameters (and the weights) with soft masks and its regulariser."""
    method = _trainable(classifier)
    method.mode = "soft"
    method.requires_grad_(True)
    return fine_tune(classifier, texts, labels, config, description=f"{method.name} soft", on_step=on_step,
                     teacher_logits=teacher_logits)


def binarize(classifier: PrunedTextClassifier) -> list[float]:
    """Stage 2: fix the method's parameters and switch to hard pruning (real removal).

    Returns the learned values worth reading (for LTP, the thresholds)."""
    method = _trainable(classifier)
    method.mode = "hard"
    method.requires_grad_(False)
    return method.cuts()


def hard_stage(classifier: PrunedTextClassifier, texts: list[str], labels: list[int],
               config: TrainConfig, on_step: StepCallback | None = None,
               teacher_logits: torch.Tensor | None = None) -> TrainResult:
    """Stage 3: binarize, then fine-tune the weights with the tokens the fixed method drops removed."""
    binarize(classifier)
    return fine_tune(classifier, texts, labels, config, description=f"{classifier.method.name} hard",
                     on_step=on_step, teacher_logits=teacher_logits)


def train_stages(classifier: PrunedTextClassifier, texts: list[str], labels: list[int], soft: TrainConfig,
                 hard: TrainConfig) -> dict[str, TrainResult]:
    """The three stages in order (the hard stage binarizes first)."""
    results = {"soft": soft_stage(classifier, texts, labels, soft)}
    results["hard"] = hard_stage(classifier, texts, labels, hard)
    return results


def _trainable(classifier: PrunedTextClassifier) -> TrainableMethod:
    if not isinstance(classifier.method, TrainableMethod):
        raise TypeError(f"These stages train a method with learned parameters (ltp, ts_dtp); "
                        f"got {classifier.method.name!r}.")
    return classifier.method


def _collator(classifier: PrunedTextClassifier, max_length: int):
    def collate(batch: list[tuple[int, tuple[str, int]]]) -> dict:
        rows, examples = zip(*batch)
        texts, labels = zip(*examples)
        encoded = classifier.tokenizer(list(texts), truncation=True, max_length=max_length, padding=True,
                                       return_tensors="pt")
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                "labels": torch.tensor(labels, dtype=torch.long), "rows": torch.tensor(rows, dtype=torch.long)}
    return collate


@torch.inference_mode()
def teacher_logits(classifier: PrunedTextClassifier, texts: list[str], max_length: int = DEFAULT_MAX_LENGTH,
                   batch_size: int = 32) -> torch.Tensor:
    """(N, C) the classifier's logits for texts, row i for texts[i] (batched by length, no padding to speak of):
    what a student distils from, computed once."""
    classifier.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    logits = torch.empty(len(texts), len(classifier.label_names))
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        encoding = classifier.encode([texts[i] for i in chunk], max_length)
        logits[chunk] = classifier(encoding.input_ids, encoding.attention_mask).logits.float().cpu()
    return logits


def _total_steps(batches_per_epoch: int, config: TrainConfig) -> int:
    total = config.steps or max(1, math.ceil(config.epochs * batches_per_epoch))
    return min(total, config.max_steps) if config.max_steps else total
