"""``course check``: the course is consistent before anything reaches students.

- metadata: every nbgrader cell is well formed (snake_case unique grade_ids, points on
  tests cells only, balanced delimiters, no test cell ending in a bare value that
  nbgrader would read as partial credit) and source notebooks carry no outputs;
- sync: the committed release is what nbgrader generates from the source now;
- leaks: no solution code and no hidden test reaches the release;
- with ``grade=True``: the solved source scores full marks and the blank release zero, and
  a warning if the solved notebook costs a grading kernel more CPU than its chapter's
  budget (``course.budget``).
Imports ``course.budget``, ``course.coursedir``, ``course.notebooks``, ``course.workspace``.
"""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from . import budget, workspace
from .coursedir import Course
from .grading.verdicts import hidden_test_problems
from .notebooks import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    GRADE_ID,
    KERNELSPEC,
    LANGUAGE_INFO,
    RUN_ON_TAG,
    fill_answers,
    grade_id,
    is_answer,
    is_tests,
    nbgrader_meta,
    notebook_path,
    points_by_tests_cell,
    read,
    region_lines,
    solution_regions,
)


def _last_statement_is_value(source: str) -> bool:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and isinstance(body[-1], ast.Expr) and not isinstance(body[-1].value,
                                                                            ast.Call)


def _global_bindings(source: str) -> list[str]:
    """Names a cell binds at top level, except the ``_tests`` function that holds its checks."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    names = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == "_tests":
            continue
        for inner in [node] if isinstance(node, ast.FunctionDef | ast.ClassDef) else ast.walk(
                node):
            if isinstance(inner, ast.FunctionDef | ast.ClassDef):
                names.add(inner.name)
            elif isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store | ast.Del):
                names.add(inner.id)
            elif isinstance(inner, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name).split(".")[0] for a in inner.names)
    return sorted(names)


def check_metadata(nb, label: str) -> list[str]:
    problems, seen = [], set()
    if nb.metadata.get("language_info") != LANGUAGE_INFO or \
            nb.metadata.get("kernelspec") != KERNELSPEC:
        problems.append(f"{label}: notebook metadata must hold the full kernelspec and "
                        "language_info (course.notebooks), or it opens as modified")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"{label}: cell {i} has stored outputs; strip them")
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        gid = meta.get("grade_id")
        where = f"{label}: cell {i} ({gid})"
        if not gid or not GRADE_ID.match(gid):
            problems.append(f"{where}: grade_id must be snake_case")
        if gid in seen:
            problems.append(f"{where}: duplicate grade_id")
        seen.add(gid)
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: nbgrader schema_version must be 3")
        src = cell.source
        if (is_answer(cell) or is_tests(cell)) and RUN_ON_TAG not in cell.metadata.get("tags", []):
            problems.append(f"{where}: needs the {RUN_ON_TAG!r} tag, so that Run All goes on "
                            "past it")
        if is_answer(cell):
            opens, closes = src.count(BEGIN_SOLUTION), src.count(END_SOLUTION)
            if opens == 0 or opens != closes or len(solution_regions(src)) != opens:
                problems.append(f"{where}: answer cell needs balanced SOLUTION delimiters")
            if meta.get("grade"):
                problems.append(f"{where}: answer cells carry no points; put them on tests")
        elif is_tests(cell):
            if float(meta.get("points", 0)) <= 0:
                problems.append(f"{where}: tests cell without points")
            if not meta.get("locked"):
                problems.append(f"{where}: tests cell must be locked (read-only)")
            if src.count(BEGIN_HIDDEN) != src.count(END_HIDDEN):
                problems.append(f"{where}: unbalanced HIDDEN TESTS delimiters")
            bound = _global_bindings(src)
            if bound:
                problems.append(f"{where}: binds the global name(s) {', '.join(bound)}, which a "
                                "student's code may use; run the checks inside def _tests()")
            if _last_statement_is_value(src.replace(BEGIN_HIDDEN, "").replace(END_HIDDEN, "")):
                problems.append(f"{where}: ends with a bare value, which nbgrader reads as "
                                "partial credit")
        elif BEGIN_SOLUTION in src or BEGIN_HIDDEN in src:
            problems.append(f"{where}: delimiters in a cell that is neither answer nor tests")
    return problems


def check_leaks(source_nb, release_nb, label: str) -> list[str]:
    """Solution and hidden-test lines must not appear in the release.

    A line counts as secret when it occurs only inside the secret regions of the
    source (a line such as ``return e`` that also appears in visible code is not).
    """
    secret, public = set(), set()
    for cell in source_nb.cells:
        src = cell.source
        inside = region_lines(src, BEGIN_SOLUTION, END_SOLUTION) + region_lines(
            src, BEGIN_HIDDEN, END_HIDDEN)
        numbers = {n for n, _ in inside}
        secret.update(line.strip() for _, line in inside
                      if len(line.strip()) > 8 and not line.strip().startswith("#"))
        public.update(line.strip() for n, line in enumerate(src.splitlines(), start=1)
                      if n not in numbers)
    secret -= public
    problems = []
    for i, cell in enumerate(release_nb.cells):
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            if marker in cell.source:
                problems.append(f"{label}: release cell {i} still contains {marker!r}")
        for line in cell.source.splitlines():
            if line.strip() in secret:
                problems.append(f"{label}: release cell {i} leaks {line.strip()[:70]!r}")
        for out in cell.get("outputs", []):
            problems.append(f"{label}: release cell {i} has an output ({out.get('output_type')})")
    return problems


def _comparable(nb):
    return [(c.cell_type, c.source, nbgrader_meta(c)) for c in nb.cells]


def check_sync(root: Path, assignment: str, scratch: Path) -> list[str]:
    committed = notebook_path(root, "release", assignment)
    if not committed.exists():
        return [f"{assignment}: {committed.relative_to(root)} is missing; run `python -m course "
                f"build {assignment}`"]
    workspace.make_course_dir(scratch, [assignment], root)
    fresh = read(workspace.generate(scratch, assignment))
    if _comparable(fresh) != _comparable(read(committed)):
        return [f"{assignment}: the committed release differs from what the source generates; "
                f"run `python -m course build {assignment}` and commit release/"]
    return []


def check_grading(root: Path, assignment: str, scratch: Path) -> list[str]:
    """Solved source must score full marks and the blank release zero, under nbgrader."""
    workspace.make_course_dir(scratch, [assignment], root)
    release = read(workspace.generate(scratch, assignment))
    source = read(notebook_path(root, "source", assignment))
    workspace.submit(scratch, assignment, "solved", fill_answers(release, source))
    workspace.submit(scratch, assignment, "blank", release)
    workspace.autograde(scratch, assignment)
    got = workspace.scores(scratch, assignment)
    problems = []
    total = sum(points_by_tests_cell(source).values())
    solved = sum(s for s, _ in got.get("solved", {}).values())
    blank = sum(s for s, _ in got.get("blank", {}).values())
    if solved != total:
        lost = [g for g, (s, m) in got.get("solved", {}).items() if s != m]
        problems.append(f"{assignment}: solved source scores {solved:g}/{total:g} (lost: {lost})")
    if blank != 0:
        won = [g for g, (s, _) in got.get("blank", {}).items() if s]
        problems.append(f"{assignment}: blank release scores {blank:g}, expected 0 (won: {won})")
    return problems


def run_checks(course: Course, names: list[str], grade: bool = False, log=print) -> list[str]:
    root = course.root
    problems: list[str] = []
    for name in names:
        source = read(notebook_path(root, "source", name))
        found = check_metadata(source, f"{name} (source)")
        found += hidden_test_problems(source, f"{name} (source)")
        with tempfile.TemporaryDirectory(prefix=f"check-{name}-") as tmp:
            found += check_sync(root, name, Path(tmp) / "sync")
            release_path = notebook_path(root, "release", name)
            if release_path.exists():
                found += check_leaks(source, read(release_path), name)
            if grade and not found:
                found += check_grading(root, name, Path(tmp) / "grade")
                warning = budget.over_budget(root, name)
                if warning:
                    log(f"warning: {warning}")
        ids = {grade_id(c) for c in source.cells if is_tests(c)}
        total = sum(points_by_tests_cell(source).values())
        log(f"{name}: {len(ids)} graded test cells, {total:g} points"
            f" -- {'OK' if not found else f'{len(found)} problem(s)'}")
        problems += found
    return problems
