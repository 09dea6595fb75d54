"""Accuracy vs speed: every stored benchmark setting, its accuracy against measured speed and analytic cost."""
import streamlit as st

from dashboard import reads
from dashboard.figures import tradeoff
from dashboard.tables import method_name
from dashboard.tradeoff import versus_column

st.title("Accuracy vs speed")
st.caption("What pruning buys and what it costs: each benchmark setting (no pruning, top-k keep ratios, LTP "
           "threshold scales, TS-DTP...) measured side by side on the same test sample and machine.")

rows = reads.read("benchmarks")
if rows.empty:
    reads.stop_with("No benchmarks stored yet: run `python -m pipelines.benchmark --dataset imdb` "
                         f"(or `{reads.DEMO_COMMAND}`, which benchmarks its models).")
datasets = sorted(rows["dataset"].unique())
dataset = st.sidebar.selectbox("Dataset", datasets, key="bench_dataset")
metric = st.sidebar.radio("Quality", list(tradeoff.METRIC_NAMES), format_func=tradeoff.METRIC_NAMES.get,
                          key="bench_metric", horizontal=True)
rows = rows[rows["dataset"] == dataset].reset_index(drop=True)
first = rows.iloc[0]
st.caption(f"Sweep `{first['bench_id']}` ({first['profile'] or 'no'} profile, {first['created_at']:%Y-%m-%d %H:%M}), "
           f"{int(first['n_examples']):,} test examples, {len(rows)} settings.")

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

st.subheader("Every setting")
reference, versus = versus_column(rows)
table = rows.assign(method=rows["method"].map(method_name), GFLOPs=rows["flops"] / 1e9, versus=versus)[
    ["setting", "method", "accuracy", "versus", "macro_f1", "GFLOPs", "throughput_b32", "latency_b1_ms",
     "speedup_b32", "speedup_b1"]]
st.dataframe(table, hide_index=True, column_config={
    "accuracy": st.column_config.NumberColumn(format="%.3f"),
    "versus": st.column_config.TextColumn(f"vs {reference or 'reference'} (points, 95% CI)", help=(
        "Accuracy minus the reference setting's on the same test examples, with a paired bootstrap 95% interval "
        "(10,000 resamples of the examples) where the sweep stored every prediction.")),
    "macro_f1": st.column_config.NumberColumn(
        "macro-F1", format="%.3f"), "GFLOPs": st.column_config.NumberColumn(format="%.3g"),
    "throughput_b32": st.column_config.NumberColumn("examples/s (batch 32)", format="%.1f"),
    "latency_b1_ms": st.column_config.NumberColumn("ms (batch 1)", format="%.1f"),
    "speedup_b32": st.column_config.NumberColumn("speed-up (b32)", format="%.2f×"),
    "speedup_b1": st.column_config.NumberColumn("speed-up (b1)", format="%.2f×")})
