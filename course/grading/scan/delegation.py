"""Delegation and tampering: a graded function handing its work to ``utils``, or code
that patches ``utils``, ``numpy.testing``, builtins or the test helpers (``_scan_tree``).
Imports ``course.grading.scan.rules``.
"""

from __future__ import annotations

import ast
import functools

from .rules import TEST_HELPERS, Flag, _dotted, _history, _protected, _resolve


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
