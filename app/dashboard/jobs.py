"""Long jobs the dashboard starts in the background (building the demo models), followed by a file.

The job is a separate process (niced, in its own session) that writes
`{"fraction": 0..1, "message": str, "done": bool, "error": str|null}` to its progress file, and may add
`"started"` (epoch seconds) and `"skipped"` (the share of the fraction found already done) for an
estimate of the time left. Its pid lives in a file beside it, so any page, rerun or browser tab sees
the same job, and a second start while it runs is refused. Output goes to a log file beside it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import psutil

from pruning_core.paths import REPO_ROOT

DEMO_MODULE = "pipelines.demo"
_children: dict[int, subprocess.Popen] = {}      # jobs this process started, to reap them
_last_good: dict[Path, dict] = {}                # last readable progress, for half-written files
_start_lock = threading.Lock()
MIN_WORKED = 0.03   # the share done before the pace says anything about the time left


@dataclass(frozen=True)
class JobProgress:
    running: bool
    fraction: float = 0.0
    message: str = ""
    done: bool = False
    error: str | None = None
    eta_seconds: float | None = None   # the time left at the pace so far (None: not known yet)

    @property
    def state(self) -> str:
        """'idle' (never started), 'running', 'done' or 'failed'."""
        if self.running:
            return "running"
        if self.error:
            return "failed"
        return "done" if self.done else "idle"


class BackgroundJob:
    """One named job whose files live in folder: NAME.progress.json, NAME.pid, NAME.log."""

    def __init__(self, name: str, folder: Path, command: Callable[[Path], list[str]], cwd: Path = REPO_ROOT):
        self.name, self.folder, self.command, self.cwd = name, Path(folder), command, cwd
        self.progress_file = self.folder / f"{name}.progress.json"
        self.pid_file = self.folder / f"{name}.pid"
        self.log_file = self.folder / f"{name}.log"

    def start(self) -> bool:
        """Start the job unless it is already running; True when this call started it."""
        with _start_lock:
            if self.running():
                return False
            self.folder.mkdir(parents=True, exist_ok=True)
            self.progress_file.unlink(missing_ok=True)
            _last_good.pop(self.progress_file, None)
            nice = [shutil.which("nice"), "-n", "10"] if shutil.which("nice") else []
            with open(self.log_file, "wb") as log:
                process = subprocess.Popen([*nice, *self.command(self.progress_file)], cwd=self.cwd,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            _children[process.pid] = process
            self.pid_file.write_text(str(process.pid))
            return True

    def running(self) -> bool:
        pid = self._pid()
        if pid is None:
            return False
        if pid in _children:
            return _children[pid].poll() is None
        return _is_our_process(pid, self.progress_file)

    def progress(self, now: float | None = None) -> JobProgress:
        """What the progress file says, and whether the process still runs (`now`: epoch seconds, for the
        time left)."""
        running = self.running()
        saved = self._read_progress()
        if not saved and not running and not self.pid_file.exists():
            return JobProgress(running=False)
        fraction = min(1.0, max(0.0, float(saved.get("fraction") or 0.0)))
        error = saved.get("error") or None
        done = bool(saved.get("done"))
        if not running and not done and not error:
            error = f"The job stopped before it finished; its output is in {self.log_file}.{self._log_tail()}"
        started, skipped = saved.get("started"), float(saved.get("skipped") or 0.0)
        eta = (seconds_left(fraction, (time.time() if now is None else now) - started, skipped)
               if running and isinstance(started, (int, float)) else None)
        return JobProgress(running, fraction, str(saved.get("message") or "Starting…"), done and not running,
                           None if error is None else str(error), eta)

    def stop(self) -> None:
        """End the job and its children (used by tests and for a clean shutdown)."""
        pid = self._pid()
        if pid is not None and self.running():
            os.killpg(pid, 15)
            if pid in _children:
                _children.pop(pid).wait(timeout=10)

    def _pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _read_progress(self) -> dict:
        try:
            value = json.loads(self.progress_file.read_text(encoding="utf-8"))
            if isinstance(value, dict):
                _last_good[self.progress_file] = value
        except (OSError, ValueError):
            pass    # missing or half-written: show the last good reading
        return _last_good.get(self.progress_file, {})

    def _log_tail(self, lines: int = 3) -> str:
        try:
            tail = self.log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        return (" Last lines: " + " | ".join(tail)) if tail else ""


def seconds_left(fraction: float, elapsed: float, skipped: float = 0.0) -> float | None:
    """The time left if the rest goes at the pace so far: the share worked here (fraction less what was
    found already done) took `elapsed` seconds. None until MIN_WORKED of it is done, or once finished."""
    worked = fraction - skipped
    if worked < MIN_WORKED or fraction >= 1.0 or elapsed <= 0:
        return None
    return elapsed * (1.0 - fraction) / worked


def describe_left(seconds: float) -> str:
    """'less than a minute left', 'about 4 min left', 'about 1 h 20 min left'."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "less than a minute left"
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60} min left"


def progress_text(progress: JobProgress) -> str:
    """The progress bar's text: 'Training IMDb (34%, about 4 min left)'."""
    left = "" if progress.eta_seconds is None else f", {describe_left(progress.eta_seconds)}"
    return f"{progress.message} ({progress.fraction:.0%}{left})"


def _is_our_process(pid: int, progress_file: Path) -> bool:
    """A job started by another server process: alive and still the same command (pids get reused)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and str(progress_file) in process.cmdline()
    except psutil.Error:        # gone, or not ours to inspect
        return False


def demo_available(repo: Path = REPO_ROOT) -> bool:
    """Whether this checkout has the demo builder (`pipelines/demo.py`)."""
    return (repo / "pipelines" / "demo.py").is_file()


TEXT_DATASETS = ("imdb", "ag_news")   # what the Home page's build trains, IMDb first (Live text's default task)
VISION_DATASETS = ("cifar10",)        # what the Image page's build trains


def demo_command(progress_file: Path, datasets: tuple[str, ...] = TEXT_DATASETS) -> list[str]:
    """`python -m pipelines.demo --progress-file PATH --datasets ...`, through scripts/with-env for the fast
    settings."""
    python = [sys.executable, "-m", DEMO_MODULE, "--progress-file", str(progress_file), "--datasets",
              ",".join(datasets)]
    launcher = REPO_ROOT / "scripts" / "with-env"
    return [str(launcher), *python] if launcher.is_file() else python


def demo_job(artifacts: Path) -> BackgroundJob:
    """The demo-model builder, with its files in <artifacts>/jobs/."""
    # Looked up at call time, so tests can swap in a quick fake command.
    return BackgroundJob("demo", artifacts / "jobs", lambda path: demo_command(path))


def vision_demo_job(artifacts: Path) -> BackgroundJob:
    """The quick-ViT builder, beside the text demo's files in <artifacts>/jobs/."""
    return BackgroundJob("vision_demo", artifacts / "jobs", lambda path: demo_command(path, VISION_DATASETS))
