"""Accuracy vs speed: every stored benchmark setting, its accuracy against measured speed and analytic cost."""
import streamlit as st

from dashboard import reads
from dashboard.figures import tradeoff
from dashboard.tables import EMPTY_CELL, method_name
from dashboard.tradeoff import (by_length_of, length_cells, setting_roles, settings_columns, timing_caption,
                                versus_column, with_reference_speedups)
from pruning_core.analysis.sweeps import speed_setting

st.title("Accuracy vs speed")
st.caption("What pruning buys and what it costs: each benchmark setting (no pruning, top-k keep ratios, LTP "
           "threshold scales, TS-DTP...) measured side by side on the same test sample and machine. Speed-ups are "
           "against the strongest unpruned path: the equally trained unpruned model, timed on the same batches.")

rows = reads.read("benchmarks")
if rows.empty:
    reads.stop_with("No benchmarks stored yet: run `python -m pipelines.benchmark --dataset imdb` "
                         f"(or `{reads.DEMO_COMMAND}`, which benchmarks its models).")
datasets = sorted(rows["dataset"].unique())
dataset = st.sidebar.selectbox("Dataset", datasets, key="bench_dataset")
metric = st.sidebar.radio("Quality", list(tradeoff.METRIC_NAMES), format_func=tradeoff.METRIC_NAMES.get,
                          key="bench_metric", horizontal=True)
rows = with_reference_speedups(rows[rows["dataset"] == dataset].reset_index(drop=True))
first = rows.iloc[0]
st.caption(f"Sweep `{first['bench_id']}` ({first['profile'] or 'no'} profile, {first['created_at']:%Y-%m-%d %H:%M}), "
           f"{int(first['n_examples']):,} test examples, {len(rows)} settings. {timing_caption(rows)}")

speed, cost = st.columns(2, gap="large")
for column, x in ((speed, "throughput_b32"), (cost, "flops")):
    column.plotly_chart(tradeoff.tradeoff_figure(rows, x, metric), key=f"tradeoff_{x}")
    column.caption(tradeoff.TRADEOFF_CAPTION.format(better=tradeoff.better_direction(x)))

kept, learned = st.columns(2, gap="large")
kept.plotly_chart(tradeoff.mean_kept_figure(rows), key="mean_kept")
kept.caption(tradeoff.MEAN_KEPT_CAPTION)
figure = tradeoff.learned_values_figure(rows)
if figure is None:
    learned.info("No setting of this sweep has learned thresholds (LTP) or offsets (TS-DTP).")
else:
    learned.plotly_chart(figure, key="learned")
    learned.caption(tradeoff.LEARNED_CAPTION)

st.subheader("Accuracy by text length")
lengths = by_length_of(rows)
if lengths is None:
    st.info("This sweep did not store every example's prediction and length: rerun the benchmark to see accuracy "
            "by text length.")
else:
    st.plotly_chart(tradeoff.length_figure(lengths), key="by_length")
    st.caption(tradeoff.LENGTH_CAPTION)
    st.dataframe(length_cells(lengths), hide_index=True, placeholder=EMPTY_CELL)

st.subheader("Every setting")
reference, versus = versus_column(rows)
table = rows.assign(method=rows["method"].map(method_name), GFLOPs=rows["flops"] / 1e9, versus=versus,
                    role=setting_roles(rows))[
    ["setting", "method", "role", "accuracy", "versus", "macro_f1", "GFLOPs", "throughput_b32", "latency_b1_ms",
     "speedup_b32", "speedup_b1"]]
st.dataframe(table, hide_index=True, column_config=settings_columns(reference, speed_setting(rows)),
             placeholder=EMPTY_CELL)
