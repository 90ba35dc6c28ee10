"""Feedback from a whitelist: ``HideHiddenTestDetails``.

It runs in nbgrader's ``GenerateFeedback`` pipeline before ``ClearHiddenTests``. Every
autograder-tests cell keeps exactly one output: "passed", or the first failure's class and
teaching message — a failure raised by a visible test keeps its message, one raised inside
the hidden region only the exercise's hint, never the expected values — and, when the verdict
step recognised a catalogued mistake, one sentence naming it. Nothing else a tests
cell printed survives (a student's hook could print anything there). Every other code cell
keeps only its plots (images) and short plain text: at most ``MAX_LINES`` lines and
``MAX_CHARS`` characters a cell, shortened with a note; an output that shows a line of the
hidden tests (``hidden.reveals``) is replaced by a note. Imports nbconvert and ``hidden``.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import os
import re
import zlib

import nbformat
import nh3
from jinja2 import BytecodeCache, pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Int

from ...notebooks import BEGIN_HIDDEN, END_HIDDEN, region_lines
from ..verdicts.diagnose import sentence
from .hidden import (
    IMAGE_TYPES,
    MAX_CHARS,
    MAX_LINES,
    SHORTENED,
    WITHHELD,
    _Budget,
    _note,
    reveals,
    scrub,
    secret_lines,
)
from .sanitize import _joined, _safe_data


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


PASSED_MESSAGE = "The tests of this cell passed."


class HideHiddenTestDetails(Preprocessor):
    """Tests cells: one whitelisted output each. Other code cells: images and short plain
    text only, none of it showing the hidden tests."""

    enabled = Bool(True, help="nbconvert runs only enabled preprocessors").tag(config=True)
    max_lines = Int(MAX_LINES, help="lines of text a code cell keeps").tag(config=True)
    max_chars = Int(MAX_CHARS, help="characters of text a code cell keeps").tag(config=True)

    def preprocess(self, nb, resources):
        self._secret = secret_lines(nb)
        # as they are written, for the line-by-line scrub of a tests cell's message
        self._lines = {line.strip() for cell in nb.cells if cell.cell_type == "code"
                       for _, line in region_lines(cell.source, BEGIN_HIDDEN, END_HIDDEN)
                       if len(line.strip()) >= 12} | {BEGIN_HIDDEN, END_HIDDEN}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell["outputs"] = [self._verdict(cell)]
            return cell, resources
        budget, kept, shortened = _Budget(self.max_lines, self.max_chars), [], False
        for output in cell.get("outputs", []):
            shown = self._shown(output, budget)
            withheld = shown is not None and shown.get("text") == WITHHELD + "\n"
            shortened |= budget.cut and not withheld
            if shown is not None:
                kept.append(shown)
        if shortened:
            kept.append(_note(SHORTENED))
        cell["outputs"] = kept
        return cell, resources

    def _shown(self, output, budget: _Budget):
        """What feedback shows of one output of a student's cell, or None."""
        kind = output.get("output_type")
        budget.cut = False
        if kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            images = {m: data[m] for m in IMAGE_TYPES if m in data}
            if images:  # a plot: the picture only
                output["data"] = _safe_data(images)
                return output if output["data"] else None
            if "text/plain" not in data:
                return None  # HTML, Markdown, LaTeX, JSON, widgets...: not in feedback
            text = budget.take(_ANSI.sub("", _joined(data["text/plain"])))
            output["data"] = {"text/plain": text}
            output["metadata"] = {}
        elif kind == "stream":
            text = output["text"] = budget.take(_ANSI.sub("", _joined(output.get("text", ""))))
        elif kind == "error":
            traceback = "\n".join(_ANSI.sub("", line) for line in output.get("traceback", []))
            text = budget.take(traceback)
            output["traceback"] = [text]
            output["evalue"] = _ANSI.sub("", output.get("evalue", ""))[:MAX_CHARS]
            text += "\n" + output["evalue"]
        else:
            return None
        if not text.strip():
            return None
        if reveals(text, self._secret):
            return _note(WITHHELD)
        return output

    def _verdict(self, cell):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"),
                     None)
        if error is None:
            return nbformat.v4.new_output("stream", name="stdout", text=PASSED_MESSAGE + "\n")
        message = safe_message(_ANSI.sub("", error.get("evalue", "")),
                               failing_line(error.get("traceback", []),
                                            cell.get("execution_count")),
                               hidden_line_numbers(cell.source))
        message = scrub(message, self._lines) or HIDDEN_MESSAGE
        # the message may come from the student's code (an exception raised in a function
        # a test calls): one that still shows the hidden tests, in any encoding, is replaced
        if reveals(message, self._secret):
            message = HIDDEN_MESSAGE
        names = cell.get("metadata", {}).get("course", {}).get("diagnosis")
        if names and isinstance(names, list):  # written by the verdict step, not the student
            message = f"{message}\n{sentence([str(n) for n in names])}"
        name = error.get("ename", "Error")
        return nbformat.v4.new_output("error", ename=name, evalue=message,
                                      traceback=[f"{name}: {message}"])
