"""Every chapter's solved notebook costs a grading kernel little CPU, within a stated budget
(``course.budget``): ungraded cells do not train or sweep under grading, where they earn
nothing, and ``course check --grade`` says which cells cost the most when one goes over."""

from __future__ import annotations

import pytest

from course import budget, editions
from course.notebooks import course_root

ROOT = course_root()


@pytest.mark.parametrize("assignment", editions.ORDER)
def test_a_solved_notebook_grades_within_its_cpu_budget(assignment, monkeypatch):
    costs = budget.cell_costs(ROOT, assignment)
    total = sum(seconds for _, seconds, _ in costs)
    assert 0.2 < total <= budget.BUDGET_S[assignment], sorted(costs, key=lambda c: -c[1])[:5]
    assert len(costs) > 10  # every code cell was measured
    # over budget, course check names the costliest cells
    monkeypatch.setitem(budget.BUDGET_S, assignment, total / 2)
    monkeypatch.setattr(budget, "cell_costs", lambda root, name: costs)
    warning = budget.over_budget(ROOT, assignment)
    index, seconds, line = max(costs, key=lambda c: c[1])
    assert f"over its budget of {total / 2:g} s" in warning
    assert f"cell {index} ({line!r}) {seconds:.1f} s" in warning
