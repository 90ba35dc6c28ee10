"""One-line cells that IPython runs as a magic without its ``%`` (``history``, ``ls ..``):
read as the magic they are, unless the notebook binds that name itself.
Imports ``course.grading.scan.ipython`` and IPython, ipykernel.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword

from .ipython import _Code, _Magic, _unmagic


@functools.cache
def _line_magics() -> frozenset[str]:
    """The names a kernel runs as line magics without ``%``: IPython's magics and aliases,
    ipykernel's (imported on the first one-line cell whose word could be one)."""
    from IPython.core import magics
    from IPython.core.alias import default_aliases

    names = {name for cls in vars(magics).values() if isinstance(cls, type)
             and isinstance(getattr(cls, "magics", None), dict)
             for name in cls.magics.get("line", ())}
    names |= {alias[0] for alias in default_aliases()}
    try:
        from ipykernel.zmqshell import KernelMagics
    except ImportError:  # pragma: no cover -- the course's kernels are ipykernel's
        pass
    else:
        names |= set(KernelMagics.magics["line"])
    return frozenset(names)


_SHADOWING = set(dir(builtins)) | {"exit", "quit", "get_ipython", "display"}


def _automagic(code: _Code, bound) -> _Code | None:
    """What the kernel runs for a one-line cell such as ``history`` when IPython takes it
    for ``%history`` (no name of the notebook (``bound()``), no builtin or keyword shadows
    the magic)."""
    if code.one_line is None:
        return None
    line, word, rest = code.one_line
    if word in _SHADOWING or keyword.iskeyword(word) or word in bound() or \
            word not in _line_magics():
        return None
    return _magic_line(line, word, rest)


@functools.lru_cache(maxsize=256)
def _magic_line(line: int, word: str, rest: str) -> _Code:
    """``%word rest`` on ``line``, as written without ``%``."""
    tree = ast.parse(f"get_ipython().run_line_magic({word!r}, {rest!r})")
    ast.increment_lineno(tree, line - 1)
    lines = [""] * (line - 1) + [word]
    extra, magics, errors = _unmagic(tree, lines, {line}, 0)
    tree.body += extra
    how = f" (a one-line cell: IPython runs it as %{word})"
    return _Code(tree, tuple(_Magic(m.line, word if m.line == line and m.written == f"%{word}"
                                    else m.written, m.permitted, how if m.line == line else "")
                             for m in magics), tuple(errors))
