"""``hidden(*cases)``: the one call of a hidden-tests region (``spec`` says how to write one).

While grading, the region runs in the grading process and ``hidden`` only hands its cases to
``spec.collect``; in the instructor's own kernel (the source notebook in JupyterLab) it runs
them there and decides at once (``decide.decide_here``), through the same plain data.
Imports this package's ``spec`` and ``decide``.
"""

from __future__ import annotations

import sys

from .decide import decide_here
from .spec import Case, collecting


def hidden(*cases: Case) -> None:
    """The hidden cases of a tests cell: collected while grading, decided at once elsewhere."""
    for case in cases:
        if not isinstance(case, Case):
            raise TypeError(f"hidden() takes Case objects, got {type(case).__name__}")
    if not collecting(list(cases)):
        decide_here(list(cases), sys._getframe(1).f_globals)
