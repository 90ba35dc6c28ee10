"""What a solved notebook costs a grading kernel: CPU seconds per cell, against a budget.

A grading run's time is the kernels' CPU time, so every chapter has a budget for its solved
notebook, run as nbgrader runs it (widgets off: ``NBGRADER_EXECUTION`` set; figures drawn
off screen) on the edition of utils its grading kernel imports. ``course check --grade``
warns when a notebook goes over; the cells that cost the most are named so that a demo that
trains or sweeps can be moved behind ``utils.widgets.interactive_enabled()`` (ungraded cells
earn nothing). The CPU time is the kernel's and its children's, read from ``/proc``.
Imports ``course.editions`` and ``course.notebooks``.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import editions
from .notebooks import fill_answers, notebook_path, read

#: CPU seconds of the kernel for a chapter's solved notebook (hidden cases not included):
#: about twice what each takes today, so that a slower machine stays inside it.
BUDGET_S = {name: 4.0 for name in editions.ORDER} | {"case_study_keras": 15.0}
_TICK = os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of process ``pid``, its waited-for children and its live descendants."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:  # it ended while we looked
            continue
        total += sum(int(f) for f in fields[11:15]) / _TICK  # utime stime cutime cstime
        todo += [int(c) for c in children]
    return total


def cell_costs(root: Path, assignment: str) -> list[tuple[int, float, str]]:
    """(cell index, CPU seconds, first line) for each code cell of the solved release
    notebook of ``assignment``, run as its grading kernel runs it."""
    from nbclient import NotebookClient

    release = read(notebook_path(root, "release", assignment))
    nb = fill_answers(release, read(notebook_path(root, "source", assignment)))
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg",
               PYTHONPATH=str(editions.edition_for(assignment)))
    client = NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(root / "release" / assignment)}})
    costs, start = [], {}
    client.on_cell_execute = lambda cell, cell_index: start.update(
        t=_tree_cpu(client.km.provisioner.process.pid))

    def done(cell, cell_index, **_):
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        used = _tree_cpu(client.km.provisioner.process.pid) - start["t"]
        costs.append((cell_index, used, first.strip()[:60]))

    client.on_cell_executed = done
    client.km = client.create_kernel_manager()
    client.start_new_kernel(env=env)
    client.start_new_kernel_client()
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    finally:
        client._cleanup_kernel()
    return costs


def over_budget(root: Path, assignment: str) -> str | None:
    """A warning if the solved notebook of ``assignment`` costs more than its budget."""
    costs = cell_costs(root, assignment)
    total, budget = sum(c for _, c, _ in costs), BUDGET_S[assignment]
    if total <= budget:
        return None
    top = sorted(costs, key=lambda c: -c[1])[:3]
    return (f"{assignment}: the solved notebook used {total:.1f} s of CPU under grading, over "
            f"its budget of {budget:g} s; the costliest cells: "
            + "; ".join(f"cell {i} ({line!r}) {c:.1f} s" for i, c, line in top))
