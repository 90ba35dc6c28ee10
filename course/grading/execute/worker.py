"""A grading worker: executes submissions with nbgrader in its own scratch course.

    python -m course.grading.execute.worker SHARD_DIR ASSIGNMENT:STUDENT [...]
    python -m course.grading.execute.worker SHARD_DIR < tasks  (one ASSIGNMENT:STUDENT a line)

The shard directory holds a copy of the course config and sources and its own sqlite
gradebook (made here by ``generate_assignment``); nbgrader's Autograde runs here without
its scoring steps. What counts is the executed notebook under ``SHARD_DIR/autograded/``,
which ``course grade`` scores into the real gradebook with a single writer. One JSON line
per submission is printed as soon as it is done, so the parent can show progress and
notice a hang. Started by an executor (``local``: forked; ``dask``: a subprocess); imports
the grading package's ``passes``, ``snapshot``, ``shard`` and the guard's record reader.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat

from ...coursedir import Course
from ...gradebook import has_notebooks
from .. import passes
from ..snapshot import Snapshot, files_under
from ..submission import WALL_FACTOR, Options, load_factor
from .sandbox.kernel_guard import read_records
from .shard import end_fork_server, kernel_ipc, report_path, runtime_dir, start_fork_server

#: For the tests of retries only: the first N kernels each worker asks for cannot start (its
#: kernel server is ended just before), as on a machine that cannot start one.
KERNEL_START_FAULTS = "COURSE_TEST_KERNEL_START_FAULTS"


def _snapshot(shard: str) -> Snapshot:
    """What every submission in this shard is graded with: config, sources, utils, db."""
    root = Path(shard)
    files = files_under(root, ["nbgrader_config.py", "gradebook.db", "source", "lib", "trusted"])
    return Snapshot(root, files)  # kept in memory: a submission cannot reach the copy


class Grader:
    """One shard's nbgrader API and fork server; grades one submission at a time."""

    def __init__(self, shard: str):
        self.shard = shard
        os.chdir(shard)
        # first: the server's imports (about 0.8 s) overlap the set-up below
        self.options = Options(**json.loads((Path(shard) / "options.json").read_text()))
        self.server = start_fork_server(Path(shard), self.options)  # ends with this process
        # execute only: the scores that count are saved by course grade's single writer
        url = "sqlite:///" + os.path.join(shard, "gradebook.db")
        self.api = passes.api(Course(Path(shard)), "execute", db_url=url,
                              kernel_ipc=kernel_ipc(Path(shard), self.options),
                              cell_wall=WALL_FACTOR * self.options.cell_cpu)
        # a copy of the course's gradebook already holds the assignments it has generated
        self.generated = {p.name for p in (Path(shard) / "source").iterdir()
                          if Path(shard, "gradebook.db").exists() and has_notebooks(url, p.name)}
        self.pristine = _snapshot(shard)
        self.faults = int(os.environ.get(KERNEL_START_FAULTS) or 0)
        # kernel-writable: the kernels' sockets and connection files
        self.logs = runtime_dir(Path(shard))
        self.logs.mkdir(exist_ok=True)

    def _generate(self, assignment: str) -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # keep stdout for our JSON lines
            made = self.api.generate_assignment(assignment, force=True)
        if not made["success"]:
            why = (made.get("error") or made.get("log") or "").strip().splitlines()[-1:]
            raise SystemExit(f"could not generate {assignment} in {self.shard}: {''.join(why)}")
        self.generated.add(assignment)
        self.pristine = _snapshot(self.shard)

    def grade(self, assignment: str, student: str) -> dict:
        """Execute one submission (submitted/<student>/<assignment>); its run record."""
        if assignment not in self.generated:
            self._generate(assignment)
        notes = []
        if self.server.poll() is not None:  # ended by an earlier submission: a new one
            end_fork_server(self.server)
            self.server = start_fork_server(Path(self.shard), self.options)
            notes.append("grading: the kernel server had ended after the previous submission "
                         "and was started again")
        for left in self.logs.iterdir():  # nothing of the last kernel is left for the next
            if left.is_dir() and not left.is_symlink():
                shutil.rmtree(left, ignore_errors=True)
            else:
                left.unlink(missing_ok=True)
        start = time.perf_counter()
        self.pristine.restore()  # each submission is graded with untouched files and gradebook
        # the kernel command (forkclient.py, outside the sandbox) appends the server's
        # report on the kernel here: out of every kernel's reach
        report = report_path(Path(self.shard))
        report.unlink(missing_ok=True)
        # a cell's wall-time backstop, stretched by the machine's load now
        wall = WALL_FACTOR * self.options.cell_cpu * load_factor()
        self.api.config.Execute.timeout = int(wall)
        if self.faults > 0:  # (tests) this kernel cannot start
            self.faults -= 1
            end_fork_server(self.server)
        with contextlib.redirect_stdout(io.StringIO()):
            result = passes.autograde(self.api, assignment, student)
        from .readyclient import NOT_ENDED  # (imported by then: not before the server)

        if NOT_ENDED in result.get("log", ""):  # the server did not end it: a new server
            end_fork_server(self.server)
        executed = Path(self.shard, "autograded", student, assignment, f"{assignment}.ipynb")
        flags, reason = kernel_verdict(report, executed if result["success"] else None,
                                       self.options)
        notes += interrupted(report, self.options)
        if self.pristine.restore(skip=["gradebook.db"]):  # the gradebook changes by design
            notes.append("changed the grading files of its scratch course (restored)")
        log = result.get("log", "") + result.get("error", "")
        success = bool(result["success"]) and not reason
        again = "" if success or reason else machinery_failure(log, report, self.options, wall)
        return {"assignment": assignment, "student": student, "notes": notes, "flags": flags,
                "success": success, "reason": reason or again, "retry": bool(again),
                "log": log[-3000:],
                "seconds": round(time.perf_counter() - start, 3)}


def _cells_run(notebook: Path) -> int:
    """How many code cells of an executed notebook the kernel was asked to run."""
    nb = nbformat.read(str(notebook), as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count"))


def machinery_failure(log: str, report: Path, opts: Options, wall: float | None = None) -> str:
    """Why a grading that failed with no limit of the submission's reached was stopped by
    the machinery ("" if it was not): a kernel that did not start, or a cell past its
    wall-time backstop without reaching its CPU limit (a busy machine, or a cell that
    sleeps). Such a submission is graded again (``submission.retry``)."""
    reports = _reports(report)
    errors = [r["error"] for r in reports if "error" in r]
    if errors or "kernel didn't respond" in log.lower() or "kernel died before" in log.lower():
        why = errors[0] if errors else "it did not answer"
        return f"the kernel did not start ({why[:120]}): machine overloaded?"
    if "Cell execution timed out" in log or "CellTimeoutError" in log:
        wall = WALL_FACTOR * opts.cell_cpu if wall is None else wall
        return (f"a cell ran past its wall-time backstop ({wall:.0f} s) "
                f"without reaching its CPU limit ({opts.cell_cpu:g} s): a busy machine, or a "
                "cell that sleeps or waits")
    return ""


def _reports(path: Path) -> list[dict]:
    """The fork server's reports on a submission's kernels (JSON lines; none if unreadable)."""
    try:
        return [json.loads(line) for line in path.read_text().splitlines()]
    except (OSError, ValueError):
        return []


def _cell(cell: dict) -> str:
    line = str(cell.get("line", ""))[:60]
    return f"cell {cell.get('cell')}" + (f" ({line!r})" if line else "")


def interrupted(report_path: Path, opts: Options) -> list[str]:
    """Notes on the cells the fork server interrupted at the CPU limit of one cell (the
    student's feedback shows a KeyboardInterrupt there)."""
    return [f"{_cell(c)} was interrupted after {c.get('cpu')} s of CPU time, the limit of one "
            f"cell ({opts.cell_cpu:g} s, the kernel and all it started)"
            for r in _reports(report_path) for c in r.get("interrupted", [])]


def kernel_verdict(report_path: Path, executed: Path | None,
                   opts: Options) -> tuple[list[str], str]:
    """The flags and the failure reason ("" if none) that the fork server's report on a
    submission's kernel gives: a limit that ended it, what its guard undid, and a guard
    that reported fewer cells than the kernel ran (the notebook switched it off)."""
    reports = _reports(report_path)
    if not reports and executed is not None:  # the guard's record is the kernel's report
        return ["tampering (kernel): no report on its kernel reached the grader"], ""
    flags, cells, reason = [], 0, ""
    for report in reports:
        more, seen = read_records(report.get("guard", ""))
        flags += [f for f in more if f not in flags]
        cells += seen
        where = f" in {_cell(report['last_cell'])}" if report.get("last_cell", {}).get(
            "cell") else ""
        if report.get("cpu_limit"):
            reason = (f"the notebook used more than its {opts.kernel_cpu} s of CPU time "
                      f"(all its processes together){where}")
        elif cell := report.get("cell_cpu_limit"):
            reason = (f"{_cell(cell)} went on past twice the CPU limit of one cell after it "
                      f"was interrupted ({cell.get('cpu')} s; limit {opts.cell_cpu:g} s, the "
                      "kernel and all it started)")
        elif report.get("oom_kills"):
            reason = (f"the kernel was killed by the memory limit ({opts.kernel_mem_mb} MB for "
                      f"all its processes, its /tmp and its folder){where}")
    if executed is not None and executed.exists() and cells < _cells_run(executed):
        flags.append(f"tampering (kernel): its guard reported {cells} of the "
                     f"{_cells_run(executed)} cells run (it was switched off)")
    return flags, reason


def main(argv: list[str]) -> int:
    """Grade the ASSIGNMENT:STUDENT arguments, or, without any, one per line of stdin."""
    grader = Grader(argv[0])
    tasks = argv[1:] or (line.strip() for line in sys.stdin)
    for task in tasks:
        if task:
            assignment, student = task.split(":", 1)
            print(json.dumps(grader.grade(assignment, student)), flush=True)
    end_fork_server(grader.server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
