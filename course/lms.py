"""``course export``: the gradebook's points in the file an LMS imports.

One grade column per assignment (its total points) or, with ``per_exercise``, one per graded
cell (``grade_id``) instead, one row per student on the gradebook's roll, written as:

- ``canvas``: Canvas's Gradebook import CSV. Header ``Student, ID, SIS User ID, SIS Login ID,
  Section`` then one column per assignment, named by the assignment (Canvas matches an
  existing assignment by "Name (id)" or by its name, and creates one from a new name); then a
  "Points Possible" row. Students are matched by **SIS Login ID = the nbgrader student id**;
  ID and SIS User ID stay blank (an LTI user id there could match the wrong Canvas user).
  Relied on: Canvas Instructor Guide "How do I import grades in the Gradebook?"
  (community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807),
  Ohio State's "Import a CSV file to Carmen grades" (teaching.resources.osu.edu), and Canvas's
  importer (instructure/canvas-lms app/models/gradebook_importer.rb: the header is recognised
  by Student, ID, [SIS User ID, SIS Login ID,] Section; a row starting "Points Possible" sets
  the points; a student is found by ID, then SIS User ID, then SIS Login ID, then name).
- ``moodle``: Moodle's "Import grades: CSV file" (UTF-8, comma). Header ``Username, Email
  address, First name, Last name`` then one column per grade item; no other rows. In the
  import's mapping step the instructor maps Username (or Email address) to the Moodle user
  field and each grade column to a grade item or "New grade item". A missing grade is written
  "-", which Moodle reads as "no grade" both for existing and new grade items (an empty cell
  is only safe for existing ones). Relied on: MoodleDocs "Grade import"
  (docs.moodle.org/311/en/Grade_import) and moodle/moodle grade/import/csv/classes/load_data.php.
- ``csv``: a long table ``student_id, assignment, [exercise,] score, max_score``.

A student with no submission of an assignment gets an empty cell (Moodle: "-"), never a 0
that would look like a graded zero; ``missing_zero`` writes 0 instead. Points are written
plainly: at most two decimals, no exponent, no trailing zeros ("5", "2.5", "0.33").
Imports ``course.gradebook`` (``results``), ``course.notebooks`` (``CourseError``), nbgrader
(its Gradebook, for the roll and the assignments' cells) and the standard library.
"""

from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SAWarning

from .gradebook import results
from .notebooks import CourseError

FORMATS = ("canvas", "moodle", "csv")
CANVAS_STUDENT = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "Points Possible"
MOODLE_STUDENT = ["Username", "Email address", "First name", "Last name"]
MOODLE_NO_GRADE = "-"


@dataclass(frozen=True)
class Person:
    """A student on the gradebook's roll (names and email as nbgrader recorded them, or "")."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    @property
    def sortable_name(self) -> str:
        """Canvas's "Last, First" form of the name; the id when no name is recorded."""
        names = [n for n in (self.last_name, self.first_name) if n]
        return ", ".join(names) or self.id


@dataclass(frozen=True)
class Item:
    """One grade column: an assignment's total, or one graded cell (``exercise``) of it."""

    assignment: str
    exercise: str | None
    max_score: float

    @property
    def title(self) -> str:
        return self.assignment if self.exercise is None else f"{self.assignment}: {self.exercise}"


@dataclass
class Table:
    """The roll, the grade columns and the points; no (student, item) key: no submission."""

    students: list[Person]
    items: list[Item]
    scores: dict[tuple[str, Item], float] = field(default_factory=dict)


def points(value: float) -> str:
    """A score as an LMS reads it: "5", "2.5", "0.33" (rounded to two decimals)."""
    text = f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _order(name: str):
    """Chapters first, ch2 before ch10, then the other assignments by name."""
    return (not name.startswith("ch"),
            [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)])


def table(url: str, assignments=None, per_exercise: bool = False) -> Table:
    """The export's content from the gradebook at ``url``: ``assignments`` (default: all of
    the gradebook's) in the order given, one item each or one per graded cell."""
    from nbgrader.api import Gradebook

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise CourseError(f"no gradebook at {url[len('sqlite:///'):]}: grade first "
                          "(python -m course grade)")
    with warnings.catch_warnings(), Gradebook(url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        known = sorted((a.name for a in gb.assignments), key=_order)
        names = list(assignments or known)
        if not names:
            raise CourseError("the gradebook has no assignments: grade first "
                              "(python -m course grade)")
        for name in names:
            if name not in known:
                raise CourseError(f"unknown assignment {name!r}: the gradebook has "
                                  f"{', '.join(known)}")
        students = sorted((Person(s.id, s.first_name or "", s.last_name or "", s.email or "")
                           for s in gb.students), key=lambda p: p.id)
        items = []
        for name in names:
            assignment = gb.find_assignment(name)
            if per_exercise:
                items += [Item(name, cell.name, float(cell.max_score))
                          for notebook in assignment.notebooks
                          for cell in notebook.grade_cells if cell.max_score > 0]
            else:
                items.append(Item(name, None, float(assignment.max_score)))
    found = Table(students, items)
    for name in names:
        for student, result in results(url, name).items():
            for item in (i for i in items if i.assignment == name):
                found.scores[student, item] = (
                    result.score if item.exercise is None
                    else result.cells.get(item.exercise, (0.0, item.max_score))[0])
    return found


def rows(found: Table, lms: str, missing_zero: bool = False) -> list[list[str]]:
    """The file's rows (header first) for ``lms``: "canvas", "moodle" or "csv"."""
    if lms not in FORMATS:
        raise ValueError(f"unknown LMS {lms!r}: expected one of {', '.join(FORMATS)}")
    blank = "0" if missing_zero else (MOODLE_NO_GRADE if lms == "moodle" else "")

    def cell(student: Person, item: Item) -> str:
        score = found.scores.get((student.id, item))
        return blank if score is None else points(score)

    titles = [item.title for item in found.items]
    if lms == "canvas":
        return [CANVAS_STUDENT + titles,
                [CANVAS_POINTS, "", "", "", ""] + [points(i.max_score) for i in found.items],
                *([s.sortable_name, "", "", s.id, ""] + [cell(s, i) for i in found.items]
                  for s in found.students)]
    if lms == "moodle":
        return [MOODLE_STUDENT + titles,
                *([s.id, s.email, s.first_name, s.last_name] + [cell(s, i) for i in found.items]
                  for s in found.students)]
    exercise = any(item.exercise is not None for item in found.items)
    header = ["student_id", "assignment"] + ["exercise"] * exercise + ["score", "max_score"]
    return [header, *([s.id, i.assignment] + [i.exercise or ""] * exercise
                      + [cell(s, i), points(i.max_score)]
                      for s in found.students for i in found.items)]


def export(url: str, lms: str, out: Path, assignments=None, per_exercise: bool = False,
           missing_zero: bool = False) -> Table:
    """Write the ``lms`` file for the gradebook at ``url`` to ``out`` (UTF-8, comma, no BOM)."""
    if lms not in FORMATS:
        raise ValueError(f"unknown LMS {lms!r}: expected one of {', '.join(FORMATS)}")
    found = table(url, assignments, per_exercise)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows(found, lms, missing_zero))
    return found
