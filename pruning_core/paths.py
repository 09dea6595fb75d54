"""Where things live: the artifacts folder (models, the DuckDB database, job files) and the datasets.

The one home of every default path. In a source checkout, artifacts go to `<repository>/artifacts`; an
installed copy (no repository around it) uses `./artifacts` in the working directory. Environment
variables override both: `LENS_ARTIFACTS` (artifacts) and `LENS_DATA_DIR` (datasets, else
`../shared/datasets` beside the repository when it exists). `LENS_LANGUAGE_MODEL` names the KV lens's language
model (a hub id or folder) instead of the packaged SmolLM2.
"""
from __future__ import annotations

import os
from pathlib import Path

ARTIFACTS_ENV = "LENS_ARTIFACTS"
DATA_DIR_ENV = "LENS_DATA_DIR"
LANGUAGE_MODEL_ENV = "LENS_LANGUAGE_MODEL"   # the KV lens's model: a hub id or folder (unset: the packaged SmolLM2)
DATABASE_FILE = "lens.duckdb"
METRICS_FILE = "metrics.json"   # a saved model's scores, written beside it by the pipelines

_PACKAGE_PARENT = Path(__file__).resolve().parents[1]
# The repository, when this package runs from a source checkout (editable install or the bare tree).
REPO_ROOT: Path | None = _PACKAGE_PARENT if (_PACKAGE_PARENT / "pyproject.toml").is_file() else None


def artifacts_dir(artifacts: str | Path | None = None) -> Path:
    """`artifacts` if given, else $LENS_ARTIFACTS, else the repository's `artifacts/` (or ./artifacts)."""
    if artifacts:
        return Path(artifacts)
    if os.environ.get(ARTIFACTS_ENV):
        return Path(os.environ[ARTIFACTS_ENV])
    return (REPO_ROOT or Path.cwd()) / "artifacts"


def models_dir(artifacts: str | Path | None = None) -> Path:
    """Saved models: <artifacts>/models/<training run>/<stage>/."""
    return artifacts_dir(artifacts) / "models"


def shared_inputs_dir(artifacts: str | Path | None = None) -> Path:
    """Texts and pictures kept for share links, one file per content id: <artifacts>/shared/."""
    return artifacts_dir(artifacts) / "shared"


def db_path(db: str | Path | None = None, artifacts: str | Path | None = None) -> Path:
    """The DuckDB file: `db` if given, else <artifacts>/lens.duckdb."""
    return Path(db) if db else artifacts_dir(artifacts) / DATABASE_FILE


def data_dir(data: str | Path | None = None) -> Path | None:
    """Local datasets (<dataset>/<split>.parquet): `data`, else $LENS_DATA_DIR, else ../shared/datasets beside
    the repository when it exists; None when there is none (loaders then try the Hugging Face hub)."""
    if data:
        return Path(data)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    shared = REPO_ROOT.parent / "shared" / "datasets" if REPO_ROOT is not None else None
    return shared if shared is not None and shared.is_dir() else None


def language_model(source: str | None = None) -> str | None:
    """The KV lens's language model: `source`, else $LENS_LANGUAGE_MODEL, else None (the packaged SmolLM2)."""
    return source or os.environ.get(LANGUAGE_MODEL_ENV) or None
