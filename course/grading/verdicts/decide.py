"""The verdict on one case: what the kernel reported against what the reference says.

``decide(case, report)`` returns None when every check of the case holds, else the message
of the first that does not (the teaching message of ``utils.grading``, with the hint).
A report that is not what the case asked for (missing calls, malformed data, a value of a
type the serializer refused) fails with a message saying so; nothing a report holds can
raise here. ``decide_here`` runs cases in the instructor's own kernel through the same
plain data. Imports ``utils.grading``, ``utils.observe``, ``utils.plain`` and this
package's ``spec``.
"""

from __future__ import annotations

import json

import numpy as np

from utils import observe, plain
from utils.grading import CheckFailed, assert_close, assert_equal, assert_shape

from .spec import Case, Check, Result

PLAIN = ("a hidden test accepts plain values only: numbers, strings, NumPy arrays of "
         "numbers, and lists, tuples and dicts of them")


def _describe(value) -> str:
    if isinstance(value, plain.Unreadable):
        return f"{value!r}, not a value the tests can read ({PLAIN})"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"{type(value).__name__} {value!r:.60}"


def _with_hint(message: str, hint: str | None) -> str:
    return f"{message}\nHint: {hint}" if hint and "\nHint:" not in message else message


def _numeric_leaf(expected) -> bool:
    """Whether ``expected`` is compared as one array (not part by part)."""
    if isinstance(expected, np.ndarray | int | float | np.number | bool | np.bool_):
        return True
    if isinstance(expected, list):
        return all(_numeric_leaf(e) for e in expected)
    return False


def compare(actual, expected, name: str, kind: str, options: dict) -> None:
    """Raise ``CheckFailed`` unless ``actual`` matches ``expected`` (part by part)."""
    if isinstance(actual, plain.Unreadable):
        raise CheckFailed(f"{name} is {_describe(actual)}")
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise CheckFailed(f"{name} should be a dict with the keys {sorted(expected)}, "
                              f"got {_describe(actual)}")
        missing = sorted(set(expected) - set(actual))
        if missing:
            raise CheckFailed(f"{name} has no key {missing[0]!r} (it has {sorted(actual)})")
        for key, want in expected.items():
            compare(actual[key], want, f"{name}[{key!r}]", kind, options)
        return
    if isinstance(expected, tuple) or (isinstance(expected, list)
                                       and not _numeric_leaf(expected)):
        if not isinstance(actual, list | tuple):
            raise CheckFailed(f"{name} should be {len(expected)} values, got "
                              f"{_describe(actual)}")
        if len(actual) != len(expected):
            raise CheckFailed(f"{name} should be {len(expected)} values, got {len(actual)}")
        for i, (got, want) in enumerate(zip(actual, expected, strict=True)):
            compare(got, want, f"{name}[{i}]", kind, options)
        return
    if isinstance(expected, str) and not isinstance(actual, str):
        raise CheckFailed(f"{name} should be a string such as {'a'!r}, got {_describe(actual)}")
    if kind == "close" and not isinstance(expected, str | type(None)):
        assert_close(actual, expected, name, rtol=options.get("rtol", 1e-6),
                     atol=options.get("atol", 1e-12), at=options.get("at"))
    else:
        assert_equal(actual, expected, name)


def _select(value, of: tuple, name: str):
    for key in of:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            raise CheckFailed(f"{name} has no part [{key!r}] (got {_describe(value)})") \
                from None
        name = f"{name}[{key!r}]"
    return value, name


def _check(case: Case, check: Check, values: list, calls: list) -> None:
    call = len(case.calls) - 1 if check.call in (-1, None) else check.call
    label = case.calls[call].label() if len(case.calls) > 1 and not case.title else case.label()
    if check.kind == "holds" and check.call is None:
        value, name = values, label
    elif check.options.get("inputs"):
        first, *rest = check.of or (0,)
        where = f"argument {first + 1}" if isinstance(first, int) else f"argument {first}"
        value, _ = _select(_inputs_after(case.calls[call], calls[call]), tuple(check.of or (0,)),
                           f"{where} of {label}")
        path = "".join(f"[{key!r}]" for key in rest)
        name = f"{where}{path} of {label}, after the call,"
    else:
        value, name = _select(values[call], check.of, label)
    name = check.name if check.name and check.kind != "holds" else name
    via = check.options.get("via")
    if via is not None:
        if isinstance(value, plain.Unreadable):
            raise CheckFailed(f"{name} is {_describe(value)}")
        try:
            value = via(value)
        except Exception as exc:  # noqa: BLE001 -- the student's value is what failed
            raise CheckFailed(f"{name} cannot be used as the exercise asks: the course's code "
                              f"fails on it with {type(exc).__name__}: {str(exc)[:200]}") from None
    if check.kind in ("close", "equal"):
        compare(value, check.expected, name, check.kind, check.options)
    elif check.kind == "shape":
        if isinstance(value, plain.Unreadable):
            raise CheckFailed(f"{name} is {_describe(value)}")
        assert_shape(value, check.expected, name)
    elif check.kind == "holds":
        try:
            ok = bool(check.expected(value))
        except Exception:  # noqa: BLE001 -- a value of the wrong kind fails the property
            ok = False
        if not ok:
            raise CheckFailed(check.name)
    elif check.kind == "unchanged":
        _unchanged(case, call, calls[call])
    elif check.kind == "fresh":
        shared = calls[call].get("shared") or []
        if not isinstance(shared, list):
            raise CheckFailed(f"{label}: the report is malformed")
        if shared:
            where = "the result itself" if shared[0] == [] else \
                "part " + "".join(f"[{k!r}]" for k in shared[0]) + " of the result"
            raise CheckFailed(f"{label} hands back one of its inputs ({where} is the caller's "
                              "object or shares its memory): return new arrays/dicts")


def _after(spec, seen: dict) -> dict:
    after = plain.decode(seen.get("after"))
    if not isinstance(after, dict) or not isinstance(after.get("args"), list) or \
            len(after["args"]) != len(spec.args) or not isinstance(after.get("kwargs"), dict):
        raise CheckFailed(f"{spec.label()}: the inputs after the call were not reported")
    return after


def _inputs_after(spec, seen: dict) -> dict:
    """The call's inputs after it: positional ones by index, keyword ones by name."""
    after = _after(spec, seen)
    return {**dict(enumerate(after["args"])), **after["kwargs"]}


def _unchanged(case: Case, index: int, seen: dict) -> None:
    spec = case.calls[index]
    after = _after(spec, seen)
    before = [(f"argument {i + 1}", a, b) for i, (a, b) in
              enumerate(zip(spec.args, after["args"], strict=True))]
    before += [(f"argument {k}", v, after["kwargs"].get(k)) for k, v in spec.kwargs.items()]
    for where, original, now in before:
        if isinstance(original, Result):
            continue
        try:
            compare(now, original, where, "equal", {})
        except CheckFailed:
            raise CheckFailed(f"{spec.label()} changed its {where} in place: work on a copy "
                              "(or build new arrays) and leave the caller's data as it was") \
                from None


def decide(case: Case, report) -> str | None:
    """None if the case passed, else the message (with hint) of its first failed check."""
    try:
        calls = report["calls"]
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise TypeError
        for k, spec in enumerate(case.calls):
            said = f"{case.title} ({spec.label()})" if case.title else spec.label()
            if k >= len(calls):
                return _with_hint(f"{said} was not called: the call before it failed "
                                  "or the kernel stopped", case.general_hint)
            seen = calls[k]
            if "raised" in seen:
                return _with_hint(f"{said} raised {str(seen['raised'])[:600]}",
                                  case.general_hint)
            if seen.get("warnings") and not case.warnings_ok:
                return _with_hint(f"{said} triggers a floating-point problem: "
                                  f"{str(seen['warnings'][0])[:200]}", case.general_hint)
        values = [plain.decode(seen.get("value")) for seen in calls]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return f"{case.label()}: the kernel's report of this case is malformed"
    for check in case.checks:
        try:
            _check(case, check, values, calls)
        except CheckFailed as failure:
            return _with_hint(str(failure), check.hint or case.general_hint)
        except Exception as exc:  # noqa: BLE001 -- an odd report fails its case, never the run
            return _with_hint(f"{case.label()}: the result could not be checked "
                              f"({type(exc).__name__})", check.hint or case.general_hint)
    return None


def decide_here(cases: list[Case], namespace: dict) -> None:
    """Run ``cases`` in this process (an instructor's kernel) and raise on the first failure;
    the calls and their results cross the same JSON as in grading."""
    wire = json.loads(json.dumps([case.wire(i) for i, case in enumerate(cases)]))
    reports = json.loads(json.dumps(observe.observe(wire, namespace)))
    failed = [m for case, report in zip(cases, reports, strict=True) if (m := decide(case, report))]
    if failed:
        more = f"\n({len(failed)} of {len(cases)} hidden cases failed)" if len(failed) > 1 else ""
        raise CheckFailed(failed[0] + more)
