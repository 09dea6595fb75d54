"""Findings: the token-pruning study's claims, checked on a run's stored trace with intervals and verdicts."""
import streamlit as st

from dashboard import findings, findings_ui, reads
from dashboard.figures.findings import PARTS_CAPTION
from pruning_core.analysis.findings import CORRECTION, FAMILY_ERROR, RESAMPLES

st.title("Findings")
st.caption("The study behind this tool drew its conclusions from plots. Here each claim is a statistic computed "
           "from the chosen run's stored trace, with a raw 95% bootstrap interval over its examples "
           f"({RESAMPLES:,} seeded resamples, the statistic recomputed on each) and, beside it, an interval "
           f"corrected for checking many claims at once: {CORRECTION} over the run's claims that have data "
           f"(family-wise error {FAMILY_ERROR:.0%}). The verdict is the corrected interval's, by a rule written out "
           "beside it. Retained words are those the classifier read (alive on entry to the last layer). The same "
           "table: `python -m pipelines.findings --run RUN`.")

found = reads.runs()
run = reads.run_picker(reads.runs(analysed=True))
try:
    result = findings.checked(run["run_id"])
except reads.Unavailable as reason:
    reads.stop_with(str(reason), reason.problem)
table = result.table
if table.empty:
    reads.stop_with(f"None of the study's claims is about the {findings_ui.plain(run['dataset'])} dataset: they are "
                    "about IMDb and AG News (add your own with pruning_core.analysis.findings.register_claim).")

st.markdown(findings.summary(table))
for group, rows in table.groupby("group", sort=False):
    st.subheader(group)
    for row in rows.itertuples(index=False):
        findings_ui.claim_row(row, result.parts[result.parts["key"] == row.key])
st.caption(PARTS_CAPTION)

st.subheader("Every claim in one table")
st.dataframe(findings.display_table(table), hide_index=True, key="findings_table")
st.download_button("Download as CSV", findings.csv_bytes(result), file_name=f"{run['run_id']}-findings.csv",
                   mime="text/csv", icon="⬇️", key="do_download_findings")

st.subheader("Other runs of this dataset")
findings_ui.other_runs(run, found)
