"""How a hidden test is written: cases, each a call of the student's code and its checks.

The hidden region of a tests cell in a *source* notebook reads, for example::

    ### BEGIN HIDDEN TESTS
    from course.grading.verdicts import Case, hidden

    z = np.array([[1000.0, 0.0, -1000.0]])
    hidden(
        Case("softmax", z).close(utils.softmax(z)).hint("subtract each row's max"),
        Case("softmax", z).unchanged().fresh(),
    )
    ### END HIDDEN TESTS

A ``Case`` names the student's function (by its name in the notebook), its inputs, any
calls chained on its results (``then``, with ``Result(k)[...]`` for a part of call k's
result: a forward's cache handed to a backward), and checks: ``close``, ``equal``,
``shape``, ``holds`` (any property of the returned values), ``unchanged`` (the caller's
inputs), ``fresh`` (nothing of the caller's returned). ``Case.var(name)`` reads a variable
instead of calling a function (check-yourself answers).

Where the region runs decides what ``hidden`` (``verdicts.hidden``) does:

* while grading, the region never runs in the student's kernel: ``collect`` executes it in
  the trusted grading process, and the kernel only gets ``payload``'s calls and inputs;
* in the instructor's own kernel (the source notebook opened in JupyterLab) ``hidden``
  makes the calls there and decides at once, through the same plain data.

Imports ``utils.plain``, ``utils.blocks`` and the standard library only.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from utils import blocks, plain

_collecting: list | None = None


class Result:
    """A part of an earlier call's result, as an argument of a chained call:
    ``Result(0)[1]`` is the second item the first call returned."""

    def __init__(self, call: int, path: tuple = ()):
        self.call, self.path = call, path

    def __getitem__(self, key) -> Result:
        return Result(self.call, (*self.path, key))


@dataclass
class Call:
    fn: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    var: bool = False
    after: bool = False  # report the inputs after the call (``unchanged``)
    fresh: bool = False  # report what of the result is the caller's (``fresh``)
    blocks: dict = field(default_factory=dict)  # {name: {block_key: result}} (``builds_on``)

    def label(self) -> str:
        if self.var:
            return self.fn
        shown = [_short(a) for a in self.args] + [f"{k}={_short(v)}"
                                                 for k, v in self.kwargs.items()]
        text = ", ".join(shown)
        return f"{self.fn}({text if len(text) <= 60 else '...'})"

    def wire(self) -> dict:
        def enc(value):
            if isinstance(value, Result):
                return {"$ref": [value.call, *value.path]}
            return plain.encode(value)
        return {"fn": self.fn, "var": self.var, "after": self.after, "fresh": self.fresh,
                "blocks": self.blocks, "args": [enc(a) for a in self.args],
                "kwargs": {k: enc(v) for k, v in self.kwargs.items()}}


def _short(value) -> str:
    if isinstance(value, Result):
        return f"<from call {value.call + 1}>"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"<array {tuple(value.shape)}>" if value.size > 4 else repr(value.tolist())
    text = repr(value)
    return text if len(text) <= 24 and "\n" not in text else f"<{type(value).__name__}>"


@dataclass
class Check:
    kind: str  # close, equal, shape, holds, unchanged, fresh
    call: int = -1
    of: tuple = ()
    name: str | None = None
    expected: object = None
    options: dict = field(default_factory=dict)
    hint: str | None = None


class Case:
    """One hidden case: ``Case("fn", *args, **kwargs)`` calls the student's ``fn``."""

    def __init__(self, fn: str, *args, **kwargs):
        if not isinstance(fn, str):
            raise TypeError("Case names the student's function as a string, e.g. "
                            "Case(\"softmax\", z): the grading process has no student code")
        self.calls = [Call(fn, args, kwargs)]
        self.checks: list[Check] = []
        self.title: str | None = None
        self.general_hint: str | None = None
        self.warnings_ok = False

    @classmethod
    def var(cls, name: str) -> Case:
        """The value of the notebook's variable ``name`` (a check-yourself answer)."""
        case = cls(name)
        case.calls[0].var = True
        return case

    # -- what is called
    def then(self, fn: str, *args, **kwargs) -> Case:
        """A further call, after the ones before; ``Result(k)[...]`` refers to their results."""
        self.calls.append(Call(fn, args, kwargs))
        return self

    def builds_on(self, name: str, module, run, *, elementwise: bool = False,
                  call: int = 0) -> Case:
        """No cascade: where the student's function may build on their own earlier function
        ``name``, a slip in that one must not cost this case. ``run()`` makes the reference's
        own call of the case here, while ``module.name`` (the function the reference calls)
        is recorded; in the kernel, the student's ``name`` is then replaced, during this case,
        by a building block that answers those recorded calls with the reference's results
        and any other call with the student's own function (``utils.blocks.Block``).

        ``elementwise``: ``name`` works element by element (an activation, a step), so the
        block answers any call whose every element the reference computed, whatever the
        shape the student calls it with. ``run`` may then just call ``module.name`` on the
        values the student's function will need."""
        self.calls[call].blocks[name] = record(module, name, run, elementwise)
        return self

    def named(self, title: str) -> Case:
        """How messages name this case (default: the call, shortened)."""
        self.title = title
        return self

    def hint(self, text: str) -> Case:
        """The hint of every failure of this case whose check has none of its own."""
        self.general_hint = text
        return self

    def allow_warnings(self) -> Case:
        """Floating-point warnings do not fail this case (they do by default)."""
        self.warnings_ok = True
        return self

    # -- what is checked
    def _add(self, kind, call, of, name, hint, expected=None, **options) -> Case:
        of = of if isinstance(of, tuple) else (of,)
        if options.get("inputs"):
            self.calls[call].after = True
        self.checks.append(Check(kind, call, of, name, expected, options, hint))
        return self

    def close(self, expected, *, call: int = -1, of=(), name: str | None = None,
              rtol: float = 1e-6, atol: float = 1e-12, at=None, via=None, inputs: bool = False,
              hint: str | None = None) -> Case:
        """The value (or part ``of`` it) is ``expected`` to ``rtol``/``atol``; ``expected``
        may be a number, an array, or a tuple/list/dict of them (compared part by part).

        ``via``: a function of the reference applied to the value first, here, outside the
        kernel: ``via=lambda cache: utils.lstm_step_backward(dh, dc, cache)`` judges a
        forward's cache by what the reference backward makes of it.

        ``inputs=True``: check the call's inputs as they are after it, ``of=(3, "running_mean")``
        (a positional argument by its index, a keyword argument by its name): what a function
        is meant to update in place."""
        return self._add("close", call, of, name, hint, expected, rtol=rtol, atol=atol, at=at,
                         via=via, inputs=inputs)

    def equal(self, expected, *, call: int = -1, of=(), name: str | None = None, via=None,
              inputs: bool = False, hint: str | None = None) -> Case:
        """Exactly ``expected``: integers, strings, labels (any real number type passes)."""
        return self._add("equal", call, of, name, hint, expected, via=via, inputs=inputs)

    def shape(self, shape: tuple, *, call: int = -1, of=(), name: str | None = None,
              hint: str | None = None) -> Case:
        return self._add("shape", call, of, name, hint, tuple(shape))

    def holds(self, predicate, message: str, *, call: int | None = -1, of=(),
              hint: str | None = None) -> Case:
        """``predicate(value)`` is true; ``call=None`` hands it the list of every call's
        value (same seed, same result...). ``message`` says what is wrong if not."""
        return self._add("holds", call, of, message, hint, predicate)

    def unchanged(self, *, call: int = 0, hint: str | None = None) -> Case:
        """The call leaves the caller's inputs as they were."""
        self.calls[call].after = True
        return self._add("unchanged", call, (), None, hint)

    def fresh(self, *, call: int = -1, hint: str | None = None) -> Case:
        """The call returns new objects: no part of its result is one of its inputs."""
        self.calls[call].fresh = True
        return self._add("fresh", call, (), None, hint)

    # -- how it travels
    def label(self) -> str:
        return self.title or self.calls[-1].label()

    def wire(self, number: int) -> dict:
        return {"id": number, "calls": [c.wire() for c in self.calls]}


def record(module, name: str, run, elementwise: bool = False) -> dict:
    """The table of a building block (``utils.blocks.Block``): every call of ``module.name`` that
    ``run()`` makes (``module.name`` is wrapped while it runs), by call or by element."""
    import inspect

    import numpy as np

    original = getattr(module, name)
    signature = inspect.signature(original)
    calls: dict = {}
    values: dict = {}

    def recorder(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.setdefault(blocks.block_key(args, kwargs, signature), plain.encode(result))
        found = blocks.elements(args, kwargs, signature) if elementwise else None
        if found is not None:
            shape, keys = found
            flat = np.broadcast_to(np.asarray(result), shape).reshape(-1)
            for key, value in zip(keys, flat, strict=True):
                values.setdefault(key, plain.encode(value.item()))
        return result

    setattr(module, name, recorder)
    try:
        run()
    finally:
        setattr(module, name, original)
    if not calls:
        raise ValueError(f"builds_on: the reference made no call of {name}: nothing to answer")
    return {"calls": calls, "elements": values} if elementwise else {"calls": calls}


def collecting(cases: list[Case]) -> bool:
    """Whether a hidden region is being collected (``collect``); if so, ``cases`` are kept."""
    if _collecting is None:
        return False
    _collecting.extend(cases)
    return True


def collect(region: str) -> list[Case]:
    """The cases a hidden region declares, by running it here (not in a kernel)."""
    global _collecting
    import numpy as np

    import utils

    previous, _collecting = _collecting, []
    try:
        namespace = {"np": np, "utils": utils, "__name__": "__hidden_tests__"}
        exec(compile(textwrap.dedent(region), "<hidden tests>", "exec"), namespace)  # noqa: S102
        return _collecting
    finally:
        _collecting = previous


def payload(cases: list[Case]) -> str:
    """What the kernel gets: each case's calls and inputs, packed (``plain.pack``)."""
    return plain.pack([case.wire(i) for i, case in enumerate(cases)])
