"""The one command line (`lens`, pipelines/cli.py) and the one start-up (pruning_core.runtime, scripts/with-env)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import cli
from pruning_core import runtime

ROOT = Path(__file__).resolve().parents[1]
LENS = Path(sys.executable).parent / "lens"   # the console script pip installed beside this Python


def test_lens_is_installed_and_lists_every_command():
    done = subprocess.run([str(LENS), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for name in ("demo", "train", "trace", "analyze", "benchmark", "faithfulness", "findings", "results", "app",
                 "bench"):
        assert f"\n    {name}" in done.stdout, name
    assert "Baseline fine-tuning" in done.stdout, "a command's help is its module's first sentence"


def test_python_dash_m_pipelines_is_lens_too():
    done = subprocess.run([sys.executable, "-m", "pipelines", "bench", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in ("text", "vision", "live", "store"))


def test_a_command_gets_the_rest_of_the_line_and_its_help_reads_lens(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--help"])
    assert stop.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: lens train") and "--dataset" in help_text and "--profile" in help_text


def test_arguments_reach_the_module_main_unchanged(monkeypatch):
    from benchmarks import text_speed
    seen = []
    monkeypatch.setattr(text_speed, "main", lambda argv: seen.append((list(argv), sys.argv[0])))
    argv_before = sys.argv[:]
    cli.main(["bench", "text", "--rounds", "2", "--json", "--", "-x"])
    assert seen == [(["--rounds", "2", "--json", "--", "-x"], "lens bench text")]
    assert sys.argv == argv_before


@pytest.mark.parametrize("argv, message", [
    (["nope"], "invalid choice: 'nope'"),
    ([], "required: COMMAND"),
    (["bench", "nope"], "invalid choice: 'nope' (choose from 'text', 'vision', 'live', 'store')"),
])
def test_an_unknown_or_missing_command_is_refused_with_the_choices(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "usage: lens" in error


def test_lens_app_runs_streamlit_on_the_installed_app_package(monkeypatch):
    started = []
    monkeypatch.setattr(os, "execv", lambda program, args: started.append((program, args)))
    cli.main(["app", "--server.port", "8765"])
    home = ROOT / "app" / "Home.py"
    assert started == [(sys.executable, [sys.executable, "-m", "streamlit", "run", str(home), "--server.port", "8765"])]
    assert home.is_file()


def test_the_start_up_hook_re_executes_only_a_python_dash_m_start(monkeypatch):
    """While `python -m pipelines.X` imports its package, sys.argv[0] is "-m": then, and only then, the process
    re-executes itself with fast malloc (tests, notebooks and the dashboard import the package unchanged)."""
    calls = []
    monkeypatch.setattr(os, "execv", lambda program, args: calls.append((program, args)))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setattr(sys, "argv", ["/some/test.py"])
    runtime.fast_malloc_for_commands()
    assert calls == [] and "GLIBC_TUNABLES" not in os.environ
    monkeypatch.setattr(sys, "argv", ["-m"])
    runtime.fast_malloc_for_commands()
    assert calls == [(sys.executable, [sys.executable, *sys.orig_argv[1:]])]
    assert os.environ["GLIBC_TUNABLES"] == runtime.FAST_MALLOC


def test_with_env_takes_the_fast_malloc_value_from_runtime(tmp_path):
    """One home for the value: a copy of scripts/with-env beside a runtime.py with another value exports that one."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "pruning_core").mkdir()
    shutil.copy2(ROOT / "scripts" / "with-env", tmp_path / "scripts" / "with-env")
    (tmp_path / "pruning_core" / "runtime.py").write_text('FAST_MALLOC = "glibc.malloc.mmap_threshold=1234"\n')
    environment = {key: value for key, value in os.environ.items() if key != "GLIBC_TUNABLES"}
    done = subprocess.run([str(tmp_path / "scripts" / "with-env"), "printenv", "GLIBC_TUNABLES"],
                          env={**environment, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "glibc.malloc.mmap_threshold=1234"
    real = subprocess.run([str(ROOT / "scripts" / "with-env"), "printenv", "GLIBC_TUNABLES"],
                          env={**environment, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=30)
    assert real.stdout.strip() == runtime.FAST_MALLOC


def test_no_module_outside_tests_edits_sys_path_or_imports_late():
    """The start-up lives in the packages' __init__, and the app is a package: no `sys.path` edits and no
    `noqa: E402` in the library, the pipelines, the benchmarks or the app."""
    offenders = [f"{path.relative_to(ROOT)}:{number}" for part in ("pruning_core", "pipelines", "benchmarks", "app")
                 for path in sorted((ROOT / part).rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "noqa: E402" in line or "sys.path.insert" in line or "sys.path.append" in line]
    assert offenders == []
