"""What ``course check`` refuses in a hidden-tests region: any comparison in the kernel.

A hidden region only declares cases (``spec``): it may import, bind names, and call
``hidden(...)``. An ``assert``, a helper of ``utils.grading`` or a tripwire there would
compare inside the student's process, where a student can change the outcome; a tests
cell without hidden cases would leave its points to the kernel. Imports the standard
library, ``course.notebooks`` and this package's ``spec``.
"""

from __future__ import annotations

import ast
import textwrap

from ...notebooks import BEGIN_HIDDEN, END_HIDDEN, grade_id, is_tests, marked_regions
from .spec import collect

KERNEL_CHECKS = ("assert_", "check_not_delegated")


def _region_problems(region: str) -> list[str]:
    try:
        tree = ast.parse(textwrap.dedent(region))
    except SyntaxError as exc:
        return [f"hidden region does not parse: {exc.msg} (line {exc.lineno})"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found.append(f"`assert` on line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils.grading"):
            found.append(f"imports utils.grading on line {node.lineno}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else ""
            if name.startswith(KERNEL_CHECKS):
                found.append(f"calls {name} on line {node.lineno}")
    problems = [f"hidden region compares in the kernel ({what}): declare Case(...) checks "
                "in hidden(...) instead" for what in found]
    if not problems:
        try:
            if not collect(region):
                problems.append("hidden region declares no case: call hidden(Case(...), ...)")
        except Exception as exc:  # noqa: BLE001 -- the instructor's region is what is checked
            problems.append(f"hidden region fails to run: {type(exc).__name__}: {exc}")
    return problems


def hidden_test_problems(nb, label: str) -> list[str]:
    """Every graded tests cell has one hidden region that declares cases and compares
    nothing in the kernel."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if not is_tests(cell):
            continue
        where = f"{label}: cell {i} ({grade_id(cell)})"
        regions = marked_regions(cell.source, BEGIN_HIDDEN, END_HIDDEN)
        if len(regions) != 1:
            problems.append(f"{where}: needs exactly one hidden-tests region, has {len(regions)}"
                            " (a tests cell without hidden cases is decided by the kernel)")
            continue
        lines = cell.source.splitlines()
        region = "\n".join(lines[regions[0].start + 1:regions[0].end])
        problems += [f"{where}: {p}" for p in _region_problems(region)]
    return problems
