"""``course grade`` with the gradebook on a real PostgreSQL server.

The test starts a throwaway server (Debian's ``postgresql`` binaries, installed by
``.ci/run``) on a free local port and skips cleanly when it cannot.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course import workspace
from course.mistakes import by_name
from course.notebooks import course_root, fill_answers, notebook_path, read

pytestmark = pytest.mark.xdist_group("postgres")  # one worker: module fixtures run once

A = "ch1_perceptron"


def _as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:  # the server refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        pytest.skip("PostgreSQL server binaries are not installed")
    initdb, pg_ctl = f"{bins[-1]}/initdb", f"{bins[-1]}/pg_ctl"
    # not under pytest's tmp_path: its parents are private to root, and the server runs as
    # the postgres user, who must reach the data directory
    home = Path(tempfile.mkdtemp(prefix="course-pg-"))
    data = home / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
    made = _as_postgres([initdb, "-D", str(data), "--auth=trust", "-U", "postgres"])
    if made.returncode:
        shutil.rmtree(home, ignore_errors=True)
        pytest.skip(f"initdb failed, no PostgreSQL cluster can be created here: "
                    f"{made.stderr[-300:]}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = _as_postgres([pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w", "-o",
                            f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"])
    if started.returncode:
        shutil.rmtree(home, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {started.stderr[-300:]}")
    try:
        created = _as_postgres([f"{bins[-1]}/createdb", "-h", "127.0.0.1", "-p", str(port),
                                "-U", "postgres", "gradebook"])
        assert created.returncode == 0, created.stderr
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(home, ignore_errors=True)


def test_course_grade_writes_a_postgresql_gradebook(postgres_url, tmp_path):
    dest = workspace.make_course_dir(tmp_path / "course", [A])
    with open(dest / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    release = read(workspace.generate(dest, A))
    assert not (dest / "gradebook.db").exists()  # the assignment went to PostgreSQL
    source = read(notebook_path(course_root(), "source", A))
    workspace.submit(dest, A, "solved", fill_answers(release, source))
    workspace.submit(dest, A, "wrong", fill_answers(release, source, by_name(
        A, "threshold with > instead of >=", "AND_NOT with the inputs swapped")))
    workspace.submit(dest, A, "blank", release)
    proc = subprocess.run([sys.executable, "-m", "course", "--root", str(dest), "grade",
                           "--workers", "2"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    totals = {s: sum(v for v, _ in cells.values())
              for s, cells in workspace.scores(dest, A, postgres_url).items()}
    assert totals == {"solved": 30.0, "wrong": 26.0, "blank": 0.0}
    assert not (dest / "gradebook.db").exists()
    assert Path(dest / "grades.csv").read_text().count(A) == 3


def test_a_run_killed_then_run_again_ends_as_an_uninterrupted_run(postgres_url, tmp_path):
    """As ``tests/test_crash.py`` on sqlite: the same outcome after a SIGKILL mid-run and a
    second run, with the gradebook on PostgreSQL (one database per copy of the class)."""
    from tests.test_crash import killed_then_graded_again, make_class

    server = postgres_url.rsplit("/", 1)[0]
    port = server.rsplit(":", 1)[1]
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))

    def make(root: Path) -> str:
        name = f"crash_{root.name.replace('-', '_').replace('.', '_')}"
        made = _as_postgres([f"{bins[-1]}/createdb", "-h", "127.0.0.1", "-p", port,
                             "-U", "postgres", name])
        assert made.returncode == 0, made.stderr
        make_class(root, f"{server}/{name}")
        return f"{server}/{name}"

    killed_then_graded_again(tmp_path, (0.6,), make)
