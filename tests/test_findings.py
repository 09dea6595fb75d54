"""The study's claims checked on tiny stored runs built so that some hold and others fail (pruning_core/analysis/
findings/): each verdict is the expected one, the bootstrap is seeded, the Holm–Bonferroni correction turns a
marginal claim inconclusive, cluster statistics are recomputed on every resample, words the last layer drops count
as read, a run without representations or without analysis gets a clear message, a claim of one's own is passed or
registered without touching the study's; the CLI, the README block, the Findings page and Token patterns' intervals."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from dashboard import findings_ui
from lens_helpers import open_page
from pipelines import findings as findings_pipeline
from pipelines import results
from pruning_core import storage as store
from pruning_core.analysis.findings import (INCONCLUSIVE, NO_DATA, NOT_SUPPORTED, STUDY_CLAIMS, SUPPORTED, Above,
                                            Below, Claim, Inside, check, default_claims, evaluate_claims,
                                            format_corrected, holm_levels, interval, load_run, pos_contrast,
                                            register_claim, resample_counts, run_data, unregister_claim)
from pruning_core.analysis.frequency import top_retained_words
from pruning_core.analysis.linguistics import retention_intervals, retention_table
from pruning_core.metrics import bootstrap_mean, bootstrap_sums

AG_NEWS_RUN, IMDB_RUN, BARE_RUN, UNANALYSED_RUN = ("ag_news-tiny-ltp_hard-test", "imdb-tiny-ltp_hard-test",
                                                   "imdb-tiny-baseline-test", "ag_news-tiny-control-test")
MARGINAL_RUN = "imdb-tiny-marginal-test"
AG_NEWS_LABELS, IMDB_LABELS = ["World", "Sports", "Business", "Sci/Tech"], ["negative", "positive"]
LAYERS = 2          # words with drop_layer 1 (dropped by the last layer) or 2 (never dropped) reached the classifier
READ_BY_LAST, PRUNED = LAYERS - 1, 0
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
    rows += [(f"filler{i}", "NOUN", PRUNED, False, False) for i in range(3)]
    rows += [("the", "DET", READ_BY_LAST if number % 5 == 0 else PRUNED, True, False)]
    rows += [("the", "DET", PRUNED, True, False)] * 3
    rows += [(".", "PUNCT", LAYERS if number % 4 else PRUNED, False, True)]
    return [word(example_id, i, *row) for i, row in enumerate(rows)]


def imdb_words(example_id: int, positive: bool, number: int) -> list[dict]:
    """An IMDb review: positive ones hold "great", always kept; stopwords are kept as often as content words and
    punctuation never. "scene" is dropped by the last layer, after the classifier read it: it counts as kept."""
    rows = [("great" if positive else "awful", "ADJ", LAYERS), ("plot", "NOUN", LAYERS if number % 2 else PRUNED),
            ("acting", "NOUN", PRUNED), ("scene", "NOUN", READ_BY_LAST)]
    rows = [(text, pos, drop, False, False) for text, pos, drop in rows]
    rows += [("the", "DET", LAYERS, True, False), ("was", "AUX", PRUNED, True, False),
             ("!", "PUNCT", PRUNED, False, True)]
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


def marginal_words(example_id: int, positive: bool, punctuation_kept: int) -> list[dict]:
    """A review of the marginal run: content words as in imdb_words (content share read 0.625); of four stopwords
    one is read (two in every fourth review: share 0.3125, ratio to content words exactly 2); of four punctuation
    marks `punctuation_kept` are read."""
    rows = [("great" if positive else "awful", "ADJ", LAYERS),
            ("plot", "NOUN", LAYERS if example_id % 2 else PRUNED), ("acting", "NOUN", PRUNED),
            ("scene", "NOUN", LAYERS)]
    rows = [(text, pos, drop, False, False) for text, pos, drop in rows]
    stopwords = 2 if example_id % 4 == 3 else 1
    rows += [("the", "DET", LAYERS if i < stopwords else PRUNED, True, False) for i in range(4)]
    rows += [("!", "PUNCT", LAYERS if i < punctuation_kept else PRUNED, False, True) for i in range(4)]
    return [word(example_id, i, *row) for i, row in enumerate(rows)]


def build_marginal_lens(root: Path, reviews: int = 60) -> Path:
    """An artifacts folder with one IMDb run (no representations: 3 claims with data) built so that punctuation's
    claim (content words read 2.5 times as often as punctuation, against a bar of 2) is supported at 95% with a
    bootstrap p of about 0.04 (seed 0), while the true-positive words clearly hold (p 0) and the stopword ratio sits
    on its bar (p 1). Holm tests the punctuation claim second, at 0.05 / 2: inconclusive."""
    label = np.arange(reviews) % 2
    punctuation = np.resize([0, 2, 0, 2, 1], reviews)
    words = [row for i in range(reviews) for row in marginal_words(i, bool(label[i]), int(punctuation[i]))]
    store_run(root / "lens.duckdb", MARGINAL_RUN, "imdb", IMDB_LABELS, label, label, words, None)
    return root


@pytest.fixture(scope="module")
def lens_root(tmp_path_factory) -> Path:
    return build_findings_lens(tmp_path_factory.mktemp("findings") / "artifacts")


@pytest.fixture(scope="module")
def marginal_root(tmp_path_factory) -> Path:
    return build_marginal_lens(tmp_path_factory.mktemp("marginal") / "artifacts")


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
    assert "the whole interval" in rule.describe()


@pytest.mark.parametrize("rule", [Above(0.0), Below(1.25), Inside(0.0, 0.5)])
def test_a_rules_p_value_is_the_smallest_level_its_interval_decides_at(rule):
    rng = np.random.default_rng(1)
    for centre in (-0.3, 0.0, 0.02, 0.25, 0.49, 1.2, 1.3):
        samples = np.round(rng.normal(centre, 0.1, 400), 2)          # ties on the bounds too
        p = rule.p_value(samples)
        for alpha in sorted({0.001, 0.01, 0.025, 0.05, 0.2, 0.9, p, min(p + 1e-9, 0.999), max(p - 1e-9, 1e-6)}):
            if not 0 < alpha < 1:
                continue
            (low,), (high,) = interval(samples[:, None], alpha)
            assert (rule.verdict(low, high) != INCONCLUSIVE) == (p < alpha), (centre, alpha, p)


def test_holm_levels_step_down_and_stop_at_the_first_claim_not_rejected():
    levels = holm_levels([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005 < 0.05/4 rejected; 0.01 < 0.05/3 rejected; 0.03 >= 0.05/2 stops: it and 0.04 keep 0.05/2
    np.testing.assert_allclose(levels, [0.05 / 3, 0.025, 0.025, 0.0125])
    np.testing.assert_allclose(holm_levels([0.001, 0.002]), [0.025, 0.05])     # all rejected: the last at alpha
    assert holm_levels([]).shape == (0,)
    with pytest.raises(ValueError, match="alpha"):
        holm_levels([0.1], alpha=1.5)
    with pytest.raises(ValueError, match="p_values"):
        holm_levels([0.1, float("nan")])


def test_resample_counts_are_seeded_draws_of_n_examples():
    first = np.concatenate(list(resample_counts(30, 50, seed=2)))
    assert first.shape == (50, 30) and (first.sum(axis=1) == 30).all()
    np.testing.assert_array_equal(first, np.concatenate(list(resample_counts(30, 50, seed=2))))
    assert not np.array_equal(first, np.concatenate(list(resample_counts(30, 50, seed=3))))
    with pytest.raises(ValueError, match="resamples"):
        next(resample_counts(30, 0))


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


def test_the_correction_turns_a_marginal_claim_from_supported_to_inconclusive(marginal_root):
    table = check(load_run(MARGINAL_RUN, marginal_root / "lens.duckdb")).table.set_index("key")
    measured = table[table["verdict"] != NO_DATA]
    assert list(measured.index) == ["imdb.true_positive_words", "overall.stopwords", "overall.punctuation"]
    assert (table["correction"] == "Holm–Bonferroni over the 3 claims of the run").all()
    row = table.loc["overall.punctuation"]
    assert row["raw_verdict"] == SUPPORTED and row["verdict"] == INCONCLUSIVE
    assert 0.025 <= row["p_value"] < 0.05                            # below 5%, not below Holm's 5% / 2
    assert row["corrected_confidence"] == pytest.approx(0.975)
    assert row["corrected_low"] < 2.0 < row["low"] and row["corrected_high"] >= row["high"]
    clear = table.loc["imdb.true_positive_words"]                    # tested first, at 5% / 3, and rejected
    assert clear["verdict"] == clear["raw_verdict"] == SUPPORTED and clear["corrected_confidence"] == pytest.approx(
        1 - 0.05 / 3)
    assert table.loc["overall.stopwords", "verdict"] == INCONCLUSIVE     # on its bar: p 1, tested at 5% / 2
    assert table.loc["overall.stopwords", "corrected_confidence"] == pytest.approx(0.975)


def embedded_run(vectors: np.ndarray, label: np.ndarray, dataset: str = "imdb"):
    """RunData of an in-memory run whose only data are its examples' representations."""
    n = len(label)
    info = {"run_id": f"{dataset}-tiny-embedded-test", "dataset": dataset, "num_layers": LAYERS,
            "label_names": IMDB_LABELS if dataset == "imdb" else AG_NEWS_LABELS}
    examples = pd.DataFrame({"example_id": np.arange(n), "label": label, "prediction": label})
    no_words = pd.DataFrame(columns=["example_id", "word", "pos", "is_stop", "is_punct", "drop_layer"])
    return run_data(info, examples, no_words, pd.DataFrame({"example_id": np.arange(n), "vector": list(vectors)}))


def brute_force(statistic, vectors: np.ndarray, label: np.ndarray, resamples: int) -> np.ndarray:
    """The statistic recomputed from scratch, in plain loops, on the texts drawn by each resample."""
    values = []
    for counts in resample_counts(len(label), resamples, seed=0):
        for drawn in counts:
            rows = np.repeat(np.arange(len(label)), drawn.astype(int))
            values.append(statistic(vectors[rows], label[rows], rows))
    return np.array(values)[:, None]


def silhouettes_of(vectors, label, texts) -> np.ndarray:
    """Each drawn text's silhouette, one at a time: a over the other texts of its class (its own copies left out),
    b over the nearest other class; 0 when no other text of its class was drawn."""
    values = []
    for i in range(len(label)):
        distance = np.linalg.norm(vectors - vectors[i], axis=1)
        mates = (label == label[i]) & (texts != texts[i])
        if not mates.any():
            values.append(0.0)
            continue
        a = distance[mates].mean()
        b = min(distance[label == c].mean() for c in set(label.tolist()) - {label[i]})
        values.append((b - a) / max(a, b))
    return np.array(values)


def mean_silhouette(vectors, label, texts):
    return silhouettes_of(vectors, label, texts).mean()


def negative_share(vectors, label, texts):
    return (silhouettes_of(vectors, label, texts) < 0).mean()


def spread(vectors, label, texts):
    distance = [np.linalg.norm(vectors[label == c] - vectors[label == c].mean(axis=0), axis=1).mean() for c in (0, 1)]
    return distance[0] / distance[1]


@pytest.mark.parametrize("key, statistic", [("imdb.cluster.separate", mean_silhouette),
                                            ("imdb.cluster.overlap", negative_share),
                                            ("imdb.cluster.positive_denser", spread)])
def test_cluster_intervals_recompute_the_statistic_on_every_resample(key, statistic):
    label = np.repeat(np.arange(2), 20)
    vectors = clusters(label, [3.0, 2.0])                             # overlapping classes
    claims = [claim for claim in STUDY_CLAIMS if claim.key == key]
    row = check(embedded_run(vectors, label), claims, resamples=200).table.iloc[0]
    low, high = interval(brute_force(statistic, vectors, label, 200))
    assert row["value"] == pytest.approx(statistic(vectors, label, np.arange(len(label))))
    assert (row["low"], row["high"]) == pytest.approx((low[0], high[0]))


def test_a_silhouette_interval_is_wider_than_resampling_fixed_per_text_silhouettes():
    from sklearn.metrics import silhouette_samples
    label = np.repeat(np.arange(2), 30)
    vectors = clusters(label, [3.0, 3.0])
    separate = [claim for claim in STUDY_CLAIMS if claim.key == "imdb.cluster.separate"]
    row = check(embedded_run(vectors, label), separate, resamples=400).table.iloc[0]
    fixed = silhouette_samples(vectors, label)                        # what the old intervals resampled
    np.testing.assert_allclose(silhouettes_of(vectors, label, np.arange(len(label))), fixed)  # the loops are sklearn's
    fixed_low, fixed_high = interval(np.concatenate([counts @ fixed[:, None] / len(label)
                                                     for counts in resample_counts(len(label), 400, seed=0)]))
    assert row["high"] - row["low"] > 1.5 * (fixed_high[0] - fixed_low[0])


def test_a_word_the_last_layer_drops_counts_as_read_by_the_classifier(lens_root):
    words = load_run(IMDB_RUN, lens_root / "lens.duckdb").words
    assert words.loc[words["word"] == "scene", "kept"].all()           # drop_layer 1 of 2: read, then dropped
    assert not words.loc[words["word"] == "acting", "kept"].any()      # drop_layer 0: never read


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


def own_claim() -> Claim:
    return Claim("mine.propn_world", "Mine", "World keeps fewer proper nouns than Sci/Tech",
                 "PROPN's share: World's minus Sci/Tech's", Above(0.0),
                 pos_contrast("PROPN", higher=("Sci/Tech",), lower=("World",)), ("ag_news",))


def test_a_claim_of_ones_own_is_checked_without_touching_the_study_s(lens_root):
    mine, data, study = own_claim(), load_run(AG_NEWS_RUN, lens_root / "lens.duckdb"), default_claims()
    table = evaluate_claims(data, claims=[*STUDY_CLAIMS, mine], resamples=500).table
    assert table.iloc[-1]["key"] == "mine.propn_world" and table.iloc[-1]["verdict"] == NOT_SUPPORTED
    assert table.iloc[-1]["rule"].startswith("PROPN's share: World's minus Sci/Tech's: supported when")
    assert default_claims() == study == STUDY_CLAIMS, "passing a claim leaves the defaults as they were"
    assert list(evaluate_claims(data, claims=[mine], resamples=500).table["key"]) == ["mine.propn_world"]
    register_claim(mine)
    try:
        assert default_claims() == (*STUDY_CLAIMS, mine) and mine not in STUDY_CLAIMS
        with pytest.raises(ValueError, match="'mine.propn_world' is already in use"):
            register_claim(mine)
        registered = evaluate_claims(data, resamples=500).table
        pd.testing.assert_frame_equal(registered, table)                 # the same as passing it, numbers and all
    finally:
        unregister_claim(mine.key)
    assert default_claims() == STUDY_CLAIMS
    with pytest.raises(ValueError, match="key 'ag_news.pos.noun' names no registered claim"):
        unregister_claim("ag_news.pos.noun")


def test_the_findings_page_shows_a_claim_registered_after_it_first_ran(lens):
    app = open_page(FINDINGS_PAGE)
    app = app.sidebar.selectbox(key="run_id").set_value(AG_NEWS_RUN).run()
    assert "Of 15 claims" in " ".join(m.value for m in app.markdown)
    register_claim(own_claim())
    try:
        app = app.run()                     # the same database version: a cache keyed on it alone would show 15
        assert not app.exception
        assert "Of 16 claims" in " ".join(m.value for m in app.markdown)
        assert "World keeps fewer proper nouns than Sci/Tech" in set(app.dataframe[0].value["claim"])
    finally:
        unregister_claim("mine.propn_world")


# --- the command line and the README block -----------------------------------------------------------------

def test_the_command_prints_the_table_and_writes_csv(lens_root, tmp_path, capsys):
    csv = tmp_path / "findings.csv"
    findings_pipeline.main(["--run", IMDB_RUN, "--run", AG_NEWS_RUN, "--db", str(lens_root / "lens.duckdb"),
                            "--csv", str(csv), "--resamples", "500"])
    out = capsys.readouterr().out
    assert ("| run | claim | statistic | value [95% CI] | corrected CI (Holm–Bonferroni) | supported when | verdict |"
            in out)
    assert f"| `{IMDB_RUN}` | The retained words that dominate true positives" in out and "**supported**" in out
    assert (f"`{IMDB_RUN}`: Holm–Bonferroni over the 6 claims of the run; "
            f"`{AG_NEWS_RUN}`: Holm–Bonferroni over the 13 claims of the run" in out)
    written = pd.read_csv(csv, keep_default_na=False)
    assert len(written) == len(EXPECTED_IMDB) + 15
    assert {"verdict", "raw_verdict", "low", "high", "p_value", "corrected_confidence", "corrected_low",
            "corrected_high", "correction", "rule", "parts"} <= set(written.columns)
    separate = written.set_index(["run_id", "key"]).loc[(IMDB_RUN, "imdb.cluster.separate")]
    bounds = [float(separate[column]) for column in ("corrected_low", "corrected_high", "corrected_confidence")]
    assert format_corrected(*bounds) in out                              # the corrected interval beside the raw one
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
    assert "old" not in text and text.startswith("intro\n<!-- findings:start -->\n<!-- section: imdb -->\n**imdb**\n\n"
                                                 "| run | claim |")
    assert text.count("<!-- section: ") == 2, "one section per dataset: imdb, then ag_news"
    assert "corrected CI (Holm–Bonferroni)" in text and "Holm–Bonferroni over the 13 claims of the run" in text
    assert "alive on entry to the last layer" in text
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
    assert "Holm–Bonferroni over the 13 claims of the run (family-wise error 5%)" in markdown
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
    assert " · corrected [" in row[IMDB_RUN] and row[IMDB_RUN].endswith("at 98.75%")


def test_the_findings_page_shows_the_corrected_interval_beside_the_raw_one_and_names_the_correction(
        marginal_root, monkeypatch):
    monkeypatch.setenv("LENS_ARTIFACTS", str(marginal_root))
    st.cache_data.clear()
    app = open_page(FINDINGS_PAGE)
    app = app.sidebar.selectbox(key="run_id").set_value(MARGINAL_RUN).run()
    assert not app.exception
    row = check(load_run(MARGINAL_RUN, marginal_root / "lens.duckdb")).table.set_index("key").loc[
        "overall.punctuation"]
    corrected = format_corrected(row["corrected_low"], row["corrected_high"], row["corrected_confidence"])
    markdown = " ".join(m.value for m in app.markdown)
    assert "Holm–Bonferroni over the 3 claims of the run" in markdown
    assert findings_ui.plain(f"{row['value']:.3f} [{row['low']:.3f}, {row['high']:.3f}]") in markdown
    assert f"corrected: {findings_ui.plain(corrected)}" in markdown
    assert ":orange-badge[inconclusive]" in markdown
    captions = " ".join(c.value for c in app.caption)
    assert "the raw 95% interval alone says supported" in captions
    table = app.dataframe[0].value.set_index("claim").loc["Punctuation is pruned far more than content words"]
    assert table["corrected CI (Holm–Bonferroni)"] == corrected
    assert (table["verdict"], table["raw verdict (95%)"]) == (INCONCLUSIVE, SUPPORTED)


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
