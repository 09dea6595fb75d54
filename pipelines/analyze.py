"""Analyse the retained tokens of a traced run and store the results beside it.

    python -m pipelines.analyze --run imdb-quick-ltp_hard-test [--profile quick]

- linguistics: spaCy's universal POS, entity type, stopword and punctuation flags, aligned to the model's
  sub-words by character offsets, plus frequency bands from training-set counts; retention per
  category, per layer, per true and per predicted class;
- words: the model's words and the words the classifier most often read, per class;
- keywords: the study's lists plus keywords found by log-odds with an informative Dirichlet prior, each
  with occurrences, retention by layer, the share the classifier read, and accuracy where it read the keyword
  versus where it did not;
- embeddings: retained-token representations of a sample of examples and tokens, projected with
  t-SNE and UMAP; the examples' vectors are stored too (`--representations-only` adds them, alone, to a run
  analysed before they were).
"Read" always means alive on entry to the last layer (pruning_core.trace.reached_classifier): the last layer's own
decision cannot change the prediction. Retention stays per layer (alive after each layer).
Everything is computed first and written in one transaction.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from spacy.lang.en.stop_words import STOP_WORDS

from pruning_core import storage as store
from pruning_core.analysis.embeddings import (PROJECTIONS, Representations, project,
                                              retained_representations)
from pruning_core.analysis.frequency import model_words, top_retained_words
from pruning_core.analysis.keywords import discover_keywords, keyword_stats, study_keywords
from pruning_core.analysis.linguistics import (Annotator, FrequencyBands, retention_table,
                                               spacy_annotator, spacy_word_rows)
from pruning_core.classifier import ModelLoadError
from pruning_core.text.data import DatasetUnavailableError, load_dataset
from pruning_core.paths import db_path
from pruning_core.text import load_text_classifier

from .common import add_common, clear_errors
from pruning_core.text.profiles import Profile, profile_for


def frequency_bands(dataset: str, data_dir: str | None, fallback_texts: list[str]) -> FrequencyBands:
    """Bands from the training split; from the traced texts themselves when no training split is at hand."""
    try:
        return FrequencyBands.from_texts(load_dataset(dataset, "train", data_dir).texts)
    except DatasetUnavailableError as error:
        print(f"warning: frequency bands come from the traced texts ({error})", flush=True)
        return FrequencyBands.from_texts(fallback_texts)


def keyword_rows(dataset: str, words: pd.DataFrame, examples: pd.DataFrame, label_names: list[str],
                 num_layers: int, exclude: frozenset[str]) -> pd.DataFrame:
    study = study_keywords(dataset, label_names).assign(source="study", score=np.nan)
    found = discover_keywords(words, examples, len(label_names), exclude=exclude).assign(source="discovered")
    chosen = pd.concat([study, found], ignore_index=True)
    stats = keyword_stats(words, examples, list(dict.fromkeys(chosen["keyword"])), num_layers)
    return chosen.merge(stats, on="keyword", how="left")


def embedded_sample(info: dict, examples: pd.DataFrame, profile: Profile,
                    progress: bool) -> tuple[np.ndarray, Representations] | None:
    """The retained-token representations of a seeded sample of the examples (None when the model cannot load)."""
    sample = examples.sample(n=min(profile.embed_limit, len(examples)), random_state=profile.seed)
    sample = sample.sort_values("example_id")
    try:
        classifier = load_text_classifier(info["model_path"])
    except ModelLoadError as error:
        print(f"warning: no projections or representations, the run's model cannot be loaded: {error}", flush=True)
        return None
    max_length = info["config"].get("max_length", 256)
    vectors = retained_representations(classifier, sample["text"].tolist(), max_length,
                                       profile.tokens_per_example, seed=profile.seed, progress=progress)
    return sample["example_id"].to_numpy(), vectors


def representation_rows(ids: np.ndarray, vectors: Representations) -> pd.DataFrame:
    """One row per embedded example: example_id and its vector (the store's `representations` table)."""
    return pd.DataFrame({"example_id": ids, "vector": list(vectors.examples.astype(np.float32))})


def projection_rows(ids: np.ndarray, vectors: Representations, methods: tuple[str, ...],
                    seed: int) -> pd.DataFrame:
    """Project the embedded examples and their sampled retained tokens with each method."""
    frames = []
    for method in methods:
        points = project(vectors.examples, method, seed)
        frames.append(pd.DataFrame({"level": "example", "method": method, "example_id": ids, "position": -1,
                                    "x": points[:, 0], "y": points[:, 1]}))
        points = project(vectors.token_vectors, method, seed)
        frames.append(pd.DataFrame({"level": "token", "method": method, "example_id": ids[vectors.token_examples],
                                    "position": vectors.token_positions, "x": points[:, 0], "y": points[:, 1]}))
    return pd.concat(frames, ignore_index=True)


def store_representations(run_id: str, profile: Profile, db: str | Path | None = None,
                          progress: bool = True) -> int:
    """Compute and store only the representations of an analysed run (one analysed before they were stored), on
    the same seeded sample its projections came from; returns how many were stored."""
    info = store.run_info(run_id, db)
    examples = store.examples(run_id, limit=max(int(info["n_examples"] or 0), 1), db=db)   # in example_id order
    embedded = embedded_sample(info, examples, profile, progress)
    if embedded is None:
        return 0
    rows = representation_rows(*embedded)
    store.write_representations(run_id, rows, db)
    print(f"{run_id}: {len(rows)} representations stored", flush=True)
    return len(rows)


def run(run_id: str, profile: Profile, db: str | Path | None = None, data_dir: str | None = None,
        projections: tuple[str, ...] = PROJECTIONS, annotate: Annotator | None = None,
        progress: bool = True) -> dict[str, int]:
    """Analyse a stored run and replace its analysis tables; returns the row count of each table."""
    started = time.perf_counter()
    info = store.run_info(run_id, db)
    num_layers, label_names = int(info["num_layers"]), info["label_names"]
    examples, tokens = store.read_trace_rows(run_id, db)
    words = model_words(examples, tokens)
    exclude = frozenset(STOP_WORDS)

    annotated = examples
    if profile.linguistics_limit is not None and profile.linguistics_limit < len(examples):
        # A random sample: a full test split may come sorted by label.
        annotated = examples.sample(n=profile.linguistics_limit, random_state=profile.seed).sort_values("example_id")
    bands = frequency_bands(info["dataset"], data_dir, examples["text"].tolist())
    spacy_words = spacy_word_rows(annotated, tokens, bands, annotate or spacy_annotator(), progress)
    classes = examples[["example_id", "label", "prediction"]]
    retention = retention_table(spacy_words.merge(classes, on="example_id"), num_layers)

    tables = {
        "words": words,
        "spacy_words": spacy_words,
        "retention": retention,
        "top_words": top_retained_words(words, examples, num_layers, stopwords=exclude),
        "keywords": keyword_rows(info["dataset"], words, examples, label_names, num_layers, exclude),
    }
    embedded = embedded_sample(info, examples, profile, progress)
    tables["projections"] = projection_rows(*embedded, projections, profile.seed) if embedded else pd.DataFrame()
    tables["representations"] = representation_rows(*embedded) if embedded else pd.DataFrame()

    config = {"profile": profile.name, "linguistics_examples": len(annotated), "embed_limit": profile.embed_limit,
              "tokens_per_example": profile.tokens_per_example, "projections": list(projections)}
    store.write_analysis(run_id, tables, config, db)
    counts = {name: len(frame) for name, frame in tables.items()}
    print(f"{run_id}: analysed in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{n} {name}" for name, n in counts.items()), flush=True)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(parser, dataset=False)
    parser.add_argument("--run", required=True, help="a run id from the database (see pruning_core.storage.runs)")
    parser.add_argument("--embed-limit", type=int, help="override the profile's number of projected examples")
    parser.add_argument("--representations-only", action="store_true",
                        help="only compute and store the embedded examples' vectors (for a run analysed before "
                             "they were stored; the same seeded sample as its projections)")
    args = parser.parse_args(argv)
    database = db_path(args.db, args.artifacts)
    with clear_errors():
        info = store.run_info(args.run, database)
        profile = profile_for(args.profile, info["dataset"]).with_overrides(embed_limit=args.embed_limit)
        if args.representations_only:
            store_representations(args.run, profile, database)
        else:
            run(args.run, profile, database, args.data_dir)


if __name__ == "__main__":
    main()
