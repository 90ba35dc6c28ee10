"""Plausible wrong answers, one module per assignment, looked up by name.

A mistake replaces one solution region of one answer cell with what a student might
plausibly write, and names the tests cells it must fail; every other tests cell must
keep its points. The verdict step recognises it in a student's failed cell by running it on
the same hidden cases (``course.grading.verdicts.diagnose``), so its name is the sentence a
student reads: say what the answer does wrong, not what it should do.
``tests/test_notebooks.py`` proves it under ``course grade`` and nbgrader, a few mistakes to a
submission (each in its own answer cell, failing tests cells no other one fails), and the
demo's simulated students make some of them.

Adding an assignment: write ``course/mistakes/<assignment>.py`` with a ``MISTAKES`` list
and add its module to ``_MODULES`` below (one line).
Imports the standard library only.
"""

from __future__ import annotations

import importlib
import textwrap
from dataclasses import dataclass

_MODULES = [
    "ch1_perceptron",
    "ch2_mlp",
    "ch3_backprop",
    "ch4_optimizers",
    "ch5_regularization",
    "ch6_gradients",
    "ch7_rnn_lstm",
    "case_study_keras",
]


@dataclass(frozen=True)
class Mistake:
    name: str
    cell: str  # grade_id of the answer cell
    fails: tuple[str, ...]  # grade_ids of the tests cells that must score 0
    code: str  # what the student wrote instead (any indentation; dedented here)
    region: int = 0  # which ### BEGIN SOLUTION region of that cell (0 = first)
    # how the class report recognises it when its outputs cannot be reproduced outside the
    # student's kernel (an answer handed to utils, whose edition withholds it): a regular
    # expression that a failed hidden check's message matches; "" = by its outputs
    message: str = ""

    def __post_init__(self):
        object.__setattr__(self, "code", textwrap.dedent(self.code).strip("\n"))


def _load() -> dict[str, dict[str, Mistake]]:
    table = {}
    for module in _MODULES:
        found = importlib.import_module(f"{__name__}.{module}").MISTAKES
        names = [m.name for m in found]
        if len(set(names)) != len(names):
            raise RuntimeError(f"course/mistakes/{module}.py: two mistakes share a name")
        if any(";" in name for name in names):  # the report joins ambiguous diagnoses with "; "
            raise RuntimeError(f"course/mistakes/{module}.py: a mistake's name has a ';'")
        table[module] = {m.name: m for m in found}
    return table


MISTAKES: dict[str, dict[str, Mistake]] = _load()


def mistakes(assignment: str) -> list[Mistake]:
    """Every mistake of an assignment, in the order its module lists them."""
    return list(MISTAKES.get(assignment, {}).values())


def by_name(assignment: str, *names: str) -> list[Mistake]:
    """Look mistakes up by name; an unknown name is a KeyError that lists the known ones."""
    table = MISTAKES.get(assignment, {})
    missing = [n for n in names if n not in table]
    if missing:
        raise KeyError(f"{assignment} has no mistake named {missing[0]!r}; known: "
                       + ", ".join(sorted(table)))
    return [table[n] for n in names]
