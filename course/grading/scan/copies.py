"""Copies of the reference: a ``copied`` flag for a graded function that, names and layout
aside, nearly equals the course's own answer to its exercise.

The repository is public, so a pasted solution is the first thing to look for. Each graded
function of a submission is compared with the full edition's code of every function its
assignment withholds (``course.editions.WITHHELD``: the references, and the helpers that
compute their answers) by copydetect's winnowed fingerprints of the token stream, in which
names, literals and formatting are normalized away. A function is flagged when the two share
at least ``NEARLY`` of their fingerprints *both ways*: the math of an exercise makes honest
answers resemble the reference (the course's own solutions share at most 86 % with it), while a
pasted reference, renamed and reformatted, shares 94 % or more. Functions too short to tell
(fewer than ``MIN_PRINTS`` fingerprints) are never flagged. A flag is for the instructor's
review, never a zero.

Imports ``course.editions``, ``course.notebooks``, ``course.grading.scan.rules`` and copydetect.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import io
import textwrap

from ... import editions
from ...notebooks import grade_id, nbgrader_meta
from .rules import Flag

K, WINDOW = 12, 4  # tokens per fingerprint, winnowing window (measured: see the docstring)
NEARLY = 0.9
MIN_PRINTS = 10


def body_text(source: str) -> str | None:
    """The body of the one function ``source`` defines, docstring left out, dedented."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    fn = tree.body[0] if tree.body else None
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    body = fn.body[1:] if ast.get_docstring(fn) else fn.body
    if not body:
        return None
    lines = textwrap.dedent(source).splitlines()
    return textwrap.dedent("\n".join(lines[body[0].lineno - 1:fn.end_lineno]))


def fingerprint(text: str):
    from copydetect import CodeFingerprint

    return CodeFingerprint("code.py", K, WINDOW, fp=io.StringIO(text), filter=True,
                           language="python")


@functools.lru_cache(maxsize=16)
def references(assignment: str) -> tuple:
    """((``utils.module.name``, fingerprint), ...) of the functions ``assignment`` withholds,
    from the full edition."""
    found = []
    for module, names in editions.WITHHELD.get(assignment, {}).items():
        loaded = importlib.import_module(f"utils.{module}")
        for name in names:
            obj = getattr(loaded, name, None)
            if inspect.isfunction(obj):
                text = body_text(inspect.getsource(obj))
                if text:
                    prints = fingerprint(text)
                    if len(prints.hashes) >= MIN_PRINTS:
                        found.append((f"utils.{module}.{name}", prints))
    return tuple(found)


def copied_flags(nb, assignment: str, graded: set[str]) -> list[Flag]:
    """A ``copied`` flag for every graded function of ``nb`` that nearly equals a reference."""
    from copydetect import compare_files

    refs = references(assignment)
    flags = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not nbgrader_meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name not in graded:
                continue
            text = body_text(ast.get_source_segment(cell.source, fn) or "")
            prints = fingerprint(text) if text else None
            if prints is None or len(prints.hashes) < MIN_PRINTS:
                continue
            for qualname, reference in refs:
                share = min(compare_files(prints, reference)[1])
                if share >= NEARLY:
                    flags.append(Flag("copied", grade_id(cell) or "cell", fn.lineno,
                                      f"{fn.name} is {share:.0%} the course's reference "
                                      f"{qualname}, names and layout aside: copied from the "
                                      "reference?"))
                    break
    return flags
