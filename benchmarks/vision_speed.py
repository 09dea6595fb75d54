"""Vision speed benchmark: real patch removal in the CIFAR-10 ViT, measured side by side.

    python -m benchmarks.vision_speed [--json] [--rounds 5] [--model FOLDER] [--profile cpu] [--threads N]
                                      [--batch 64] [--write README.md]

The ViT of the chosen profile (8 layers, 145 tokens; random weights unless --model names a trained
folder: speed does not depend on the weights, since the schedule fixes how many patches each layer
keeps) runs unpruned and under the cascading schedule keep(l) = 1 - r_max * ((l + 1) / L) ** alpha at
r_max 0.6 for several alphas, ranking patches by CLS attention (and, once, by attention received), and under
token merging down to the same counts at two of them (`TokenMerging`: what matching and averaging cost on top).

What is timed: one forward pass from normalized pixel values to logits, on a batch of random pictures
(the same for every setting; preprocessing is left out, as it is the same for every setting). Throughput
at batch 64 (`--batch`) is the batch over the median seconds of one call; latency at batch 1 is the
median of ten calls a round. Every setting runs in turn within each round, so machine noise hits them
alike, after torch's thread count is fixed (`--threads`, default this machine's cores) and other
processes have left the CPUs mostly idle (`pipelines.timing.wait_for_quiet`).

Speed-ups are against our own loop with nothing pruned, whose last layer computes only CLS's row (the
one the head reads), like every setting's: the strongest unpruned path. `last_layer_cls_only` in the
output says so only when a forward pass of that unpruned model measured it. 'transformers' is the
library's own model as most users run it (its fused attention, all 145 rows through every layer), for
reference. `--write` puts the same figures, as a markdown table, in the README's
`<!-- vision-speed:start -->` / `<!-- vision-speed:end -->` block.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Iterator

import torch

from pipelines.results import rewrite_block
from pipelines.timing import last_layer_cls_only, settle
from pruning_core.methods import NoPruning, TokenMerging, TopK
from pruning_core.runtime import cpu_name
from pruning_core.vision import PrunedVisionClassifier, load_vision_classifier
from pruning_core.vision.profiles import ALPHAS, PROFILES

from .common import add_output_options, median_seconds, reference_note, report, with_method

R_MAX = 0.6
BATCH = 64
SPEED_START, SPEED_END = "<!-- vision-speed:start -->", "<!-- vision-speed:end -->"
MERGE_ALPHAS = (0.8, 1.2)   # merging at the study's training alpha and at the quick profile's


def settings() -> dict[str, object]:
    methods: dict[str, object] = {"unpruned": NoPruning()}
    for alpha in ALPHAS:
        methods[f"r{R_MAX}_a{alpha}"] = TopK(r_max=R_MAX, alpha=alpha)
    methods[f"r{R_MAX}_a1.2_received"] = TopK(r_max=R_MAX, alpha=1.2, score="received")
    for alpha in MERGE_ALPHAS:
        methods[f"r{R_MAX}_a{alpha}_merged"] = TokenMerging(r_max=R_MAX, alpha=alpha)
    return methods


@torch.inference_mode()
def measure(rounds: int, profile: str = "cpu", model_folder: str | None = None, batch: int = BATCH
            ) -> dict[str, object]:
    if model_folder:
        classifier = load_vision_classifier(model_folder, device="cpu")
    else:
        classifier = PrunedVisionClassifier.from_config(PROFILES[profile].model_config())
    classifier.eval()
    reference = classifier.model
    runners = {"transformers": lambda x: reference(pixel_values=x)}
    for name, method in settings().items():
        runners[name] = with_method(classifier, method)
    generator = torch.Generator().manual_seed(0)
    results: dict[str, object] = {}
    for size, repeats, key in ((batch, 1, f"b{batch}"), (1, 10, "b1")):
        pixels = torch.randint(0, 256, (size, 3, classifier.source_size, classifier.source_size),
                               dtype=torch.uint8, generator=generator)
        pixel_values = classifier.pixel_values(pixels)
        if key != "b1":
            results["last_layer_cls_only"] = last_layer_cls_only(classifier, pixel_values)
        for name, median in median_seconds(runners, (pixel_values,), rounds, repeats).items():
            if key == "b1":
                results[f"latency_b1_ms_{name}"] = 1000 * median
            else:
                results[f"throughput_{key}_{name}"] = size / median
    base_throughput, base_latency = results[f"throughput_b{batch}_unpruned"], results["latency_b1_ms_unpruned"]
    for name in settings():
        if name != "unpruned":
            results[f"speedup_{name}"] = results[f"throughput_b{batch}_{name}"] / base_throughput
            results[f"speedup_b1_{name}"] = base_latency / results[f"latency_b1_ms_{name}"]
    tokens, layers = classifier.num_tokens, classifier.num_layers
    for name, method in settings().items():
        if name != "unpruned":
            results[f"tokens_{name}"] = method.expected_counts(tokens, layers)
    config = classifier.config
    results["model"] = (f"ViT {layers} layers, hidden {config.hidden_size}, {config.num_attention_heads} heads, "
                        f"MLP {config.intermediate_size}, {tokens} tokens")
    results["tokens"], results["layers"], results["batch"] = tokens, layers, batch
    results["rounds"] = rounds
    results["cpu"] = cpu_name()
    results["threads"] = torch.get_num_threads()
    results["load_average_1min"] = os.getloadavg()[0]   # other work on the machine skews absolute figures
    return results


def _rows(results: dict[str, object]) -> Iterator[tuple]:
    """Per setting, in table order: name, throughput, its speed-up, batch-1 ms, its speed-up, kept counts."""
    batch = results["batch"]
    for name in ["transformers", *settings()]:
        throughput, latency = results[f"throughput_b{batch}_{name}"], results[f"latency_b1_ms_{name}"]
        yield (name, throughput, throughput / results[f"throughput_b{batch}_unpruned"], latency,
               results["latency_b1_ms_unpruned"] / latency, results.get(f"tokens_{name}"))


def print_table(results: dict[str, object]) -> None:
    print(f"{results['model']}; {results['threads']} threads (load average {results['load_average_1min']:.1f}), "
          f"median over rounds; {reference_note(results)}")
    throughput_header = f"b{results['batch']} img/s"
    print(f"{'setting':<22} {throughput_header:>10} {'speedup':>8} {'b1 ms':>7} {'speedup':>8}  tokens per layer")
    for name, throughput, up, latency, up1, tokens in _rows(results):
        print(f"{name:<22} {throughput:>10.1f} {up:>7.2f}x {latency:>7.2f} {up1:>7.2f}x  {tokens or ''}")


def _label(name: str) -> str:
    if name == "transformers":
        return "transformers (reference)"
    if name == "unpruned":
        return "unpruned (our loop)"
    alpha, _, variant = name.removeprefix(f"r{R_MAX}_a").partition("_")
    return f"α {alpha}" + {"": "", "received": ", attention received", "merged": ", token merging"}[variant]


def markdown_table(results: dict[str, object]) -> str:
    """The figures as the README shows them: the machine and model in a line, then one row per setting."""
    batch = results["batch"]
    lines = [f"Measured on {results['cpu']}, {results['threads']} threads (load average "
             f"{results['load_average_1min']:.1f} before the run), `--rounds {results['rounds']}`; {results['model']}; "
             f"{reference_note(results)}:",
             "", f"| setting (r_max {R_MAX}) | tokens per layer | b{batch} img/s | speed-up | b1 ms | b1 speed-up |",
             "|---|---|---:|---:|---:|---:|"]
    for name, throughput, up, latency, up1, tokens in _rows(results):
        if name.endswith("_received"):
            counts = f"as {_label(name.removesuffix('_received'))}"
        else:
            counts = ", ".join(map(str, tokens)) if tokens else f"{results['tokens']} × {results['layers']}"
        lines.append(f"| {_label(name)} | {counts} | {throughput:.0f} | {up:.2f}x | {latency:.1f} | {up1:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_options(parser)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="cpu", help="model size (default cpu)")
    parser.add_argument("--model", help="a folder saved by save_vision_classifier, instead of random weights")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"throughput batch size (default {BATCH})")
    parser.add_argument("--write", metavar="README", help="also rewrite this file's vision-speed block")
    args = parser.parse_args(argv)
    busy_percent = settle(args.threads)
    results = {**measure(args.rounds, args.profile, args.model, args.batch), "cpu_busy_percent": busy_percent}
    report(results, args.json, print_table)
    if args.write:
        rewrite_block(Path(args.write), markdown_table(results), SPEED_START, SPEED_END)


if __name__ == "__main__":
    main()
