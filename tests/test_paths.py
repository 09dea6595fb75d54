"""Every default path comes from pruning_core.paths, and the environment overrides it."""
from __future__ import annotations

from pruning_core import paths


def test_artifacts_models_and_database_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LENS_ARTIFACTS", str(tmp_path / "a"))
    assert paths.artifacts_dir() == tmp_path / "a"
    assert paths.models_dir() == tmp_path / "a" / "models"
    assert paths.db_path() == tmp_path / "a" / "lens.duckdb"
    assert paths.db_path(tmp_path / "x.duckdb") == tmp_path / "x.duckdb"            # an explicit file wins
    assert paths.db_path(None, tmp_path / "b") == tmp_path / "b" / "lens.duckdb"     # so does an explicit folder


def test_a_checkout_keeps_artifacts_in_the_repository_and_an_installed_copy_in_the_working_directory(
        tmp_path, monkeypatch):
    monkeypatch.delenv("LENS_ARTIFACTS", raising=False)
    assert paths.REPO_ROOT is not None and (paths.REPO_ROOT / "pyproject.toml").is_file()
    assert paths.artifacts_dir() == paths.REPO_ROOT / "artifacts"
    monkeypatch.setattr(paths, "REPO_ROOT", None)
    monkeypatch.chdir(tmp_path)
    assert paths.artifacts_dir() == tmp_path / "artifacts"
    monkeypatch.delenv("LENS_DATA_DIR", raising=False)
    assert paths.data_dir() is None                         # no ../shared/datasets without a checkout


def test_data_directory_from_the_argument_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path / "env"))
    assert paths.data_dir() == tmp_path / "env"
    assert paths.data_dir(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("LENS_DATA_DIR")
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "repo")
    assert paths.data_dir() is None                               # no ../shared/datasets beside this "repository"
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    assert paths.data_dir() == tmp_path / "shared" / "datasets"
