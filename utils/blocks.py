"""Building blocks: an earlier exercise's function, correct, for one case of a later one.

Where a later exercise builds on the student's own earlier function (``rnn_forward`` on
``rnn_step_forward``), its hidden cases carry a table of the calls the reference makes of that
function (``course.grading.verdicts.spec.record``). While the kernel runs such a case, ``Block``
stands in for the student's function: recorded calls get the reference's values, any other
call the student's own function. So a slip in one exercise costs only that one.

Imports ``utils.plain``, the standard library and NumPy only.
"""

from __future__ import annotations

import json

import numpy as np

from ._readonly import freeze
from .plain import decode, encode


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


freeze(__name__)  # a notebook cell cannot swap what a hidden test calls (utils._readonly)
