"""What every page shares: page setup, the cached model, the text model picker (Streamlit widgets).

Models, methods, rendering and jobs live in the services beside it (live, catalog, jobs, figures) and in
pruning_core; a method's controls are drawn by dashboard.controls; this module only wires widgets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import streamlit as st

from pruning_core import paths
from pruning_core.hub import OFFLINE_SETTING, download_notes, split_sources, why_offline
from pruning_core.paths import DATA_DIR_ENV
from pruning_core.classifier import ModelLoadError, UnsupportedModelError
from pruning_core.trace import ExampleTrace
from pruning_core.text import PrunedTextClassifier, default_model_path
from pruning_core.text.examples import Example

from . import catalog, controls, jobs, state, stored_inputs
from .catalog import ModelEntry
from .live import READ_HELP, warm_up
from .tables import method_name


UNITS = {"words": "Words", "subwords": "Sub-words"}

# Live text's settings in its URL: /Live_text?text=...&model=...&method=topk&keep=0.3 reopens the same view. The
# method's settings (method, adjust, threshold, schedule, score, keep, r_max, alpha) are what its controls declare.
LIVE_URL = (
    state.UrlParam("text", "live_text", store=stored_inputs.TEXTS),   # a long text is kept on the server
    state.UrlParam("model", "model_key"),
    *controls.url_params(controls.TEXT),
    state.UrlParam("unit", "unit", choices=tuple(UNITS)),
    state.UrlParam("hide", "hide_gone", bool),
)


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def cached_classifier(key: str, folder: str, stamp: float, _entry: ModelEntry) -> PrunedTextClassifier:
    """Loaded once per model folder and version (its pruning.json time), shared by every session."""
    classifier = catalog.load_model(_entry)
    warm_up(classifier)
    return classifier


def load_classifier(entry: ModelEntry) -> PrunedTextClassifier:
    """The entry's classifier from the shared cache; ModelLoadError/UnsupportedModelError when it cannot load."""
    return cached_classifier(entry.key, str(entry.path), entry.stamp, entry)


def model_sidebar(dataset: str | None = None) -> tuple[ModelEntry, PrunedTextClassifier]:
    """Text model picker, starting on a model trained on `dataset` when there is one (and on a trained model as soon as
    one is built); says what the model does."""
    found = catalog.discover_models()
    offered, before = tuple(entry.key for entry in found), st.session_state.get("_offered_models")
    if before is not None and offered != before and st.session_state.get("model_key") == catalog.PACKAGED_KEY:
        del st.session_state["model_key"]       # a trained model has just been built: start on it
    st.session_state["_offered_models"] = offered
    entry, classifier = pick_model(found, "model_key", catalog.default_model(found, dataset), load_classifier,
                                   "Trained models under artifacts/models, and the packaged MiniLM-L6.")
    st.sidebar.caption(catalog.task_line(entry, classifier.label_names))
    return entry, classifier


def pick_model(entries: list[ModelEntry], state_key: str, default: ModelEntry, load, help: str):
    """The sidebar's model menu, text or images alike: (entry, its loaded model). A model set by a link or an earlier
    visit that is not here falls back to `default` with a note; one that cannot be loaded stops the page with a
    clear message."""
    by_key = {entry.key: entry for entry in entries}
    if st.session_state.get(state_key) not in by_key:
        if st.session_state.get(state_key) is not None and not state.set_by_link(state_key):
            st.warning("The model this page was set to (by a link or an earlier visit) is not available here: "
                       "showing the default model instead.")
        st.session_state[state_key] = default.key
    key = st.sidebar.selectbox("Model", list(by_key), format_func=lambda k: by_key[k].label, key=state_key, help=help)
    try:
        return by_key[key], load(by_key[key])
    except (ModelLoadError, UnsupportedModelError) as error:
        st.error(f"**This model cannot be loaded.** {error}")
        st.stop()


def method_model_picker(where, method: str, entries: list[ModelEntry],
                        dataset: str | None) -> tuple[ModelEntry, PrunedTextClassifier] | None:
    """A model menu for one method (top-k: any model), defaulting to one trained on `dataset`;
    (entry, classifier), or None with a note when there is no such model or it cannot be loaded."""
    choices = {e.key: e for e in (entries if method == "topk" else catalog.with_method(entries, method))}
    if not choices:
        where.info(f"No saved {method_name(method)} model yet: train one (see the README's pipelines).")
        return None
    default = (catalog.topk_base(entries, dataset) if method == "topk"
               else catalog.same_dataset_first(list(choices.values()), dataset)[0])
    key = where.selectbox(f"{method_name(method)} model", list(choices), index=list(choices).index(default.key),
                          key=f"compare_{method}", format_func=lambda k: choices[k].label)
    try:
        return choices[key], load_classifier(choices[key])
    except (ModelLoadError, UnsupportedModelError) as error:
        where.error(f"**This model cannot be loaded.** {error}")
        return None


def result_metrics(trace: ExampleTrace, model_ms: float, timed: str) -> None:
    """The answer in four figures: prediction, its probability, the measured model time and the tokens the classifier
    read."""
    prediction, probability, timing, tokens = st.columns(4)
    prediction.metric("Prediction", trace.predicted_name)
    probability.metric("Probability", f"{trace.probability:.1%}")
    timing.metric("Model time", f"{model_ms:.0f} ms", help=f"{timed}, the pruned layer loop and the trace.")
    tokens.metric("Tokens read", f"{len(trace.tokens)} → {trace.read_count}", help=READ_HELP)


def view_sidebar() -> tuple[str, bool]:
    """How tokens are shown: whole words or sub-word pieces, and whether removed ones stay visible."""
    st.sidebar.divider()
    unit = st.sidebar.radio("Show", list(UNITS), key="unit", horizontal=True, format_func=UNITS.get)
    hide_gone = st.sidebar.toggle("Hide tokens removed earlier", key="hide_gone")
    return unit, hide_gone


def example_buttons(examples: Sequence[Example], text_key: str, model_key: str | None = None) -> None:
    """One button per example; clicking one puts its text in the box (the first is there to start) and, given the
    page's model picker, turns to a model trained on the example's dataset when the one shown is not."""
    st.session_state.setdefault(text_key, examples[0].text)
    for column, example in zip(st.columns(len(examples)), examples):
        column.button(example.name, key=f"do_example_{example.name}", width="stretch", on_click=_use_example,
                      args=(example, text_key, model_key))


def _use_example(example: Example, text_key: str, model_key: str | None) -> None:
    st.session_state[text_key] = example.text
    if model_key is not None and (key := catalog.model_for(catalog.discover_models(), example.dataset,
                                                           st.session_state.get(model_key))):
        st.session_state[model_key] = key


def demo_section(shown: list[ModelEntry]) -> None:
    """Offer to build the demo models when there are none; follow a build in progress. `shown`: the trained
    text models the page lists (it reruns as soon as the build saves another)."""
    build_section(jobs.demo_job(paths.artifacts_dir()), shown, BuildTexts(
        title="Demo models", button="Build the demo models", key="do_build_demo",
        pitch="Train small demo models on IMDb and AG News (6 to 14 minutes on 2 CPU cores, depending on the CPU). "
              "The build runs in the background: every page keeps working meanwhile." + _base_model_note()
              + downloads_note(jobs.TEXT_DATASETS),
        unavailable="Live text still works with the packaged MiniLM-L6.",
        built="The demo models are built: pick one on Live text."))


def _base_model_note() -> str:
    """Where the text build's starting weights come from: the packaged MiniLM-L6, present or not."""
    try:
        default_model_path()
    except ModelLoadError as missing:
        return f"\n\n**The model it starts from is missing.** {missing}"
    return " They start from the packaged MiniLM-L6, installed with this project."


def downloads_note(datasets: tuple[str, ...]) -> str:
    """Where a build reads its data from, as it stands: a local folder, the hub cache, a download from the hub, or,
    offline, none of these (and what to do then). Decided from the files on disk and hub.why_offline."""
    sources = split_sources(datasets)
    if not any(source.from_hub for source in sources):
        return f"\n\nThe data are read from the local folder `{paths.data_dir()}`."
    listed = "\n".join(f"- {note}" for note in download_notes(datasets, sizes=False))
    if all(source.cached for source in sources if source.from_hub):
        return f"\n\nThe data were downloaded before and are read from the hub cache:\n{listed}"
    offline = why_offline()    # remembered: download_notes has just asked
    if offline is None:
        return ("\n\nNo local copy of the data was found, so the build first downloads (once, into the hub "
                f"cache):\n{listed}")
    folder = paths.data_dir()
    where = (f"under `{folder}` (as `{folder}/<dataset>/<split>.parquet`), then reload this page" if folder else
             f"in a folder as `<dataset>/<split>.parquet` and set `{DATA_DIR_ENV}` to it before starting the dashboard")
    online = ("unset `HF_HUB_OFFLINE` and restart the dashboard" if offline == OFFLINE_SETTING else
              "connect this machine to the internet and reload this page")
    return (f"\n\n**The build cannot get its data now:** the data are neither in a local folder nor in the hub cache, "
            f"and nothing can be downloaded ({offline}):\n{listed}\n\nTo build offline, put the parquet files "
            f"{where}; or {online}.")


@dataclass(frozen=True)
class BuildTexts:
    """What a build section says: the Home page's demo models, the Image page's demo ViT."""

    title: str
    button: str
    key: str
    pitch: str
    unavailable: str          # after "Demo builder not available: ..."
    kind: str = "text"        # the models it builds: "text" or "vision"
    built: str | None = None  # said once a build finished while models exist (None: stay quiet then)


def build_section(job: jobs.BackgroundJob, shown: list[ModelEntry], texts: BuildTexts) -> None:
    """Offer a background build when there is nothing to show; follow one in progress; report how the last ended."""
    progress, no_models = job.progress(), not shown
    # With models to show, a section that has no `built` text appears only while a build runs.
    quiet = progress.state == "idle" if texts.built else progress.state != "running"
    if not no_models and quiet:
        return
    st.subheader(texts.title)
    if progress.state == "running":
        follow_job(job, tuple(entry.key for entry in shown), shown[0].modality if shown else texts.kind)
        return
    if progress.state == "done" and not no_models:
        st.success(texts.built)
        return
    if not jobs.demo_available():
        st.info(f"Demo builder not available: this checkout has no `pipelines/demo.py`. {texts.unavailable}")
        return
    if progress.state == "failed":
        st.error(f"The last build failed: {progress.error}")
    elif progress.state == "done":
        st.warning(f"The last build finished, but nothing is under `{paths.artifacts_dir() / 'models'}`.")
    st.markdown(texts.pitch)
    st.button(texts.button, type="primary", on_click=job.start, key=texts.key)


@st.fragment(run_every=1.0)
def follow_job(job: jobs.BackgroundJob, shown: tuple[str, ...], kind: str) -> None:
    progress = job.progress()
    saved = tuple(entry.key for entry in catalog.trained_models(catalog.discover_models(kind=kind)))
    if not progress.running or saved != shown:
        st.rerun()   # the whole page: show the outcome, or a model the build has just saved
    st.progress(progress.fraction, text=jobs.progress_text(progress))
    st.caption(f"Building in the background; you can use the other pages meanwhile. Log: `{job.log_file}`")
