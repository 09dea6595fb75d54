"""Analysis functions against hand-counted fixtures: alignment, POS retention, keywords, log-odds, top words."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pruning_core.analysis.frequency import model_words, top_retained_words
from pruning_core.analysis.keywords import discover_keywords, keyword_stats, log_odds_dirichlet, study_keywords
from pruning_core.analysis.linguistics import (Annotation, FrequencyBands, align_tokens, retention_table,
                                               spacy_annotator, spacy_word_rows)

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
    assert stats.loc["plot", "examples_kept"] == 0 and math.isnan(stats.loc["plot", "accuracy_kept"])
    assert stats.loc["absent", "occurrences"] == 0 and math.isnan(stats.loc["absent", "kept_final"])


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


def test_top_words_count_kept_occurrences_per_class():
    words = model_words(EXAMPLES, TOKENS)
    top = top_retained_words(words, EXAMPLES, num_layers=3, stopwords=frozenset({"the"}))
    by_prediction = top[(top["class_by"] == "predicted") & (top["class_index"] == 1) & ~top["content_only"]]
    assert by_prediction["word"].tolist() == ["boring", "great"]
    assert by_prediction["kept"].tolist() == [1, 1] and by_prediction["occurrences"].tolist() == [1, 2]


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
