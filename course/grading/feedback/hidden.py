"""Hidden tests in text: does an output show a line of them, however encoded?

``secret_lines`` are the hidden tests' lines worth looking for; ``reveals`` reads a text
plainly and in every cheaply checkable encoding (base64, hex, rot13, reversed, zlib/gzip
behind base64 or hex, character codes); ``scrub`` drops the lines that do. Imports the
standard library, nbformat and ``course.notebooks`` only.
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

from ...notebooks import BEGIN_HIDDEN, END_HIDDEN, KERNEL_CASES_CALL, region_lines


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
    without their whitespace, the region markers, and the call a grading kernel runs in
    their place."""
    lines = {line.strip() for cell in nb.cells if cell.cell_type == "code"
             for _, line in region_lines(cell.source, BEGIN_HIDDEN, END_HIDDEN)}
    return {_SPACE.sub("", line) for line in lines if len(line) >= 12} | {
        _SPACE.sub("", BEGIN_HIDDEN), _SPACE.sub("", END_HIDDEN),
        _SPACE.sub("", KERNEL_CASES_CALL)}  # what the kernel ran instead: the cases' inputs


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
