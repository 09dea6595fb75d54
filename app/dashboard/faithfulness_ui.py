"""Faithfulness (Streamlit): on Live text, the typed text's pruned answer beside the same weights' unpruned one, with
ERASER's sufficiency and comprehensiveness of the tokens the classifier read (alive on entry to the last layer) and,
on request, gradient × input saliency beside the pruning scores; on Compare, the stored figures of each trained
pruned model over a test sample.

The measures are pruning_core.text.faithfulness's; `live_faithfulness` (no widgets) computes them for one typed text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from pruning_core.text.faithfulness import Faithfulness, gradient_x_input, measure, saliency_agreement
from pruning_core.methods import PruningMethod
from pruning_core.text import DEFAULT_MAX_LENGTH, PrunedTextClassifier
from pruning_core.trace import ExampleTrace

from . import catalog, reads
from .live import MAX_INPUT_CHARS
from .tables import EMPTY_CELL, method_name

CAPTION = ("y is the pruned model's answer and p_full the probability the same weights give with nothing pruned. "
           "**Sufficiency** = p_full(y) − p_full(y | the tokens read alone): near 0 or below, the tokens the "
           "classifier read (alive on entry to the last layer) carry the answer by themselves. "
           "**Comprehensiveness** = p_full(y) − p_full(y | the text without them): high, the answer leaves with "
           "them. As in the ERASER benchmark (DeYoung et al. 2020).")
SALIENCY_CAPTION = ("Gradient × input: |Σ gradient · embedding| of each token for the unpruned model's logit of y. "
                    "Spearman's ρ ranks the text's tokens scored at that layer by both: near 1, pruning keeps the "
                    "tokens the gradient finds important.")
DATASET_CAPTION = ("Each trained pruned model on a seeded test sample, against the same weights with nothing pruned: "
                   "how often they agree (a flip is a different answer), the share of tokens the classifier read "
                   "(alive on entry to the last layer), and mean sufficiency and comprehensiveness of those tokens "
                   "(see Live text), with 95% bootstrap intervals.")


@dataclass
class LiveFaithfulness:
    figures: Faithfulness
    label_names: list[str]
    saliency: np.ndarray | None = None   # (n,) over the trace's tokens, when asked for
    layer: int | None = None             # the pruning scores it is ranked against
    correlation: float = float("nan")    # Spearman's rho


def live_faithfulness(classifier: PrunedTextClassifier, method: PruningMethod, text: str, trace: ExampleTrace,
                      saliency: bool = False, max_length: int = DEFAULT_MAX_LENGTH) -> LiveFaithfulness:
    """The figures for the text Live text has just traced (cut as classify_live cuts it)."""
    view = PrunedTextClassifier(classifier.model, classifier.tokenizer, method)
    text = text[:MAX_INPUT_CHARS]
    figures = measure(view, [text], max_length)[0]
    result = LiveFaithfulness(figures, classifier.label_names)
    if saliency:
        result.saliency = gradient_x_input(view, [text], [figures.pruned_prediction], max_length)[0]
        result.layer, result.correlation = saliency_agreement(trace, result.saliency)
    return result


def live_section(classifier: PrunedTextClassifier, method: PruningMethod, text: str, trace: ExampleTrace) -> None:
    """Live text's Faithfulness section for the traced text."""
    st.subheader("Faithfulness")
    if not method.removes_tokens:
        st.caption("This method keeps every token, so the pruned model is the unpruned one: pick a method that prunes "
                   "to compare them.")
        return
    with_saliency = st.toggle("Gradient × input beside the pruning scores", key="faith_saliency",
                              help="One backward pass through the unpruned model.")
    result = live_faithfulness(classifier, method, text, trace, with_saliency)
    figures, names = result.figures, result.label_names
    unpruned, agrees, change, sufficiency, comprehensiveness = st.columns(5)
    unpruned.metric("Unpruned prediction", names[figures.unpruned_prediction],
                    f"{figures.unpruned_confidence:.1%}", delta_color="off", delta_arrow="off",
                    help="The same weights with every token kept, on the same tokens.")
    agrees.metric("Agrees with pruned", "yes" if figures.agrees else "no: pruning flips it")
    change.metric("Confidence change", f"{100 * figures.confidence_change:+.1f} points",
                  help="p_pruned(y) − p_full(y): how much surer of its answer pruning made the model.")
    sufficiency.metric("Sufficiency", f"{figures.sufficiency:+.3f}",
                       help=f"p_full(y) − p_full(y | the {figures.n_kept} tokens read alone) = "
                            f"{figures.full_probability:.3f} − {figures.rationale_probability:.3f}")
    comprehensiveness.metric("Comprehensiveness", f"{figures.comprehensiveness:+.3f}",
                             help=f"p_full(y) − p_full(y | the text without them) = "
                                  f"{figures.full_probability:.3f} − {figures.rest_probability:.3f}")
    st.caption(f"{figures.n_kept} of the text's {figures.n_tokens} tokens were read by the classifier (alive on entry "
               f"to the last layer; special tokens aside). {CAPTION}")
    if result.saliency is not None:
        _saliency_view(result, trace)


def _saliency_view(result: LiveFaithfulness, trace: ExampleTrace) -> None:
    if result.layer is None:
        st.caption("No layer scored two of the text's tokens: nothing to rank.")
        return
    scores = trace.scores[result.layer]
    own = np.array([word is not None for word in trace.word_ids], dtype=bool) & ~np.isnan(scores)
    left, right = st.columns([1, 3])
    left.metric(f"Spearman's ρ, layer {result.layer + 1}",
                "n/a" if np.isnan(result.correlation) else f"{result.correlation:+.2f}",
                help=f"Over the {int(own.sum())} tokens of the text scored at layer {result.layer + 1}.")
    right.dataframe(pd.DataFrame({"token": np.asarray(trace.tokens, dtype=object)[own],
                                  f"score at layer {result.layer + 1}": scores[own],
                                  "gradient × input": result.saliency[own],
                                  "read by the classifier": trace.read_mask[own]}),
                    hide_index=True, height=180)
    st.caption(SALIENCY_CAPTION)


def dataset_table(summary: pd.DataFrame, by_class: pd.DataFrame) -> pd.DataFrame:
    """One row per stored faithfulness set, percentages and intervals as the page shows them."""
    def interval(prefix: str, scale: float = 1.0, digits: int = 3) -> list[str]:
        return [f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"
                for low, high in zip(summary[f"{prefix}_low"], summary[f"{prefix}_high"])]

    flips = {faith_id: ", ".join(f"{row.class_name} {100 * row.flip_rate:.1f}%" for row in rows.itertuples())
             for faith_id, rows in by_class.groupby("faith_id", sort=False)}
    return pd.DataFrame({
        "model": summary["training_run"] + "/" + summary["stage"],
        "method": [method_name(m) for m in summary["method"]],
        "examples": summary["n_examples"],
        "agrees %": np.round(100 * summary["agreement"], 1), "agrees 95% CI": interval("agreement", 100, 1),
        "flips by true class": [flips.get(f, "") for f in summary["faith_id"]],
        "tokens read %": np.round(100 * summary["kept_share"], 1),
        "sufficiency": np.round(summary["sufficiency"], 3), "sufficiency 95% CI": interval("sufficiency"),
        "comprehensiveness": np.round(summary["comprehensiveness"], 3),
        "comprehensiveness 95% CI": interval("comprehensiveness")})


def dataset_section(dataset: str) -> None:
    """The stored faithfulness figures of the dataset's trained pruned models, or which command builds them."""
    st.subheader("Faithfulness to the unpruned model")
    try:
        summary = reads.fetch("faithfulness_summary", dataset=dataset)
        by_class = reads.fetch("faithfulness_by_class", dataset=dataset)
    except reads.Unavailable as reason:
        (st.error if reason.problem else st.info)(str(reason))
        return
    if summary.empty:
        runs = sorted({entry.key.split("/")[0] for entry in catalog.trained_models(catalog.discover_models())
                       if entry.metrics.get("dataset") == dataset and entry.prunes and "/" in entry.key})
        run = runs[0] if runs else f"{dataset}-quick"
        st.info(f"No faithfulness figures for {dataset} yet: run `python -m pipelines.faithfulness --dataset "
                f"{dataset} --run {run}`.")
        return
    st.dataframe(dataset_table(summary, by_class), hide_index=True, placeholder=EMPTY_CELL)
    st.caption(DATASET_CAPTION)
