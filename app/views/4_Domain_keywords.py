"""Domain keywords: how pruning treats the words that carry a class, and any words you type."""
import streamlit as st

from dashboard import reads
from dashboard.tables import EMPTY_CELL, MAX_KEYWORDS, PERCENT_COLUMNS, keyword_display, layer_columns, parse_keywords

st.title("Domain keywords")
st.caption("For each keyword: how often it occurs in the traced test set, the share of its occurrences alive "
           "after each layer, and the accuracy on texts where the classifier read it (alive on entry to the last "
           "layer) versus where it was dropped before. Click a column to sort.")

run = reads.run_picker(reads.runs(analysed=True))
run_id, layers, names = run["run_id"], int(run["num_layers"]), list(run["label_names"])
source = st.sidebar.radio("Keywords", ["study", "discovered", None], key="keyword_source",
                          format_func={"study": "The study's lists", "discovered": "Found in the data",
                                       None: "Both"}.get,
                          help="Found in the data: the words most typical of each class (log-odds with an "
                               "informative Dirichlet prior).")
classes = st.sidebar.multiselect("Classes", names, default=names, key=f"keyword_classes_{run_id}")

formats = {column: st.column_config.NumberColumn(format="%.1f", help=f"Share of occurrences alive after layer "
                                                                    f"{layer + 1}.")
           for layer, column in enumerate(layer_columns(layers))}
formats |= {column: st.column_config.NumberColumn(format="%.1f", help=text) for column, text in PERCENT_COLUMNS.items()}


def keyword_table(frame, file_name: str, key: str) -> None:
    table = keyword_display(frame, layers)
    st.dataframe(table, hide_index=True, column_config=formats, key=key, placeholder=EMPTY_CELL)
    st.caption("L1 % …: the share of the keyword's occurrences still alive after each layer; final %: the share the "
               "classifier read (alive on entry to the last layer, so the column of the layer before it); acc kept % "
               "/ acc dropped %: accuracy on the texts where the classifier read it / where every occurrence was "
               "removed before the last layer.")
    st.download_button("Download as CSV", table.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", icon="⬇️", key=f"do_download_{key}")


stored = reads.read("keyword_table", run_id, source=source)
stored = stored[stored["class_name"].isin(classes)]
if stored.empty:
    st.info("No stored keywords for this choice: try another source or class in the sidebar.")
else:
    keyword_table(stored, f"{run_id}-keywords.csv", "keywords")

st.subheader("Your own keywords")
typed = st.text_input("Keywords, separated by commas or spaces", key="custom_keywords",
                      placeholder="e.g. great, awful, plot",
                      help=f"Up to {MAX_KEYWORDS} words, matched case-insensitively against the model's whole words "
                           "in this run's trace.")
wanted = parse_keywords(typed)
if len(wanted) > MAX_KEYWORDS:
    st.warning(f"You typed {len(wanted):,} different words: the table shows the first {MAX_KEYWORDS}.")
    wanted = wanted[:MAX_KEYWORDS]
if wanted:
    keyword_table(reads.read("custom_keywords", run_id, wanted), f"{run_id}-my-keywords.csv", "custom")
    st.caption("A keyword that never occurs has 0 occurrences and empty rates.")
else:
    st.caption("Type words above to get the same table for them from this run's stored trace.")
