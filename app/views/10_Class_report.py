"""Class report: a traced run's precision, recall and F1 per class, its confusion matrix, and the texts of any cell."""
import streamlit as st

from dashboard import class_report, reads
from dashboard.figures import confusion
from dashboard.findings_ui import plain

st.title("Class report")
st.caption("How a traced run's answers fall, class by class: precision, recall and F1 per class and the confusion "
           "matrix, as the trace pipeline stored them. Click a cell of the matrix to read the texts in it.")

run = reads.run_picker(reads.runs())
run_id, names = run["run_id"], [str(name) for name in run["label_names"]]
metrics = reads.read("run_metrics", run_id)
if not class_report.has_report(metrics):
    reads.stop_with(class_report.missing_message(run))

accuracy, macro_f1, texts = st.columns(3)
accuracy.metric("Accuracy", f"{metrics['summary']['accuracy']:.3f}")
macro_f1.metric("Macro-F1", f"{metrics['summary']['macro_f1']:.3f}")
texts.metric("Texts", f"{metrics['summary']['n_examples']:,}")

table, matrix = st.columns([2, 3], gap="large")
table.subheader("Per class")
table.dataframe(class_report.report_table(metrics), hide_index=True, key="class_report", column_config={
    name: st.column_config.NumberColumn(format="%.3f") for name in ("precision", "recall", "F1")})
table.caption("Precision: of the texts predicted as the class, the share that belong to it. Recall: of the texts "
              "of the class, the share predicted as it. F1: their harmonic mean. Support: the texts of the class.")
matrix.subheader("Confusion matrix")
event = matrix.plotly_chart(confusion.confusion_figure(metrics["confusion"]), key=f"confusion_{run_id}",
                            on_select="rerun", selection_mode="points")
matrix.caption(confusion.CONFUSION_CAPTION)

st.subheader("Texts of one cell")
keys = (f"cell_true_{run_id}", f"cell_predicted_{run_id}")
class_report.take_click(st.session_state, confusion.clicked_cell(event), keys)
for key, index in zip(keys, class_report.commonest_confusion(metrics["confusion"])):
    st.session_state.setdefault(key, index)          # to start: the model's most frequent mistake
true_menu, predicted_menu = st.columns(2)
classes = list(range(len(names)))
true_index = true_menu.selectbox("True class", classes, key=keys[0], format_func=names.__getitem__)
predicted_index = predicted_menu.selectbox("Predicted class", classes, key=keys[1], format_func=names.__getitem__)
count = int(metrics["confusion"].iloc[true_index, predicted_index])
cell = f"true class **{plain(names[true_index])}** predicted as **{plain(names[predicted_index])}**"
if not count:
    reads.stop_with(f"No text of {cell}.")
shown = reads.read("cell_examples", run_id, true_index, predicted_index, limit=class_report.SHOWN_EXAMPLES)
st.markdown(f"{count:,} texts of {cell}" + (f"; the {len(shown)} most confident:" if count > len(shown) else ":"))
st.dataframe(class_report.cell_table(shown, names), hide_index=True, key="cell_examples", column_config={
    "probability": st.column_config.NumberColumn(format="%.3f", help="The model's probability for its prediction."),
    "text": st.column_config.TextColumn(width="large")})
