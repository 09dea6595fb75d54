"""The tables: numbered migrations, each applied once, in order, to every database (see `connection`).

A database records how many it has had in `schema_version`; the migrations only add, so an older database is
upgraded in place and keeps its rows.
"""
from __future__ import annotations

__all__ = ["ANALYSIS_TABLES", "KV_TABLES", "MIGRATIONS", "RUN_TABLES"]

# Append-only: a released migration is never edited, a change is a new entry.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY, dataset VARCHAR, split VARCHAR, model_path VARCHAR, training_run VARCHAR,
        stage VARCHAR, profile VARCHAR, method VARCHAR, method_config VARCHAR, config VARCHAR,
        label_names VARCHAR[], num_layers INTEGER, n_examples INTEGER, accuracy DOUBLE, macro_precision DOUBLE,
        macro_recall DOUBLE, macro_f1 DOUBLE, mean_kept DOUBLE[], keep_fraction DOUBLE[],
        seconds_model DOUBLE, seconds_write DOUBLE, created_at TIMESTAMP);
    CREATE TABLE class_metrics (run_id VARCHAR, class_index INTEGER, label VARCHAR, "precision" DOUBLE,
        recall DOUBLE, f1 DOUBLE, support INTEGER);
    CREATE TABLE confusion (run_id VARCHAR, true_index INTEGER, predicted_index INTEGER, count INTEGER);
    CREATE TABLE examples (run_id VARCHAR, example_id INTEGER, text VARCHAR, label INTEGER, prediction INTEGER,
        probability DOUBLE, n_tokens INTEGER, truncated BOOLEAN, kept_counts INTEGER[]);
    CREATE TABLE tokens (run_id VARCHAR, example_id INTEGER, position SMALLINT, token VARCHAR,
        char_start INTEGER, char_end INTEGER, word_id INTEGER, drop_layer TINYINT, scores FLOAT[]);
    CREATE TABLE analyses (run_id VARCHAR PRIMARY KEY, config VARCHAR, created_at TIMESTAMP);
    CREATE TABLE words (run_id VARCHAR, example_id INTEGER, word_index INTEGER, word VARCHAR,
        n_pieces SMALLINT, drop_layer TINYINT);
    CREATE TABLE spacy_words (run_id VARCHAR, example_id INTEGER, word_index INTEGER, word VARCHAR,
        pos VARCHAR, entity VARCHAR, is_stop BOOLEAN, is_punct BOOLEAN, frequency VARCHAR, drop_layer TINYINT);
    CREATE TABLE retention (run_id VARCHAR, facet VARCHAR, category VARCHAR, class_by VARCHAR,
        class_index INTEGER, layer INTEGER, total BIGINT, kept BIGINT);
    CREATE TABLE top_words (run_id VARCHAR, class_by VARCHAR, class_index INTEGER, content_only BOOLEAN,
        rank INTEGER, word VARCHAR, kept BIGINT, occurrences BIGINT);
    CREATE TABLE keywords (run_id VARCHAR, keyword VARCHAR, source VARCHAR, class_index INTEGER, score DOUBLE,
        occurrences BIGINT, examples BIGINT, retention DOUBLE[], kept_final DOUBLE, examples_kept BIGINT,
        examples_dropped BIGINT, accuracy_kept DOUBLE, accuracy_dropped DOUBLE);
    CREATE TABLE projections (run_id VARCHAR, level VARCHAR, method VARCHAR, example_id INTEGER,
        position INTEGER, x DOUBLE, y DOUBLE);
    CREATE TABLE benchmark_sweeps (bench_id VARCHAR PRIMARY KEY, dataset VARCHAR, profile VARCHAR,
        config VARCHAR, created_at TIMESTAMP);
    CREATE TABLE benchmarks (bench_id VARCHAR, dataset VARCHAR, setting VARCHAR, method VARCHAR,
        method_config VARCHAR, thresholds DOUBLE[], model_path VARCHAR, n_examples INTEGER, accuracy DOUBLE,
        macro_f1 DOUBLE, mean_kept DOUBLE[], keep_fraction DOUBLE[], flops DOUBLE, throughput_b32 DOUBLE,
        latency_b1_ms DOUBLE, speedup_b32 DOUBLE, speedup_b1 DOUBLE);
    """,
    # Per-example predictions of each setting and the sweep's labels, for paired comparisons.
    """
    ALTER TABLE benchmarks ADD COLUMN predictions INTEGER[];
    ALTER TABLE benchmark_sweeps ADD COLUMN labels INTEGER[];
    """,
    # Each example's own cut-off per layer (TS-DTP's differs from text to text), as the trace recorded it.
    """
    ALTER TABLE examples ADD COLUMN thresholds DOUBLE[];
    """,
    # Faithfulness of a trained pruned model to its unpruned weights over a test sample (pipelines/faithfulness.py):
    # one set per (training run, stage), one row per example.
    """
    CREATE TABLE faithfulness_sets (faith_id VARCHAR PRIMARY KEY, dataset VARCHAR, training_run VARCHAR,
        stage VARCHAR, profile VARCHAR, method VARCHAR, method_config VARCHAR, model_path VARCHAR,
        label_names VARCHAR[], n_examples INTEGER, config VARCHAR, seconds DOUBLE, created_at TIMESTAMP);
    CREATE TABLE faithfulness (faith_id VARCHAR, example_id INTEGER, label INTEGER, pruned_prediction INTEGER,
        unpruned_prediction INTEGER, pruned_confidence DOUBLE, unpruned_confidence DOUBLE, full_probability DOUBLE,
        sufficiency DOUBLE, comprehensiveness DOUBLE, n_kept INTEGER, n_tokens INTEGER);
    """,
    # The retained-token representation of each embedded example (the vectors the projections were made from), so
    # cluster claims are measured in that space (pruning_core/analysis/findings.py), not on the 2-D map.
    """
    CREATE TABLE representations (run_id VARCHAR, example_id INTEGER, vector FLOAT[]);
    """,
    # Each row's examples by id (their row in the split's file), in the order of its predictions, so pairing checks
    # them; and the sweep's tokens per example at its length (accuracy by text length).
    """
    ALTER TABLE benchmarks ADD COLUMN example_ids INTEGER[];
    ALTER TABLE benchmark_sweeps ADD COLUMN lengths INTEGER[];
    """,
    # The KV-cache benchmark (pipelines/kv.py): a sweep with each task's examples; per task, press and budget the
    # per-example outcomes (paired by example id against the full cache); decode timings; the kept share of a sample
    # of prompts' tokens, and of their parts of speech, stopwords and frequency bands.
    """
    CREATE TABLE kv_sweeps (sweep_id VARCHAR PRIMARY KEY, profile VARCHAR, model VARCHAR, config VARCHAR,
        created_at TIMESTAMP, imdb_ids INTEGER[], imdb_labels INTEGER[], needle_ids INTEGER[],
        needle_depths DOUBLE[], needle_haystacks INTEGER[]);
    CREATE TABLE kv_results (sweep_id VARCHAR, task VARCHAR, press VARCHAR, press_config VARCHAR, budget DOUBLE,
        n INTEGER, accuracy DOUBLE, agreement DOUBLE, kl_mean DOUBLE, example_ids INTEGER[], correct BOOLEAN[],
        agrees BOOLEAN[], kl DOUBLE[], depths DOUBLE[]);
    CREATE TABLE kv_timings (sweep_id VARCHAR, context_tokens INTEGER, prompt_tokens INTEGER, press VARCHAR,
        press_config VARCHAR, budget DOUBLE, decode_tokens INTEGER, decode_ms DOUBLE, cache_mb DOUBLE,
        full_decode_ms DOUBLE);
    CREATE TABLE kv_tokens (sweep_id VARCHAR, example_id INTEGER, press VARCHAR, budget DOUBLE, position INTEGER,
        token VARCHAR, char_start INTEGER, char_end INTEGER, kept_share DOUBLE, layers_kept INTEGER);
    CREATE TABLE kv_retention (sweep_id VARCHAR, press VARCHAR, budget DOUBLE, facet VARCHAR, category VARCHAR,
        total BIGINT, kept DOUBLE);
    """,
]
# A traced run's tables, and those its analysis adds (all keyed by run_id).
RUN_TABLES = ("runs", "class_metrics", "confusion", "examples", "tokens")
ANALYSIS_TABLES = ("analyses", "words", "spacy_words", "retention", "top_words", "keywords", "projections",
                   "representations")
# The KV-cache benchmark's tables (all keyed by sweep_id), its sweep first.
KV_TABLES = ("kv_sweeps", "kv_results", "kv_timings", "kv_tokens", "kv_retention")
