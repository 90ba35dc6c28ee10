"""``course demo``: grade a simulated class end to end with nbgrader.

In a scratch course directory (default ``demo_course/``, ignored by git) it generates
the release, writes one submission per simulated student, autogrades them one by one
with a progress bar, generates feedback, exports ``grades.csv`` and prints a table
comparing each student's score with the score the simulation expects.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from . import workspace
from .mistakes import MISTAKES, Mistake
from .notebooks import (
    CourseError,
    fill_answers,
    grade_id,
    is_answer,
    is_tests,
    notebook_path,
    points_by_tests_cell,
    read,
)


@dataclass
class Student:
    id: str
    kind: str
    expected: float | None  # None: the notebook cannot be graded at all
    nb: object = None
    raw: str | None = None


def tests_after(nb, answer_id: str) -> list[str]:
    """The tests cells between an answer cell and the next answer cell."""
    found, inside = [], False
    for cell in nb.cells:
        if is_answer(cell):
            inside = grade_id(cell) == answer_id
        elif inside and is_tests(cell):
            found.append(grade_id(cell))
    return found


def simulated_class(source, release, assignment: str) -> list[Student]:
    points = points_by_tests_cell(source)
    total = sum(points.values())
    mistakes = MISTAKES.get(assignment, [])
    chosen: list[Mistake] = []
    for m in mistakes:  # two mistakes in different answer cells
        if len(chosen) < 2 and all(m.cell != c.cell for c in chosen):
            chosen.append(m)
    lost = {g for m in chosen for g in m.fails}
    answers = [grade_id(c) for c in source.cells if is_answer(c)]
    broken_cell = next((a for a in reversed(answers) if len(tests_after(source, a)) == 1),
                       answers[-1])
    broken_tests = set(tests_after(source, broken_cell))
    dropped = next(g for g in points if g not in broken_tests)
    broken = fill_answers(release, source, drop_cells=[dropped])
    for cell in broken.cells:
        if grade_id(cell) == broken_cell:
            cell.source = cell.source.replace("def ", "def (", 1)  # a syntax error
    broken.cells.append(nbformat.v4.new_code_cell("raise SystemExit(1)"))
    return [
        Student("ada", "correct", total, fill_answers(release, source)),
        Student("ben", "partly wrong: " + "; ".join(m.name for m in chosen),
                total - sum(points[g] for g in lost), fill_answers(release, source, chosen)),
        Student("cai", "blank (the release as handed out)", 0.0, release),
        Student("dee", f"broken: syntax error in {broken_cell}, deleted {dropped}, sys.exit",
                total - sum(points[g] for g in broken_tests), broken),
        Student("eve", "corrupt file (not JSON)", None, raw='{"cells": [ this is not json'),
    ]


def run_demo(root: Path, names: list[str], course_dir: Path, log=print) -> bool:
    """Run the demo; return True when every student got the expected score."""
    if course_dir.exists():
        shutil.rmtree(course_dir)
    workspace.make_course_dir(course_dir, names, root)
    all_ok = True
    for name in names:
        log(f"\n== {name}: generating the release with nbgrader")
        release = read(workspace.generate(course_dir, name))
        source = read(notebook_path(root, "source", name))
        students = simulated_class(source, release, name)
        for s in students:
            workspace.submit(course_dir, name, s.id, nb=s.nb, raw=s.raw)
        failures = {}
        for s in tqdm(students, desc=f"autograding {name}", unit="student"):
            problem = unreadable(course_dir, name, s.id)
            if problem:  # on the roll with no submission: exported with a score of 0
                failures[s.id] = problem
                workspace.nbgrader(course_dir, "db", "student", "add", s.id)
                continue
            proc = workspace.autograde(course_dir, name, s.id)
            if proc.returncode != 0:
                failures[s.id] = _reason(proc.stdout + proc.stderr)
        log("generating feedback and exporting grades.csv")
        workspace.nbgrader(course_dir, "generate_feedback", name, "--force", check=False)
        workspace.nbgrader(course_dir, "export", "--to", "grades.csv")
        got = workspace.scores(course_dir, name)
        all_ok &= _print_table(name, students, got, failures, points_by_tests_cell(source), log)
    csv_path = course_dir / "grades.csv"
    with open(csv_path) as fh:
        rows = list(csv.DictReader(fh))
    log(f"\ngrades.csv: {len(rows)} rows -> {csv_path}")
    log(f"feedback:   {course_dir / 'feedback'}")
    return all_ok


def unreadable(course_dir: Path, assignment: str, student: str) -> str | None:
    """Why a submitted notebook cannot be read as a notebook, or None if it can."""
    path = course_dir / "submitted" / student / assignment / f"{assignment}.ipynb"
    try:
        nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        return f"no {path.name} in the submission"
    except Exception as exc:  # noqa: BLE001 -- any parse failure is reported, not raised
        return f"not a valid notebook file ({type(exc).__name__}: {str(exc)[:60]})"
    return None


def _reason(output: str) -> str:
    for line in output.splitlines():
        if "Error" in line or "error" in line:
            return line.strip()[:100]
    return "nbgrader could not grade this submission"


def _print_table(name, students, got, failures, points, log) -> bool:
    total = sum(points.values())
    ok_all = True
    log(f"\n{'student':<8}{'score':>8}{'expected':>10}  ok  what they submitted")
    for s in students:
        cells = got.get(s.id)
        if s.expected is None:
            ok = s.id in failures or not cells
            score = "-"
        else:
            score_value = sum(v for v, _ in (cells or {}).values())
            ok = cells is not None and abs(score_value - s.expected) < 1e-9
            score = f"{score_value:g}/{total:g}"
        ok_all &= ok
        expected = "ungraded" if s.expected is None else f"{s.expected:g}"
        log(f"{s.id:<8}{score:>8}{expected:>10}  {'yes' if ok else 'NO':<3} {s.kind}")
        if cells:
            missed = [g for g, (v, m) in cells.items() if v < m]
            if missed and s.expected:
                log(f"{'':<30}lost: {', '.join(missed)}")
        if s.id in failures:
            log(f"{'':<30}not graded: {failures[s.id]}")
    if not ok_all:
        log(f"{name}: some scores differ from the expected ones")
    return ok_all


def check_names(names):
    for name in names:
        if name not in MISTAKES:
            raise CourseError(f"no simulated mistakes defined for {name!r} (course/mistakes.py)")
