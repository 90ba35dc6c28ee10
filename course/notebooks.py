"""Reading nbgrader notebooks: assignments, cells by grade_id, solution regions.

Only helpers for the instructor tooling; nbgrader itself does the generating,
executing and scoring.
Imports nbformat.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
# What a grading kernel runs instead of a hidden region: the cases' calls and inputs
# (course/grading/verdicts/). Feedback withholds any output that shows it.
KERNEL_CASES_CALL = '__import__("utils.observe", fromlist=["run"]).run('
GRADE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Run All goes on past a cell with this tag when it fails (JupyterLab, nbclient): an unfilled
# exercise or a failing test must not keep the figures and widgets after it from running.
RUN_ON_TAG = "raises-exception"
# What the kernel reports about itself (Python 3.11, ipykernel): stored in full so that
# JupyterLab has nothing to fill in and an untouched notebook opens unmodified.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3", "version": "3.11.7"}


class CourseError(Exception):
    """A problem the instructor must fix (bad name, missing file...): shown without traceback."""


def course_root() -> Path:
    """The course directory: the repository root holding nbgrader_config.py."""
    return Path(__file__).resolve().parent.parent


def assignments(root: Path | None = None) -> list[str]:
    """Assignment names: the folders of ``source/`` holding a notebook of the same name, the
    chapters (``ch1_...``) first, in order, then the rest (the case study)."""
    root = root or course_root()
    return sorted((p.parent.name for p in (root / "source").glob("*/*.ipynb")
                   if p.stem == p.parent.name), key=lambda n: (not n.startswith("ch"), n))


def resolve(names, root: Path | None = None) -> list[str]:
    """Check assignment names against ``source/``; no names means all of them."""
    known = assignments(root)
    if not known:
        raise CourseError(f"no assignments found under {(root or course_root()) / 'source'}")
    for name in names or ():
        if name not in known:
            raise CourseError(f"unknown assignment {name!r}; known: {', '.join(known)}")
    return list(names) if names else known


def notebook_path(root: Path, kind: str, assignment: str) -> Path:
    return root / kind / assignment / f"{assignment}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution")) and cell.cell_type == "code"


def is_tests(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def points_by_tests_cell(nb) -> dict[str, float]:
    """Points of every autograder-tests cell, by grade_id, in notebook order."""
    return {grade_id(c): float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if is_tests(c)}


@dataclass(frozen=True)
class Region:
    start: int  # index of the BEGIN line
    end: int  # index of the END line
    indent: str


def marked_regions(source: str, begin: str = BEGIN_SOLUTION,
                   end: str = END_SOLUTION) -> list[Region]:
    """The ``begin`` ... ``end`` marker regions of a cell, in order (0-based line indices).

    The one parser of nbgrader's markers (solution regions, hidden tests) in the course.
    """
    lines = source.splitlines()
    regions, start = [], None
    for i, line in enumerate(lines):
        if line.strip() == begin:
            start = i
        elif line.strip() == end and start is not None:
            regions.append(Region(start, i, re.match(r"\s*", lines[start]).group(0)))
            start = None
    return regions


def region_lines(source: str, begin: str, end: str) -> list[tuple[int, str]]:
    """(1-based line number, line) of every line strictly inside the marked regions."""
    lines = source.splitlines()
    return [(i + 1, lines[i]) for r in marked_regions(source, begin, end)
            for i in range(r.start + 1, r.end)]


def solution_regions(source: str) -> list[Region]:
    """The ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` regions of a cell, in order."""
    return marked_regions(source, BEGIN_SOLUTION, END_SOLUTION)


def solved_source(source: str, replacements: dict[int, str] | None = None) -> str:
    """The cell as a student who solved it would write it: delimiters removed.

    ``replacements`` maps a region index to code that takes that region's place
    (written without indentation; it is indented like the region).
    """
    replacements = replacements or {}
    lines = source.splitlines()
    out, cursor = [], 0
    for k, region in enumerate(solution_regions(source)):
        out.extend(lines[cursor:region.start])
        if k in replacements:
            body = [region.indent + line if line else line
                    for line in replacements[k].strip("\n").splitlines()]
        else:
            body = lines[region.start + 1:region.end]
        out.extend(body)
        cursor = region.end + 1
    out.extend(lines[cursor:])
    return "\n".join(out)


def hidden_only_lines(source_nb, shortest: int = 31) -> set[str]:
    """The lines (stripped, at least ``shortest`` characters) that only the hidden tests of
    ``source_nb`` hold: a line that also stands in visible code, or inside one of its lines,
    would be no leak if a student saw it. What feedback must never show."""
    hidden, visible = set(), set()
    for cell in source_nb.cells:
        inside = dict(region_lines(cell.source, BEGIN_HIDDEN, END_HIDDEN))
        hidden.update(line.strip() for line in inside.values() if len(line.strip()) >= shortest)
        visible.update(line.strip() for n, line in enumerate(cell.source.splitlines(), start=1)
                       if n not in inside)
    return {line for line in hidden - visible if not any(line in v for v in visible)}


def fill_answers(release_nb, source_nb, mistakes=(), drop_cells=(), skip_answers=()):
    """A simulated submission: the release notebook with the answer cells filled in.

    ``mistakes`` (objects with ``cell``, ``region`` and ``code``) replace one solution
    region each; ``drop_cells`` are grade_ids of cells the student deleted;
    ``skip_answers`` answer cells left as released (unanswered).
    """
    solutions = {grade_id(c): c.source for c in source_nb.cells if is_answer(c)}
    replacements: dict[str, dict[int, str]] = {}
    for m in mistakes:
        if m.cell not in solutions:
            raise CourseError(f"mistake {m.name!r} names unknown answer cell {m.cell!r}")
        replacements.setdefault(m.cell, {})[m.region] = m.code
    nb = copy.deepcopy(release_nb)
    nb.cells = [c for c in nb.cells if grade_id(c) not in set(drop_cells)]
    for cell in nb.cells:
        gid = grade_id(cell)
        if is_answer(cell) and gid not in skip_answers:
            cell.source = solved_source(solutions[gid], replacements.get(gid))
    return nb
