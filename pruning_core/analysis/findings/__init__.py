"""The study's findings as claims a run can support or not, each with a statistic, intervals and a verdict.

Four rooms, one direction: `data` (what a claim reads from a run, loaded from the store) <- `engine` (the Claim
type, rules, bootstrap intervals, Holm–Bonferroni; no particular claim) <- `measures` (the statistics claims are
built from) <- `claims` (the study's claims, a fixed tuple) <- `registry` (which claims are checked by default);
`formatting` turns the results into text (intervals, the CSV frame, the Markdown table).

To check a claim of your own, pass it, or register it so that the Findings page and `lens findings` show it
beside the study's:

    from pruning_core.analysis.findings import (STUDY_CLAIMS, Above, Claim, evaluate_claims, load_run, pos_contrast,
                                                register_claim)

    mine = Claim("mine.noun_world", "My claims", "World keeps more nouns than Sports",
                 "NOUN's share of the retained words: World's minus Sports'", Above(0.0),
                 pos_contrast("NOUN", higher=("World",), lower=("Sports",)), datasets=("ag_news",))
    evaluate_claims(load_run(run_id), claims=[*STUDY_CLAIMS, mine])     # this once
    register_claim(mine)                                                 # from now on, by default

A word counts as retained when the classifier read it (alive on entry to the last layer).
"""
from .claims import STUDY_CLAIMS
from .data import MissingData, RunData, load_run, run_data
from .engine import (CONFIDENCE, CORRECTION, FAMILY_ERROR, INCONCLUSIVE, NO_DATA, NOT_SUPPORTED, PART_COLUMNS,
                     RESAMPLES, SUPPORTED, TABLE_COLUMNS, VERDICTS, Above, Below, Claim, Findings, Inside, Measure,
                     Rule, Statistic, correction_text, evaluate, holm_levels, interval, resample_counts)
from .formatting import correction_note, format_corrected, format_interval, markdown_table, table_with_parts
from .measures import (keyword_lift, kept_rate_ratio, largest_pos, overlap_share, pos_contrast, pos_pair, pos_spread,
                       resampled_centroid_distances, resampled_silhouettes, silhouette, spread_ratio, summed)
from .registry import default_claims, evaluate_claims, register_claim, unregister_claim

# The names before the split: `check` is evaluate_claims; CLAIMS, the study's claims, is now a tuple (register_claim
# adds one of yours).
check = evaluate_claims
CLAIMS = STUDY_CLAIMS

__all__ = [
    "CLAIMS", "CONFIDENCE", "CORRECTION", "FAMILY_ERROR", "INCONCLUSIVE", "NO_DATA", "NOT_SUPPORTED", "PART_COLUMNS",
    "RESAMPLES", "STUDY_CLAIMS", "SUPPORTED", "TABLE_COLUMNS", "VERDICTS", "Above", "Below", "Claim", "Findings",
    "Inside", "Measure", "MissingData", "Rule", "RunData", "Statistic", "check", "correction_note", "correction_text",
    "default_claims", "evaluate", "evaluate_claims", "format_corrected", "format_interval", "holm_levels",
    "interval", "keyword_lift", "kept_rate_ratio", "largest_pos", "load_run", "markdown_table", "overlap_share",
    "pos_contrast", "pos_pair", "pos_spread", "register_claim", "resample_counts", "resampled_centroid_distances",
    "resampled_silhouettes", "run_data", "silhouette", "spread_ratio", "summed", "table_with_parts",
    "unregister_claim"]
