"""The Compare page's three views (Streamlit): two stored runs side by side, the methods on one typed text, and
the methods' accuracy against speed (and their faithfulness to the unpruned model) over a dataset."""
from __future__ import annotations

import streamlit as st

from pruning_core.trace import read_layer

from . import catalog, controls, faithfulness_ui, figures, reads, ui
from .figures import compare, tradeoff
from .live import EXAMPLES, READ_HELP
from .side_by_side import compare_on_text
from .tables import (EMPTY_CELL, FACET_NAMES, READ_SHARE_HELP, keyword_comparison, keyword_display, method_name,
                     read_share)
from .tradeoff import COMPARED_METHODS, missing_methods

VIEWS = {"runs": "Two runs", "text": "Methods on one text", "dataset": "Methods over a dataset"}


def two_runs() -> None:
    found = reads.runs().sort_values("analysed", ascending=False, kind="stable")   # analysed runs first
    runs = {}
    for column, name, index in zip(st.columns(2, gap="large"), "AB", (0, 1)):
        run = runs[name] = reads.run_picker(found, f"Run {name}", f"run_{name.lower()}", column, index)
        accuracy, f1, kept = column.columns(3)
        accuracy.metric("Accuracy", f"{run['accuracy']:.3f}")
        f1.metric("Macro-F1", f"{run['macro_f1']:.3f}")
        kept.metric("Tokens read", f"{read_share(run['keep_fraction']):.0%}",
                    help=READ_SHARE_HELP)
    labels = {f"{name}: {run['training_run']}/{run['stage']}": run for name, run in runs.items()}
    left, right = st.columns(2, gap="large")
    survival = {label: reads.read("layer_survival", run["run_id"]) for label, run in labels.items()}
    left.plotly_chart(compare.survival_figure(survival), key="survival")
    left.caption(compare.SURVIVAL_CAPTION)
    pending = [run["run_id"] for run in runs.values() if not run["analysed"]]
    if pending:
        right.info("Retention by category and keywords need both runs analysed: run "
                   + " and ".join(f"`python -m pipelines.analyze --run {run_id}`" for run_id in pending) + ".")
        return
    facet = right.radio("Facet", list(FACET_NAMES), format_func=FACET_NAMES.get, horizontal=True, key="compare_facet")
    retention = {label: reads.read("retention", run["run_id"], facet, layer=read_layer(int(run["num_layers"])))
                 for label, run in labels.items()}
    right.plotly_chart(compare.retention_compare_figure(retention, facet), key="retention_compare")
    right.caption(compare.RETENTION_COMPARE_CAPTION)
    st.subheader("The study's keywords")
    tables = [reads.read("keyword_table", run["run_id"], source="study") for run in runs.values()]
    if runs["A"]["dataset"] == runs["B"]["dataset"]:
        st.dataframe(keyword_comparison(*tables, names=("A", "B")), hide_index=True, placeholder=EMPTY_CELL)
        st.caption("final %: the share of a keyword's occurrences the classifier read in that run (alive on entry to "
                   "the last layer).")
        return
    for column, name, table in zip(st.columns(2, gap="large"), "AB", tables):
        column.dataframe(keyword_display(table, int(runs[name]["num_layers"]))[
            ["keyword", "class", "occurrences", "final %", "acc kept %"]], hide_index=True, placeholder=EMPTY_CELL)
    st.caption("Different datasets, different keywords: each run's own list. final %: the share of a keyword's "
               "occurrences the classifier read (alive on entry to the last layer); acc kept %: accuracy on texts "
               "where it read the keyword.")


def methods_on_text() -> None:
    ui.example_buttons(EXAMPLES, "compare_text")
    text = st.text_area("Your text", key="compare_text", height=90)
    entries, dataset, setups = catalog.discover_models(), None, {}
    for column, method in zip(st.columns(len(COMPARED_METHODS), gap="medium"), COMPARED_METHODS):
        picked = ui.method_model_picker(column, method, entries, dataset)
        if picked is None:
            continue
        entry, classifier = picked
        dataset = dataset or entry.metrics.get("dataset")
        pruning = classifier.method
        if method == "topk":       # top-k's own controls; the trained methods as saved
            values = controls.draw(column, controls.COMPARE, method)
            pruning = controls.build(method, values, classifier.method, classifier.num_layers)
        setups[method] = (classifier, pruning)
    outcome = compare_on_text(text, setups)
    if outcome.hint:
        st.info(outcome.hint)
        return
    st.html(figures.legend_html())
    for column, (method, result) in zip(st.columns(len(COMPARED_METHODS), gap="medium"), outcome.results.items()):
        trace = result.trace
        column.metric(method_name(method), f"{trace.predicted_name} ({trace.probability:.0%})",
                      f"{len(trace.tokens)} → {trace.read_count} tokens read", delta_color="off", delta_arrow="off",
                      help=READ_HELP)
        column.html(figures.layer_view_html(trace, "words", hide_gone=True, legend=False))
    for note in outcome.notes:
        st.caption(note)
    if outcome.overlaps:
        st.plotly_chart(compare.jaccard_figure(outcome.overlaps), key="jaccard")
        st.caption(compare.JACCARD_CAPTION)


def methods_over_dataset() -> None:
    rows = reads.read("benchmarks")
    if rows.empty:
        reads.stop_with("No benchmarks stored yet: run `python -m pipelines.benchmark --dataset imdb`.")
    dataset = st.columns([1, 3])[0].selectbox("Dataset", sorted(rows["dataset"].unique()), key="compare_dataset")
    rows = rows[(rows["dataset"] == dataset) & rows["method"].isin(("none", *COMPARED_METHODS))]
    for column, x in zip(st.columns(2, gap="large"), ("throughput_b32", "flops")):
        title = f"LTP, top-k and TS-DTP: accuracy against {tradeoff.SPEED_TITLES[x]}"
        column.plotly_chart(tradeoff.tradeoff_figure(rows, x, title=title), key=f"methods_{x}")
        column.caption(tradeoff.TRADEOFF_CAPTION.format(better=tradeoff.better_direction(x)))
    missing = missing_methods(rows)
    if missing:
        st.info(tradeoff.missing_methods_note(missing))
    faithfulness_ui.dataset_section(dataset)


def show(view: str) -> None:
    {"runs": two_runs, "text": methods_on_text, "dataset": methods_over_dataset}[view]()
