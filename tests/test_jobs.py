"""The background job runner the Home page uses to build demo models, driven by a fake command."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from dashboard import jobs

# A stand-in for `python -m pipelines.demo --progress-file PATH`: reports halfway, waits until the test
# creates the release file, then reports done (or an error, or dies, as asked).
FAKE = """
import json, pathlib, sys, time
progress, release, ending = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
progress.write_text(json.dumps({"fraction": 0.5, "message": "Training IMDb", "done": False, "error": None}))
while not release.exists():
    time.sleep(0.05)
if ending == "crash":
    print("something broke"); sys.exit(3)
error = "out of disk" if ending == "error" else None
progress.write_text(json.dumps({"fraction": 1.0, "message": "Finished", "done": error is None, "error": error}))
"""


def fake_job(folder: Path, ending: str = "done") -> tuple[jobs.BackgroundJob, Path]:
    release = folder / "release"
    job = jobs.BackgroundJob("demo", folder / "jobs",
                             lambda progress: [sys.executable, "-c", FAKE, str(progress), str(release), ending])
    return job, release


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def cleanup():
    started = []
    yield started
    for job in started:
        job.stop()


def test_a_job_reports_progress_then_done_and_is_never_started_twice(tmp_path, cleanup):
    job, release = fake_job(tmp_path)
    cleanup.append(job)
    assert job.progress().state == "idle"
    assert job.start() is True
    assert job.start() is False                                   # running: refused
    assert jobs.BackgroundJob("demo", tmp_path / "jobs", job.command).start() is False   # another page's view
    wait_until(lambda: job.progress().message == "Training IMDb")
    progress = job.progress()
    assert progress.state == "running" and progress.fraction == 0.5
    release.touch()
    wait_until(lambda: not job.running())
    assert job.progress().state == "done" and job.progress().fraction == 1.0


def test_a_job_that_reports_an_error_shows_it(tmp_path, cleanup):
    job, release = fake_job(tmp_path, "error")
    cleanup.append(job)
    release.touch()
    job.start()
    wait_until(lambda: not job.running())
    assert job.progress().state == "failed" and job.progress().error == "out of disk"


def test_a_job_that_dies_silently_is_reported_with_its_log(tmp_path, cleanup):
    job, release = fake_job(tmp_path, "crash")
    cleanup.append(job)
    release.touch()
    job.start()
    wait_until(lambda: not job.running())
    progress = job.progress()
    assert progress.state == "failed" and "stopped before it finished" in progress.error
    assert "something broke" in progress.error


def test_a_half_written_progress_file_shows_the_last_good_reading(tmp_path, cleanup):
    job, release = fake_job(tmp_path)
    cleanup.append(job)
    job.start()
    wait_until(lambda: job.progress().fraction == 0.5)
    job.progress_file.write_text('{"fraction": 0.7, "mess')        # the writer is mid-way
    assert job.progress().fraction == 0.5
    release.touch()


def test_a_stale_pid_file_does_not_block_a_new_start(tmp_path, cleanup):
    job, release = fake_job(tmp_path)
    cleanup.append(job)
    job.folder.mkdir(parents=True)
    job.pid_file.write_text("999999999")                           # no such process
    assert not job.running() and job.start() is True
    release.touch()


def test_the_demo_command_runs_the_pipelines_demo_module(tmp_path):
    command = jobs.demo_command(tmp_path / "p.json")
    assert command[-6:] == ["-m", "pipelines.demo", "--progress-file", str(tmp_path / "p.json"), "--datasets",
                            "imdb,ag_news"]
    assert jobs.demo_job(tmp_path).progress_file == tmp_path / "jobs" / "demo.progress.json"
    assert jobs.demo_available(tmp_path) is False
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "demo.py").write_text("")
    assert jobs.demo_available(tmp_path) is True


def test_progress_reads_whatever_the_builder_wrote(tmp_path):
    job = jobs.BackgroundJob("demo", tmp_path, lambda progress: [])
    job.progress_file.write_text(json.dumps({"fraction": 1.0, "message": "ok", "done": True, "error": None}))
    assert job.progress().state == "done"


def test_a_job_started_by_another_server_process_is_seen_running(tmp_path, cleanup):
    """Another Streamlit process (or a restarted one) started the job: only its pid file and command line tell."""
    job, release = fake_job(tmp_path)
    cleanup.append(job)
    job.start()
    wait_until(lambda: job.progress().fraction == 0.5)
    pid = int(job.pid_file.read_text())
    other_server = jobs.BackgroundJob(job.name, job.folder, job.command)
    process = jobs._children.pop(pid)          # as if this process had not started it
    try:
        assert other_server.running() and other_server.progress().state == "running"
        assert not other_server.start()        # never started twice
        job.pid_file.write_text(str(os.getpid()))   # a reused pid: alive, but another command
        assert not other_server.running()
    finally:
        job.pid_file.write_text(str(pid))
        jobs._children[pid] = process
        release.touch()
