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
- suspicious: anything no honest answer in this course needs — IPython's machinery
  (``get_ipython``, magics other than ``%matplotlib``, shell escapes), interpreter internals
  (``sys``, ``builtins``, ``gc``, ``inspect``, ``ctypes``, ``importlib``), ``exec``/``eval``/
  ``compile``/``__import__``, ``getattr`` with a computed name, files and processes (``open``,
  ``os``, ``pathlib``, ``subprocess``, ``shutil``, ``socket``), dunder attributes such as
  ``__file__`` or ``__globals__``.

Cells handed out unchanged (the same text as a cell of the source notebook) are not scanned.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

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


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


SUSPICIOUS_MODULES = {"sys", "builtins", "gc", "inspect", "ctypes", "importlib", "os", "pathlib",
                      "subprocess", "shutil", "socket", "io", "signal", "threading", "pickle",
                      "marshal", "types", "code", "codeop", "runpy", "IPython", "ipykernel",
                      "traitlets", "nbformat", "nbgrader", "glob", "tempfile", "urllib", "requests"}
SUSPICIOUS_CALLS = {"exec", "eval", "compile", "__import__", "open", "get_ipython", "globals",
                    "breakpoint", "input", "memoryview"}
HARMLESS_DUNDERS = {"__name__", "__init__", "__doc__", "__len__", "__call__"}


def _magic_flags(source: str, where: str) -> list:
    flags = []
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("!") or (stripped.startswith("%")
                                        and not stripped.startswith(("%matplotlib", "%%time",
                                                                     "%time"))):
            flags.append(Flag("suspicious", where, number,
                              f"uses the IPython magic or shell escape {stripped.split()[0]!r}"))
    return flags


def _suspicious(tree, where: str) -> list:
    """Flags for what no answer in this course needs (see the module docstring)."""
    flags = []

    def flag(node, detail):
        flags.append(Flag("suspicious", where, getattr(node, "lineno", 0), detail))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names]
            for name in names:
                if name.split(".")[0] in SUSPICIOUS_MODULES:
                    flag(node, f"imports {name}")
        elif isinstance(node, ast.Call):
            func = _dotted(node.func)
            if func in SUSPICIOUS_CALLS:
                flag(node, f"calls {func}()")
            elif func == "getattr" and len(node.args) >= 2 and not (
                    isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                flag(node, "calls getattr with a computed attribute name")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("__") and node.attr.endswith("__") and \
                    node.attr not in HARMLESS_DUNDERS:
                flag(node, f"reads the attribute {node.attr}")
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
            flag(node, f"uses {node.id}")
    return flags


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> ast.Module:
    """A cell's syntax tree, parsed once per process: across a class most cells are the
    handed-out ones (the scan only reads trees, never changes them)."""
    return ast.parse(_strip_magics(source))


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
    trees, flags = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_tests(cell):
            continue
        where = grade_id(cell) or f"cell {index + 1}"
        if cell.source.strip() not in handed_out:
            flags += _magic_flags(cell.source, where)
        try:
            tree = _parse(cell.source)
        except SyntaxError:
            continue
        trees.append((tree, where, cell.source))
        if cell.source.strip() not in handed_out:
            flags += _suspicious(tree, where)
    aliases: dict[str, str] = {"utils": "utils"}  # one kernel: an import in any cell counts
    for _, _, source in trees:
        aliases.update(_aliases_in(source))
    alias_key = tuple(sorted(aliases.items()))
    found = []
    for tree, where, source in trees:
        if source.strip() in handed_out:  # the same cell, names and aliases: the same flags
            key = (source, where, alias_key)
            if key not in seen:
                seen[key] = _scan_tree(tree, where, graded, aliases, refs)
            found += seen[key]
        else:
            found += _scan_tree(tree, where, graded, aliases, refs)
    return found + flags


@functools.lru_cache(maxsize=4096)
def _aliases_in(source: str) -> tuple[tuple[str, str], ...]:
    """``_utils_aliases`` of a cell's source (parsed already), once per distinct source."""
    return tuple(_utils_aliases(_parse(source)).items())


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
