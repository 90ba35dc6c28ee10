"""Feedback that teaches without giving the hidden tests away.

``HideHiddenTestDetails`` runs in nbgrader's ``GenerateFeedback`` pipeline before
``ClearHiddenTests``. In every autograder-tests cell it replaces each error's
traceback (which would quote the failing line of test code, hidden or not) with one
line. A failure raised by a visible test keeps its message; a failure raised inside
the hidden region keeps only the exercise's hint, never the expected values.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .notebooks import BEGIN_HIDDEN, END_HIDDEN, region_lines

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"Cell In\[(\d*)\], line (\d+)")

HIDDEN_MESSAGE = ("a hidden test of this exercise failed: your answer passes the visible "
                  "tests but not every case that is graded")


def hidden_line_numbers(source: str) -> set[int]:
    """1-based line numbers strictly inside the hidden-tests region(s) of a cell."""
    return {number for number, _ in region_lines(source, BEGIN_HIDDEN, END_HIDDEN)}


def failing_line(traceback: list[str], execution_count: int | None = None) -> int | None:
    """The line of the tests cell that raised: its innermost frame in that cell.

    Test cells run their checks inside a function, so the outermost frame is the call
    at the end of the cell; the innermost frame of the same cell (``Cell In[n]`` with the
    cell's own execution count) is the failing check. Without a count nothing is known.
    """
    if execution_count is None:
        return None
    found = None
    for entry in traceback:
        for match in _CELL_LINE.finditer(_ANSI.sub("", entry)):
            if match.group(1) == str(execution_count):
                found = int(match.group(2))
    return found


def safe_message(evalue: str, line: int | None, hidden: set[int]) -> str:
    """The visible test's own message, or the generic one plus the hint for hidden tests."""
    if hidden and (line is None or line in hidden):
        hint = next((ln for ln in evalue.splitlines() if ln.startswith("Hint:")), "")
        return HIDDEN_MESSAGE + (f"\n{hint}" if hint else "")
    return evalue


class HideHiddenTestDetails(Preprocessor):
    """Shorten tracebacks in tests cells; hide what hidden tests expected."""

    enabled = Bool(True, help="nbconvert runs only enabled preprocessors").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        hidden = hidden_line_numbers(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            message = safe_message(_ANSI.sub("", output.get("evalue", "")),
                                   failing_line(output.get("traceback", []),
                                                cell.get("execution_count")), hidden)
            output["evalue"] = message
            output["traceback"] = [f"{output.get('ename', 'Error')}: {message}"]
        return cell, resources
