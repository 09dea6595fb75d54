"""Analysis functions against hand-counted fixtures: alignment, POS retention, keywords, log-odds, top words.

"Read" (kept_final, the examples kept, top words) counts what the classifier read: words alive on entry to the last
layer, so with three layers a word dropped by layer 2 (the last) was read."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pruning_core.analysis.frequency import model_words, top_retained_words
from pruning_core.analysis.keywords import discover_keywords, keyword_stats, log_odds_dirichlet, study_keywords
from pruning_core.analysis.linguistics import (Annotation, FrequencyBands, align_tokens, retention_table,
                                               spacy_annotator, spacy_word_rows)
from pruning_core import storage as store
from pruning_core.trace import reached_classifier, read_layer

# Two examples, three layers. Token offsets as a WordPiece tokenizer gives them; specials have no word.
EXAMPLES = pd.DataFrame({"example_id": [0, 1], "text": ["Great actors , boring plot", "The plot was great"],
                         "label": [1, 0], "prediction": [1, 1]})
TOKENS = pd.DataFrame([
    # example, position, token, start, end, word_id, drop_layer
    (0, 0, "[CLS]", 0, 0, None, 3), (0, 1, "great", 0, 5, 0, 3), (0, 2, "actor", 6, 11, 1, 1),
    (0, 3, "##s", 11, 12, 1, 2), (0, 4, ",", 13, 14, 2, 0), (0, 5, "boring", 15, 21, 3, 3),
    (0, 6, "plot", 22, 26, 4, 1), (0, 7, "[SEP]", 0, 0, None, 3),
    (1, 0, "[CLS]", 0, 0, None, 3), (1, 1, "the", 0, 3, 0, 0), (1, 2, "plot", 4, 8, 1, 2),
    (1, 3, "was", 9, 12, 2, 0), (1, 4, "great", 13, 18, 3, 1), (1, 5, "[SEP]", 0, 0, None, 3),
], columns=["example_id", "position", "token", "char_start", "char_end", "word_id", "drop_layer"])
TOKENS["word_id"] = TOKENS["word_id"].astype("Int64")
TAGS = {"great": "ADJ", "actors": "NOUN", ",": "PUNCT", "boring": "ADJ", "plot": "NOUN", "the": "DET", "was": "AUX"}


def fake_annotator(texts):
    """Whitespace words with fixed tags, so the counts below do not depend on spaCy's model."""
    for text in texts:
        words = text.split(" ")
        starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
        yield Annotation(starts, starts + np.array([len(w) for w in words]), [w.lower() for w in words],
                         [TAGS[w.lower()] for w in words], ["none"] * len(words),
                         [w.lower() in {"the", "was"} for w in words], [w == "," for w in words])


def spacy_rows():
    return spacy_word_rows(EXAMPLES, TOKENS, FrequencyBands.from_texts(["great plot plot the the the"]),
                           fake_annotator, progress=False)


def test_sub_words_align_to_the_word_holding_their_first_character():
    index = align_tokens(np.array([0, 0, 6, 11, 13, 30]), np.array([0, 6, 13]), np.array([5, 12, 14]))
    assert index.tolist() == [0, 0, 1, 1, 2, -1]


def test_a_word_lives_while_any_of_its_pieces_does():
    rows = spacy_rows()
    assert rows[rows["example_id"] == 0]["word"].tolist() == ["great", "actors", ",", "boring", "plot"]
    assert rows[rows["example_id"] == 0]["drop_layer"].tolist() == [3, 2, 0, 3, 1]   # actors: max(1, 2)
    assert rows.set_index(["example_id", "word"]).loc[(1, "the"), "frequency"] == "top 100"
    assert rows.set_index(["example_id", "word"]).loc[(0, "boring"), "frequency"] == "unseen"


def test_pos_retention_matches_hand_counts():
    rows = spacy_rows().merge(EXAMPLES[["example_id", "label", "prediction"]], on="example_id")
    table = retention_table(rows, num_layers=3)
    pos = table[(table["facet"] == "pos") & (table["class_by"] == "all")].set_index(["category", "layer"])
    # ADJ: great(3), boring(3), great(1) -> alive after layers 0, 1, 2: 3, 2, 2 of 3
    assert [pos.loc[("ADJ", layer), "kept"] for layer in range(3)] == [3, 2, 2]
    assert pos.loc[("ADJ", 0), "total"] == 3
    # NOUN: actors(2), plot(1), plot(2) -> 3, 2, 0
    assert [pos.loc[("NOUN", layer), "kept"] for layer in range(3)] == [3, 2, 0]
    by_true = table[(table["facet"] == "pos") & (table["class_by"] == "true")].set_index(
        ["category", "class_index", "layer"])
    assert by_true.loc[("ADJ", 0, 1), "total"] == 1 and by_true.loc[("ADJ", 0, 1), "kept"] == 0
    stop = table[(table["facet"] == "stopword") & (table["class_by"] == "predicted")].set_index(
        ["category", "class_index", "layer"])
    assert stop.loc[("stopword", 1, 0), "total"] == 2 and stop.loc[("stopword", 1, 0), "kept"] == 0


def test_model_words_join_pieces_and_lower_case():
    words = model_words(EXAMPLES, TOKENS)
    first = words[words["example_id"] == 0]
    assert first["word"].tolist() == ["great", "actors", ",", "boring", "plot"]
    assert first["n_pieces"].tolist() == [1, 2, 1, 1, 1] and first["drop_layer"].tolist() == [3, 2, 0, 3, 1]


def test_keyword_stats_match_hand_counts():
    words = model_words(EXAMPLES, TOKENS)
    stats = keyword_stats(words, EXAMPLES, ["great", "plot", "absent"], num_layers=3).set_index("keyword")
    # great: example 0 kept to the end (correct), example 1 dropped at layer 1 (wrong)
    assert stats.loc["great", "occurrences"] == 2 and stats.loc["great", "examples"] == 2
    assert stats.loc["great", "retention"] == pytest.approx([1.0, 0.5, 0.5])
    assert stats.loc["great", "kept_final"] == 0.5
    assert stats.loc["great", "accuracy_kept"] == 1.0 and stats.loc["great", "accuracy_dropped"] == 0.0
    assert stats.loc["absent", "occurrences"] == 0 and math.isnan(stats.loc["absent", "kept_final"])


def test_a_keyword_the_last_layer_drops_was_read_by_the_classifier():
    """plot: dropped at layer 1 in example 0 (correct) and by the last layer (2) in example 1 (wrong): the classifier
    read it in example 1, though no occurrence survives the last layer."""
    words = model_words(EXAMPLES, TOKENS)
    stats = keyword_stats(words, EXAMPLES, ["plot"], num_layers=3).set_index("keyword")
    assert stats.loc["plot", "retention"] == pytest.approx([1.0, 0.5, 0.0])     # per layer, as before
    assert stats.loc["plot", "kept_final"] == 0.5
    assert (stats.loc["plot", "examples_kept"], stats.loc["plot", "examples_dropped"]) == (1, 1)
    assert stats.loc["plot", "accuracy_kept"] == 0.0 and stats.loc["plot", "accuracy_dropped"] == 1.0


def test_log_odds_with_dirichlet_prior_matches_the_formula():
    counts = pd.DataFrame({0: [8, 1, 5], 1: [2, 9, 5]}, index=["bad", "great", "the"])
    z = log_odds_dirichlet(counts)
    # By hand for "bad", class 0: prior alpha_w = pooled count 10, alpha_0 = 30; n_0 = 14, rest n = 16.
    delta = math.log((8 + 10) / (14 + 30 - 8 - 10)) - math.log((2 + 10) / (16 + 30 - 2 - 10))
    assert z.loc["bad", 0] == pytest.approx(delta / math.sqrt(1 / 18 + 1 / 12))
    assert z.loc["bad", 0] > 0 > z.loc["bad", 1] and z.loc["great", 1] > 0
    assert abs(z.loc["the", 0]) < z.loc["bad", 0]


def test_discovered_keywords_are_the_typical_words_of_each_class():
    words = pd.DataFrame({"example_id": [0, 0, 0, 1, 1, 1] * 5,
                          "word": ["awful", "the", "plot", "superb", "the", "plot"] * 5, "drop_layer": 3})
    examples = pd.DataFrame({"example_id": [0, 1], "label": [0, 1], "prediction": [0, 1]})
    found = discover_keywords(words, examples, num_classes=2, per_class=1, exclude={"the"})
    assert found[["keyword", "class_index"]].values.tolist() == [["awful", 0], ["superb", 1]]


def test_study_lists_use_the_datasets_label_names():
    rows = study_keywords("ag_news", ["World", "Sports", "Business", "Sci/Tech"])
    assert rows.set_index("keyword").loc["linux", "class_index"] == 3 and len(rows) == 32
    assert study_keywords("sst2", ["a", "b"]).empty


def test_top_words_count_the_occurrences_the_classifier_read_per_class():
    words = model_words(EXAMPLES, TOKENS)
    top = top_retained_words(words, EXAMPLES, num_layers=3, stopwords=frozenset({"the"}))
    by_prediction = top[(top["class_by"] == "predicted") & (top["class_index"] == 1) & ~top["content_only"]]
    # read (drop layer 2 or 3): great and boring in example 0, actors (its last piece drops at 2), plot in example 1
    assert by_prediction["word"].tolist() == ["actors", "boring", "great", "plot"]
    assert by_prediction["kept"].tolist() == [1, 1, 1, 1] and by_prediction["occurrences"].tolist() == [1, 1, 2, 2]


def test_the_retention_the_classifier_read_is_the_layer_before_the_last():
    rows = spacy_rows().merge(EXAMPLES[["example_id", "label", "prediction"]], on="example_id")
    table = retention_table(rows, num_layers=3)
    layer = read_layer(3)
    assert layer == 1 and read_layer(2) == 0 and read_layer(1) == -1             # -1: a one-layer model reads the input
    at_read = table[(table["facet"] == "pos") & (table["class_by"] == "all") & (table["layer"] == layer)]
    read = rows.assign(read=reached_classifier(rows["drop_layer"], 3)).groupby("pos")["read"].sum()
    assert at_read.set_index("category")["kept"].to_dict() == read.to_dict()    # NOUN: actors, plot (ex. 1) -> 2
    assert read["NOUN"] == 2
    with pytest.raises(ValueError, match="num_layers"):
        read_layer(0)


def test_real_spacy_tags_common_words():
    annotation = next(iter(spacy_annotator()(["The movie was great in Baghdad."])))
    tags = dict(zip(annotation.words, annotation.pos))
    assert tags["movie"] == "NOUN" and tags["great"] == "ADJ" and tags["."] == "PUNCT"
    assert annotation.entity[annotation.words.index("baghdad")] == "GPE"
    assert annotation.is_stop[0] and annotation.is_punct[-1]


def test_frequency_bands_count_words_as_spacy_splits_them():
    """Every word spaCy's English tokenizer makes of a text is counted when that text is the corpus: clitics
    such as "n't" and "'s" included, which a plain word regex would call unseen."""
    import spacy
    text = "I don't think it's the film's best; we're sure they'll say it can't, won't or shouldn't!"
    bands = FrequencyBands.from_texts([text])
    words = [token.text.lower() for token in spacy.blank("en")(text)]
    assert {"n't", "'s", "'re", "'ll", "ca", "wo"} <= set(words)
    assert [word for word in words if bands.band(word) == "unseen"] == []
    assert bands.band("unheard-of") == "unseen"


def test_the_stored_maps_hover_shows_the_words_the_classifier_read(tmp_path):
    """Two layers: "great" is dropped by the last layer (read), "film" by the first (not read), "ever" by none."""
    db, run_id = tmp_path / "lens.duckdb", "r1"
    run = {"run_id": run_id, "dataset": "imdb", "split": "test", "stage": "ltp_hard", "profile": "quick",
           "method": "ltp", "label_names": ["negative", "positive"], "num_layers": 2, "n_examples": 1,
           "accuracy": 1.0, "macro_f1": 1.0, "mean_kept": [4.0, 2.0], "keep_fraction": [0.8, 0.4],
           "config": "{}", "method_config": "{}"}
    examples = pd.DataFrame({"run_id": [run_id], "example_id": [0], "text": ["great film ever"], "label": [1],
                             "prediction": [1], "n_tokens": [5], "kept_counts": [[4, 2]]})
    tokens = pd.DataFrame({"run_id": run_id, "example_id": 0, "position": range(5),
                           "token": ["[CLS]", "great", "film", "ever", "[SEP]"],
                           "word_id": pd.array([None, 0, 1, 2, None], dtype="Int64"), "drop_layer": [2, 1, 0, 2, 1]})
    store.write_trace_run(run, pd.DataFrame({"run_id": [run_id], "class_index": [1], "label": ["positive"]}),
                          pd.DataFrame({"run_id": [run_id], "true_index": [1], "predicted_index": [1], "count": [1]}),
                          examples, tokens, db)
    point = pd.DataFrame({"level": ["example"], "method": ["umap"], "example_id": [0], "position": [-1], "x": [0.0],
                          "y": [0.0]})
    store.write_analysis(run_id, {"projections": point}, {}, db)
    assert store.projections(run_id, "example", "umap", db=db).loc[0, "retained_text"] == "great ever"
