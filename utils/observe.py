"""What a hidden test does inside a grading kernel: call, observe, hand out plain data.

A hidden test never compares anything in the student's process. The grading pipeline
replaces the hidden region of a tests cell with one call of ``run(cell, payload)``: the
payload lists the cases (which function to call, on which inputs, and which further
calls to chain on its results). ``run`` makes the calls and publishes what it observed,
one display output of type ``MIME`` per case: the returned values, the exception a call
raised, the floating-point warnings it triggered, and, where asked, the inputs after the
call and which parts of the result are the caller's own objects. A trusted step outside
the kernel (``course.grading.verdicts``) compares that with the reference and writes the
verdict.

What crosses is plain data (``utils.plain``); where a case builds on an earlier exercise, the
student's earlier function is a building block during it (``utils.blocks``).

Imports ``utils.plain``, ``utils.blocks``, ``utils._readonly``, the standard library and NumPy
only. Like them it is read-only: a cell cannot swap what a hidden test calls.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from ._readonly import freeze
from .blocks import Block
from .plain import MAX_DEPTH, decode, encode, unpack

MIME = "application/vnd.course.case+json"


def _resolve(arg, results: list):
    """An argument, with ``{"$ref": [call, *path]}`` read from the live results."""
    if isinstance(arg, dict) and "$ref" in arg:
        call, *path = arg["$ref"]
        value = results[call]
        for key in path:
            try:
                value = value[key]
            except Exception:  # noqa: BLE001 -- the student's result has another shape
                raise LookupError(f"the result of {call_name(call)} has no entry [{key!r}] "
                                  "(see what it should return)") from None
        return value
    return decode(arg)


def call_name(index: int) -> str:
    return ["the first call", "the second call", "the third call"][index] \
        if index < 3 else f"call {index + 1}"


def _objects(value, found: dict, path: tuple = (), depth: int = 0) -> dict:
    """Every list, tuple, dict and array inside ``value``, by id, with where it is."""
    if depth > MAX_DEPTH or not isinstance(value, list | tuple | dict | np.ndarray):
        return found
    found.setdefault(id(value), (path, value))
    if isinstance(value, dict):
        for key in list(dict.keys(value)):
            _objects(dict.__getitem__(value, key), found, (*path, key), depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(list(value)):
            _objects(item, found, (*path, i), depth + 1)
    return found


def _shared(result, inputs) -> list:
    """Paths of ``result`` that are, or share memory with, one of the caller's objects."""
    theirs = _objects(inputs, {})
    arrays = [v for _, v in theirs.values() if isinstance(v, np.ndarray)]
    shared = []
    for _, (path, value) in _objects(result, {}).items():
        if id(value) in theirs or (isinstance(value, np.ndarray) and
                                   any(np.shares_memory(value, a) for a in arrays)):
            shared.append(list(path))
    return shared


def _call(spec: dict, namespace: dict, results: list) -> dict:
    """Make one call of a case; what was observed, as plain data."""
    seen: dict = {}
    name = spec["fn"]
    if name not in namespace:
        seen["raised"] = f"NameError: {name!r} is not defined (did you run its cell?)"
        results.append(None)
        return seen
    target = namespace[name]
    if spec.get("var"):
        results.append(target)
        seen["value"] = encode(target)
        return seen
    try:
        args = [_resolve(a, results) for a in spec.get("args", [])]
        kwargs = {k: _resolve(v, results) for k, v in spec.get("kwargs", {}).items()}
    except LookupError as exc:
        seen["raised"] = f"{type(exc).__name__}: {exc}"
        results.append(None)
        return seen
    result = None
    blocks = spec.get("blocks") or {}
    own = {name: namespace.get(name) for name in blocks}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for name, table in blocks.items():
                namespace[name] = Block(name, table, own[name])
            with np.errstate(all="warn", under="ignore"):
                result = target(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- what the student's code raised is data
            seen["raised"] = f"{type(exc).__name__}: {exc}"[:600]
        finally:
            for name, function in own.items():
                if function is None:
                    namespace.pop(name, None)
                else:
                    namespace[name] = function
    results.append(result)
    problems = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if problems:
        seen["warnings"] = problems[:3]
    if "raised" not in seen:
        seen["value"] = encode(result)
        if spec.get("after"):
            seen["after"] = encode({"args": list(args), "kwargs": kwargs})
        if spec.get("fresh"):
            seen["shared"] = _shared(result, (args, kwargs))
    return seen


def observe(cases: list, namespace: dict) -> list[dict]:
    """Run ``cases`` (the payload's list) against the functions of ``namespace``."""
    reports = []
    for case in cases:
        results: list = []
        calls = []
        for spec in case["calls"]:
            if calls and "raised" in calls[-1]:
                break  # a chained call needs the one before it
            calls.append(_call(spec, namespace, results))
        reports.append({"case": case["id"], "calls": calls})
    return reports


def run(cell: str, payload: str) -> None:
    """A tests cell's hidden cases: run them in the notebook's namespace and publish one
    ``MIME`` display output per case (nothing is compared here)."""
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    namespace = shell.user_ns if shell is not None else sys._getframe(1).f_globals
    for case in unpack(payload):
        report = observe([case], namespace)[0]
        report["cell"] = cell
        display({MIME: report}, raw=True)


freeze(__name__)  # a notebook cell cannot swap what a hidden test calls (utils._readonly)
