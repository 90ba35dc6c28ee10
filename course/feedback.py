"""Feedback that teaches without giving the hidden tests away, and carries no active content.

``HideHiddenTestDetails`` runs in nbgrader's ``GenerateFeedback`` pipeline before
``ClearHiddenTests``. Every autograder-tests cell keeps exactly one output: "passed", or
the first failure's class and teaching message — a failure raised by a visible test
keeps its message, one raised inside the hidden region only the exercise's hint, never
the expected values. Nothing else a tests cell printed survives (a student's hook could
print anything there). Every other code cell (the student's, or one whose output the
student's code can steer) keeps only its plots (images) and short plain text: at most
``MAX_LINES`` lines and ``MAX_CHARS`` characters a cell, shortened with a note; an output
whose text holds a line of the hidden tests, plainly or in a cheaply checkable encoding
(base64, hex, rot13, reversed, zlib/gzip behind base64 or hex, character codes), is
replaced by a note (``reveals``).

``SanitizeOutputs`` removes active content (script) from every output of a notebook:
HTML is sanitized with ``nh3`` (tables, images and text stay), JavaScript and any other
MIME type outside a short allow-list is dropped (a widget view keeps its text/plain), an
SVG or Markdown or LaTeX output that could run script falls back to its text/plain, and
the notebook's saved widget state is dropped. It runs in the Autograde pipeline just
before ``SaveAutoGrades`` (the autograded notebook, which formgrader renders for the
instructor) and in the feedback pipeline. ``FeedbackExporter`` with ``sanitize_html``
(nbgrader_config.py) also sanitizes the HTML of Markdown cells with the same allow-list.
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

# ------------------------------------------------------------------ active content
# What a browser may render of a student's output: tags and attributes without script.
_HTML_TAGS = (set(nh3.ALLOWED_TAGS) | {"tfoot"}) - {"area", "map"}
_HTML_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_HTML_ATTRIBUTES["*"] = {"class", "title", "lang", "dir", "style"}
_HTML_ATTRIBUTES["table"] = _HTML_ATTRIBUTES.get("table", set()) | {"border"}
for _heading in ("h1", "h2", "h3", "h4", "h5", "h6"):
    _HTML_ATTRIBUTES[_heading] = {"id"}  # the anchors of Markdown headings
_STYLE_PROPERTIES = {"text-align", "vertical-align", "color", "background-color",
                     "font-weight", "font-style", "text-decoration", "white-space"}
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpe?g|gif|webp);base64,[A-Za-z0-9+/=]*\Z", re.I)
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def _url_filter(element: str, attribute: str, value: str) -> str | None:
    """A ``data:`` URL only as an image's source, and then only a raster image (a URL's
    scheme is read without the tabs, newlines and control characters browsers skip)."""
    bare = _URL_NOISE.sub("", value)
    if bare.lower().startswith("data:"):
        return bare if element == "img" and attribute == "src" and _DATA_IMAGE.match(
            bare) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=_HTML_TAGS,
    clean_content_tags={"script", "style", "svg", "math", "iframe", "object", "embed",
                        "noscript", "template", "frameset", "textarea", "select"},
    attributes=_HTML_ATTRIBUTES, attribute_filter=_url_filter,
    url_schemes={"http", "https", "mailto", "data"},
    filter_style_properties=_STYLE_PROPERTIES)


def clean_html(html) -> str:
    """``html`` without anything that can run script (``nh3``, an allow-list of tags,
    attributes, URL schemes and style properties). Idempotent."""
    if isinstance(html, list):
        html = "".join(html)
    return _CLEANER.clean(html if isinstance(html, str) else str(html))


# MIME types of an output that carry no script where notebooks are shown (formgrader,
# nbconvert, JupyterLab): text/html once sanitized, SVG, Markdown, LaTeX and images once
# checked (``_safe_data``)
SAFE_MIME_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "image/png",
                   "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "application/json")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*\Z")
_ACTIVE_SVG = re.compile(
    r"<\s*(?:[\w.-]+:)?(?:script|foreignobject|iframe|embed|object|handler|listener|animate"
    r"|set|discard)\b|[\s/\"'](?:[\w.-]+:)?on[a-z]+\s*=|(?:java|vb)script\s*:"
    r"|href\s*+=\s*+[\"']?+\s*+(?!#|data:image/(?:png|jpe?g|gif|webp);)", re.I)
# raw HTML, entities and links in Markdown; MathJax commands that make links or HTML
_ACTIVE_TEX = r"\\(?:href|url|class|cssId|style|unicode|require|data|html|tag)\b"
_ACTIVE_MARKDOWN = re.compile(r"<|&#?\w+;|\]\s*[(:\[]|(?:java|vb)script\s*:|" + _ACTIVE_TEX,
                              re.I)
_ACTIVE_LATEX = re.compile(_ACTIVE_TEX)


_SCRIPT_URL = re.compile(r"(?:j[\s\x00]*a[\s\x00]*v[\s\x00]*a|v[\s\x00]*b)[\s\x00]*"
                         r"s[\s\x00]*c[\s\x00]*r[\s\x00]*i[\s\x00]*p[\s\x00]*t[\s\x00]*:"
                         r"|data[\s\x00]*:(?!image/(?:png|jpe?g|gif|webp);)", re.I)


@functools.lru_cache(maxsize=32)
def _texts_of(path: str, stamp: float) -> frozenset[str]:
    nb = nbformat.read(path, as_version=4)
    return frozenset(c.source for c in nb.cells if c.cell_type in ("markdown", "raw"))


def _source_texts(resources) -> frozenset[str]:
    """The Markdown and raw cells of the instructor's notebook this one was handed out from
    (nbgrader converts with the course directory as working directory): those are left as
    written. Without it, every text cell is treated as the student's."""
    info = (resources or {}).get("nbgrader", {})
    if not info.get("assignment") or not info.get("notebook"):
        return frozenset()
    path = os.path.join("source", info["assignment"], f"{info['notebook']}.ipynb")
    try:
        return _texts_of(os.path.abspath(path), os.stat(path).st_mtime)
    except (OSError, ValueError):
        return frozenset()


def safe_markdown(source: str) -> str:
    """A student's Markdown (or raw) cell without what could run script once rendered:
    every ``<`` that could open a tag written as ``&lt;`` (the HTML then shows as text,
    and ``a<b`` still reads ``a<b``) and no ``javascript:``, ``vbscript:`` or non-image
    ``data:`` link. Markdown's own syntax is left alone. Idempotent."""
    source = _joined(source)
    source = re.sub(r"<(?=\s*[A-Za-z!/?])", "&lt;", source)
    return _SCRIPT_URL.sub("blocked:", source)


def _joined(value):
    return "".join(value) if isinstance(value, list) else value


def _safe_data(data: dict) -> dict:
    """The output's MIME bundle without anything that could run script (see
    ``SAFE_MIME_TYPES``); text/plain always stays as it is."""
    kept = {}
    for mime, value in data.items():
        if mime not in SAFE_MIME_TYPES:
            continue  # javascript, widget views, vendor renderers that run code
        if mime == "text/html":
            value = clean_html(value)
        elif mime.startswith("image/") and mime != "image/svg+xml":
            if not isinstance(value, str) or not _BASE64.match(value):
                continue
        elif mime == "image/svg+xml":
            if not isinstance(_joined(value), str) or _ACTIVE_SVG.search(_joined(value)):
                continue
        elif mime == "text/markdown":
            if not isinstance(_joined(value), str) or _ACTIVE_MARKDOWN.search(_joined(value)):
                continue
        elif mime == "text/latex":
            if not isinstance(_joined(value), str) or _ACTIVE_LATEX.search(_joined(value)):
                continue
        kept[mime] = value
    if "text/plain" in data:
        kept["text/plain"] = data["text/plain"]
    return kept


class SanitizeOutputs(Preprocessor):
    """Every output of every cell without active content (``_safe_data``), and the
    notebook without saved widget state. Outputs are neither added nor removed (a tests
    cell's score reads them) and text/plain is never changed; running it again changes
    nothing. Autograde: just before ``SaveAutoGrades`` (nbgrader_config.py, and the
    score phase of ``course.gradebook.config``); GenerateFeedback: before the export."""

    enabled = Bool(True, help="nbconvert runs only enabled preprocessors").tag(config=True)

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)  # rendered by the widget manager nbconvert loads
        handed_out = _source_texts(resources)
        for cell in nb.cells:
            if cell.cell_type in ("markdown", "raw") and cell.source not in handed_out:
                cell.source = safe_markdown(cell.source)  # a student's own text cell
            if cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                data = output.get("data")
                if data:
                    output["data"] = _safe_data(data)
                    if output.get("metadata"):
                        output["metadata"] = {k: v for k, v in output["metadata"].items()
                                              if k in output["data"] or "/" not in k}
        return nb, resources


# ------------------------------------------------------------------ hidden tests in text
MAX_LINES = 20  # of text a code cell other than a tests cell shows in feedback...
MAX_CHARS = 2000  # ...and characters
SHORTENED = "[output shortened in feedback]"
WITHHELD = "[output removed from feedback: it shows code of the hidden tests]"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")

_SPACE = re.compile(r"\s+")
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{16,}")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]{24,}")
_HEX_NOISE = re.compile(r"\\x|0x|[\s,:;'\"\[\]]")
_CODES = re.compile(r"(?:\d{1,7}[\s,;]+){11,}\d{1,7}")
_B64_STD = str.maketrans("-_", "+/")


def secret_lines(nb) -> set[str]:
    """The lines of the hidden tests worth looking for in output (12 characters or more),
    without their whitespace, and the region markers."""
    lines = {line.strip() for cell in nb.cells if cell.cell_type == "code"
             for _, line in region_lines(cell.source, BEGIN_HIDDEN, END_HIDDEN)}
    return {_SPACE.sub("", line) for line in lines if len(line) >= 12} | {
        _SPACE.sub("", BEGIN_HIDDEN), _SPACE.sub("", END_HIDDEN)}


def _decoded(blob: bytes) -> list[str]:
    """A decoded token as text, and what it inflates to if it is zlib or gzip data."""
    texts = [blob.decode("utf-8", "ignore")]
    if blob[:1] in (b"\x78", b"\x1f"):
        try:  # 47: zlib or gzip header; at most 1 MB, however much it claims
            texts.append(zlib.decompressobj(47).decompress(blob, 2**20).decode("utf-8",
                                                                               "ignore"))
        except zlib.error:
            pass
    return texts


def _readings(text: str, depth: int = 2) -> list[str]:
    """``text`` and what it may hide: rot13, reversed, base64/hex tokens decoded (at any
    alignment, wrapped lines joined, inflated if compressed, twice nested), lists of
    character codes."""
    squashed = _SPACE.sub("", text)
    found = [squashed, codecs.encode(squashed, "rot13"), squashed[::-1]]
    blobs = []
    for token in {*_B64_TOKEN.findall(text), *_B64_TOKEN.findall(squashed)}:
        token = token.translate(_B64_STD)
        for start in range(4):
            part = token[start:]
            part = part[:len(part) - len(part) % 4]
            if len(part) >= 16:
                try:
                    blobs.append(binascii.a2b_base64(part))
                except (binascii.Error, ValueError):
                    pass
    for token in _HEX_TOKEN.findall(_HEX_NOISE.sub("", text)):
        for start in range(2):
            part = token[start:]
            blobs.append(bytes.fromhex(part[:len(part) - len(part) % 2]))
    for run in _CODES.findall(text):
        codes = [int(n) for n in re.findall(r"\d+", run)]
        found.append(_SPACE.sub("", "".join(chr(n) for n in codes if n < 0x110000)))
    for blob in blobs:
        for decoded in _decoded(blob):
            found.append(_SPACE.sub("", decoded))
            if depth > 1 and len(decoded) >= 16:
                found.extend(_readings(decoded, depth - 1)[3:])  # its own tokens decoded
    return found


def reveals(text: str, secrets: set[str]) -> bool:
    """Whether ``text`` holds a line of ``secrets`` (``secret_lines``), plainly, without
    whitespace, or in one of the encodings ``_readings`` undoes."""
    if not secrets or not text:
        return False
    return any(secret in reading for reading in _readings(text) for secret in secrets)


def scrub(text, secret_lines: set[str]) -> str:
    """``text`` without any line that contains one of ``secret_lines``."""
    if isinstance(text, list):
        text = "".join(text)
    if not isinstance(text, str):
        return text
    kept = [line for line in text.splitlines(keepends=True)
            if not any(secret in line for secret in secret_lines)]
    return "".join(kept)


class _Budget:
    """What is left of a cell's ``MAX_LINES`` lines and ``MAX_CHARS`` characters."""

    def __init__(self, lines: int = MAX_LINES, chars: int = MAX_CHARS):
        self.lines, self.chars, self.cut = lines, chars, False

    def take(self, text: str) -> str:
        """The start of ``text`` that fits (``cut`` tells whether some was left out)."""
        lines = text.splitlines(keepends=True)
        kept = "".join(lines[:max(self.lines, 0)])[:max(self.chars, 0)]
        self.cut = kept != text
        self.lines -= len(kept.splitlines())
        self.chars -= len(kept)
        return kept


def _note(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text + "\n")


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
    nbgrader_config.py).

    With ``sanitize_html`` (nbgrader_config.py sets it for feedback) the HTML of Markdown
    cells, which nbgrader's feedback template does not pass through nbconvert's
    ``clean_html``, is sanitized like outputs (``clean_html`` here, the filter of that name
    too), and MathJax commands that make links or HTML are written out as text.
    """

    @pass_context
    def markdown2html(self, context, source):
        html = super().markdown2html(context, source)
        if not self.sanitize_html:
            return html
        return _ACTIVE_LATEX.sub(lambda m: m.group(0)[1:], clean_html(html))

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
        if self.sanitize_html:
            self.register_filter("clean_html", clean_html)
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', html), resources
