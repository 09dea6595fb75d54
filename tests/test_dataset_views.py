"""What the dataset pages show, without Streamlit: reshaped tables, the Pareto front, learned values, figures,
and several methods on one typed text."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from transformers import BertTokenizer

from app_data import benchmark_rows
from conftest import VOCAB, make_bert, make_tokenizer
from pruning_core.methods import LearnedTokenPruning, TopK, build_method
from dashboard.side_by_side import compare_on_text
from dashboard.tables import (as_list, keyword_comparison, keyword_display, parse_keywords, read_share, run_label,
                                 runs_table)
from pruning_core.text import PrunedTextClassifier
from dashboard.tradeoff import (by_length, learned_values, length_cells, mark_front, missing_methods, pareto_front,
                                setting_roles, timing_caption, with_reference_speedups)
from dashboard.figures import compare, embeddings, patterns, tradeoff

KEYWORDS = pd.DataFrame({
    "keyword": ["great", "awful", "rare"], "source": ["study"] * 3, "class_index": [1, 0, 0],
    "class_name": ["positive", "negative", "negative"], "score": [math.nan] * 3, "occurrences": [4, 2, 0],
    "examples": [3, 2, 0], "retention": [[1.0, 0.75, 0.5], np.ma.masked_invalid([1.0, 0.5, 0.0]), None],
    "kept_final": [0.5, 0.0, math.nan], "examples_kept": [2, 0, 0], "examples_dropped": [1, 2, 0],
    "accuracy_kept": [1.0, math.nan, math.nan], "accuracy_dropped": [0.0, 0.5, math.nan]})


def test_keyword_table_spreads_retention_over_one_percent_column_per_layer():
    table = keyword_display(KEYWORDS, num_layers=3)
    assert list(table.columns) == ["keyword", "class", "source", "occurrences", "examples", "L1 %", "L2 %", "L3 %",
                                   "final %", "acc kept %", "acc dropped %"]
    assert table.loc[0, ["L1 %", "L2 %", "L3 %", "final %", "acc kept %"]].tolist() == [100, 75, 50, 50, 100]
    assert table.loc[1, "L2 %"] == 50 and math.isnan(table.loc[1, "acc kept %"])
    assert table.loc[2, ["L1 %", "L3 %", "final %"]].isna().all()        # never occurs: empty, not an error
    assert "great,positive,study,4,3,100.0,75.0,50.0,50.0,100.0,0.0" in table.to_csv(index=False)


def test_keyword_comparison_puts_the_largest_differences_first():
    other = KEYWORDS.assign(kept_final=[0.25, 0.5, math.nan], occurrences=[4, 2, 0])
    table = keyword_comparison(KEYWORDS, other, ("A", "B"))
    assert table["keyword"].tolist() == ["awful", "great"]                # "rare" occurs in neither run
    assert table["B − A"].tolist() == [50.0, -25.0]


def test_typed_keywords_split_on_commas_and_spaces():
    assert parse_keywords(" great, awful  boring,,great ") == ["great", "awful", "boring"]
    assert parse_keywords("") == [] and parse_keywords(None) == []


def test_list_cells_and_run_labels():
    assert as_list(None) == [] and as_list(pd.NA) == [] and as_list(np.array([1, 2])) == [1, 2]
    run = {"run_id": "imdb-quick-ltp_hard-test", "training_run": "imdb-quick", "stage": "ltp_hard", "method": "ltp",
           "split": "test", "accuracy": 0.8912}
    assert run_label(run) == "imdb-quick/ltp_hard · LTP · acc 0.891"
    assert "train split" in run_label({**run, "split": "train", "accuracy": None})
    runs = pd.DataFrame([{**run, "dataset": "imdb", "n_examples": 10, "macro_f1": 0.88, "analysed": True,
                          "keep_fraction": [0.9, 0.4]}])
    assert runs_table(runs).loc[0, "tokens read"] == pytest.approx(0.9)      # alive on entry to the last layer
    assert read_share([0.7]) == 1.0 and np.isnan(read_share(None))          # one layer: it reads the input


def test_pareto_front_keeps_only_undominated_settings():
    cost = np.array([1.0, 2.0, 3.0, 2.0, np.nan])
    quality = np.array([0.8, 0.9, 0.95, 0.85, 0.99])
    assert pareto_front(cost, quality).tolist() == [True, True, True, False, False]
    assert pareto_front(np.array([1.0, 1.0]), np.array([0.9, 0.9])).tolist() == [True, True]   # ties both stay


def test_throughput_is_better_high_and_flops_better_low():
    rows = benchmark_rows("imdb", with_ts_dtp=True)
    fast = mark_front(rows, "throughput_b32", "accuracy").set_index("setting")["pareto"]
    cheap = mark_front(rows, "flops", "accuracy").set_index("setting")["pareto"]
    assert fast["unpruned"] and fast["topk-0.3"] and not fast["topk-0.5"]    # ltp-x2.0 is faster and as good
    assert cheap["unpruned"] and cheap["ltp-x2.0"]
    assert missing_methods(rows) == [] and missing_methods(rows[rows["method"] != "ts_dtp"]) == ["ts_dtp"]


HONEST_CONFIG = {"batching": "length-sorted batches of 32", "padding_share": 0.002, "last_layer_cls_only": True,
                 "reference": "control", "threads": 2}


def honest_sweep(n: int = 40) -> pd.DataFrame:
    """A sweep timed against the strongest unpruned path, as store.benchmarks() gives it: every row's predictions
    and example ids, the sweep's labels and lengths (16 texts < 128 tokens, 24 of 128–255, none longer), ltp-x0 and
    the transformers reference (the control's predictions, slower). Stored speed-ups are against `unpruned`, as older
    sweeps stored them."""
    labels = np.arange(n) % 2
    lengths = [60] * 16 + [200] * (n - 16)
    # setting: method, examples wrong (from the first), throughput at batch 32, thresholds
    settings = {"unpruned": ("none", 6, 98.0, None), "control": ("none", 4, 100.0, None),
                "transformers": ("none", 4, 50.0, None), "ltp-x0": ("ltp", 4, 90.0, [0.0] * 4),
                "ltp-x1.0": ("ltp", 6, 150.0, [0.02, 0.05, 0.08, 0.1]), "topk-0.5": ("topk", 10, 160.0, None)}
    rows = []
    for setting, (method, wrong, throughput, thresholds) in settings.items():
        predictions = np.where(np.arange(n) < wrong, 1 - labels, labels)
        kept = [18.0] * 4 if method == "none" or setting == "ltp-x0" else [16.0, 12.0, 9.0, 7.0]
        rows.append({"bench_id": "imdb-honest", "dataset": "imdb", "profile": "tiny", "setting": setting,
                     "method": method, "method_config": "{}", "thresholds": thresholds, "model_path": "",
                     "n_examples": n, "accuracy": 1 - wrong / n, "macro_f1": 1 - wrong / n - 0.01, "mean_kept": kept,
                     "keep_fraction": [k / 20.0 for k in kept], "flops": sum(kept) * 1e6,
                     "throughput_b32": throughput, "latency_b1_ms": 2000.0 / throughput,
                     "speedup_b32": throughput / 98.0, "speedup_b1": throughput / 98.0,
                     "predictions": predictions.tolist(), "example_ids": list(range(n)), "labels": labels.tolist(),
                     "lengths": lengths, "config": json.dumps(HONEST_CONFIG)})
    return pd.DataFrame(rows)


def test_speed_ups_are_recomputed_against_the_strongest_unpruned_path_and_roles_are_named():
    rows = with_reference_speedups(honest_sweep()).set_index("setting")
    assert rows.loc["control", "speedup_b32"] == 1.0 and rows.loc["ltp-x1.0", "speedup_b32"] == pytest.approx(1.5)
    assert rows.loc["transformers", "speedup_b1"] == pytest.approx(0.5), "latency 40 ms against the control's 20"
    roles = dict(zip(honest_sweep()["setting"], setting_roles(honest_sweep())))
    assert roles["control"] == "speed-up reference"
    assert roles["transformers"].startswith("reference only") and roles["ltp-x0"].startswith("nothing pruned")
    assert roles["ltp-x1.0"] == roles["unpruned"] == ""
    old = honest_sweep().drop(columns="config")                           # older sweeps name no reference
    assert with_reference_speedups(old.assign(speedup_b32=0.0)).set_index("setting").loc["topk-0.5", "speedup_b32"] \
        == pytest.approx(1.6), "against the control when the sweep has one"
    vision = old[old["setting"] != "control"]
    assert with_reference_speedups(vision).set_index("setting").loc["topk-0.5", "speedup_b32"] == \
        pytest.approx(160 / 98), "else against `unpruned`"
    assert "length-sorted batches of 32" in timing_caption(honest_sweep())
    assert timing_caption(vision).endswith("speed-ups here are against `unpruned`.")


def test_the_transformers_reference_is_never_on_the_pareto_front():
    rows = honest_sweep()
    rows.loc[rows["setting"] == "transformers", "throughput_b32"] = 1000.0   # fastest, as accurate as the control
    front = mark_front(rows, "throughput_b32", "accuracy").set_index("setting")["pareto"]
    assert not front["transformers"] and front["control"] and front["topk-0.5"]
    figure = tradeoff.tradeoff_figure(rows, "throughput_b32")
    reference = [trace for trace in figure.data if trace.name == "transformers (reference only)"]
    assert len(reference) == 1 and list(reference[0].text) == ["transformers"]
    assert all("transformers" not in list(trace.text or []) for trace in figure.data if trace is not reference[0])


def test_accuracy_by_length_per_setting_with_empty_buckets():
    tidy = by_length(honest_sweep())
    table = length_cells(tidy).set_index("setting")
    assert list(table.columns) == ["< 128 (n = 16)", "128–256 (n = 24)", "256–400 (n = 0)", "≥ 400 (n = 0)"]
    assert list(table.index) == list(honest_sweep()["setting"])
    # the control is wrong on 4 of the 16 short texts, topk-0.5 on 10: 10 wrong is 37.5 points below
    assert table.loc["control", "< 128 (n = 16)"] == "0.750"
    assert table.loc["topk-0.5", "< 128 (n = 16)"].startswith("0.375 (-37.5 [")
    assert table.loc["transformers", "< 128 (n = 16)"] == "0.750 (+0.0 [0.0, 0.0])"
    assert (table["≥ 400 (n = 0)"] == "empty").all()
    assert by_length(honest_sweep().assign(lengths=None)) is None, "older sweeps stored no lengths"
    figure = tradeoff.length_figure(tidy)
    assert figure.layout.title.text == "Accuracy by text length" and figure.layout.xaxis.title.text
    control = next(trace for trace in figure.data if trace.name == "control")
    assert list(control.x)[:2] == ["< 128 (n = 16)", "128–256 (n = 24)"] and np.isnan(control.y[3])


def test_the_tokens_line_ends_with_what_the_classifier_read():
    figure = tradeoff.mean_kept_figure(honest_sweep())
    ltp = next(trace for trace in figure.data if trace.name == "ltp-x1.0")
    assert list(ltp.y) == pytest.approx([20.0, 16.0, 12.0, 9.0]), "input, then alive on entry to layers 2..4"
    assert list(ltp.x) == [1, 2, 3, 4]


def test_learned_values_are_ltp_thresholds_and_ts_dtp_offsets():
    rows = benchmark_rows("imdb", with_ts_dtp=True)
    rows.loc[rows["setting"] == "ts_dtp", "method_config"] = json.dumps({"offsets": [-1.0, -0.5, 0.0, 0.5]})
    values = learned_values(rows)
    assert set(values["setting"]) == {"ltp-x1.0", "ltp-x2.0", "ts_dtp"}
    offsets = values[values["kind"] == "offset"]
    assert offsets["value"].tolist() == [-1.0, -0.5, 0.0, 0.5] and offsets["layer"].tolist() == [1, 2, 3, 4]
    assert learned_values(rows[rows["method"] == "topk"]).empty


def test_every_figure_has_a_title_and_labelled_axes():
    rows = benchmark_rows("imdb", with_ts_dtp=True).assign(dataset="imdb")
    retention = pd.DataFrame({"category": ["NOUN", "ADJ"] * 2, "class_name": ["all", "all", "good", "good"],
                              "layer": [1] * 4, "rate": [0.5, 0.7, 0.6, 0.8], "kept": [5, 7, 3, 4],
                              "total": [10] * 4})
    words = pd.DataFrame({"class_name": ["good", "good"], "word": ["<b>great</b>", "fun"], "kept": [5, 3],
                          "occurrences": [6, 6], "rate": [5 / 6, 0.5]})
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0], "label_name": ["bad", "good"],
                           "predicted_name": ["good", "good"], "correct": [False, True], "example_id": [0, 1],
                           "retained_text": ["<script>x</script>", ""]})
    survival = pd.DataFrame({"layer": [0, 1], "survival": [0.8, 0.5]})
    overall = retention[retention["class_name"] == "all"]
    figures = [tradeoff.tradeoff_figure(rows, "throughput_b32"), tradeoff.tradeoff_figure(rows, "flops"),
               tradeoff.mean_kept_figure(rows), patterns.retention_figure(retention, "pos", 1, ["all", "good"]),
               patterns.retention_layers_figure(overall, "pos"),
               embeddings.projection_figure(points, "label_name", "umap", "example", ["bad", "good"]),
               compare.survival_figure({"A": survival, "B": survival}),
               compare.retention_compare_figure({"A": overall, "B": overall}, "pos"),
               compare.jaccard_figure({("ltp", "topk"): [1.0, 0.5]})]
    for figure in figures:
        layout = figure.layout
        assert layout.title.text and layout.xaxis.title.text and layout.yaxis.title.text, layout.title.text
    assert patterns.top_words_figure(words, ["good"]).layout.title.text
    assert patterns.top_words_treemap(words, ["good"]).layout.title.text
    text = json.dumps(figures[5].to_plotly_json()["data"], default=str)
    text += str(patterns.top_words_figure(words, ["good"]))
    assert "<script>" not in text and "<b>great</b>" not in text            # user text is escaped in hovers and labels


def test_methods_on_one_text_side_by_side_with_their_overlap():
    model, tokenizer = make_bert(), make_tokenizer()
    setups = {"ltp": (PrunedTextClassifier(model, tokenizer), LearnedTokenPruning(4, [0.02, 0.05, 0.08, 0.1])),
              "topk": (PrunedTextClassifier(model, tokenizer), TopK(keep_ratios=[0.9, 0.7, 0.5, 0.3])),
              "ts_dtp": (PrunedTextClassifier(model, tokenizer),
                         build_method("ts_dtp", num_layers=4, hidden_size=32))}
    outcome = compare_on_text("the movie was great , i love the story and the music .", setups)
    assert list(outcome.results) == ["ltp", "topk", "ts_dtp"] and not outcome.notes
    assert set(outcome.overlaps) == {("ltp", "topk"), ("ltp", "ts_dtp"), ("topk", "ts_dtp")}
    assert all(0 < value <= 1 for values in outcome.overlaps.values() for value in values)
    same = compare_on_text("a fun film", {"a": setups["topk"], "b": setups["topk"]})
    assert same.overlaps[("a", "b")] == [1.0] * 4
    assert compare_on_text("   ", setups).hint and not compare_on_text("   ", setups).results


def test_methods_that_tokenize_differently_get_a_note_instead_of_an_overlap():
    two_layers = PrunedTextClassifier(make_bert(num_layers=2), make_tokenizer(), TopK(keep_ratios=[0.5, 0.5]))
    four = PrunedTextClassifier(make_bert(), make_tokenizer(), TopK(keep_ratios=[0.9, 0.7, 0.5, 0.3]))
    outcome = compare_on_text("the movie was great , i love the story", {"ltp": (two_layers, two_layers.method),
                                                                         "topk": (four, four.method)},
                              max_length=512)
    assert len(outcome.overlaps[("ltp", "topk")]) == 2                    # over the layers both have
    other_vocab = BertTokenizer(vocab={w: i for i, w in enumerate(w for w in VOCAB if w != "movie")})
    mixed = PrunedTextClassifier(make_bert(), other_vocab, TopK(keep_ratios=[0.9, 0.7, 0.5, 0.3]))
    outcome = compare_on_text("the movie", {"ltp": (four, four.method), "topk": (mixed, mixed.method)})
    assert not outcome.overlaps and "tokenize this text differently" in outcome.notes[0]
