"""Anti-cheat scan: flags for the instructor's review, never automatic zeros.

Reads a submission's code cells (not the locked test cells, which nbgrader restores)
and reports:

- delegation: a graded function that calls, imports or aliases the ``utils``
  function of the same name (``utils.sigmoid`` inside ``def sigmoid``), or any ``utils``
  function its tests name as a reference it must not hand the work to
  (``check_not_delegated(two_layer_forward, [utils.mlp.forward, ...])``);
- tampering: code that assigns to, deletes or patches attributes of ``utils``,
  ``numpy.testing``, builtins, ``sys.modules`` or the test helpers, or rebinds a
  test helper's name;
- suspicious: anything no honest answer in this course needs — IPython's machinery and
  every way to its shell (``get_ipython``, ``exit._ip``, ``__builtins__``, ``sys.modules``,
  the history ``In``/``Out``/``_ih``/``_i3``, magics other than ``%matplotlib`` and
  ``%time``/``%timeit`` statements, shell escapes), interpreter internals (``sys``,
  ``builtins``, ``gc``, ``inspect``, ``ctypes``, ``importlib``), ``exec``/``eval``/
  ``compile``/``__import__``, ``getattr`` with a computed name, files and processes (``open``,
  ``os``, ``pathlib``, ``subprocess``, ``shutil``, ``socket``), dunder attributes such as
  ``__file__`` or ``__globals__``; and a cell that does not parse as Python.

The scan reads a cell as the kernel runs it: IPython's syntax (``_ = %time 0``, ``!ls``,
``%%time``) is first turned into Python by IPython's own transformer, so no magic hides the
rest of its cell, and the Python that ``%time`` or ``%%time`` runs is read like any other.
Cells handed out unchanged (the same text as a cell of the source notebook) are not scanned.
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import keyword
import re
from dataclasses import dataclass, replace

from utils import grading

from .notebooks import grade_id, is_tests, nbgrader_meta

TEST_HELPERS = set(grading.__all__)
PROTECTED_ROOTS = {"utils", "np", "numpy", "builtins", "__builtins__", "sys", "grading"}


@dataclass(frozen=True)
class Flag:
    kind: str  # "delegation", "tampering" or "suspicious"
    cell: str  # the answer cell's grade_id, or "cell N" (1-based) for a cell of the student's
    line: int
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} ({self.cell}, line {self.line}): {self.detail}"


def _dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Subscript):
        return _dotted(node.value) + "[...]"
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "(...)"
    return ""


def _protected(name: str) -> bool:
    root = name.split(".")[0].split("[")[0].split("(")[0]
    if root in ("np", "numpy"):
        return ".testing" in name or name.count(".") >= 1
    return root in PROTECTED_ROOTS or name.startswith("vars(")


def _graded_names(source_nb) -> set[str]:
    names = set()
    for cell in source_nb.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return names


def _resolve(dotted: str):
    """The object a dotted ``utils...`` name refers to, or None."""
    import importlib

    parts = dotted.split(".")
    if parts[0] != "utils":
        return None
    obj = importlib.import_module("utils")
    for part in parts[1:]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _references(source_nb) -> dict[str, list]:
    """{graded function: [utils objects it must not use]} from the tests' check_not_delegated."""
    refs: dict[str, list] = {}
    for cell in source_nb.cells:
        if not is_tests(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and _dotted(node.func).endswith("check_not_delegated")
                    and len(node.args) >= 2 and isinstance(node.args[0], ast.Name)
                    and isinstance(node.args[1], ast.List | ast.Tuple)):
                found = [_resolve(_dotted(e)) for e in node.args[1].elts]
                refs.setdefault(node.args[0].id, []).extend(f for f in found if f is not None)
    return refs


SUSPICIOUS_MODULES = {"sys", "builtins", "gc", "inspect", "ctypes", "importlib", "os", "pathlib",
                      "subprocess", "shutil", "socket", "io", "signal", "threading", "pickle",
                      "marshal", "types", "code", "codeop", "runpy", "IPython", "ipykernel",
                      "traitlets", "nbformat", "nbgrader", "glob", "tempfile", "urllib", "requests",
                      "__main__"}
SUSPICIOUS_CALLS = {"exec", "eval", "compile", "__import__", "open", "get_ipython", "globals",
                    "locals", "vars", "breakpoint", "input", "memoryview"}
# flagged when read at all (``g = get_ipython``), not only called: they reach the shell or run code
SUSPICIOUS_NAMES = SUSPICIOUS_CALLS - {"input", "memoryview"}
HARMLESS_DUNDERS = {"__name__", "__init__", "__doc__", "__len__", "__call__"}
# IPython's history: In/_ih hold every earlier cell's source (test cells included), Out/_oh
# their results; _i, _ii, _iii and _i<N> one earlier input each
HISTORY_NAMES = {"In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii"}
# a string naming one of these is a way to the shell (``sys.modules['IPython']``,
# ``globals()['get_ipython']``, ``getattr(exit, '_ip')``) that no answer here needs
SHELL_STRINGS = {"IPython", "ipykernel", "get_ipython", "_ip", "__builtins__", "__builtin__",
                 "builtins", "__main__", "_ih", "_oh", "_dh"}
_KEYED = (".get", ".pop", ".setdefault", ".__getitem__")  # calls whose string argument is a key


def _history(name: str) -> bool:
    return name in HISTORY_NAMES or re.fullmatch(r"_i\d+", name) is not None


def _shell_string(value: str, keyed: bool) -> bool:
    if re.fullmatch(r"[A-Za-z_][\w.]*", value) is None:
        return False
    root = value.split(".")[0]
    return root in SHELL_STRINGS or _history(root) and (keyed or root not in HISTORY_NAMES)


def _flagged_attribute(attr: str) -> bool:
    """Attributes no answer reads: dunders (``__globals__``) and ``_ip``, the IPython shell
    that ``exit`` and ``quit`` carry."""
    return attr == "_ip" or (attr.startswith("__") and attr.endswith("__")
                             and attr not in HARMLESS_DUNDERS)


def _suspicious(tree, where: str, bound=frozenset) -> list:
    """Flags for what no answer in this course needs (see the module docstring); ``bound()``:
    the names the notebook's own code binds (its ``In`` is then not IPython's)."""
    flags = []

    def flag(node, detail):
        flags.append(Flag("suspicious", where, getattr(node, "lineno", 0), detail))

    called, keys, done = set(), set(), set()  # ids: called names, keys, strings flagged already
    for node in ast.walk(tree):  # breadth first: a call or subscript before what it holds
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names]
            for name in names:
                if name.split(".")[0] in SUSPICIOUS_MODULES:
                    flag(node, f"imports {name}")
        elif isinstance(node, ast.Call):
            called.add(id(node.func))
            func = _dotted(node.func)
            attr = node.args[1] if len(node.args) >= 2 else None
            constant = isinstance(attr, ast.Constant) and isinstance(attr.value, str)
            if func in SUSPICIOUS_CALLS:
                flag(node, f"calls {func}()")
            elif func == "getattr" and attr is not None and not constant:
                flag(node, "calls getattr with a computed attribute name")
            elif func in ("getattr", "hasattr", "setattr", "delattr") and constant and \
                    _flagged_attribute(attr.value):
                flag(node, f"reads the attribute {attr.value} (with {func})")
                done.add(id(attr))  # flagged already: not again as a string
            if func in ("getattr", "hasattr") or func.endswith(_KEYED):
                keys.update(id(a) for a in node.args)
        elif isinstance(node, ast.Subscript):
            keys.add(id(node.slice))
        elif isinstance(node, ast.Attribute):
            if _flagged_attribute(node.attr):
                flag(node, f"reads the attribute {node.attr}")
            elif node.attr == "modules" and _dotted(node.value).split(".")[-1] == "sys":
                flag(node, f"reads {_dotted(node)}")
        elif isinstance(node, ast.Name):
            if node.id in ("__builtins__", "__loader__", "__spec__"):
                flag(node, f"uses {node.id}")
            elif not isinstance(node.ctx, ast.Load):
                continue
            elif node.id in SUSPICIOUS_NAMES and id(node) not in called:
                flag(node, f"uses {node.id}")
            elif _history(node.id) and node.id not in bound():
                flag(node, f"reads IPython's history {node.id}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in done and _shell_string(node.value, keyed=id(node) in keys):
            flag(node, f"names {node.value!r} in a string")
    return flags


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


@functools.cache
def _line_magics() -> frozenset[str]:
    """The names a kernel runs as line magics without ``%``: IPython's magics and aliases,
    ipykernel's (imported on the first one-line cell whose word could be one)."""
    from IPython.core import magics
    from IPython.core.alias import default_aliases

    names = {name for cls in vars(magics).values() if isinstance(cls, type)
             and isinstance(getattr(cls, "magics", None), dict)
             for name in cls.magics.get("line", ())}
    names |= {alias[0] for alias in default_aliases()}
    try:
        from ipykernel.zmqshell import KernelMagics
    except ImportError:  # pragma: no cover -- the course's kernels are ipykernel's
        pass
    else:
        names |= set(KernelMagics.magics["line"])
    return frozenset(names)


_SHADOWING = set(dir(builtins)) | {"exit", "quit", "get_ipython", "display"}


def _automagic(code: _Code, bound) -> _Code | None:
    """What the kernel runs for a one-line cell such as ``history`` when IPython takes it
    for ``%history`` (no name of the notebook (``bound()``), no builtin or keyword shadows
    the magic)."""
    if code.one_line is None:
        return None
    line, word, rest = code.one_line
    if word in _SHADOWING or keyword.iskeyword(word) or word in bound() or \
            word not in _line_magics():
        return None
    return _magic_line(line, word, rest)


@functools.lru_cache(maxsize=256)
def _magic_line(line: int, word: str, rest: str) -> _Code:
    """``%word rest`` on ``line``, as written without ``%``."""
    tree = ast.parse(f"get_ipython().run_line_magic({word!r}, {rest!r})")
    ast.increment_lineno(tree, line - 1)
    lines = [""] * (line - 1) + [word]
    extra, magics, errors = _unmagic(tree, lines, {line}, 0)
    tree.body += extra
    how = f" (a one-line cell: IPython runs it as %{word})"
    return _Code(tree, tuple(_Magic(m.line, word if m.line == line and m.written == f"%{word}"
                                    else m.written, m.permitted, how if m.line == line else "")
                             for m in magics), tuple(errors))


_SOURCE_FACTS: dict[int, tuple] = {}  # id(notebook) -> (notebook, facts): kept alive


def _source_facts(source_nb) -> tuple[set, dict, set, dict]:
    """What the scan needs of the instructor's notebook (graded names, the utils objects
    each must not use, the handed-out code), worked out once per notebook object, and a
    memo of the flags of its handed-out cells."""
    kept = _SOURCE_FACTS.get(id(source_nb))
    if kept is None or kept[0] is not source_nb:
        handed_out = {c.source.strip() for c in source_nb.cells
                      if c.cell_type == "code" and not nbgrader_meta(c).get("solution")}
        if len(_SOURCE_FACTS) >= 64:
            _SOURCE_FACTS.clear()
        kept = _SOURCE_FACTS[id(source_nb)] = (
            source_nb, (_graded_names(source_nb), _references(source_nb), handed_out, {}))
    return kept[1]


def scan_notebook(nb, source_nb) -> list[Flag]:
    """All flags for one submitted notebook, given the instructor's source notebook."""
    graded, refs, handed_out, seen = _source_facts(source_nb)
    cells = [(index, grade_id(cell) or f"cell {index + 1}", cell.source,
              cell.source.strip() in handed_out)
             for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and not is_tests(cell)]
    codes, left = [], TRANSFORM_NOTEBOOK_CHARS
    for _, _, source, _ in cells:
        codes.append(_parse(source, min(left, TRANSFORM_CELL_CHARS)))
        if _plain(source) is None:
            left -= len(source)
    parsed, known = tuple(codes), []

    def bound() -> frozenset:
        """The names the notebook binds, worked out when a cell needs them (rarely)."""
        if not known:
            known.append(frozenset().union(*(_bound_in(code.tree) for code in parsed)))
        return known[0]

    aliases: dict[str, str] = {"utils": "utils"}  # one kernel: an import in any cell counts
    for number, (_, _, _, handed) in enumerate(cells):
        magic = None if handed else _automagic(codes[number], bound)
        codes[number] = magic or codes[number]
        aliases.update(_aliases_in(codes[number].tree))
    alias_key = tuple(sorted(aliases.items()))
    found, flags = [], []
    for (index, where, source, handed), code in zip(cells, codes, strict=True):
        if handed:  # the same cell, names and aliases: the same flags
            key = (source, where, alias_key)
            if key not in seen:
                seen[key] = _scan_tree(code.tree, where, graded, aliases, refs)
            found += seen[key]
            continue
        try:
            found += _scan_tree(code.tree, where, graded, aliases, refs)
            mine = _suspicious(code.tree, where, bound)
        except RecursionError:
            mine = [Flag("suspicious", where, 0, f"cell {index + 1} is nested too deeply to scan")]
        mine += [Flag("suspicious", where, m.line,
                      f"uses the IPython magic or shell escape {m.written!r}{m.how}")
                 for m in code.magics if not m.permitted]
        mine += [Flag("suspicious", where, line, f"cell {index + 1} {detail}")
                 for line, detail in code.errors]
        flags += sorted(dict.fromkeys(mine), key=lambda f: f.line)
    return found + flags


@functools.lru_cache(maxsize=4096)
def _aliases_in(tree) -> tuple[tuple[str, str], ...]:
    """``_utils_aliases`` of a cell's (shared) tree, once per tree."""
    return tuple(_utils_aliases(tree).items())


@functools.lru_cache(maxsize=4096)
def _bound_in(tree) -> frozenset[str]:
    """The names a cell binds (its own ``history`` is no magic, its own ``In`` not IPython's
    history); once per (shared) tree."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    history = {name for name in names if _history(name)}
    return frozenset(names - (history - _history_bound(tree)) if history else names)


def _history_bound(tree) -> set[str]:
    """The history names (``In``...) a cell binds by a binding that does not read the name
    itself: ``In = 3`` binds ``In``, ``In = In[3]`` does not (it reads IPython's)."""
    names = set()
    for node in ast.walk(tree):
        targets, value = [], None
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):  # not +=: it reads
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            targets, value = [node.target], node.iter
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets, value = [node.optional_vars], node.context_expr
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef |
                        ast.ExceptHandler):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        read = {n.id for n in ast.walk(value)
                if isinstance(n, ast.Name)} if value is not None else set()
        names.update(n.id for t in targets for n in ast.walk(t)
                     if isinstance(n, ast.Name) and n.id not in read)
    return {name for name in names if name and _history(name)}


def _utils_aliases(tree) -> dict[str, str]:
    """Local names bound to ``utils`` or one of its modules: {"ua": "utils.activations"}."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "utils":
                    aliases[alias.asname or "utils"] = alias.name if alias.asname else "utils"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "utils":
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _utils_name(node, aliases: dict[str, str]) -> str:
    """The fully qualified ``utils...`` name an expression refers to, or ""."""
    name = _dotted(node)
    head, _, rest = name.partition(".")
    if head not in aliases:
        return ""
    return aliases[head] + (f".{rest}" if rest else "")


def _scan_tree(tree, where: str, graded: set[str], aliases: dict[str, str],
               refs: dict[str, list]) -> list[Flag]:
    flags = []

    def flag(kind, node, detail):
        flags.append(Flag(kind, where, getattr(node, "lineno", 0), detail))

    def reference(node, graded_name: str) -> str:
        """The utils function ``node`` refers to, if it is the one of the same name or one the
        tests name as a reference for this exercise."""
        used = _utils_name(node, aliases) if isinstance(node, ast.Attribute | ast.Name) else ""
        if "." not in used:
            return ""
        if used.split(".")[-1] == graded_name:
            return used
        target = _resolve(used)
        forbidden = refs.get(graded_name, [])
        return used if target is not None and any(target is f for f in forbidden) else ""

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            name = _dotted(target)
            if isinstance(target, ast.Attribute | ast.Subscript) and (
                    _protected(name) or _utils_name(target, aliases)):
                verb = "deletes" if isinstance(node, ast.Delete) else "assigns to"
                flag("tampering", node, f"{verb} {name}")
            elif isinstance(target, ast.Name) and target.id in TEST_HELPERS:
                flag("tampering", node, f"rebinds the test helper {target.id}")
            elif (isinstance(target, ast.Name) and target.id in graded
                  and isinstance(node, ast.Assign)):
                used = reference(node.value, target.id)
                if used:
                    flag("delegation", node, f"{target.id} is an alias of {used}")
        if isinstance(node, ast.Call):
            func = _dotted(node.func)
            if func in ("setattr", "delattr", "object.__setattr__") and node.args:
                obj = _dotted(node.args[0])
                if _protected(obj) or obj in ("utils", "np", "numpy") or _utils_name(
                        node.args[0], aliases):
                    flag("tampering", node, f"{func} on {obj}")
            if func.endswith("monkeypatch.setattr") or func in ("importlib.reload", "reload"):
                flag("tampering", node, f"calls {func}")
        if isinstance(node, ast.FunctionDef) and node.name in graded:
            for inner in ast.walk(node):
                used = reference(inner, node.name)
                if used:
                    flag("delegation", inner, f"{node.name} uses {used}")
                    break
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utils"):
            for alias in node.names:
                if alias.name in graded:
                    flag("delegation", node, f"imports {alias.name} from {node.module}")
    return flags
