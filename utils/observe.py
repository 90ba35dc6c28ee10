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

Everything crosses as plain data through one serializer, ``encode``: ``None``, booleans,
integers, real numbers, strings, NumPy arrays of numbers, and lists, tuples and
string-keyed dicts of these. Anything else (an object that claims to equal everything, an
``__array__`` that looks around the stack...) is encoded as ``{"$bad": type name}`` and
fails wherever a check reads it. ``decode`` undoes ``encode``.

Imports the standard library and NumPy only.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import warnings
import zlib

import numpy as np

MIME = "application/vnd.course.case+json"
MAX_DEPTH = 8
MAX_ITEMS = 2_000_000  # numbers a case may hand out in all


class Unreadable:
    """A value ``encode`` refused, as ``decode`` gives it back: its type's name only."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<a {self.kind}>"


def _float(x: float):
    return x if math.isfinite(x) else {"$f": repr(x)}


def encode(value, _budget: list | None = None, _depth: int = 0):
    """``value`` as JSON-ready plain data (see the module's docstring)."""
    budget = [MAX_ITEMS] if _budget is None else _budget
    if _depth > MAX_DEPTH:
        return {"$bad": "structure nested too deeply"}
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    if isinstance(value, int | np.integer):  # int's own conversion: a subclass cannot lie
        return int.__int__(value) if isinstance(value, int) else int(value)
    if isinstance(value, float | np.floating):
        return _float(float.__float__(value) if isinstance(value, float) else float(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, np.ndarray):
        array = np.ndarray.view(value, np.ndarray)
        budget[0] -= array.size
        if budget[0] < 0:
            return {"$bad": "array too large"}
        if array.dtype.kind in "biuf":
            kind = {"b": "?", "i": "<i8", "u": "<i8", "f": "<f8"}[array.dtype.kind]
            data = np.ascontiguousarray(array, dtype=kind).tobytes()
            return {"$nd": kind, "shape": list(array.shape),
                    "b64": base64.b64encode(data).decode("ascii")}
        if array.dtype.kind == "U":
            return {"$str": array.tolist(), "shape": list(array.shape)}
        return {"$bad": f"array of {array.dtype}"}
    if isinstance(value, list | tuple):
        budget[0] -= len(value)
        if budget[0] < 0:
            return {"$bad": "list too long"}
        items = [encode(v, budget, _depth + 1) for v in list.__iter__(list(value))]
        return {"$tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        keys = list(dict.keys(value))
        if not all(isinstance(k, str) for k in keys):
            return {"$bad": "dict with keys that are not strings"}
        return {"$dict": {str.__str__(k): encode(dict.__getitem__(value, k), budget, _depth + 1)
                          for k in keys}}
    return {"$bad": type(value).__name__}


def decode(data):
    """The Python value ``encode`` made ``data`` from (arrays come back as new arrays)."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$nd" in data:
        dtype = np.dtype({"?": "?", "<i8": "<i8", "<f8": "<f8"}[data["$nd"]])
        raw = base64.b64decode(data["b64"])
        return np.frombuffer(raw, dtype=dtype).reshape(data["shape"]).copy()
    if "$f" in data:
        return float(data["$f"])
    if "$tuple" in data:
        return tuple(decode(v) for v in data["$tuple"])
    if "$dict" in data:
        return {k: decode(v) for k, v in data["$dict"].items()}
    if "$str" in data:
        return np.array(data["$str"], dtype=str).reshape(data["shape"])
    if "$bad" in data:
        return Unreadable(str(data["$bad"]))
    raise ValueError(f"not data encode() writes: {sorted(data)!r:.80}")


def pack(obj) -> str:
    """JSON, compressed, in base64: how cases travel inside a tests cell's code."""
    return base64.b64encode(zlib.compress(json.dumps(obj).encode(), 6)).decode("ascii")


def unpack(text: str):
    return json.loads(zlib.decompress(base64.b64decode(text)))


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


def _bound(args, kwargs, signature) -> tuple[list, dict]:
    """The arguments bound to the parameters, defaults filled in (as given without one)."""
    if signature is not None:
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return list(bound.arguments.values()), {}
        except TypeError:
            pass
    return list(args), {k: kwargs[k] for k in sorted(kwargs)}


def block_key(args, kwargs, signature=None) -> str:
    """How a building block recognises a call: its arguments bound to the parameters (defaults
    filled in) when ``signature`` is given, as plain data (``encode``)."""
    return json.dumps(encode(list(_bound(args, kwargs, signature))), sort_keys=True)


def elements(args, kwargs, signature=None) -> tuple[tuple, list[str]] | None:
    """For an elementwise function: the broadcast shape of its (numeric) arguments and one
    key per element, or None when an argument is not a number or an array of numbers."""
    values, named = _bound(args, kwargs, signature)
    values = values + [named[k] for k in named]
    try:
        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in values])
    except (TypeError, ValueError):
        return None
    shape = arrays[0].shape if arrays else ()
    flat = [a.reshape(-1) for a in arrays]
    return shape, [repr(tuple(float(a[i]) for a in flat)) for i in range(int(np.prod(shape)))]


class Block:
    """An earlier exercise's function as the building block of a later one, for one case.

    While the kernel calls the later exercise's function, the student's own earlier function
    is replaced by this: the calls the reference itself makes for this case (``table``:
    {"calls": {``block_key``: encoded result}} or, for an elementwise function,
    {"elements": {element key: encoded value}}) get the reference's results, fresh copies
    each time; any other call goes to the student's own function (``own``). So a slip in the
    earlier exercise does not cost the later one, and only values of this case's calls are
    here."""

    __slots__ = ("__name__", "_table", "_own", "_signature")

    def __init__(self, name: str, table: dict, own):
        import inspect

        self.__name__, self._table, self._own = name, dict(table), own
        try:
            self._signature = inspect.signature(own) if callable(own) else None
        except (TypeError, ValueError):
            self._signature = None

    def _answer(self, args, kwargs):
        calls = self._table.get("calls") or {}
        key = block_key(args, kwargs, self._signature)
        if key in calls:
            return True, decode(calls[key])
        known = self._table.get("elements") or {}
        found = elements(args, kwargs, self._signature) if known else None
        if found is not None and found[1] and all(k in known for k in found[1]):
            shape, keys = found
            values = [decode(known[k]) for k in keys]
            return True, (values[0] if shape == () else np.array(values).reshape(shape))
        return False, None

    def __call__(self, *args, **kwargs):
        answered, value = self._answer(args, kwargs)
        if answered:
            return value
        if not callable(self._own):
            raise NameError(f"{self.__name__!r} is not defined (did you run its cell?)")
        return self._own(*args, **kwargs)


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
