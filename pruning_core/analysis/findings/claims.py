"""The study's claims (the seed study's conclusions about AG News and IMDb, and two about any dataset), each a
`Claim` built from the measures. `STUDY_CLAIMS` is fixed; add claims of your own with `registry.register_claim`, or
pass a list to `registry.evaluate_claims`.
"""
from __future__ import annotations

from ..keywords import STUDY_KEYWORDS
from .engine import Above, Below, Claim, Inside
from .measures import (keyword_lift, kept_rate_ratio, largest_pos, overlap_share, pos_contrast, pos_pair, pos_spread,
                       silhouette, spread_ratio)

AG_NEWS, IMDB = ("ag_news",), ("imdb",)
POS_GROUP = "AG News: parts of speech of the retained words"
VOCABULARY_GROUP = "AG News: retained vocabulary per class"
IMDB_WORDS_GROUP = "IMDb: words retained in true positives"
CLUSTER_GROUP = "Representation of the retained tokens"
OVERALL_GROUP = "Overall: meaningful words, not superficial cues"
READ = "reach the classifier (alive on entry to the last layer)"
SHARE = "share of the retained words (those the classifier read; punctuation and symbols left out; by true class)"
IMDB_TRUE_POSITIVE_WORDS = ("movie", "film", "great", "good", "best", "excellent", "amazing", "love", "funny",
                            "recommend")


def _vocabulary_claim(class_name: str) -> Claim:
    words = STUDY_KEYWORDS["ag_news"][class_name]
    return Claim(f"ag_news.vocabulary.{class_name.lower().replace('/', '_')}", VOCABULARY_GROUP,
                 f"The retained vocabulary of {class_name} features {', '.join(words)} (the classifier reads them "
                 "more often than other content words)",
                 f"in {class_name} texts, the share of these words' occurrences that {READ} divided by the share for "
                 "all content words", Above(1.0), keyword_lift(words, class_name=class_name), AG_NEWS)


STUDY_CLAIMS: tuple[Claim, ...] = (
    Claim("ag_news.pos.noun", POS_GROUP, "Nouns dominate the retained words in every class",
          f"NOUN's {SHARE} minus the largest other part of speech's, in the class where that gap is smallest",
          Above(0.0), largest_pos("NOUN"), AG_NEWS),
    Claim("ag_news.pos.propn", POS_GROUP, "Proper nouns are prominent in World, Sports and Business, less so in "
          "Sci/Tech", f"PROPN's {SHARE}: its smallest over World, Sports and Business minus Sci/Tech's",
          Above(0.0), pos_contrast("PROPN", ("World", "Sports", "Business"), ("Sci/Tech",)), AG_NEWS),
    Claim("ag_news.pos.verb", POS_GROUP, "Verbs are more frequent in Sports and Business",
          f"VERB's {SHARE}: its smaller over Sports and Business minus its larger over World and Sci/Tech",
          Above(0.0), pos_contrast("VERB", ("Sports", "Business"), ("World", "Sci/Tech")), AG_NEWS),
    Claim("ag_news.pos.adj_balanced", POS_GROUP, "Adjectives are balanced across the classes",
          f"ADJ's largest {SHARE} over the classes divided by its smallest", Below(1.25), pos_spread("ADJ"), AG_NEWS),
    Claim("ag_news.pos.adj_scitech", POS_GROUP, "Adjectives are slightly more frequent in Sci/Tech",
          f"ADJ's {SHARE}: Sci/Tech's minus the largest of the other classes'",
          Above(0.0), pos_contrast("ADJ", ("Sci/Tech",), ("World", "Sports", "Business")), AG_NEWS),
    Claim("ag_news.pos.num", POS_GROUP, "Sports and Business have more numerals",
          f"NUM's {SHARE}: its smaller over Sports and Business minus its larger over World and Sci/Tech",
          Above(0.0), pos_contrast("NUM", ("Sports", "Business"), ("World", "Sci/Tech")), AG_NEWS),
    Claim("ag_news.pos.adv", POS_GROUP, "Sports and Business have more adverbs",
          f"ADV's {SHARE}: its smaller over Sports and Business minus its larger over World and Sci/Tech",
          Above(0.0), pos_contrast("ADV", ("Sports", "Business"), ("World", "Sci/Tech")), AG_NEWS),
    Claim("ag_news.pos.scitech_adv_num", POS_GROUP, "Sci/Tech has more adverbs than numerals",
          f"in Sci/Tech, ADV's {SHARE} minus NUM's", Above(0.0), pos_pair("ADV", "NUM", "Sci/Tech"), AG_NEWS),
    *[_vocabulary_claim(name) for name in STUDY_KEYWORDS["ag_news"]],
    Claim("imdb.true_positive_words", IMDB_WORDS_GROUP,
          f"The retained words that dominate true positives are {', '.join(IMDB_TRUE_POSITIVE_WORDS)} (the "
          "classifier reads them more often than other content words)",
          f"in true positive reviews, the share of these words' occurrences that {READ} divided by the share for "
          "all content words", Above(1.0), keyword_lift(IMDB_TRUE_POSITIVE_WORDS, true_positives="positive"),
          IMDB),
    Claim("imdb.cluster.positive_denser", CLUSTER_GROUP,
          "IMDb: the positive class is denser than the negative one, which is more spread out",
          "negative reviews' mean distance to their class centroid divided by positive reviews' (retained-token "
          "representations)", Above(1.0), spread_ratio("negative", "positive"), IMDB),
    Claim("imdb.cluster.separate", CLUSTER_GROUP, "IMDb: the classes separate",
          "mean silhouette of the reviews by true class (retained-token representations, Euclidean)",
          Above(0.0), silhouette(), IMDB),
    Claim("imdb.cluster.overlap", CLUSTER_GROUP, "IMDb: the classes overlap somewhat",
          "share of reviews nearer, on average, the other class than their own (negative silhouette)",
          Inside(0.0, 0.5), overlap_share(), IMDB),
    Claim("ag_news.cluster.coherent", CLUSTER_GROUP, "AG News: each class forms a coherent cluster",
          "the smallest over the classes of their mean silhouette (retained-token representations, Euclidean)",
          Above(0.0), silhouette(every_class=True), AG_NEWS),
    Claim("overall.stopwords", OVERALL_GROUP, "Stopwords are pruned far more than content words",
          f"the share of content words (neither stopword nor punctuation) that {READ} divided by the share of "
          "stopwords that do", Above(2.0), kept_rate_ratio("stopword")),
    Claim("overall.punctuation", OVERALL_GROUP, "Punctuation is pruned far more than content words",
          f"the share of content words (neither stopword nor punctuation) that {READ} divided by the share of "
          "punctuation marks that do", Above(2.0), kept_rate_ratio("punctuation")),
)
