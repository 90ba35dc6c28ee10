"""``course demo``: grade a simulated class end to end with nbgrader.

In a scratch course directory (default ``demo_course/``, ignored by git) it generates
the release, writes one submission per simulated student, grades them all with
``course grade`` (nbgrader on every core, with a progress bar; feedback; ``grades.csv``),
writes the class report and prints a table comparing each student's score with the
score the simulation expects, and, for every exercise lost, the mistake the verdict step
diagnosed (the student who made catalogued mistakes must be diagnosed with them).
Imports ``course.coursedir``, ``course.misconceptions``, ``course.grading.execute.sandbox.bwrap``,
``course.grading.run``, ``course.mistakes``, ``course.notebooks``, ``course.report``,
``course.workspace`` and nbformat.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import misconceptions, workspace
from .coursedir import Course
from .mistakes import MISTAKES, Mistake, mistakes
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
    made: tuple = ()  # the catalogued mistakes in the notebook, which the report must name


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
    chosen: list[Mistake] = []
    for m in mistakes(assignment):  # two mistakes in different answer cells
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
                total - sum(points[g] for g in lost), fill_answers(release, source, chosen),
                made=tuple(chosen)),
        Student("cai", "blank (the release as handed out)", 0.0, release),
        Student("dee", f"broken: syntax error in {broken_cell}, deleted {dropped}, sys.exit",
                total - sum(points[g] for g in broken_tests), broken),
        Student("eve", "corrupt file (not JSON)", None, raw='{"cells": [ this is not json'),
    ]


def run_demo(course: Course, names: list[str], course_dir: Path, log=print) -> bool:
    """Run the demo; return True when every student got the expected score."""
    from .grading.execute.sandbox.bwrap import probe
    from .grading.run import Options, grade
    from .report import report

    root = course.root
    if course_dir.exists():
        shutil.rmtree(course_dir)
    workspace.make_course_dir(course_dir, names, root)
    classes = {}
    for name in names:
        log(f"== {name}: generating the release with nbgrader and writing 5 submissions")
        release = read(workspace.generate(course_dir, name))
        source = read(notebook_path(root, "source", name))
        classes[name] = (simulated_class(source, release, name), points_by_tests_cell(source))
        for s in classes[name][0]:
            workspace.submit(course_dir, name, s.id, nb=s.nb, raw=s.raw)
    why = probe()
    opts = Options(sandbox=why is None)
    log(f"\n== grading with `python -m course grade` ({opts.workers} workers), then feedback")
    if why:  # the demo's class is our own code: grading it unsandboxed is safe
        log(f"   (the grading sandbox cannot start here: {why}; this simulated class is graded "
            "without it. Install bubblewrap before grading real students.)")
    demo = Course(course_dir)
    graded = grade(demo, names, opts, log=lambda *_: None)
    report(demo, names)
    all_ok = True
    for name, (students, points) in classes.items():
        failures = {s.student: s.reason for s in graded
                    if s.assignment == name and s.status == "failed"}
        got = workspace.scores(course_dir, name)
        all_ok &= _print_table(demo, name, students, got, failures, points, log)
    csv_path = course_dir / "grades.csv"
    with open(csv_path) as fh:
        rows = list(csv.DictReader(fh))
    log(f"\ngrades.csv: {len(rows)} rows -> {csv_path}")
    log(f"feedback:   {course_dir / 'feedback'}")
    log(f"report:     {course_dir / 'reports' / 'summary.md'} (and the plots beside it)")
    return all_ok


def _print_table(course, name, students, got, failures, points, log) -> bool:
    total = sum(points.values())
    ok_all = True
    log(f"\n== {name}: {len(students)} simulated students, {total:g} points")
    log(f"{'student':<8}{'score':>8}{'expected':>10}  ok  what they submitted")
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
            diagnosed = misconceptions.diagnoses(course, name, s.id)
            if missed and s.expected:
                for gid in missed:
                    why = "; ".join(diagnosed.get(gid) or []) or "no catalogued mistake"
                    log(f"{'':<30}lost: {gid} (diagnosed: {why})")
            named = {n for names in diagnosed.values() for n in names or []}
            if any(m.name not in named for m in s.made):
                ok_all = False
                log(f"{'':<30}NOT DIAGNOSED: "
                    + ", ".join(m.name for m in s.made if m.name not in named))
        if s.id in failures:
            log(f"{'':<30}not graded: {failures[s.id]}")
    if not ok_all:
        log(f"{name}: some scores differ from the expected ones")
    return ok_all


def check_names(names):
    for name in names:
        if name not in MISTAKES:
            raise CourseError(f"no simulated mistakes defined for {name!r} (course/mistakes/)")
