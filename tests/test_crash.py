"""``course grade`` killed with SIGKILL at any moment, then run again, ends exactly where an
uninterrupted run ends: the same scores in the gradebook, ``grades.csv``, feedback pages and
run record, nothing lost and nothing counted twice (issue 30). The manifest of what a rerun
may skip is the run's last write, and every file a run records is replaced atomically."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import workspace
from course.mistakes import by_name
from course.notebooks import fill_answers, notebook_path, read
from tests.test_grade import ROOT, A, _with_cell

pytestmark = pytest.mark.xdist_group("crash")


def make_class(dest: Path, db_url: str | None = None) -> None:
    """Five students of ch1 (full marks, blank, a kernel that dies, two mistakes) in a new
    course at ``dest``, its gradebook at ``db_url`` (default: sqlite in the course)."""
    workspace.make_course_dir(dest, [A])
    if db_url:
        with open(dest / "nbgrader_config.py", "a") as fh:
            fh.write(f"\nc.CourseDirectory.db_url = {db_url!r}\n")
    release = read(workspace.generate(dest, A))
    source = read(notebook_path(ROOT, "source", A))
    solved = fill_answers(release, source)
    for student, nb in {
        "ada": solved, "bob": release, "cy": _with_cell(solved, "import os\nos._exit(1)"),
        "dee": fill_answers(release, source, by_name(A, "threshold with > instead of >=")),
        "eve": fill_answers(release, source, by_name(A, "AND_NOT with the inputs swapped")),
    }.items():
        workspace.submit(dest, A, student, nb)


def _grade(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "course", "--root", str(root), "grade",
                             "--workers", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _outcome(root: Path, db_url: str | None = None) -> dict:
    """What a run leaves that counts, without what varies between two identical runs (the
    seconds a submission took, which worker took it)."""
    with open(root / "grades.csv") as fh:
        grades = sorted((r["student_id"], r["raw_score"], r["score"], r["max_score"])
                        for r in csv.DictReader(fh))
    record = json.loads((root / "reports" / "grade_run.json").read_text()
                        .replace(str(root), "<course>"))
    record = {k: {f: v for f, v in r.items() if f not in ("seconds", "worker", "digest")}
              for k, r in record.items()}
    # a page's text: how a cell's printed lines were split into output blocks depends on
    # when the kernel flushed them, in any two runs
    pages = {str(p.relative_to(root)): " ".join(re.sub(
        r"<[^>]*>|\d{4}-\d\d-\d\d[ T][\d:.]+", " ", p.read_text()).split())
        for p in sorted((root / "feedback").rglob("*.html"))}
    return {"gradebook": workspace.scores(root, A, db_url), "grades.csv": grades,
            "record": record, "feedback": pages}


def killed_then_graded_again(tmp_path: Path, fractions, make) -> None:
    """Grade a class made by ``make(root)`` (then ``make(root)`` returns its gradebook URL or
    None) once uninterrupted, then once per fraction killed after that fraction of the
    uninterrupted run's time and run again: every outcome must equal the first."""
    whole = tmp_path / "whole"
    url = make(whole)
    start = time.monotonic()
    assert _grade(whole).wait(timeout=600) == 0
    seconds = time.monotonic() - start
    expected = _outcome(whole, url)
    assert {g[0]: g[1] for g in expected["grades.csv"]} == {
        "ada": "30.0", "bob": "0.0", "cy": "0.0", "dee": "28.0", "eve": "28.0"}
    for fraction in fractions:
        root = tmp_path / f"killed-at-{fraction}"
        url = make(root)
        proc = _grade(root)
        time.sleep(fraction * seconds)
        os.kill(proc.pid, signal.SIGKILL)  # course grade alone: its workers follow it
        proc.wait()
        assert _grade(root).wait(timeout=600) == 0, fraction
        got = _outcome(root, url)
        for part in expected:  # one part at a time, for a readable failure
            if part == "record":
                for key, want in expected["record"].items():
                    diff = {f: (v, got["record"].get(key, {}).get(f)) for f, v in want.items()
                            if got["record"].get(key, {}).get(f) != v}
                    assert not diff, (fraction, key, diff)
            assert got[part] == expected[part], (fraction, part)


def test_a_run_killed_at_any_moment_then_run_again_ends_as_an_uninterrupted_run(tmp_path):
    make_class(tmp_path / "pristine")

    def copy(root: Path) -> None:  # the sqlite gradebook is a file of the course: copied
        shutil.copytree(tmp_path / "pristine", root, symlinks=True)

    # while executing, while scoring, near the end
    killed_then_graded_again(tmp_path, (0.35, 0.7, 0.95), copy)
