"""Which catalogued mistake a failed tests cell's answer behaves like (the class report's
"what each student misunderstood").

When a tests cell fails, ``diagnose`` runs every mistake of ``course.mistakes`` that is known to
fail that cell on the same hidden cases, here in the verdict step (the course's own code, never
the student's), and compares: a mistake explains the student's answer when, case by case, the
student's report and the mistake's reach the same verdict (the same teaching message, or both
pass) and, where they fail, with the same values. A mistake that cannot run here (an
answer handed to ``utils``, which the student's edition withholds) names a pattern of the
failure message instead (``Mistake.message``). Several mistakes may explain one
answer (they agree on every hidden input); none may, and that is the instructor's cue to
catalogue a new one (docs/instructor_guide.md).

A mistake runs in a namespace made from the source notebook: its read-only cells (the imports,
functions the tests use) and every answer cell as solved (once per assignment), then the
mistaken cell on top and the tests cell's visible part, as the kernel ran them. Nothing here
can fail a grading: any error is "no diagnosis". Imports ``course.mistakes``, ``course.notebooks``,
``utils.observe`` and this package's ``decide``.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import numpy as np

from utils import observe, plain

from ...mistakes import Mistake, by_name, mistakes
from ...notebooks import (
    BEGIN_HIDDEN,
    END_HIDDEN,
    grade_id,
    is_answer,
    marked_regions,
    read,
    solved_source,
)
from .decide import compare, decide

_BASE: dict[str, tuple[dict, dict[str, str]]] = {}  # path -> (namespace, {grade_id: source})


def _quietly(run):
    """``run()`` with its prints, warnings and floating-point complaints kept here."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return run()


def _exec(source: str, namespace: dict) -> None:
    try:
        _quietly(lambda: exec(compile(source, "<course mistake>", "exec"), namespace))  # noqa: S102
    except Exception:  # noqa: BLE001 -- a cell that needs a demo's data defines what it can
        pass


def _read_only(cell) -> bool:
    """A locked cell that is neither an answer nor graded (nbgrader's "read-only"): the
    setup cell, or functions given to the student that the hidden cases call."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("locked")) and not meta.get("grade") and not meta.get("solution")


def _base(source_path: str) -> tuple[dict, dict[str, str]]:
    """The solved answers' namespace of a source notebook, and its answer cells' sources."""
    if source_path not in _BASE:
        nb = read(source_path)
        namespace: dict = {"__name__": "__course_mistake__"}
        answers = {}
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if _read_only(cell):  # the imports, and functions the tests use
                _exec(cell.source, namespace)
            elif is_answer(cell):
                answers[grade_id(cell)] = cell.source
                _exec(solved_source(cell.source), namespace)
        _BASE.clear()  # one notebook at a time is what a grading worker needs
        _BASE[source_path] = (namespace, answers)
    return _BASE[source_path]


def _namespace(source_path: str, mistake: Mistake, prior=()) -> dict | None:
    """The solved namespace with ``mistake`` made, and the ``prior`` mistakes the student was
    already diagnosed with in earlier cells (a forward pass built on a wrong step is the
    pair of them), their cells run again in the notebook's order."""
    base, answers = _base(source_path)
    if mistake.cell not in answers:
        return None
    made: dict[str, dict[int, str]] = {}
    for m in (*prior, mistake):
        made.setdefault(m.cell, {})[m.region] = m.code
    namespace = dict(base)
    for gid, source in answers.items():
        if gid in made:
            _exec(solved_source(source, made[gid]), namespace)
    return namespace


def _values(report) -> list | None:
    try:
        return [plain.decode(call.get("value")) for call in report["calls"]]
    except Exception:  # noqa: BLE001 -- a malformed report explains nothing
        return None


def _same(got, want) -> bool:
    if got is None or want is None or isinstance(got, plain.Unreadable) or \
            isinstance(want, plain.Unreadable):
        return True  # nothing to compare (a function handed on, say): the verdicts decide
    try:
        compare(got, want, "value", "close", {"rtol": 1e-7, "atol": 1e-12})
    except Exception:  # noqa: BLE001 -- different values (or kinds)
        return False
    return True


def _agree(case, student: dict, theirs: dict, again: dict) -> bool:
    """Whether the student's report and a mistake's reach the same verdict and, when it is a
    failure, with the same values (where the mistake gave the same values twice: a mistake
    that ignores its seed is recognised by its verdict alone)."""
    verdict = decide(case, student)
    if verdict != decide(case, theirs):
        return False
    if verdict is None:
        return True  # both pass this case
    mine, other, other_again = _values(student), _values(theirs), _values(again)
    if mine is None or other is None or other_again is None or \
            not len(mine) == len(other) == len(other_again):
        return True  # the same failure; values unreadable on one side
    return all(_same(got, want) or not _same(want, repeat)
               for got, want, repeat in zip(mine, other, other_again, strict=True))


def visible_part(source: str) -> str:
    """A tests cell's source without its hidden region: what ran in the kernel before the
    hidden calls (a mistake that keeps state between calls must see the same calls)."""
    regions = marked_regions(source, BEGIN_HIDDEN, END_HIDDEN)
    if not regions:
        return source
    lines = source.splitlines()
    return "\n".join([*lines[:regions[0].start + 1], *lines[regions[0].end:]])


def _observed(source_path: str, mistake: Mistake, visible: str, wire: list,
              prior=()) -> list | None:
    """The mistake's reports of the cases, in a fresh namespace where the cell's visible
    tests ran first, as in the student's kernel."""
    namespace = _namespace(source_path, mistake, prior)
    if namespace is None:
        return None
    _exec(visible, namespace)
    return _quietly(lambda: observe.observe(wire, namespace))


def diagnose(assignment: str, source_path: str, gid: str, cases, reports: dict,
             visible: str = "", prior=()) -> list[str] | None:
    """Names of the catalogued mistakes of ``assignment`` for tests cell ``gid`` whose hidden
    reports agree with the student's ``reports`` ({case number: report}) on every case that
    reported; [] when none does (or nothing could be compared); None for an exercise not
    answered (the handed-out stub raised NotImplementedError). ``visible``: the code the
    kernel ran before the hidden calls (``visible_part`` of the tests cell); ``prior``: the
    mistakes already diagnosed in this notebook's earlier cells, made as well."""
    candidates = [m for m in mistakes(assignment) if gid in m.fails]
    if not candidates or not reports:
        return []
    messages = [m for n in sorted(reports) if n < len(cases)
                and (m := decide(cases[n], reports[n])) is not None]
    if messages and all("raised NotImplementedError" in m for m in messages):
        return None  # an exercise not answered yet: nothing to name, no time spent on it
    found = []
    for mistake in candidates:
        if mistake.message:  # recognised by what the student's failure says
            if any(re.search(mistake.message, m) for m in messages):
                found.append(mistake.name)
            continue
        try:
            numbers = sorted(reports)
            wire = [cases[n].wire(n) for n in numbers]
            theirs = _observed(source_path, mistake, visible, wire, prior)
            again = _observed(source_path, mistake, visible, wire, prior)  # same values twice?
            if theirs is None or again is None:
                continue
            if all(_agree(cases[n], reports[n], report, repeat)
                   for n, report, repeat in zip(numbers, theirs, again, strict=True)):
                found.append(mistake.name)
        except Exception:  # noqa: BLE001 -- a diagnosis never costs a grading
            continue
    return found


def made(assignment: str, names) -> tuple[Mistake, ...]:
    """The mistake a cell's diagnosis names, when it names exactly one (for later cells)."""
    try:
        return tuple(by_name(assignment, *names)) if names and len(names) == 1 else ()
    except KeyError:  # not a catalogued name: nothing to carry on
        return ()


def sentence(names: list[str]) -> str:
    """The feedback's one teaching sentence (no expected value in it)."""
    if len(names) == 1:
        return f"Likely cause: your answer behaves exactly like a common mistake: {names[0]}."
    return ("Likely cause: your answer behaves exactly like one of these common mistakes: "
            + "; ".join(names) + ".")
