"""Data-parallel training divides the work: two CPU (gloo) ranks each run half of one process's steps under
one learning-rate schedule that ends at their last step."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate.data_loader import BatchSamplerShard
from transformers import get_linear_schedule_with_warmup

import distributed_worker
from pruning_core.text.training import LengthGroupedBatches, TrainConfig, rank_steps

WORKER = Path(distributed_worker.__file__)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_ranks(folder: Path, count: int) -> list[dict]:
    """The worker as `count` gloo ranks (the variables `accelerate launch` sets), each writing its results."""
    common = {**os.environ, "ACCELERATE_USE_CPU": "1", "WORLD_SIZE": str(count), "MASTER_ADDR": "127.0.0.1",
              "MASTER_PORT": str(free_port()), "OMP_NUM_THREADS": "1"}
    ranks = [subprocess.Popen([sys.executable, str(WORKER), str(folder / f"rank{rank}.json")],
                              env={**common, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in range(count)]
    for process in ranks:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-3000:]
    return [json.loads((folder / f"rank{rank}.json").read_text()) for rank in range(count)]


def linear_rates(total: int, warmup_ratio: float, learning_rate: float) -> list[float]:
    """The rate after each of `total` steps of one linear schedule with warm-up over `total` steps."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total), total)
    rates = []
    for _ in range(total):
        optimizer.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    return rates


def test_two_ranks_run_half_the_steps_under_one_schedule_that_ends_at_their_last(tmp_path):
    single = distributed_worker.main(str(tmp_path / "single.json"))     # in this process: one rank
    ranks = run_ranks(tmp_path, 2)
    for name, config in distributed_worker.CONFIGS.items():
        one = single[name]
        assert one["steps"] == (16 if name == "epochs" else 6)   # 32 texts in batches of 4, two epochs; or max_steps
        half = one["steps"] // 2
        for rank in ranks:
            got = rank[name]
            assert got["steps"] == half and got["reported"] == [[k, half] for k in range(1, half + 1)]
            assert got["rates"] == pytest.approx(linear_rates(half, config.warmup_ratio, config.learning_rate))
            assert min(got["rates"][:-1]) > 0 and got["rates"][-1] == one["rates"][-1] == 0.0
        assert ranks[0][name]["checksum"] == pytest.approx(ranks[1][name]["checksum"], rel=1e-9), "ranks in sync"
    assert single["epochs"]["rates"] == pytest.approx(linear_rates(16, 0.1, 1e-3)), "one process: as before"


def test_rank_steps_divide_one_process_count_and_its_cap():
    assert rank_steps(8, TrainConfig(epochs=2)) == 16
    assert rank_steps(8, TrainConfig(epochs=2), num_processes=2) == 8
    assert rank_steps(8, TrainConfig(epochs=2), num_processes=3) == 6      # rounded up: every rank the same
    assert rank_steps(8, TrainConfig(epochs=2, max_steps=6), num_processes=2) == 3
    assert rank_steps(1, TrainConfig(epochs=0.1), num_processes=4) == 1


def test_length_grouped_batches_shard_without_losing_the_short_batch():
    """Each rank's shard of an epoch together cover every text; the short batch may come mid-epoch."""
    lengths = [(i * 7) % 23 for i in range(45)]                      # 12 batches of 4, the last one short
    sampler = LengthGroupedBatches(lengths, batch_size=4, seed=3, group_batches=2)
    order = list(LengthGroupedBatches(lengths, batch_size=4, seed=3, group_batches=2))
    assert len(order[-1]) == 4 and min(len(b) for b in order) == 1, "the short batch comes before the end here"
    shards = [list(BatchSamplerShard(LengthGroupedBatches(lengths, 4, seed=3, group_batches=2), 2, rank))
              for rank in range(2)]
    assert len(shards[0]) == len(shards[1]) == len(BatchSamplerShard(sampler, 2, 0)) == 6
    assert sorted(i for shard in shards for batch in shard for i in batch) == list(range(45))
