"""The Home page's progress bar for a running build says how much time is left (Streamlit's AppTest)."""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import jobs

HOME = str(Path(__file__).resolve().parents[1] / "app" / "Home.py")

# A build that started 3000 s ago and is a quarter done: about 9000 s (2 h 30 min) to go at that pace.
FAKE_BUILD = """
import json, pathlib, sys, time
progress = pathlib.Path(sys.argv[1])
progress.write_text(json.dumps({"fraction": 0.25, "message": "IMDb: training baseline, step 30 of 120",
                                "done": False, "error": None, "started": time.time() - 3000, "skipped": 0.0}))
while not (progress.parent / "release").exists():
    time.sleep(0.05)
"""


def test_the_progress_bar_shows_the_time_left(artifacts, monkeypatch):
    monkeypatch.setattr(jobs, "demo_available", lambda repo=None: True)
    monkeypatch.setattr(jobs, "demo_command", lambda progress, datasets=(): [sys.executable, "-c", FAKE_BUILD,
                                                                             str(progress)])
    job = jobs.demo_job(artifacts)
    try:
        job.start()
        deadline = time.monotonic() + 30
        while not job.progress().message.startswith("IMDb"):
            assert time.monotonic() < deadline, "the fake build never reported"
            time.sleep(0.05)
        app = AppTest.from_file(HOME, default_timeout=60).run()
        assert not app.exception, app.exception
        bar = app.get("progress")[0].proto
        assert bar.value == 25
        assert re.fullmatch(r"IMDb: training baseline, step 30 of 120 \(25%, about 2 h 3\d min left\)", bar.text), bar.text
    finally:
        (job.folder / "release").touch()
        job.stop()
