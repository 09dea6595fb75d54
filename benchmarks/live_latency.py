"""Live text latency: what one keystroke or slider move costs on the packaged MiniLM-L6.

    python -m benchmarks.live_latency [--repeats 30] [--json]

Times `classify_live` (tokenize, pruned layer loop, trace) on reviews of exactly 256 tokens, the
length the Live text page allows, under each method the page offers, with 1 torch thread (what the
app uses, see app/dashboard/live.py's LIVE_THREADS) and with 2, all interleaved so machine noise hits them
alike; also times building the page's HTML and figures. Prints p50 and p90 in ms and the load average.
Reviews come from the IMDb test split in $LENS_DATA_DIR when present, else from a built-in text.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from app.dashboard.figures import layer_view_html, score_figure, token_count_figure   # the services this measures
from app.dashboard.live import classify_live, warm_up
from pruning_core import paths
from pruning_core.methods import build_from_controls
from pruning_core.text import load_text_classifier

SETTINGS = {   # name -> (method, its controls' values), as the page's controls build them
    "none": ("none", {}),
    "topk ratio 0.3": ("topk", {"keep_ratio": 0.3}),
    "topk cascade": ("topk", {"schedule": "cascade", "r_max": 0.6, "alpha": 2.0}),
    "ltp 0.9": ("ltp", {"threshold": 0.9}),   # relative attention: an average token scores 1
}
FALLBACK = ("I went in expecting a light comedy and came out having watched one of the most moving films of "
            "the year. The lead gives a quiet, precise performance, the score never tells you what to feel, "
            "and the last twenty minutes are as tense as any thriller. ")


def reviews(count: int) -> list[str]:
    """Long IMDb test reviews (over 256 tokens), or the fallback text repeated."""
    data = paths.data_dir()
    path = data / "imdb" / "test.parquet" if data is not None else None
    if path is not None and path.is_file():
        import pandas as pd
        texts = pd.read_parquet(path, columns=["text"])["text"].str.replace("<br />", " ", regex=False)
        return texts[texts.str.len() > 2000].head(count).tolist()
    return [FALLBACK * 8] * count


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


def measure(repeats: int, thread_counts: tuple[int, ...] = (1, 2)) -> dict[str, dict[str, float]]:
    classifier = load_text_classifier(device="cpu")   # what the app costs on a CPU
    warm_up(classifier)
    methods = {name: build_from_controls(kind, values, classifier.num_layers)
               for name, (kind, values) in SETTINGS.items()}
    texts = reviews(repeats)
    model_ms: dict[str, list[float]] = {f"{name}, {t} thr": [] for t in thread_counts for name in methods}
    render_ms: list[float] = []
    for text in texts:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            for name, method in methods.items():
                result = classify_live(classifier, method, text)
                assert len(result.trace.tokens) == 256, len(result.trace.tokens)
                model_ms[f"{name}, {threads} thr"].append(result.model_ms)
        start = time.perf_counter()
        layer_view_html(result.trace, "words"), token_count_figure(result.trace), score_figure(result.trace)
        render_ms.append(1000 * (time.perf_counter() - start))
    summary = {name: {"p50": percentile(s, 50), "p90": percentile(s, 90)} for name, s in model_ms.items()}
    summary["render (html + 2 figures)"] = {"p50": percentile(render_ms, 50), "p90": percentile(render_ms, 90)}
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30, help="reviews timed per setting (default 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    summary = measure(args.repeats)
    if args.json:
        print(json.dumps({name: {k: round(v, 2) for k, v in row.items()} for name, row in summary.items()}))
        return
    print(f"Live text, MiniLM-L6, 256-token reviews, batch 1, {os.cpu_count()} cores (load average "
          f"{os.getloadavg()[0]:.1f}), {args.repeats} reviews per setting")
    print(f"{'setting':<28} {'p50 ms':>8} {'p90 ms':>8}")
    for name, row in summary.items():
        print(f"{name:<28} {row['p50']:>8.1f} {row['p90']:>8.1f}")


if __name__ == "__main__":
    main()
