"""One rank of a small data-parallel fine-tuning run, for tests/test_distributed_training.py.

    python tests/distributed_worker.py OUT.json    # WORLD_SIZE, RANK, LOCAL_RANK, MASTER_* from the environment

Trains the tiny BERT twice (two epochs; then capped by max_steps) and writes, per run, this rank's step
counts and the learning rate after every step, read from the scheduler fine_tune really steps."""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from conftest import make_bert, make_tokenizer  # noqa: E402
from pruning_core.text import training  # noqa: E402
from pruning_core.methods import NoPruning  # noqa: E402
from pruning_core.text import PrunedTextClassifier  # noqa: E402

WORDS = "the movie film story great bad awful love boring fun was very".split()
CONFIGS = {"epochs": training.TrainConfig(epochs=2, batch_size=4, learning_rate=1e-3),
           "max_steps": training.TrainConfig(epochs=2, batch_size=4, learning_rate=1e-3, max_steps=6)}


def made_up_texts(count: int = 32) -> tuple[list[str], list[int]]:
    rng = random.Random(0)
    return [" ".join(rng.choices(WORDS, k=rng.randint(3, 10))) for _ in range(count)], [i % 2 for i in range(count)]


def train_once(config: training.TrainConfig) -> dict:
    schedules = []
    real = training.get_linear_schedule_with_warmup

    def recorded(*args, **kwargs):   # keep hold of the scheduler fine_tune builds, to read its rate
        schedules.append(real(*args, **kwargs))
        return schedules[-1]

    training.get_linear_schedule_with_warmup = recorded
    try:
        steps = []
        classifier = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), NoPruning())
        result = training.fine_tune(classifier, *made_up_texts(), config,
                                    on_step=lambda done, total: steps.append((done, total,
                                                                              schedules[0].get_last_lr()[0])))
    finally:
        training.get_linear_schedule_with_warmup = real
    return {"steps": result.steps, "reported": [[done, total] for done, total, _ in steps],
            "rates": [rate for *_, rate in steps],
            "checksum": sum(float(p.detach().double().sum()) for p in classifier.model.parameters())}


def main(out: str) -> dict:
    torch.set_num_threads(1)
    results = {name: train_once(config) for name, config in CONFIGS.items()}
    Path(out).write_text(json.dumps(results))
    return results


if __name__ == "__main__":
    main(sys.argv[1])
