"""What each student misunderstood, for the class report: the diagnoses the verdict step wrote.

When a tests cell fails, the verdict step (``course.grading.verdicts.diagnose``) names the
catalogued mistakes (``course/mistakes/``) whose outputs the student's answer reproduces on the
hidden cases, and keeps them in the autograded notebook's cell metadata
(``course.diagnosis``: a list of names, [] for a failure no catalogued mistake explains, None
for an exercise left as handed out).
``class_misconceptions`` gathers them per exercise; ``markdown`` writes the report's table.
A row of unexplained failures is the instructor's cue to catalogue a new mistake
(docs/instructor_guide.md). Imports ``course.coursedir`` and ``course.notebooks``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .coursedir import Course
from .notebooks import grade_id, is_tests, read

UNEXPLAINED = "(no catalogued mistake explains it)"
NOT_ANSWERED = "(not answered: the handed-out stub)"


@dataclass
class Exercise:
    """One tests cell's failures in the class: by mistake, and who made them."""

    failed: int = 0
    mistakes: Counter = field(default_factory=Counter)  # name (or "A; B") -> students
    students: dict = field(default_factory=dict)  # name -> [student, ...]


def diagnoses(course: Course, assignment: str, student: str) -> dict[str, list[str] | None]:
    """{tests cell: [mistake names]} of one student's autograded notebook ({} if none; None
    for an exercise not answered)."""
    path = course.autograded / student / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return {}
    found = {}
    for cell in read(path).cells:
        course_meta = cell.metadata.get("course", {})
        diagnosis = course_meta.get("diagnosis")
        if is_tests(cell) and isinstance(diagnosis, list):
            found[grade_id(cell)] = [str(name) for name in diagnosis]
        elif is_tests(cell) and "diagnosis" in course_meta and diagnosis is None:
            found[grade_id(cell)] = None
    return found


def class_misconceptions(course: Course, assignment: str, students) -> dict[str, Exercise]:
    """{tests cell: Exercise} over ``students``, the exercises with failures only, in the
    notebook's order."""
    table: dict[str, Exercise] = {}
    source = course.notebook("source", assignment)
    order = {grade_id(c): k for k, c in enumerate(read(source).cells)} if source.exists() else {}
    for student in sorted(students):
        for gid, names in diagnoses(course, assignment, student).items():
            exercise = table.setdefault(gid, Exercise())
            exercise.failed += 1
            label = NOT_ANSWERED if names is None else "; ".join(names) or UNEXPLAINED
            exercise.mistakes[label] += 1
            exercise.students.setdefault(label, []).append(student)
    return dict(sorted(table.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def markdown(table: dict[str, Exercise]) -> list[str]:
    """The report's section: per exercise, each known mistake and the unexplained, with counts."""
    lines = ["### What students misunderstood (failed exercises, by catalogued mistake)", ""]
    if not table:
        return lines + ["- no failed exercise carries a diagnosis", ""]
    lines += ["| exercise | mistake | students |", "|---|---|---|"]
    for gid, exercise in table.items():
        for label, count in exercise.mistakes.most_common():
            who = ", ".join(exercise.students[label][:5])
            more = f" and {count - 5} more" if count > 5 else ""
            lines.append(f"| {gid} | {label} | {count} ({who}{more}) |")
    unexplained = sum(e.mistakes[UNEXPLAINED] for e in table.values())
    # (not-answered rows are listed too: an exercise many leave blank is news as well)
    if unexplained:
        lines += ["", f"{unexplained} failure(s) match no catalogued mistake: read those "
                  "students' answers and add the misunderstanding to `course/mistakes/` "
                  "(docs/instructor_guide.md)."]
    return lines + [""]
