"""Feedback that teaches without giving the hidden tests away: built from a whitelist.

``HideHiddenTestDetails`` runs in nbgrader's ``GenerateFeedback`` pipeline before
``ClearHiddenTests``. Every autograder-tests cell keeps exactly one output: "passed", or
the first failure's class and teaching message — a failure raised by a visible test
keeps its message, one raised inside the hidden region only the exercise's hint, never
the expected values. Nothing else a tests cell printed survives (a student's hook could
print anything there). In the student's own cells outputs are kept, minus every line
that reproduces a line of the hidden tests, however it got there.
"""

from __future__ import annotations

import re

import nbformat
from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
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


PASSED_MESSAGE = "The tests of this cell passed."


def _text_fields(output) -> list[tuple[dict, str]]:
    """(container, key) pairs holding text a student would read in an output."""
    fields = []
    if output.get("output_type") == "stream":
        fields.append((output, "text"))
    for mime in ("text/plain", "text/html", "text/markdown", "text/latex", "application/json"):
        if mime in output.get("data", {}):
            fields.append((output["data"], mime))
    if output.get("output_type") == "error":
        fields.append((output, "evalue"))
    return fields


def scrub(text, secret_lines: set[str]) -> str:
    """``text`` without any line that contains one of ``secret_lines``."""
    if isinstance(text, list):
        text = "".join(text)
    if not isinstance(text, str):
        return text
    kept = [line for line in text.splitlines(keepends=True)
            if not any(secret in line for secret in secret_lines)]
    return "".join(kept)


class HideHiddenTestDetails(Preprocessor):
    """Tests cells: one whitelisted output each. Other cells: hidden-test lines removed."""

    enabled = Bool(True, help="nbconvert runs only enabled preprocessors").tag(config=True)

    def preprocess(self, nb, resources):
        self._secret = {line.strip() for cell in nb.cells if cell.cell_type == "code"
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
        for output in cell.get("outputs", []):
            for container, key in _text_fields(output):
                container[key] = scrub(container[key], self._secret)
            if output.get("output_type") == "error":
                output["traceback"] = [scrub(_ANSI.sub("", line), self._secret)
                                       for line in output.get("traceback", [])]
        return cell, resources

    def _verdict(self, cell):
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"),
                     None)
        if error is None:
            return nbformat.v4.new_output("stream", name="stdout", text=PASSED_MESSAGE + "\n")
        message = safe_message(_ANSI.sub("", error.get("evalue", "")),
                               failing_line(error.get("traceback", []),
                                            cell.get("execution_count")),
                               hidden_line_numbers(cell.source))
        message = scrub(message, self._secret) or HIDDEN_MESSAGE
        name = error.get("ename", "Error")
        return nbformat.v4.new_output("error", ename=name, evalue=message,
                                      traceback=[f"{name}: {message}"])


class _CompiledTemplates(BytecodeCache):
    """Jinja bytecode kept in memory: a template is compiled once per process (a changed
    template has another checksum and is compiled again)."""

    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


class _RememberedHighlight(Highlight2HTML):
    """nbconvert's code highlighting, each distinct cell highlighted once per process.

    Across a class most code cells are the same (the release's code, the tests cells), and
    pygments' lexing is a third of a feedback page's time. The HTML is a function of the
    arguments used as the key, so a remembered one is the same HTML.
    """

    _seen: dict = {}
    LIMIT = 20_000  # distinct cells kept (a few MB)

    def __call__(self, source, language=None, metadata=None):
        magic = (metadata or {}).get("magics_language")
        key = (source, language or self.pygments_lexer, magic,
               repr(sorted(self.extra_formatter_options.items())))
        html = self._seen.get(key)
        if html is None:
            html = super().__call__(source, language, metadata)
            if len(self._seen) >= self.LIMIT:
                self._seen.clear()
            self._seen[key] = html
        return html
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\salt=)", re.IGNORECASE)
NO_ALT_TEXT = "No description has been provided for this image"


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` with compiled templates and highlighted cells reused, and alt text
    added without a second HTML parse (``c.GenerateFeedback.exporter_class`` in
    nbgrader_config.py)."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node up to its BeautifulSoup pass
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name"))
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", _RememberedHighlight(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', html), resources
