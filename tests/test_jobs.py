"""The background job runner the Home page uses to build demo models, driven by a fake command."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from dashboard import jobs

# A stand-in for `python -m pipelines.demo --progress-file PATH`: reports halfway (with any extra keys given),
# waits until the test creates the release file, then reports done (or an error, or dies, as asked).
FAKE = """
import json, pathlib, sys, time
progress, release, ending = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
progress.write_text(json.dumps({"fraction": 0.5, "message": "Training IMDb", "done": False, "error": None, **extra}))
while not release.exists():
    time.sleep(0.05)
if ending == "crash":
    print("something broke"); sys.exit(3)
error = "out of disk" if ending == "error" else None
progress.write_text(json.dumps({"fraction": 1.0, "message": "Finished", "done": error is None, "error": error}))
"""


def fake_job(folder: Path, ending: str = "done", **extra) -> tuple[jobs.BackgroundJob, Path]:
    release = folder / "release"
    job = jobs.BackgroundJob("demo", folder / "jobs", lambda progress: [sys.executable, "-c", FAKE, str(progress),
                                                                       str(release), ending, json.dumps(extra)])
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


def test_a_running_job_estimates_the_time_left_from_the_work_done_so_far(tmp_path, cleanup):
    # Started 100 s ago; half done, of which 0.1 was found already done: 0.4 took 100 s, 0.5 is left.
    job, release = fake_job(tmp_path, started=1_000.0, skipped=0.1)
    cleanup.append(job)
    job.start()
    wait_until(lambda: job.progress().fraction == 0.5)
    progress = job.progress(now=1_100.0)
    assert progress.eta_seconds == pytest.approx(125.0)
    assert jobs.progress_text(progress) == "Training IMDb (50%, about 2 min left)"
    release.touch()
    wait_until(lambda: not job.running())
    assert job.progress(now=1_200.0).eta_seconds is None, "finished: nothing left to estimate"


def test_a_job_that_does_not_say_when_it_started_shows_no_estimate(tmp_path, cleanup):
    job, release = fake_job(tmp_path)
    cleanup.append(job)
    job.start()
    wait_until(lambda: job.progress().fraction == 0.5)
    assert job.progress().eta_seconds is None and jobs.progress_text(job.progress()) == "Training IMDb (50%)"
    release.touch()


def test_time_left_arithmetic():
    assert jobs.seconds_left(0.25, elapsed=60) == pytest.approx(180)
    assert jobs.seconds_left(0.6, elapsed=60, skipped=0.5) == pytest.approx(240), "only the work done here counts"
    assert jobs.seconds_left(0.02, elapsed=60) is None, "too little done to know the pace"
    assert jobs.seconds_left(0.52, elapsed=60, skipped=0.5) is None, "skipped work says nothing about the pace"
    assert jobs.seconds_left(1.0, elapsed=60) is None and jobs.seconds_left(0.5, elapsed=0) is None
    assert [jobs.describe_left(s) for s in (20, 29, 31, 240, 5369, 5400, 4 * 3600 + 20 * 60)] == [
        "less than a minute left", "less than a minute left", "about 1 min left", "about 4 min left",
        "about 89 min left", "about 1 h 30 min left", "about 4 h 20 min left"]
