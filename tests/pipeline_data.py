"""Made-up IMDb / AG News data directories and a tiny saved backbone for the pipeline tests."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from conftest import make_bert, make_tokenizer
from pruning_core.text.profiles import Profile
from pruning_core.text import PrunedTextClassifier, save_pruned

FILLER = "the movie film story plot was it is this and very really a of to in".split()
CLASS_WORDS = {
    "imdb": [["bad", "awful", "worst", "boring", "waste", "terrible"],
             ["great", "amazing", "love", "excellent", "best", "funny"]],
    "ag_news": [["iraq", "president", "minister", "troops"], ["team", "win", "season", "league"],
                ["stocks", "oil", "prices", "bank", "profit", "shares"], ["linux", "google", "internet", "space"]],
}


def made_up_split(dataset: str, count: int, seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    classes = CLASS_WORDS[dataset]
    rows = []
    for i in range(count):
        label = i % len(classes)
        words = rng.choices(FILLER, k=rng.randint(5, 12)) + rng.choices(classes[label], k=2)
        rng.shuffle(words)
        text = " ".join(words) + " ."
        if dataset == "imdb" and i % 3 == 0:
            text = text.replace(" the ", " the<br /><br />", 1)
        rows.append({"text": text, "label": label})
    return pd.DataFrame(rows)


def make_data_dir(root: Path, train: int = 48, test: int = 24) -> Path:
    for dataset in CLASS_WORDS:
        (root / dataset).mkdir(parents=True, exist_ok=True)
        made_up_split(dataset, train, seed=1).to_parquet(root / dataset / "train.parquet")
        made_up_split(dataset, test, seed=2).to_parquet(root / dataset / "test.parquet")
    return root


def make_base_model(folder: Path, num_layers: int = 3) -> Path:
    return save_pruned(PrunedTextClassifier(make_bert(num_layers=num_layers, init=0.02), make_tokenizer()), folder)


def tiny_profile(name: str = "quick") -> Profile:
    """Seconds, not minutes: a few steps per stage, small samples, one timing round."""
    return Profile(name=name, train_limit=None, validation_limit=8, trace_limit=None, max_length=32, short_length=8,
                   batch_size=8,
                   learning_rate=3e-3, max_steps=4, threshold_learning_rate=0.002, keep_lambda=1.0,
                   temperature=0.01, ltp_init_keep=0.9, calibration_texts=8, topk_final_keep=0.5,
                   bench_speed_batches=1, bench_latency_examples=2, bench_rounds=1, bench_quiet_wait=0.0, topk_final_keeps=(0.5,),
                   ltp_threshold_scales=(0.0, 1.0, 2.0), merge_settings=((0.5, 0.5),), embed_limit=16,
                   tokens_per_example=2)
