"""Reading a cell as the kernel runs it: IPython's syntax turned into Python first.

IPython's own ``TransformerManager`` turns magics, shell escapes and ``?`` help into
Python (imported only when a cell needs it); each magic is remembered as written, and
the Python that ``%time``/``%%time`` and their kind run is read like any other. A cell
that still does not parse is an error to flag, never a cell to skip.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from dataclasses import dataclass, replace

from .rules import _dotted

# ---------------------------------------------------------------- what the kernel runs
# IPython turns its own syntax into Python before running a cell (``_ = %time 0`` becomes
# ``_ = get_ipython().run_line_magic('time', '0')``): the scan reads that Python, as the
# kernel does, so a magic cannot hide the rest of its cell.
#
# Only cells that may hold IPython syntax are transformed: a cell that parses as Python and
# has none of these marks is run as it is (a ``...`` line is a prompt IPython strips).
_IPYTHON_MARKS = re.compile(r"^[ \t]*(?:[%!?/,;]|>>>|\.\.\.|In \[)|\?[ \t]*$|=[ \t]*[%!]", re.M)

PERMITTED_MAGICS = {"matplotlib"}

TIMING_MAGICS = {"time", "timeit"}  # permitted as a statement (``%time f(x)``), not as a value

# magics whose argument (line magics) or body (cell magics) the kernel runs as Python
PYTHON_LINE_MAGICS = TIMING_MAGICS | {"prun", "debug"}

PYTHON_CELL_MAGICS = TIMING_MAGICS | {"prun", "debug", "capture"}

_TIMEIT_OPTIONS = re.compile(r"(?:\s*(?:-[nrp]\s*\d+|-[qoct]+)(?=\s))*\s*")

_MAX_NESTING = 4  # ``%time %time ...``: deeper than this is reported, not followed


@dataclass(frozen=True)
class _Magic:
    line: int
    written: str  # as the student wrote it: "%time", "%%bash", "!cat", "x??"
    permitted: bool
    how: str = ""  # said after it in the flag


@dataclass(frozen=True)
class _Code:
    """A cell as the kernel runs it: the syntax tree, on the lines of the student's cell, of
    its Python and of the Python its magics run (the magic calls themselves are ``None``), its
    magics, the reasons it does not parse (``(line, message)``), and, for a one-line cell
    that IPython may run as a magic without ``%`` (automagic), ``(line, word, rest)``."""
    tree: ast.Module
    magics: tuple[_Magic, ...] = ()
    errors: tuple[tuple[int, str], ...] = ()
    one_line: tuple[int, str, str] | None = None


@functools.cache
def _transformer():
    """IPython's own static transformer (the kernel's ``input_transformer_manager``); IPython is
    imported on the first cell that needs it, not by every grading process."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def _line_map(source: str, text: str) -> list[int]:
    """For each line of ``text`` (the transformed cell), the line of ``source`` it came from:
    IPython drops leading blank lines and folds a magic (with its continuation lines, or a
    ``%%`` cell's body) into one line."""
    lines = source.splitlines()
    skip = next((i for i, line in enumerate(lines) if line.strip()), 0)
    lines, out = lines[skip:], text.splitlines()
    if len(lines) == len(out):
        return [skip + i + 1 for i in range(len(out))]
    import difflib

    mapped = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, lines, out,
                                                      autojunk=False).get_opcodes():
        if tag != "delete":
            mapped += [skip + 1 + i1 + min(j - j1, max(i2 - i1 - 1, 0)) for j in range(j1, j2)]
    return mapped


def _one_line(text: str) -> tuple[int, str, str] | None:
    """``(index of the line, word, rest)`` of a one-line cell, which IPython runs as
    ``%word rest`` when ``word`` is a magic the notebook does not shadow (its
    ``AutoMagicChecker``; leading blank lines do not count, trailing ones do)."""
    lines = text.splitlines()
    index = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if len(lines) - index != 1:
        return None
    match = re.match(r"\s*([\w.*]+)(.*)", lines[index])
    if match is None or not match.group(1).isidentifier():
        return None
    rest = match.group(2).strip()
    return None if rest[:1] in ("=", ",") else (index, match.group(1), rest)


def _magic_call(node) -> tuple[str, list[str]] | None:
    """``(method, arguments)`` of ``get_ipython().run_line_magic('time', '0')`` and the like."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic", "system", "getoutput")
            and isinstance(node.func.value, ast.Call) and not node.func.value.args
            and _dotted(node.func.value.func) == "get_ipython" and not node.keywords
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
        return node.func.attr, [a.value for a in node.args]
    return None


def _shifted(code: _Code, by: int) -> tuple[list, list[_Magic], list[tuple[int, str]]]:
    """The statements, magics and errors of ``code`` moved down ``by`` lines (a copy: parsed
    cells are shared)."""
    tree = copy.deepcopy(code.tree)
    ast.increment_lineno(tree, by)
    return (tree.body, [replace(m, line=m.line + by) for m in code.magics],
            [(line + by, message) for line, message in code.errors])


def _unmagic(tree, lines: list[str], changed: set[int], depth: int) -> tuple[list, list, list]:
    """Replace the magic calls IPython wrote in ``tree`` (on the lines it ``changed`` of the
    student's ``lines``): a magic statement by ``None`` and the Python it runs after it (in a
    function, in that function), a magic's value by the expression it evaluates, or by
    ``None``; return the Python the other magics run, the magics and what does not parse."""
    extra, magics, errors = [], [], []

    def python_of(node, statement: bool) -> list | None:
        """The statements a magic call runs (``None`` if ``node`` is no magic IPython wrote)."""
        found = _magic_call(node)
        line = getattr(node, "lineno", 0)
        if found is None or line not in changed:
            return None  # not a magic, or one the student spelt out: flagged as written
        method, args = found
        name = args[0] if args else ""
        python = []  # (where its code starts, the text, lines down) of Python it runs
        if method == "run_line_magic":
            argument = args[1] if len(args) > 1 else ""
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            written = text.strip()[:40] if name.startswith(("pinfo", "psearch")) else f"%{name}"
            permitted = name in PERMITTED_MAGICS or (name in TIMING_MAGICS and statement)
            if name in PYTHON_LINE_MAGICS:
                python.append((_TIMEIT_OPTIONS.match(argument).end() if name == "timeit" else 0,
                               argument, line - 1))
        elif method == "run_cell_magic":
            written, permitted = f"%%{name}", name in TIMING_MAGICS
            if name in PYTHON_CELL_MAGICS and len(args) > 2:
                python.append((0, args[2], line))  # the body, from the next line on
                if name == "timeit" and len(args) > 1:  # its setup statement
                    python.append((_TIMEIT_OPTIONS.match(args[1]).end(), args[1], line - 1))
        else:
            command = args[0].split()[:1] if args else []
            written, permitted = "!" + "".join(command), False
        magics.append(_Magic(line, written, permitted))
        statements = []
        for start, code, by in python:
            if depth >= _MAX_NESTING:
                errors.append((line, f"{_TOO_DEEP} (magics in magics)"))
                continue
            body, inner, wrong = _shifted(_code(code[start:], depth + 1), by)
            statements += body
            magics.extend(inner)
            if permitted:  # a flagged magic is flagged already
                errors.extend((n, m if "(in " in m else f"{m} (in {written})") for n, m in wrong)
        return statements

    for parent in list(ast.walk(tree)):
        for field, value in ast.iter_fields(parent):
            if not isinstance(value, list):
                value = [value]
            items = []
            for node in value:
                if isinstance(node, ast.Expr) and (
                        body := python_of(node.value, statement=True)) is not None:
                    node.value = ast.copy_location(ast.Constant(None), node.value)
                    items += [node, *body]
                elif (body := python_of(node, statement=False)) is not None:
                    if len(body) == 1 and isinstance(body[0], ast.Expr):  # its value: %time's
                        items.append(body[0].value)
                    else:
                        items.append(ast.copy_location(ast.Constant(None), node))
                        extra += body
                else:
                    items.append(node)
            if isinstance(getattr(parent, field), list):
                getattr(parent, field)[:] = items
            elif items[0] is not value[0]:
                setattr(parent, field, items[0])
    return extra, magics, errors


_EMPTY = ast.Module(body=[], type_ignores=[])

_NOT_PYTHON = "does not parse as Python: "

_TOO_DEEP = _NOT_PYTHON + "nested too deeply"

# IPython reads a cell token by token (about 10 us a token): the scan reads the IPython syntax
# of this much code at most, so that no notebook holds up the scan of the class for long
TRANSFORM_CELL_CHARS = 32_000

TRANSFORM_NOTEBOOK_CHARS = 128_000


@functools.lru_cache(maxsize=4096)
def _plain(source: str) -> _Code | None:
    """A cell the kernel runs as it is, parsed; None when it may hold IPython syntax (once
    per process and distinct source: across a class most cells are the handed-out ones, and
    the scan only reads trees, never changes them)."""
    if _IPYTHON_MARKS.search(source) is not None:
        return None
    try:
        tree = ast.parse(source)
    except (RecursionError, MemoryError):  # what IPython changes does not unnest it
        return _Code(_EMPTY, errors=((1, _TOO_DEEP),))
    except (SyntaxError, ValueError):
        return None
    one_line = _one_line(source)
    return _Code(tree, one_line=one_line and (one_line[0] + 1, *one_line[1:]))


def _parse(source: str, most: int = TRANSFORM_CELL_CHARS) -> _Code:
    """A cell as the kernel runs it (see ``_Code``), if it holds IPython syntax only when it
    is at most ``most`` characters long."""
    code = _plain(source)
    if code is None and len(source) > most:
        return _Code(_EMPTY, errors=((1, f"holds IPython syntax in more code than the scan reads "
                                         f"({len(source) // 1000} kB; at most "
                                         f"{TRANSFORM_CELL_CHARS // 1000} kB a cell, "
                                         f"{TRANSFORM_NOTEBOOK_CHARS // 1000} kB a notebook)"),))
    return code or _code(source, 0)


@functools.lru_cache(maxsize=1024)
def _code(source: str, depth: int) -> _Code:
    """``_parse`` of a cell (or of the Python a magic runs, ``depth`` magics deep), once."""
    code = _plain(source)
    if code is not None:
        return code
    try:
        text = _transformer().transform_cell(source)
    except Exception as exc:  # noqa: BLE001 -- IPython could not read it: neither can the kernel
        return _Code(_EMPTY, errors=((1, f"IPython cannot read it ({type(exc).__name__})"),))
    mapped = _line_map(source, text) or [1]
    one_line = _one_line(text)
    one_line = one_line and (mapped[min(one_line[0], len(mapped) - 1)], *one_line[1:])
    try:
        tree = ast.parse(text)
    except (RecursionError, MemoryError):
        return _Code(_EMPTY, errors=((1, _TOO_DEEP),))
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return _Code(_EMPTY, errors=((mapped[min(line, len(mapped)) - 1],
                                      _NOT_PYTHON + (getattr(exc, "msg", "") or str(exc))),),
                     one_line=one_line)
    for node in ast.walk(tree):
        for attr in ("lineno", "end_lineno"):
            if getattr(node, attr, None):
                setattr(node, attr, mapped[min(getattr(node, attr), len(mapped)) - 1])
    lines = source.splitlines()
    changed = {line for line, new in zip(mapped, text.splitlines(), strict=False)
               if line > len(lines) or lines[line - 1] != new}
    try:
        extra, magics, errors = _unmagic(tree, lines, changed, depth)
    except RecursionError:
        return _Code(_EMPTY, errors=((1, _TOO_DEEP),))
    tree.body += extra
    return _Code(tree, tuple(magics), tuple(errors), one_line)
