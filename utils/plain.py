"""Plain data: what crosses out of a grading kernel, and how (``encode``, ``pack``).

Everything a hidden test hands out goes through one serializer, ``encode``: ``None``, booleans,
integers, real numbers, strings, NumPy arrays of numbers, and lists, tuples and string-keyed
dicts of these. Values are read with the base types' own methods, so a ``str`` or ``int``
subclass cannot lie about itself. Anything else (an object that claims to equal everything, an
``__array__`` that looks around the stack...) is encoded as ``{"$bad": type name}`` and fails
wherever a check reads it. ``decode`` undoes ``encode``; ``pack``/``unpack`` carry a payload
inside a cell's code.

Imports the standard library and NumPy only.
"""

from __future__ import annotations

import base64
import json
import math
import zlib

import numpy as np

from ._readonly import freeze

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


freeze(__name__)  # a notebook cell cannot swap what a hidden test calls (utils._readonly)
