"""The scan's rules: the flag, what a submission may not touch, and what is suspicious.

``Flag`` is one finding; ``_suspicious`` walks a cell's tree for what no honest answer
needs (interpreter internals, files and processes, every way to IPython's shell, dunder
attributes); the helpers say which ``utils`` functions an exercise's tests name as
references it must not hand the work to.
Imports ``course.notebooks`` and utils.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from utils import grading

from ...notebooks import is_tests, nbgrader_meta

TEST_HELPERS = set(grading.__all__)

PROTECTED_ROOTS = {"utils", "np", "numpy", "builtins", "__builtins__", "sys", "grading"}


@dataclass(frozen=True)
class Flag:
    kind: str  # "delegation", "tampering", "copied" or "suspicious"
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
