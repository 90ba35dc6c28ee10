"""What deciding hidden tests outside the kernel costs, per assignment and per submission.

For each assignment: the solved source is served (``ServeCases``: the hidden cases reduced to
calls) and executed once in a kernel; then, on copies of that executed notebook, the two
steps of the Autograde pipeline are timed as a grading worker runs them:

* the first submission of an assignment in a worker collects the cases (the hidden regions
  run here, the references compute the expected values): ``collect``;
* every submission: ``ServeCases`` (cached cases) and ``DecideCases`` (decode the kernel's
  reports, compare, write the verdicts): ``per submission``;
* beside it, the cells' own execution time in the kernel (nbclient's timing metadata).

    python benchmarks/verdicts.py [assignment ...] [--repeat 20]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from course.grading.verdicts import DecideCases, ServeCases, preprocess
from course.notebooks import assignments, course_root, notebook_path, read


def _config(root: Path) -> Config:
    cfg = Config()
    cfg.CourseDirectory.root = str(root)
    return cfg


def _cells_seconds(nb) -> float:
    total = 0.0
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (end - start).total_seconds()
    return total


def measure(name: str, repeat: int) -> dict:
    root = course_root()
    resources = {"nbgrader": {"assignment": name, "notebook": name}}
    serve, decide = ServeCases(config=_config(root)), DecideCases(config=_config(root))
    preprocess._CACHE.clear()
    start = time.perf_counter()
    preprocess.source_cases(str(notebook_path(root, "source", name)))
    collect = time.perf_counter() - start
    nb, res = serve.preprocess(read(notebook_path(root, "source", name)), dict(resources))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NBGRADER_EXECUTION"] = "autograde"  # widgets render nothing, as graded
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                       record_timing=True, resources={"metadata": {"path": tmp}}).execute()
    own = _cells_seconds(nb)
    times, failures = [], 0
    for _ in range(repeat):
        fresh = nbformat.from_dict(copy.deepcopy(nb))
        start = time.perf_counter()
        served, res = serve.preprocess(fresh, dict(resources))
        served, res = decide.preprocess(nb_with_outputs(served, nb), res)
        times.append(time.perf_counter() - start)
        failures = sum(o.get("output_type") == "error" for c in served.cells
                       for o in c.get("outputs", []))
    cases = sum(len(c.cases) for c in preprocess.source_cases(
        str(notebook_path(root, "source", name))).values())
    return {"name": name, "cases": cases, "collect": collect,
            "per": statistics.median(times), "own": own, "failures": failures}


def nb_with_outputs(served, executed):
    """``served`` (fresh from ServeCases) with the executed notebook's outputs."""
    for cell, done in zip(served.cells, executed.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs = copy.deepcopy(done.outputs)
    return served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    names = args.assignments or assignments()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    print(f"{'assignment':<20}{'cases':>6}{'collect (once)':>16}{'per submission':>16}"
          f"{'cells own time':>16}{'share':>8}")
    for name in names:
        r = measure(name, args.repeat)
        if r["failures"]:
            raise SystemExit(f"{name}: the solved source failed {r['failures']} checks")
        print(f"{name:<20}{r['cases']:>6}{r['collect'] * 1e3:>13.0f} ms{r['per'] * 1e3:>13.1f} ms"
              f"{r['own']:>14.2f} s{r['per'] / max(r['own'], 1e-9):>8.1%}")


if __name__ == "__main__":
    main()
