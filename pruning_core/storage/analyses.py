"""A run's analysis (pipelines.analyze): its words (model words and spaCy's), retention by facet, top words,
keywords, 2-D projections and the representations they were made from."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..trace import read_layer
from . import schema
from .connection import RunNotFound, delete_run, insert, now, reader, writer
from .traces import class_key, run_row, with_class_names

__all__ = ["FACETS", "analysed_words", "keyword_rows", "keyword_table", "projections", "representations",
           "retention", "top_words", "write_analysis", "write_representations"]

FACETS = ("pos", "entity", "stopword", "punctuation", "frequency")


# ----------------------------------------------------------------------------------------------- writers

def write_analysis(run_id: str, tables: dict[str, pd.DataFrame], config: dict,
                   db: str | Path | None = None) -> None:
    """Replace the run's analysis tables (keys of `tables` among ANALYSIS_TABLES) in one transaction."""
    unknown = set(tables) - set(schema.ANALYSIS_TABLES)
    if unknown:
        raise ValueError(f"Not analysis tables: {sorted(unknown)}")
    with writer(db) as con:
        if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0] == 0:
            raise RunNotFound(f"No run {run_id!r} in the database.")
        delete_run(con, schema.ANALYSIS_TABLES, run_id)
        for name, frame in tables.items():
            insert(con, name, frame.assign(run_id=run_id))
        insert(con, "analyses", pd.DataFrame([{"run_id": run_id, "config": json.dumps(config), "created_at": now()}]))


def write_representations(run_id: str, rows: pd.DataFrame, db: str | Path | None = None) -> None:
    """Replace the run's stored representations (example_id, vector) alone, in one transaction: for runs analysed
    before they were stored (`pipelines.analyze --representations-only`)."""
    with writer(db) as con:
        if con.execute("SELECT count(*) FROM analyses WHERE run_id = ?", [run_id]).fetchone()[0] == 0:
            raise RunNotFound(f"Run {run_id!r} has not been analysed yet: python -m pipelines.analyze --run {run_id}")
        con.execute("DELETE FROM representations WHERE run_id = ?", [run_id])
        insert(con, "representations", rows.assign(run_id=run_id))


# ----------------------------------------------------------------------------------------------- readers

def retention(run_id: str, facet: str, by: str = "all", layer: int | None = None,
              db: str | Path | None = None) -> pd.DataFrame:
    """Retention per category of a facet (one of FACETS): per category, layer and class (class_index, class_name;
    by "all", "true" or "predicted"): total, kept, rate = kept / total words of that category alive after `layer`
    (every layer when None)."""
    if facet not in FACETS:
        raise ValueError(f"facet must be one of {', '.join(FACETS)}, got {facet!r}.")
    class_key(by)
    with reader(db) as con:
        info = run_row(con, run_id, analysed=True)
        frame = con.execute("""
            SELECT category, class_index, layer, total, kept, kept / total AS rate FROM retention
            WHERE run_id = ? AND facet = ? AND class_by = ? AND (? IS NULL OR layer = ?)
            ORDER BY class_index NULLS FIRST, layer, total DESC""", [run_id, facet, by, layer, layer]).df()
    return with_class_names(frame, info["label_names"])


def top_words(run_id: str, by: str = "true", top: int = 30, content_only: bool = True,
              db: str | Path | None = None) -> pd.DataFrame:
    """The words most often kept to the classifier, per true or predicted class: class_index, rank, word, kept,
    occurrences, rate, class_name."""
    if by not in ("true", "predicted"):
        raise ValueError(f"by must be 'true' or 'predicted', got {by!r}.")
    with reader(db) as con:
        info = run_row(con, run_id, analysed=True)
        frame = con.execute("""
            SELECT class_index, rank, word, kept, occurrences, kept / occurrences AS rate FROM top_words
            WHERE run_id = ? AND class_by = ? AND content_only = ? AND rank <= ?
            ORDER BY class_index, rank""", [run_id, by, content_only, top]).df()
    return with_class_names(frame, info["label_names"])


def keyword_table(run_id: str, source: str | None = None, db: str | Path | None = None) -> pd.DataFrame:
    """Stored keyword retention: source 'study' (the study's lists), 'discovered' (log-odds), or both (None):
    keyword, source, class_index, score, occurrences, examples, retention (list per layer), kept_final,
    examples_kept, examples_dropped, accuracy_kept, accuracy_dropped, class_name."""
    with reader(db) as con:
        info = run_row(con, run_id, analysed=True)
        frame = con.execute("""
            SELECT keyword, source, class_index, score, occurrences, examples, retention, kept_final,
                   examples_kept, examples_dropped, accuracy_kept, accuracy_dropped FROM keywords
            WHERE run_id = ? AND (? IS NULL OR source = ?)
            ORDER BY source DESC, class_index, occurrences DESC""", [run_id, source, source]).df()
    return with_class_names(frame, info["label_names"])


def keyword_rows(run_id: str, keywords: list[str], db: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The analysed run's stored words equal to one of `keywords` (example_id, word, drop_layer), and the examples
    holding them (example_id, label, prediction): what analysis.keywords.keyword_stats measures."""
    with reader(db) as con:
        run_row(con, run_id, analysed=True)
        words = con.execute("""SELECT example_id, word, drop_layer FROM words
                               WHERE run_id = ? AND list_contains(?, word)""", [run_id, keywords]).df()
        example_rows = con.execute("""SELECT example_id, label, prediction FROM examples WHERE run_id = ?
                                      AND example_id IN (SELECT example_id FROM words WHERE run_id = ?
                                                         AND list_contains(?, word))""",
                                   [run_id, run_id, keywords]).df()
    return words, example_rows


def analysed_words(run_id: str, db: str | Path | None = None) -> pd.DataFrame:
    """The run's spaCy words with their annotations and drop layer, one row per word (for per-example statistics):
    example_id, word, pos, entity, is_stop, is_punct, frequency, drop_layer."""
    with reader(db) as con:
        run_row(con, run_id, analysed=True)
        return con.execute("""
            SELECT example_id, word, pos, entity, is_stop, is_punct, frequency, drop_layer FROM spacy_words
            WHERE run_id = ? ORDER BY example_id, word_index""", [run_id]).df()


def representations(run_id: str, db: str | Path | None = None) -> pd.DataFrame:
    """The stored retained-token representation of each embedded example: example_id, vector (list of floats);
    empty for runs analysed before it was stored."""
    with reader(db) as con:
        run_row(con, run_id, analysed=True)
        return con.execute("SELECT example_id, vector FROM representations WHERE run_id = ? ORDER BY example_id",
                           [run_id]).df()


PROJECTION_METHODS = ("tsne", "umap")   # the 2-D projections pipelines/analyze.py stores


def projections(run_id: str, level: str = "example", method: str = "umap",
                db: str | Path | None = None) -> pd.DataFrame:
    """Stored 2-D points (t-SNE or UMAP) with what a hover needs: label, prediction, correct, label_name,
    predicted_name, and at level "example" the tokens the classifier read as retained_text (alive on entry to the
    last layer) and the text; at level "token" the position, token and its word."""
    if level not in ("example", "token"):
        raise ValueError(f"level must be 'example' or 'token', got {level!r}.")
    if method not in PROJECTION_METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, PROJECTION_METHODS))}, got {method!r}.")
    with reader(db) as con:
        info = run_row(con, run_id, analysed=True)
        read_after = read_layer(info["num_layers"])   # the tokens alive after it are those the classifier read
        if level == "example":
            frame = con.execute("""
                WITH points AS (SELECT example_id, x, y FROM projections
                                WHERE run_id = ? AND level = 'example' AND method = ?),
                     retained AS (SELECT example_id, string_agg(token, ' ' ORDER BY position) AS retained_text
                                  FROM tokens WHERE run_id = ? AND drop_layer > ? AND word_id IS NOT NULL
                                  AND example_id IN (SELECT example_id FROM points) GROUP BY example_id)
                SELECT p.example_id, p.x, p.y, e.label, e.prediction, e.label = e.prediction AS correct,
                       coalesce(r.retained_text, '') AS retained_text, e.text
                FROM points p JOIN examples e ON e.run_id = ? AND e.example_id = p.example_id
                LEFT JOIN retained r ON r.example_id = p.example_id ORDER BY p.example_id""",
                                  [run_id, method, run_id, read_after, run_id]).df()
        else:
            frame = con.execute("""
                SELECT p.example_id, p.position, p.x, p.y, t.token, w.word, e.label, e.prediction,
                       e.label = e.prediction AS correct
                FROM projections p
                JOIN tokens t ON t.run_id = p.run_id AND t.example_id = p.example_id AND t.position = p.position
                JOIN examples e ON e.run_id = p.run_id AND e.example_id = p.example_id
                LEFT JOIN words w ON w.run_id = p.run_id AND w.example_id = p.example_id
                                 AND w.word_index = t.word_id
                WHERE p.run_id = ? AND p.level = 'token' AND p.method = ?
                ORDER BY p.example_id, p.position""", [run_id, method]).df()
    names = info["label_names"]
    frame["label_name"] = [names[i] for i in frame["label"]]
    frame["predicted_name"] = [names[i] for i in frame["prediction"]]
    return frame
