"""Text speed benchmark: real token removal on the packaged MiniLM-L6, measured side by side.

    python -m benchmarks.text_speed [--json] [--rounds 5] [--threads N] [--seq-len 256] [--decision-layer 1]

What is timed: one forward pass from token ids to logits (no tokenization, no softmax), of batches of
random token ids (CLS first, SEP last) that are all exactly `--seq-len` tokens long (256), so no row is
padding; the same ids for every setting. Throughput at batch 32 is 32 over the median seconds of one call;
latency at batch 1 is the median of ten calls a round. Every setting runs in turn within each round (so
machine noise hits them alike), after torch's thread count is fixed (`--threads`, default this machine's
cores) and other processes have left the CPUs mostly idle (`pipelines.timing.wait_for_quiet`).

Speed-ups are against our own loop with nothing pruned, whose last layer computes only CLS's row (the one
the head reads), like every setting's: the strongest unpruned path. `last_layer_cls_only` in the output
says so only when a forward pass of that unpruned model measured it. 'transformers' is the library's own
model as most users run it (AutoModelForSequenceClassification, sdpa attention, every row through every
layer), on the same ids, for reference.

Keep ratio k: layers 0 and 1 attend over every token; layer 1's CLS attention then picks the
fraction k of the input to keep, removed before layer 1's feed-forward, so layers 2-5 run on k only.
(`--decision-layer 2` lets layer 2 attend over everything too and decide there.) `received_all` scores
every token by the attention it receives at every layer (as LTP and TS-DTP do) and prunes nothing: its
speed-up is the cost of that scoring alone.
"""
from __future__ import annotations

import argparse

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification

from pipelines.timing import last_layer_cls_only, settle
from pruning_core.methods import NoPruning, TopK
from pruning_core.text import PrunedTextClassifier, default_model_path, load_text_classifier

from .common import add_output_options, median_seconds, reference_note, report, with_method

KEEP_RATIOS = (0.7, 0.5, 0.3)
SEQ_LEN = 256


class ScoreEverywhere(NoPruning):
    """Scores every token by attention received at every layer and keeps them all."""

    def prunes_at(self, layer: int) -> bool:
        return True


def random_batch(batch: int, vocab: int, cls_id: int, sep_id: int, seq_len: int = SEQ_LEN, seed: int = 0
                 ) -> torch.Tensor:
    """(batch, seq_len) random token ids, CLS first and SEP last: every row real, none padding."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(min(1000, vocab // 2), vocab, (batch, seq_len), generator=generator)
    ids[:, 0], ids[:, -1] = cls_id, sep_id
    return ids


def settings(num_layers: int, decision_layer: int) -> dict[str, object]:
    methods: dict[str, object] = {"unpruned": NoPruning(), "received_all": ScoreEverywhere()}
    for k in KEEP_RATIOS:
        methods[f"keep{k}"] = TopK(keep_ratios=[1.0] * decision_layer + [k] * (num_layers - decision_layer))
    return methods


@torch.inference_mode()
def measure(classifier: PrunedTextClassifier, reference: nn.Module, rounds: int, decision_layer: int = 1,
            seq_len: int = SEQ_LEN) -> dict[str, object]:
    """Every setting's throughput (batch 32) and latency (batch 1), side by side, on the current thread count;
    `reference` is the transformers model timed as the 'transformers' row."""
    classifier.eval()
    reference.eval()
    tokenizer = classifier.tokenizer
    runners = {"transformers": lambda ids, mask: reference(input_ids=ids, attention_mask=mask)}
    for name, method in settings(classifier.num_layers, decision_layer).items():
        runners[name] = with_method(classifier, method)
    results: dict[str, object] = {}
    for batch, repeats, key in ((32, 1, "b32"), (1, 10, "b1")):
        ids = random_batch(batch, tokenizer.vocab_size, tokenizer.cls_token_id, tokenizer.sep_token_id, seq_len)
        mask = torch.ones_like(ids)
        if key == "b32":
            results["last_layer_cls_only"] = last_layer_cls_only(classifier, ids, mask)
        for name, median in median_seconds(runners, (ids, mask), rounds, repeats).items():
            if key == "b32":
                results[f"throughput_b32_{name}"] = batch / median
            else:
                results[f"latency_b1_ms_{name}"] = 1000 * median
    for name in ("received_all", *(f"keep{k}" for k in KEEP_RATIOS)):
        results[f"speedup_b32_{name}"] = results[f"throughput_b32_{name}"] / results["throughput_b32_unpruned"]
        results[f"speedup_b1_{name}"] = results["latency_b1_ms_unpruned"] / results[f"latency_b1_ms_{name}"]
    results["threads"], results["seq_len"], results["padding_percent"] = torch.get_num_threads(), seq_len, 0.0
    return results


def packaged_models() -> tuple[PrunedTextClassifier, nn.Module]:
    """The packaged MiniLM-L6 on our loop, and the same weights as transformers' own model with sdpa attention."""
    reference = AutoModelForSequenceClassification.from_pretrained(default_model_path(), attn_implementation="sdpa")
    return load_text_classifier(device="cpu"), reference


def print_table(results: dict[str, object]) -> None:
    print(f"MiniLM-L6, {results['seq_len']} real tokens per text (no padding), {results['threads']} threads, "
          f"median over rounds; {reference_note(results)}")
    print(f"{'setting':<12} {'b32 ex/s':>9} {'speedup':>8} {'b1 ms':>8} {'speedup':>8}")
    for name in ["transformers", "unpruned", "received_all"] + [f"keep{k}" for k in KEEP_RATIOS]:
        b32, b1 = results[f"throughput_b32_{name}"], results[f"latency_b1_ms_{name}"]
        up32 = b32 / results["throughput_b32_unpruned"]
        up1 = results["latency_b1_ms_unpruned"] / b1
        print(f"{name:<12} {b32:>9.1f} {up32:>7.2f}x {b1:>8.1f} {up1:>7.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_options(parser)
    parser.add_argument("--seq-len", type=int, default=SEQ_LEN, help=f"tokens per text (default {SEQ_LEN})")
    parser.add_argument("--decision-layer", type=int, default=1,
                        help="the layer whose attention chooses the kept tokens (default 1)")
    args = parser.parse_args(argv)
    classifier, reference = packaged_models()
    busy_percent = settle(args.threads)
    results = measure(classifier, reference, args.rounds, args.decision_layer, args.seq_len)
    report({**results, "cpu_busy_percent": busy_percent}, args.json, print_table)


if __name__ == "__main__":
    main()
