"""Same grades on a busy machine, and through a kernel that does not start (issue 30).

A cell's limit is its CPU time (the kernel's and its children's, counted by the fork
server); wall time is only a backstop five times larger, and a grading that the machinery
stopped (a kernel that did not start, a backstop reached without the CPU limit) is graded
again. So a class graded beside busy processes gets the grades of an idle run, and a loop
still costs only its own cell, interrupted at its CPU limit and named in the run record.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course import workspace
from course.mistakes import by_name
from course.notebooks import fill_answers, notebook_path, read
from tests.test_grade import ROOT, A, _with_cell, course

pytestmark = pytest.mark.xdist_group("load")

# about 4 s of one core's work: within a 6 s CPU limit for a cell, but more than 15 s of
# wall time once busy processes take most of the machine (the old wall-clock limit)
SLOW = "import time\nend = time.process_time() + 4\nwhile time.process_time() < end:\n    pass"
LOOP = "# an endless loop\nwhile True:\n    pass"
# a loop that shrugs off the interrupt: past twice the limit its kernel is ended
STUBBORN = ("# a stubborn loop\nwhile True:\n    try:\n        while True:\n            pass\n"
            "    except KeyboardInterrupt:\n        pass")


def _class(dest: Path, students=("solved", "slow", "loops", "wrong", "stubborn")) -> None:
    workspace.make_course_dir(dest, [A])
    release = read(workspace.generate(dest, A))
    solved = fill_answers(release, read(notebook_path(ROOT, "source", A)))
    wrong = fill_answers(release, read(notebook_path(ROOT, "source", A)),
                         by_name(A, "threshold with > instead of >="))
    for student, nb in {"solved": solved, "slow": _with_cell(solved, SLOW),
                        "loops": _with_cell(solved, LOOP), "wrong": wrong,
                        "stubborn": _with_cell(solved, STUBBORN)}.items():
        if student in students:
            workspace.submit(dest, A, student, nb)


@contextlib.contextmanager
def busy(processes: int):
    """``processes`` processes that keep a core busy each, until the block ends."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
            for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def _graded(dest: Path, *extra: str, env: dict | None = None) -> dict:
    proc = course("--root", str(dest), "grade", "--workers", "2", "--cell-cpu", "6", *extra,
                  env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads((dest / "reports" / "grade_run.json").read_text())
    return {k.split("/")[1]: (r["status"], r["score"], r["reason"]) for k, r in record.items()}, \
        record


def test_a_class_graded_beside_busy_processes_gets_the_idle_grades(tmp_path):
    _class(tmp_path / "idle")
    # beside the busy processes: the submissions whose grade hangs on time (the stubborn loop's
    # verdict is CPU time as well, but it costs 12 s of a core and is checked idle)
    _class(tmp_path / "busy", ("solved", "slow", "loops"))
    idle, record = _graded(tmp_path / "idle")
    stubborn = idle.pop("stubborn")
    assert idle == {"solved": ("graded", 30.0, ""), "slow": ("graded", 30.0, ""),
                    "loops": ("graded", 30.0, ""), "wrong": ("graded", 28.0, "")}, idle
    assert stubborn[0] == "failed" and re.fullmatch(
        r"cell \d+ \('# a stubborn loop'\) went on past twice the CPU limit of one cell after "
        r"it was interrupted \(1[2-4]\.\d s; limit 6 s, the kernel and all it started\)",
        stubborn[2]), stubborn
    (note,) = record[f"{A}/loops"]["notes"]
    assert note.startswith("cell ") and "('# an endless loop') was interrupted after 6." in note
    idle_seconds = record[f"{A}/slow"]["seconds"]
    with busy(4):  # on 2 cores
        loaded, record = _graded(tmp_path / "busy")
    assert loaded == {s: idle[s] for s in ("solved", "slow", "loops")}, (loaded, idle)
    # beside busy processes a kernel may be slow to start: then it is graded again (noted)
    (busy_note,) = [n for n in record[f"{A}/loops"]["notes"] if "interrupted" in n]
    assert busy_note.split(" after ")[0] == note.split(" after ")[0]
    assert all(n.startswith("graded again (attempt 2): ") for r in record.values()
               for n in r["notes"] if "interrupted" not in n and "kernel server" not in n)
    # the slow student's notebook took longer on the busy machine, and nothing changed
    print(f"slow notebook: {idle_seconds:.1f} s idle, {record[f'{A}/slow']['seconds']:.1f} s "
          "beside 4 busy processes")


def test_a_kernel_that_does_not_start_is_graded_again(tmp_path):
    _class(tmp_path)
    env = dict(os.environ, COURSE_TEST_KERNEL_START_FAULTS="1")  # each worker's first kernel
    grades, record = _graded(tmp_path, env=env)
    assert {s: g[:2] for s, g in grades.items()} == {
        "solved": ("graded", 30.0), "slow": ("graded", 30.0), "loops": ("graded", 30.0),
        "wrong": ("graded", 28.0), "stubborn": ("failed", 0.0)}, grades
    retried = {k: r["notes"][0] for k, r in record.items() if r["attempts"]}
    assert len(retried) == 2, record  # one per worker
    assert all(n.startswith("graded again (attempt 2): the kernel did not start")
               for n in retried.values()), retried


def test_every_failure_has_a_reason_an_instructor_can_act_on(tmp_path):
    from course.grading.execute.worker import machinery_failure
    from course.grading.submission import Options, reason_from_log

    nbgrader_log = ("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                    "ValueError: the notebook has no cell with id 'sigmoid_tests'\n"
                    "nbgrader.converters.base.NbGraderException: Please see the the above "
                    "traceback for details")
    assert reason_from_log(nbgrader_log) == (
        "ValueError: the notebook has no cell with id 'sigmoid_tests'")
    assert "see the" not in reason_from_log("NbGraderException: Please see the above traceback")
    assert reason_from_log("DeadKernelError: Kernel died").startswith("the kernel died")
    # the machinery's failures, told apart from the submission's own, for a second grading
    report = tmp_path / "report.jsonl"
    opts = Options(cell_cpu=15)
    assert machinery_failure("ValueError: bad", report, opts) == ""
    assert machinery_failure("RuntimeError: Kernel didn't respond in 60 seconds", report,
                             opts).startswith("the kernel did not start (it did not answer)")
    report.write_text(json.dumps({"error": "cannot start the kernel: fork refused"}) + "\n")
    assert "fork refused" in machinery_failure("", report, opts)
    report.unlink()
    assert machinery_failure("nbclient.exceptions.CellTimeoutError: ...", report, opts) == (
        "a cell ran past its wall-time backstop (75 s) without reaching its CPU limit (15 s): "
        "a busy machine, or a cell that sleeps or waits")
