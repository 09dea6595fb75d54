"""The study's claims checked on tiny stored runs built so that some hold and others fail (pruning_core/analysis/
findings.py): each verdict is the expected one, the bootstrap is seeded, a run without representations or without
analysis gets a clear message; the CLI, the README block, the Findings page and Token patterns' intervals."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from lens_helpers import open_page
from pipelines import findings as findings_pipeline
from pipelines import results
from pruning_core import store
from pruning_core.analysis import findings
from pruning_core.analysis.findings import (INCONCLUSIVE, NO_DATA, NOT_SUPPORTED, SUPPORTED, Above, Below, Claim,
                                            Inside, check, load_run, pos_contrast)
from pruning_core.analysis.frequency import top_retained_words
from pruning_core.analysis.linguistics import retention_intervals, retention_table
from pruning_core.metrics import bootstrap_mean, bootstrap_sums

AG_NEWS_RUN, IMDB_RUN, BARE_RUN, UNANALYSED_RUN = ("ag_news-tiny-ltp_hard-test", "imdb-tiny-ltp_hard-test",
                                                   "imdb-tiny-baseline-test", "ag_news-tiny-control-test")
AG_NEWS_LABELS, IMDB_LABELS = ["World", "Sports", "Business", "Sci/Tech"], ["negative", "positive"]
LAYERS = 2          # a word with drop_layer 2 reached the classifier
PER_CLASS = 30
FINDINGS_PAGE, PATTERNS_PAGE = "views/9_Findings.py", "views/2_Token_patterns.py"

# Retained words of each AG News text by class (kept to the classifier): nouns lead everywhere; proper nouns in all
# but Sci/Tech; verbs most in World and Sci/Tech; adverbs only in Sports and Business; adjectives alike everywhere.
KEPT = {"World": {"NOUN": 4, "PROPN": 2, "VERB": 2, "ADJ": 1},
        "Sports": {"NOUN": 5, "PROPN": 2, "VERB": 1, "ADJ": 1, "ADV": 1},
        "Business": {"NOUN": 5, "PROPN": 2, "VERB": 1, "ADJ": 1, "ADV": 1},
        "Sci/Tech": {"NOUN": 6, "PROPN": 0, "VERB": 2, "ADJ": 1}}
# The first noun of each text: World's is a study keyword that is always kept, Sports' one that is always pruned.
KEYWORD = {"World": ("iraq", 2), "Sports": ("team", 0), "Business": ("cars", 2), "Sci/Tech": ("gadget", 2)}
EXPECTED_AG_NEWS = {
    "ag_news.pos.noun": SUPPORTED, "ag_news.pos.propn": SUPPORTED, "ag_news.pos.verb": NOT_SUPPORTED,
    "ag_news.pos.adj_balanced": SUPPORTED, "ag_news.pos.adv": SUPPORTED, "ag_news.pos.num": INCONCLUSIVE,
    "ag_news.pos.scitech_adv_num": NOT_SUPPORTED, "ag_news.vocabulary.world": SUPPORTED,
    "ag_news.vocabulary.sports": NOT_SUPPORTED, "ag_news.vocabulary.business": NO_DATA,
    "ag_news.cluster.coherent": SUPPORTED, "overall.stopwords": SUPPORTED, "overall.punctuation": NOT_SUPPORTED}
EXPECTED_IMDB = {"imdb.true_positive_words": SUPPORTED, "imdb.cluster.positive_denser": SUPPORTED,
                 "imdb.cluster.separate": SUPPORTED, "imdb.cluster.overlap": NOT_SUPPORTED,
                 "overall.stopwords": NOT_SUPPORTED, "overall.punctuation": SUPPORTED}


def word(example_id: int, index: int, text: str, pos: str, drop_layer: int, stop: bool = False,
         punct: bool = False) -> dict:
    return {"example_id": example_id, "word_index": index, "word": text, "pos": pos, "entity": "none",
            "is_stop": stop, "is_punct": punct, "frequency": "top 100" if stop else "1k-10k", "drop_layer": drop_layer}


def ag_news_words(example_id: int, name: str, number: int) -> list[dict]:
    """One AG News text's words: the retained ones of KEPT (the first noun a keyword), a numeral in every other
    text, three pruned nouns, four stopwords (one kept in every fifth text) and a full stop kept as often as the
    content words."""
    rows = []
    for pos, count in KEPT[name].items():
        for _ in range(count):
            text, drop = KEYWORD[name] if pos == "NOUN" and not rows else (f"{pos.lower()}{len(rows)}", LAYERS)
            rows.append((text, pos, drop, False, False))
    if number % 2 == 0:
        rows.append(("2004", "NUM", LAYERS, False, False))
    rows += [(f"filler{i}", "NOUN", 1, False, False) for i in range(3)]
    rows += [("the", "DET", LAYERS if number % 5 == 0 else 0, True, False)] + [("the", "DET", 0, True, False)] * 3
    rows += [(".", "PUNCT", LAYERS if number % 4 else 1, False, True)]
    return [word(example_id, i, *row) for i, row in enumerate(rows)]


def imdb_words(example_id: int, positive: bool, number: int) -> list[dict]:
    """An IMDb review: positive ones hold "great", always kept; stopwords are kept as often as content words and
    punctuation never."""
    rows = [("great" if positive else "awful", "ADJ", LAYERS), ("plot", "NOUN", LAYERS if number % 2 else 0),
            ("acting", "NOUN", 0), ("scene", "NOUN", LAYERS)]
    rows = [(text, pos, drop, False, False) for text, pos, drop in rows]
    rows += [("the", "DET", LAYERS, True, False), ("was", "AUX", 0, True, False), ("!", "PUNCT", 0, False, True)]
    return [word(example_id, i, *row) for i, row in enumerate(rows)]


def clusters(labels: np.ndarray, spreads: list[float], seed: int = 0, width: int = 8) -> np.ndarray:
    """One vector per example: its class's centre (far apart) plus noise of the class's spread."""
    rng = np.random.default_rng(seed)
    centres = 6.0 * np.eye(len(spreads), width)
    return centres[labels] + rng.normal(size=(len(labels), width)) * np.asarray(spreads)[labels, None]


def store_run(db: Path, run_id: str, dataset: str, labels: list[str], label: np.ndarray, prediction: np.ndarray,
              words: list[dict] | None, vectors: np.ndarray | None) -> None:
    """A traced run (no tokens) and, when words are given, its analysis: spaCy words, retention, top words and
    the representations of every example when vectors are given."""
    n = len(label)
    run = {"run_id": run_id, "dataset": dataset, "split": "test", "model_path": "", "training_run": run_id[:-5],
           "stage": run_id.split("-")[2], "profile": "tiny", "method": "ltp", "method_config": "{}", "config": "{}",
           "label_names": labels, "num_layers": LAYERS, "n_examples": n,
           "accuracy": float((label == prediction).mean()), "macro_precision": 0.5, "macro_recall": 0.5,
           "macro_f1": 0.5, "mean_kept": [5.0, 3.0], "keep_fraction": [0.5, 0.3]}
    examples = pd.DataFrame({"run_id": run_id, "example_id": np.arange(n, dtype=np.int32),
                             "text": [f"text {i}" for i in range(n)], "label": label.astype(np.int32),
                             "prediction": prediction.astype(np.int32),
                             "probability": 0.9, "n_tokens": 10, "truncated": False, "kept_counts": [[5, 3]] * n})
    store.write_trace_run(run, pd.DataFrame(), pd.DataFrame(), examples, pd.DataFrame(), db)
    if words is None:
        return
    spacy_words = pd.DataFrame(words)
    classes = examples[["example_id", "label", "prediction"]]
    model_words = spacy_words[["example_id", "word_index", "word", "drop_layer"]].assign(n_pieces=1)
    tables = {"spacy_words": spacy_words, "words": model_words,
              "retention": retention_table(spacy_words.merge(classes, on="example_id"), LAYERS),
              "top_words": top_retained_words(model_words, classes, LAYERS)}
    if vectors is not None:
        tables["representations"] = pd.DataFrame({"example_id": np.arange(n),
                                                  "vector": list(vectors.astype(np.float32))})
    store.write_analysis(run_id, tables, {"profile": "tiny"}, db)


def build_findings_lens(root: Path) -> Path:
    """An artifacts folder with an AG News and an IMDb run designed for the claims, an IMDb run analysed without
    representations and an AG News run not analysed at all."""
    db = root / "lens.duckdb"
    label = np.repeat(np.arange(4), PER_CLASS)
    words = [row for i, c in enumerate(label) for row in ag_news_words(i, AG_NEWS_LABELS[c], i % PER_CLASS)]
    store_run(db, AG_NEWS_RUN, "ag_news", AG_NEWS_LABELS, label, label, words, clusters(label, [0.5] * 4))
    store_run(db, UNANALYSED_RUN, "ag_news", AG_NEWS_LABELS, label, label, None, None)
    label = np.repeat(np.arange(2), 2 * PER_CLASS)
    prediction = label.copy()
    prediction[::10] = 1 - prediction[::10]                          # a few mistakes: not every positive is a TP
    words = [row for i, c in enumerate(label) for row in imdb_words(i, bool(c), i)]
    store_run(db, IMDB_RUN, "imdb", IMDB_LABELS, label, prediction, words, clusters(label, [1.2, 0.3]))
    store_run(db, BARE_RUN, "imdb", IMDB_LABELS, label, prediction, words, None)
    return root


@pytest.fixture(scope="module")
def lens_root(tmp_path_factory) -> Path:
    return build_findings_lens(tmp_path_factory.mktemp("findings") / "artifacts")


@pytest.fixture
def lens(lens_root, monkeypatch) -> Path:
    monkeypatch.setenv("LENS_ARTIFACTS", str(lens_root))
    st.cache_data.clear()
    return lens_root


def verdicts(run_id: str, db: Path, **options) -> dict[str, str]:
    table = check(load_run(run_id, db), **options).table
    return dict(zip(table["key"], table["verdict"]))


# --- rules and the bootstrap -------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, low, high, expected", [
    (Above(0), 0.1, 0.3, SUPPORTED), (Above(0), -0.3, -0.1, NOT_SUPPORTED), (Above(0), -0.1, 0.2, INCONCLUSIVE),
    (Above(0), 0.0, 0.0, INCONCLUSIVE), (Below(1.25), 1.0, 1.2, SUPPORTED), (Below(1.25), 1.3, 1.5, NOT_SUPPORTED),
    (Inside(0, 0.5), 0.1, 0.2, SUPPORTED), (Inside(0, 0.5), 0.0, 0.0, NOT_SUPPORTED),
    (Inside(0, 0.5), 0.4, 0.6, INCONCLUSIVE), (Inside(0, 0.5), 0.6, 0.7, NOT_SUPPORTED)])
def test_rules_turn_an_interval_into_a_verdict(rule, low, high, expected):
    assert rule.verdict(low, high) == expected
    assert "95% interval" in rule.describe()


def test_bootstrap_sums_are_seeded_and_give_bootstrap_means_resamples():
    values = np.random.default_rng(0).random((50, 3))
    assert np.array_equal(bootstrap_sums(values, 200, seed=4), bootstrap_sums(values, 200, seed=4))
    assert not np.array_equal(bootstrap_sums(values, 200, seed=4), bootstrap_sums(values, 200, seed=5))
    sums = bootstrap_sums(values, 500, seed=1)                       # every column sees the same resamples
    for column in range(3):
        np.testing.assert_allclose(sums[:, column], bootstrap_sums(values[:, [column]], 500, seed=1)[:, 0])
    low, high = np.percentile(sums[:, 0] / 50, [2.5, 97.5])
    np.testing.assert_allclose(bootstrap_mean(values[:, 0], 500, seed=1), (values[:, 0].mean(), low, high))


# --- verdicts on the designed runs -------------------------------------------------------------------------

def test_the_designed_ag_news_run_gets_the_expected_verdicts(lens_root):
    found = verdicts(AG_NEWS_RUN, lens_root / "lens.duckdb")
    assert {key: found[key] for key in EXPECTED_AG_NEWS} == EXPECTED_AG_NEWS
    assert not any(key.startswith("imdb.") for key in found)         # claims about IMDb do not apply


def test_the_designed_imdb_run_gets_the_expected_verdicts(lens_root):
    found = verdicts(IMDB_RUN, lens_root / "lens.duckdb")
    assert found == EXPECTED_IMDB


def test_statistics_and_parts_hold_the_designed_values(lens_root):
    result = check(load_run(AG_NEWS_RUN, lens_root / "lens.duckdb"))
    table, parts = result.table.set_index("key"), result.parts
    assert table.loc["ag_news.pos.noun", "note"] == ("next largest: World PROPN, Sports PROPN, Business PROPN, "
                                                     "Sci/Tech VERB")
    propn = parts[parts["key"] == "ag_news.pos.propn"].set_index("part")
    assert propn.loc["Sci/Tech", "value"] == 0 and propn.loc["World", "value"] > 0.15
    measured = parts.dropna(subset=["value"])
    assert (measured["low"] <= measured["value"] + 1e-12).all()
    assert (measured["value"] <= measured["high"] + 1e-12).all()
    business = parts[parts["key"] == "ag_news.vocabulary.business"].set_index("part")
    assert np.isnan(business.loc["listed words", "value"]) and business.loc["all content words", "value"] > 0.5
    row = table.loc["ag_news.pos.adj_balanced"]
    assert row["low"] <= row["value"] <= row["high"] < 1.25
    assert "not in these texts: bank, corp, earnings" in table.loc["ag_news.vocabulary.business", "note"]


def test_the_bootstrap_is_seeded_and_reproducible(lens_root):
    data = load_run(IMDB_RUN, lens_root / "lens.duckdb")
    first, again = check(data, resamples=300, seed=3), check(data, resamples=300, seed=3)
    pd.testing.assert_frame_equal(first.table, again.table)
    pd.testing.assert_frame_equal(first.parts, again.parts)
    other = check(data, resamples=300, seed=4).table
    assert (first.table["value"].to_numpy() == other["value"].to_numpy()).all()     # the statistic is no sample
    assert not np.allclose(first.table["low"], other["low"], equal_nan=True)


def test_a_run_without_representations_says_how_to_add_them(lens_root):
    table = check(load_run(BARE_RUN, lens_root / "lens.duckdb")).table.set_index("key")
    cluster = table[table.index.str.contains("cluster")]
    assert len(cluster) == 3 and (cluster["verdict"] == NO_DATA).all()
    assert (cluster["note"].str.contains(f"pipelines.analyze --run {BARE_RUN} --representations-only")).all()
    assert table.loc["imdb.true_positive_words", "verdict"] == SUPPORTED


def test_a_run_not_analysed_is_refused_with_the_command_to_run(lens_root):
    with pytest.raises(store.RunNotFound, match=f"pipelines.analyze --run {UNANALYSED_RUN}"):
        load_run(UNANALYSED_RUN, lens_root / "lens.duckdb")


def test_a_claim_of_ones_own_is_one_more_list_entry(lens_root):
    mine = Claim("mine.propn_world", "Mine", "World keeps fewer proper nouns than Sci/Tech",
                 "PROPN's share: World's minus Sci/Tech's", Above(0.0),
                 pos_contrast("PROPN", higher=("Sci/Tech",), lower=("World",)), ("ag_news",))
    table = check(load_run(AG_NEWS_RUN, lens_root / "lens.duckdb"), [*findings.CLAIMS, mine]).table
    assert table.iloc[-1]["key"] == "mine.propn_world" and table.iloc[-1]["verdict"] == NOT_SUPPORTED
    assert table.iloc[-1]["rule"].startswith("PROPN's share: World's minus Sci/Tech's: supported when")


# --- the command line and the README block -----------------------------------------------------------------

def test_the_command_prints_the_table_and_writes_csv(lens_root, tmp_path, capsys):
    csv = tmp_path / "findings.csv"
    findings_pipeline.main(["--run", IMDB_RUN, "--run", AG_NEWS_RUN, "--db", str(lens_root / "lens.duckdb"),
                            "--csv", str(csv), "--resamples", "500"])
    out = capsys.readouterr().out
    assert "| run | claim | statistic | value [95% CI] | supported when | verdict |" in out
    assert f"| `{IMDB_RUN}` | The retained words that dominate true positives" in out and "**supported**" in out
    written = pd.read_csv(csv, keep_default_na=False)
    assert len(written) == len(EXPECTED_IMDB) + 15
    assert {"verdict", "low", "high", "rule", "parts"} <= set(written.columns)
    assert written.set_index(["run_id", "key"]).loc[(IMDB_RUN, "overall.stopwords"), "parts"] == (
        "content words 0.625 [0.604, 0.650]; stopword 0.500 [0.500, 0.500]")


def test_the_command_refuses_a_run_not_analysed_in_one_line(lens_root, capsys):
    with pytest.raises(SystemExit) as exit_info:
        findings_pipeline.main(["--run", UNANALYSED_RUN, "--db", str(lens_root / "lens.duckdb")])
    assert str(exit_info.value).startswith("error: Run ") and "pipelines.analyze" in str(exit_info.value)


def test_results_write_the_findings_block(lens_root, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- findings:start -->\nold\n<!-- findings:end -->\nend\n")
    results.main(["--db", str(lens_root / "lens.duckdb"), "--profile", "tiny", "--write", str(readme)])
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n<!-- findings:start -->\n| run | claim |")
    assert f"`{AG_NEWS_RUN}`" in text and f"`{IMDB_RUN}`" in text and UNANALYSED_RUN not in text
    assert text.index(f"`{IMDB_RUN}`") < text.index(f"`{AG_NEWS_RUN}`")   # datasets in their usual order
    assert results.findings_block(lens_root / "lens.duckdb", "cpu").startswith("_No analysed `cpu` text run")


# --- the dashboard -----------------------------------------------------------------------------------------

def test_the_findings_page_shows_a_verdict_and_a_chart_per_claim(lens):
    app = open_page(FINDINGS_PAGE)
    run = app.sidebar.selectbox(key="run_id")
    app = run.set_value(AG_NEWS_RUN).run()
    assert not app.exception
    markdown = " ".join(m.value for m in app.markdown)
    assert "Of 15 claims: 7 supported, 4 not supported, 2 inconclusive, 2 no data." in markdown
    assert ":green-badge[supported]" in markdown and ":red-badge[not supported]" in markdown
    assert len(app.get("plotly_chart")) == 15                        # every claim measured has its chart
    table = app.dataframe[0].value
    assert table.set_index("claim").loc["Nouns dominate the retained words in every class", "verdict"] == SUPPORTED
    assert app.get("download_button")[0].proto.label == "Download as CSV"
    captions = " ".join(c.value for c in app.caption)
    assert "Not analysed yet, so not checked: ag\\_news\\-tiny\\-control\\-test" in captions


def test_the_findings_page_compares_the_other_runs_of_the_dataset(lens):
    app = open_page(FINDINGS_PAGE)
    app = app.sidebar.selectbox(key="run_id").set_value(IMDB_RUN).run()
    matrix = app.dataframe[1].value
    assert list(matrix.columns) == ["claim", IMDB_RUN, BARE_RUN]
    row = matrix.set_index("claim").loc["IMDb: the classes separate"]
    assert row[IMDB_RUN].startswith("supported · ") and row[BARE_RUN] == "no data · –"


def test_the_findings_page_on_an_empty_database_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LENS_ARTIFACTS", str(tmp_path / "artifacts"))
    st.cache_data.clear()
    app = open_page(FINDINGS_PAGE)
    assert "pipelines.demo" in " ".join(info.value for info in app.info) and not app.get("plotly_chart")


def test_retention_intervals_hold_the_stored_rates(lens_root):
    db = lens_root / "lens.duckdb"
    words, examples = store.analysed_words(AG_NEWS_RUN, db), store.examples(AG_NEWS_RUN, limit=1000, db=db)
    for by in ("all", "true"):
        ours = retention_intervals(words, examples, "pos", 1, by)
        stored = store.retention(AG_NEWS_RUN, "pos", by=by, layer=1, db=db)
        merged = stored.assign(key=stored["class_index"].astype(float).fillna(-1)).merge(
            ours.assign(key=ours["class_index"].astype(float).fillna(-1)), on=["category", "key"])
        assert len(merged) == len(stored) == len(ours)
        np.testing.assert_allclose(merged["rate_x"], merged["rate_y"])
        assert (merged["low"] <= merged["rate_y"] + 1e-12).all() and (merged["rate_y"] <= merged["high"] + 1e-12).all()
    again = retention_intervals(words, examples, "pos", 1, "true")
    pd.testing.assert_frame_equal(ours, again)                        # seeded


def test_token_patterns_draws_error_bars_and_offers_them_as_csv(lens):
    app = open_page(PATTERNS_PAGE)
    app = app.sidebar.selectbox(key="run_id").set_value(AG_NEWS_RUN).run()
    assert not app.exception
    retention = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert all(trace["error_x"]["type"] == "data" for trace in retention["data"])
    button = app.get("download_button")[0]
    assert button.proto.label == "Download as CSV"


def test_analyze_stores_representations_and_adds_them_alone_to_an_older_analysis(tmp_path, monkeypatch):
    from app_data import fake_annotator, pca_project, save_model
    from pipeline_data import make_data_dir, tiny_profile
    from pipelines import analyze, trace
    from pruning_core.methods import LearnedTokenPruning

    data_dir = make_data_dir(tmp_path / "data", train=8, test=12)
    db = tmp_path / "artifacts" / "lens.duckdb"
    folder = save_model(tmp_path / "artifacts", "imdb-tiny/ltp_hard", "imdb", LearnedTokenPruning(4, [0.02] * 4))
    trace.run(folder, db=db, data_dir=str(data_dir))
    monkeypatch.setattr(analyze, "project", pca_project)
    analyze.run(IMDB_RUN, tiny_profile(), db, str(data_dir), annotate=fake_annotator, progress=False)
    stored = store.representations(IMDB_RUN, db)
    assert len(stored) == 12 and len(stored["vector"].iloc[0]) == 32     # every example (embed_limit 16), hidden 32
    points = store.projections(IMDB_RUN, "example", "tsne", db=db)
    assert points["example_id"].tolist() == stored["example_id"].tolist()
    store.write_representations(IMDB_RUN, stored.iloc[:0], db)          # as analysed before they were stored
    assert store.representations(IMDB_RUN, db).empty
    analyze.main(["--run", IMDB_RUN, "--db", str(db), "--profile", "quick", "--representations-only"])
    again = store.representations(IMDB_RUN, db)
    np.testing.assert_allclose(np.stack(again["vector"]), np.stack(stored["vector"]), atol=1e-5)
    assert check(load_run(IMDB_RUN, db)).table.set_index("key").loc["imdb.cluster.separate", "verdict"] != NO_DATA
