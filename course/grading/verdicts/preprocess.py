"""The two steps of nbgrader's Autograde pipeline that keep hidden tests out of the kernel.

``ServeCases`` (before ``Execute``) reads the hidden cases of every tests cell from the
*source* notebook (never from the submission), and hands the kernel a tests cell whose
hidden region is one call of ``utils.observe.run`` with the calls and inputs only; in a cell
written as ``def _tests(): ...`` then ``_tests()``, the call runs after the function, also
when a visible test failed (not when the cell was stopped at its CPU limit), so that a
failed visible test still leaves the data a diagnosis needs.
``DecideCases`` (after ``Execute``, before ``SaveAutoGrades``) reads what each case
reported from that cell's outputs, decides it here (``decide``), puts the source's text
back in the cell and writes the verdict: nothing when all cases passed, else one error
output with the first failure's teaching message and hint, which nbgrader scores as a
failed test. A tests cell that reported no data, data for another cell or case, or a case
twice, fails; so does one that shows a number as its result (nbgrader's partial credit).

Imports nbgrader, ``course.notebooks``, ``utils.observe`` and this package's ``spec`` and
``decide``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from utils import observe

from ...notebooks import (
    BEGIN_HIDDEN,
    END_HIDDEN,
    KERNEL_CASES_CALL,
    grade_id,
    is_tests,
    marked_regions,
    read,
)
from .decide import decide
from .diagnose import diagnose, made, visible_part
from .spec import Case, collect, payload

RESOURCE = "course_cases"
NO_DATA = ("the hidden tests of this cell did not run to the end (an earlier error in the "
           "cell, a timeout, or a kernel that skipped them)")


@dataclass(frozen=True)
class CellCases:
    """The hidden cases of one tests cell, and the two texts of the cell."""

    source: str  # as the source notebook has it
    kernel_source: str  # what the kernel runs: the hidden region replaced by the call
    cases: tuple[Case, ...]


def hidden_region(source: str) -> str | None:
    """The text strictly inside the cell's (single) hidden-tests region."""
    regions = marked_regions(source, BEGIN_HIDDEN, END_HIDDEN)
    if not regions:
        return None
    lines = source.splitlines()
    return "\n".join(lines[regions[0].start + 1:regions[0].end])


def cell_cases(cell_id: str, source: str) -> CellCases | None:
    """``CellCases`` of a tests cell's source text (None: no hidden region)."""
    regions = marked_regions(source, BEGIN_HIDDEN, END_HIDDEN)
    if not regions:
        return None
    region = regions[0]
    lines = source.splitlines()
    cases = collect("\n".join(lines[region.start + 1:region.end]))
    call = f"{KERNEL_CASES_CALL}{cell_id!r}, {payload(cases)!r})"
    runner = _runner(lines, region)
    if runner is None:  # the hidden calls in the region's place
        kernel = [*lines[:region.start + 1], region.indent + call, *lines[region.end:]]
    else:  # after the tests function, even when a visible test failed: the diagnosis's data
        kernel = [*lines[:region.start + 1], *lines[region.end:]]
        at = runner - (region.end - region.start - 1)
        kernel[at:at + 1] = ["try:", f"    {lines[runner]}",
                             "except KeyboardInterrupt:",  # a cell stopped at its CPU limit
                             "    raise",
                             "except BaseException:", f"    {call}", "    raise",
                             "else:", f"    {call}"]
    return CellCases(source, "\n".join(kernel), tuple(cases))


def _runner(lines: list[str], region) -> int | None:
    """The top-level line that calls the function holding the hidden region (``_tests()``),
    or None when the region is not in a function called so."""
    for k in range(region.start - 1, -1, -1):
        line = lines[k]
        if line.strip() and len(line) - len(line.lstrip()) < len(region.indent):
            name = re.match(r"def (\w+)\(\):", line)
            if not name or line != line.lstrip():
                return None
            calls = [n for n in range(region.end + 1, len(lines))
                     if lines[n].rstrip() == f"{name[1]}()"]
            return calls[0] if len(calls) == 1 else None
    return None


_CACHE: dict[tuple, dict[str, CellCases]] = {}


def source_cases(path: str) -> dict[str, CellCases]:
    """Every tests cell's ``CellCases`` in the source notebook at ``path``, by grade_id
    (computed once per version of the file and process: references run once)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        found = {}
        for cell in read(path).cells:
            if is_tests(cell) and (cases := cell_cases(grade_id(cell), cell.source)):
                found[grade_id(cell)] = cases
        _CACHE.clear()  # one notebook at a time is what a grading worker needs
        _CACHE[key] = found
    return _CACHE[key]


def _source_path(preprocessor, resources) -> str:
    ids = resources["nbgrader"]
    coursedir = CourseDirectory(config=preprocessor.config)
    folder = coursedir.format_path(coursedir.source_directory, ".", ids["assignment"])
    return os.path.join(folder, f"{ids['notebook']}.ipynb")


class ServeCases(NbGraderPreprocessor):
    """Tests cells as the kernel runs them: the source's text, hidden cases as calls only."""

    def preprocess(self, nb, resources):
        served = {}
        path = _source_path(self, resources)
        if not os.path.exists(path):
            raise FileNotFoundError(f"the source notebook {path} is not there: hidden tests are "
                                    "read from it, never from a submission")
        cases = source_cases(path)
        for cell in nb.cells:
            gid = grade_id(cell)
            if is_tests(cell) and gid in cases:
                served[gid] = cases[gid]
                cell.source = cases[gid].kernel_source
        resources[RESOURCE] = served
        return nb, resources


def _reports(cell, gid: str, count: int) -> tuple[dict, str | None]:
    """The case reports among the cell's outputs (taken out of it), and what is wrong with
    them as a whole, if anything."""
    reports, problem, kept = {}, None, []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
        if observe.MIME not in data:
            if output.get("output_type") == "execute_result":
                problem = problem or "a tests cell must not show a result (partial credit)"
                continue
            kept.append(output)
            continue
        report = data[observe.MIME]
        number = report.get("case") if isinstance(report, dict) else None
        if not isinstance(report, dict) or report.get("cell") != gid or \
                not isinstance(number, int) or not 0 <= number < count:
            problem = problem or "the kernel reported data for a case this cell does not have"
        elif number in reports:
            problem = problem or "a hidden case reported twice (the tests ran more than once)"
        else:
            reports[number] = report
    cell["outputs"] = kept
    return reports, problem


def decide_cell(cell, gid: str, served: CellCases, diagnosis=None) -> list[str]:
    """Decide the cell's cases from its outputs; write the verdict; the failures' messages.

    ``diagnosis(reports)``, when given, names the catalogued mistakes a failed cell's answer
    behaves like; they are kept in the cell's metadata (``course.diagnosis``: [] is a failure no
    mistake explains, None an exercise not answered) for the class report and the feedback's
    sentence."""
    reports, problem = _reports(cell, gid, len(served.cases))
    errors_before = any(o.get("output_type") == "error" for o in cell["outputs"])
    failures = [problem] if problem else []
    for number, case in enumerate(served.cases):
        if number not in reports:
            failures.append(f"{case.label()}: {NO_DATA}")
            continue
        message = decide(case, reports[number])
        if message:
            failures.append(message)
    cell.source = served.source
    if failures and not errors_before:  # a visible failure is the verdict the student sees
        more = f"\n({len(failures)} hidden checks failed)" if len(failures) > 1 else ""
        text = failures[0] + more
        cell["outputs"].append(nbformat.v4.new_output(
            "error", ename="CheckFailed", evalue=text, traceback=[f"CheckFailed: {text}"]))
    course = cell.metadata.setdefault("course", {})
    course.pop("diagnosis", None)  # only this step writes it: never what a submission carried
    if (failures or errors_before) and diagnosis is not None and not problem:
        course["diagnosis"] = diagnosis(reports)
    return failures


class DecideCases(NbGraderPreprocessor):
    """Hidden cases decided outside the kernel; the verdict in the tests cell's outputs."""

    def preprocess(self, nb, resources):
        if RESOURCE not in resources:
            raise RuntimeError("DecideCases needs ServeCases before Execute in the pipeline: "
                               "without it hidden tests would run in the student's kernel")
        served = resources[RESOURCE]
        assignment, path = resources["nbgrader"]["assignment"], _source_path(self, resources)
        prior: tuple = ()  # the mistakes diagnosed so far in this notebook, cell by cell
        for cell in nb.cells:
            gid = grade_id(cell)
            if is_tests(cell) and gid in served:
                cases, visible = served[gid].cases, visible_part(served[gid].source)
                decide_cell(cell, gid, served[gid], lambda reports, gid=gid, cases=cases,
                            visible=visible, prior=prior: diagnose(
                                assignment, path, gid, cases, reports, visible, prior))
                prior += made(assignment, cell.metadata.get("course", {}).get("diagnosis"))
        return nb, resources
