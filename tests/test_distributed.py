"""``course grade --scheduler``: the execute phase on a real Dask cluster (a scheduler and two
workers on 127.0.0.1), the same sandboxed fork-server kernels, the same grades as sequential
nbgrader; a Dask worker killed mid-run loses no submission, a kernel that dies fails alone."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course import workspace
from course.mistakes import by_name
from course.notebooks import fill_answers, notebook_path, read
from tests.test_grade import ROOT, _with_cell

pytest.importorskip("distributed")
pytestmark = pytest.mark.xdist_group("dask")
A = "ch1_perceptron"


@contextlib.contextmanager
def dask_cluster(tmp: Path, workers: int = 2):
    """``dask scheduler`` and ``dask worker`` processes, as an instructor would start them."""
    from distributed import Client

    file = tmp / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for i in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                 str(file), "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                 "--local-directory", str(tmp / f"w{i}")], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
        with Client(scheduler_file=str(file), timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
            yield client.scheduler.address, client
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def make_class(dest: Path, students: dict) -> None:
    workspace.make_course_dir(dest, [A])
    workspace.generate(dest, A)
    for student, nb in students.items():
        workspace.submit(dest, A, student, nb)


def totals(dest: Path) -> dict[str, float]:
    """{student: total score} from the course's gradebook."""
    return {student: sum(score for score, _ in cells.values())
            for student, cells in workspace.scores(dest, A).items()}


def course(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def notebooks():
    release = read(notebook_path(ROOT, "release", A))
    source = read(notebook_path(ROOT, "source", A))
    solved = fill_answers(release, source)
    wrong = fill_answers(release, source, by_name(A, "threshold with > instead of >="))
    return {"solved": solved, "blank": release, "wrong": wrong,
            "dies": _with_cell(solved, "import os\nos._exit(1)")}


def test_a_dask_cluster_grades_like_sequential_nbgrader(tmp_path, notebooks):
    ours, plain = tmp_path / "ours", tmp_path / "plain"
    class_ = {f"{kind}0": nb for kind, nb in notebooks.items()}  # four, on two Dask workers
    make_class(ours, class_)
    make_class(plain, class_)
    with dask_cluster(tmp_path) as (address, _):
        proc = course("--root", str(ours), "grade", "--scheduler", address)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Dask cluster {address}" in proc.stdout
    workspace.autograde(plain, A)
    expected, got = totals(plain), totals(ours)
    for student in class_:
        if student.startswith("dies"):
            assert "kernel died" in proc.stdout.split(student, 1)[1].splitlines()[0]
        else:
            assert got[student] == expected[student], student
    assert got["solved0"] == 30.0 and got["blank0"] == 0.0 and got["wrong0"] < 30.0
    assert (ours / "feedback" / "solved0" / A / f"{A}.html").exists()
    assert "solved0" in (ours / "grades.csv").read_text()


def test_a_dask_worker_killed_mid_run_loses_no_submission(tmp_path, notebooks):
    dest = tmp_path / "class"
    class_ = {f"student{i}": notebooks["solved" if i % 2 else "wrong"] for i in range(8)}
    make_class(dest, class_)
    with dask_cluster(tmp_path) as (address, client):
        pids = client.run(os.getpid)
        killed = []

        def kill_a_busy_worker():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:  # a worker is grading: end it without warning
                    time.sleep(2)
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                    return
                time.sleep(0.2)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        proc = course("--root", str(dest), "grade", "--scheduler", address)
        killer.join()
    assert killed, "no worker was ever busy"
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = totals(dest)
    assert len(scores) == 8, proc.stdout[-3000:] + proc.stderr[-2000:]
    for i in range(8):
        assert (scores[f"student{i}"] == 30.0) == bool(i % 2), scores


def test_a_cluster_without_the_sandbox_is_refused(tmp_path, notebooks, monkeypatch):
    dest = tmp_path / "class"
    make_class(dest, {"solved": notebooks["solved"]})
    path = [p for p in os.environ["PATH"].split(os.pathsep)
            if not (Path(p) / "bwrap").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), *path]))
    assert shutil.which("bwrap") is None
    with dask_cluster(tmp_path, workers=1) as (address, _):  # its workers inherit the PATH
        proc = course("--root", str(dest), "grade", "--scheduler", address)
    assert proc.returncode != 0
    assert "cannot start on Dask worker" in proc.stderr + proc.stdout
