"""The feedback page: ``FeedbackExporter``, nbconvert's HTML exporter made quick.

Templates compiled once per process, each distinct code cell highlighted once, an alt text
for every image. With ``sanitize_html`` (nbgrader_config.py) the HTML of Markdown cells is
sanitized too. Imports nbconvert and jinja2.
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
from .sanitize import _ACTIVE_LATEX, clean_html


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
