"""Run a notebook as a student runs it in JupyterLab, in a kernel that imports a chosen edition.

``run_as_student`` serves ``benchmarks/edition_readiness.py`` (do the solved notebooks run on their
student editions?) and ``tests/test_editions.py`` (do the release notebooks run on an installed
student wheel?). Figures and widgets are on and ``NBGRADER_EXECUTION`` is unset, so the demos run
as they do for a student.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from nbclient import NotebookClient


def run_as_student(nb, folder: Path, *, edition: Path | None = None,
                   python: str | None = None) -> tuple[float, list[tuple[str, bool, str]]]:
    """Execute ``nb`` in place, top to bottom, as a student runs it in JupyterLab (figures
    and widgets on, ``NBGRADER_EXECUTION`` unset), in ``folder``, in a kernel of ``python``
    (default: this interpreter) that imports ``edition``'s utils (a folder from ``cached``;
    default: the one ``python`` has installed). Returns the seconds the cells took and each
    error as (grade_id or "cell N", whether it is an exercise's answer or tests cell,
    "Name: message")."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NBGRADER_EXECUTION")}
    if edition is not None:
        env["PYTHONPATH"] = str(edition)
    client = NotebookClient(nb, timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.km = client.create_kernel_manager()
    client.km._kernel_spec = KernelSpec(
        argv=[python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="student", language="python")
    client.start_new_kernel(env=env)
    client.start_new_kernel_client()
    start = time.perf_counter()
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    finally:
        seconds = time.perf_counter() - start
        client._cleanup_kernel()
    errors = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                first = (out.evalue or "").splitlines()[:1]
                errors.append((meta.get("grade_id") or f"cell {index}",
                               bool(meta.get("solution") or meta.get("grade")),
                               f"{out.ename}: {first[0][:150] if first else ''}"))
    return seconds, errors
