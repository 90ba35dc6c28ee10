"""Helpers for the notebooks' test cells.

Failures raise ``CheckFailed`` (an ``AssertionError``) with a message that teaches: it
names the quantity, gives the expected and the received value, and adds a hint. In a
notebook the traceback stops at the tests cell and the student's own code: the frames of
these helpers are left out (``CheckFailed._render_traceback_``).
"""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np

from ._readonly import freeze

__all__ = ["CheckFailed", "builds_on", "assert_close", "assert_equal", "assert_shape",
           "assert_no_float_errors", "assert_choice", "check_not_delegated"]


class CheckFailed(AssertionError):
    """A check of a tests cell failed; the message says what and why."""

    def _render_traceback_(self) -> list[str]:
        """IPython's traceback of this failure without the frames of this module.

        IPython calls this hook (instead of its own formatter) for exceptions that have it;
        we hand the trimmed traceback back to IPython's formatter, so it looks as usual.
        """
        from IPython import get_ipython

        kept = []
        tb = self.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename != __file__:
                kept.append(tb)
            tb = tb.tb_next
        trimmed = None
        for entry in reversed(kept):
            trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti,
                                          entry.tb_lineno)
        return get_ipython().InteractiveTB.structured_traceback(type(self), self, trimmed)


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message}\nHint: {hint}" if hint else message


def _as_numeric(value, name: str, hint: str | None) -> np.ndarray:
    if value is None:
        raise CheckFailed(_with_hint(f"{name} is None: did you forget to `return` it?", hint))
    if value is Ellipsis:  # the placeholder a check-yourself question is handed out with
        raise CheckFailed(_with_hint(f"{name} is not answered yet: replace the `...` with "
                                     "your number", hint))
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(_with_hint(
            f"{name} should be a number or an array of numbers, got {type(value).__name__}: "
            f"{value!r:.80}", hint)) from None


def assert_shape(actual, shape, name: str, hint: str | None = None) -> None:
    """Check that ``np.shape(actual) == shape``."""
    got = np.shape(_as_numeric(actual, name, hint))
    if got != tuple(shape):
        raise CheckFailed(_with_hint(f"{name} has shape {got}, expected {tuple(shape)}", hint))


def _describe_index(idx: tuple, at) -> str:
    where = f"index {idx[0] if len(idx) == 1 else idx}" if idx else "the value"
    if at is not None and np.ndim(at) >= len(idx):
        try:
            shown = np.asarray(at)[idx]
        except IndexError:
            return where
        where += f" (input {shown!r})" if np.ndim(shown) else f" (input {float(shown):.10g})"
    return where


def assert_close(actual, expected, name: str, *, rtol: float = 1e-6, atol: float = 1e-12,
                 at=None, hint: str | None = None) -> None:
    """Check that ``actual`` matches ``expected`` to ``rtol``/``atol`` (same shape).

    ``at`` (optional) holds the inputs, elementwise, so the message can say for which
    input the value is wrong.
    """
    a = _as_numeric(actual, name, hint)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        raise CheckFailed(_with_hint(f"{name} has shape {a.shape}, expected {e.shape}", hint))
    bad = ~np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        got, want = a[idx], e[idx]
        digits = 10 if f"{got:.10g}" != f"{want:.10g}" else 17  # show where they differ
        what = "NaN (an overflow or 0/0 somewhere?)" if np.isnan(got) else f"{got:.{digits}g}"
        count = f" ({int(bad.sum())} of {bad.size} entries are off)" if bad.size > 1 else ""
        raise CheckFailed(_with_hint(
            f"{name} is wrong at {_describe_index(idx, at)}: expected {want:.{digits}g}, "
            f"got {what}{count}", hint))


def assert_equal(actual, expected, name: str, hint: str | None = None) -> None:
    """Exact comparison for integers, labels, tuples and small arrays."""
    symbolic = isinstance(expected, list | tuple) and any(isinstance(e, str) for e in expected)
    if symbolic or isinstance(expected, str | bool | type(None)):
        if actual != expected:
            raise CheckFailed(_with_hint(f"{name} is {actual!r}, expected {expected!r}", hint))
        return
    assert_close(actual, expected, name, rtol=0.0, atol=0.0, hint=hint)


def assert_no_float_errors(fn, *args, name: str | None = None, hint: str | None = None,
                           **kwargs):
    """Call ``fn(*args, **kwargs)`` and fail if NumPy overflows, divides by zero or
    produces an invalid value (underflow to 0 is fine). Returns the result.

    In a graded cell such a warning would be printed to stderr, which nbgrader counts
    as a failure, so the test names the problem instead.
    """
    name = name or getattr(fn, "__name__", "the function")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            try:
                return fn(*args, **kwargs)
            except (FloatingPointError, RuntimeWarning) as exc:
                shown = ", ".join(f"{a!r:.60}" for a in args)
                raise CheckFailed(_with_hint(
                    f"{name}({shown}) triggers a floating-point problem: {exc}", hint)) from None


def assert_choice(answer, options, name: str) -> None:
    """Check that a check-yourself answer is one of the allowed options (format only)."""
    if answer is Ellipsis:  # the placeholder it is handed out with
        raise CheckFailed(f"{name} is not answered yet: replace the `...` with one of "
                          f"{sorted(options)!r}")
    if answer not in options:
        raise CheckFailed(f"{name} must be one of {sorted(options)!r}, got {answer!r}")


class _Tripwire:
    """Stands in for a reference function and records that it was called."""

    def __init__(self, original, calls: list):
        self._original, self._calls = original, calls
        self.__name__ = getattr(original, "__name__", "reference")

    def __call__(self, *args, **kwargs):
        self._calls.append(self.__name__)
        return self._original(*args, **kwargs)

    def __getattr__(self, attr):  # ufunc attributes such as np.tanh.outer keep working
        return getattr(self._original, attr)


def builds_on(earlier: str, check) -> bool:
    """Whether the student's earlier function ``earlier`` passes ``check()`` (which raises when
    it is wrong): a later exercise's visible checks that would go through it run only then.

    When it does not, say so and return False: the later exercise is graded on its own, the
    hidden tests handing it a correct ``earlier``, so its visible checks would only repeat the
    earlier slip."""
    try:
        check()
        return True
    except Exception:  # noqa: BLE001 -- whatever is wrong with it, its own test says
        print(f"(These checks wait for your {earlier}, which does not pass its own test yet: fix"
              f" it first. When graded, this exercise is given a correct {earlier}, so a slip"
              " there costs only its own exercise.)")
        return False


def _namespaces(fn) -> list:
    spaces = [vars(mod) for name, mod in list(sys.modules.items())
              if mod is not None and (name == "numpy" or name == "utils" or
                                      name.startswith("utils."))]
    spaces.append(getattr(fn, "__globals__", {}))
    return spaces


def check_not_delegated(fn, references, *args, name: str | None = None, **kwargs) -> None:
    """Fail if ``fn`` is, or calls, one of ``references`` (e.g. the ``utils`` version).

    Every place the references can be reached from (the ``utils`` modules, ``numpy``
    and ``fn``'s own globals) is swapped for a tripwire while ``fn(*args, **kwargs)``
    runs once; errors raised by ``fn`` itself are left to the other tests.
    """
    refs = list(references) if isinstance(references, list | tuple) else [references]
    name = name or getattr(fn, "__name__", "your function")
    for ref in refs:
        if fn is ref or getattr(fn, "__wrapped__", None) is ref:
            raise CheckFailed(f"{name} is the reference {ref.__name__} itself: "
                                 "write your own implementation.")
    calls: list = []
    swapped = []
    try:
        for ref in refs:
            wire = _Tripwire(ref, calls)
            for space in _namespaces(fn):
                for key, value in list(space.items()):
                    if value is ref:
                        swapped.append((space, key, value))
                        space[key] = wire
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 -- correctness is graded by the other tests
            pass
    finally:
        for space, key, value in reversed(swapped):
            space[key] = value
    if calls:
        raise CheckFailed(
            f"{name} calls {calls[0]} from the course's reference code (utils or numpy): "
            "the exercise is to write it yourself with basic NumPy operations.")


freeze(__name__)  # test helpers cannot be swapped out from a notebook cell
