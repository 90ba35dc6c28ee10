"""No active content from a student's notebook: ``SanitizeOutputs``.

HTML outputs are sanitized with ``nh3`` (tables, images and text stay), JavaScript and any
other MIME type outside a short allow-list is dropped (a widget view keeps its text/plain),
an SVG or Markdown or LaTeX output that could run script falls back to its text/plain, and
the notebook's saved widget state is dropped. A student's own Markdown and raw cells (those
not handed out) show their HTML as text and lose script links. It runs in the Autograde
pipeline just before ``SaveAutoGrades`` (the autograded notebook, which formgrader renders
for the instructor) and in the feedback pipeline. Imports nh3, nbformat and nbconvert.
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
    score phase of ``course.grading.passes.config``); GenerateFeedback: before the export."""

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
