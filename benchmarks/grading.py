"""Grading speed: plain sequential ``nbgrader autograde`` against ``course grade``.

Builds a synthetic class (STUDENTS x the assignments; a third of the submissions
correct, a third with one plausible mistake, a sixth blank, a sixth with two mistakes)
in two identical course directories, grades one with ``nbgrader autograde <assignment>``
(one command per assignment, as an instructor would run it; then ``generate_feedback`` and
``export``, which ``course grade`` also does) and the other with ``python -m course grade``,
checks that every grade is identical, and prints the wall times, the ratios (to autograde
alone and to the same outputs) next to the targets, the floor (the cells' own execution
time, from nbclient's timing metadata, divided by the cores), the cost per submission
against the cells' own time, where course grade spends its time, and what a kernel start
costs: bare, as a limited grading kernel started anew, and forked by the fork server
(with jupyter_client's waits and with course grade's ReadyKernelManager).

    python benchmarks/grading.py                    # the two standard classes (10 and 160)
    python benchmarks/grading.py --students 10 ch1_perceptron [--workers N]
    python benchmarks/grading.py --interleaved      # 160, the two alternating per assignment
    python benchmarks/grading.py --kernels          # only a grading kernel's start and end
    python benchmarks/grading.py --under-load [--hogs 4] [--students 40] [ASSIGNMENT]
                                                    # course grade idle, then beside busy
                                                    # processes: same grades? how much slower?
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course import workspace
from course.mistakes import mistakes
from course.notebooks import assignments, course_root, fill_answers, notebook_path, read

sys.path.insert(0, str(Path(__file__).parent))
from notebook_runtime import bare_kernel  # noqa: E402


def build(dest: Path, names: list[str], students: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    root = course_root()
    workspace.make_course_dir(dest, names, root)
    count = 0
    for name in names:
        release = read(workspace.generate(dest, name))
        source = read(notebook_path(root, "source", name))
        for s in range(students):
            kind = s % 6
            if kind in (0, 1):
                nb = fill_answers(release, source)
            elif kind in (2, 3):
                nb = fill_answers(release, source, [rng.choice(mistakes(name))])
            elif kind == 4:
                nb = release
            else:
                picks = rng.sample(mistakes(name), 2)
                if picks[0].cell == picks[1].cell:
                    picks = picks[:1]
                nb = fill_answers(release, source, picks)
            workspace.submit(dest, name, f"student{s:03d}", nb)
            count += 1
    return count


def kernel_costs(forked: bool, ready: bool, tmp: Path, repeat: int = 7) -> tuple[float, float]:
    """Seconds to start a grading kernel and run ``import numpy`` in it, and to end it as
    the workers do (``shutdown_kernel(now=True)``): medians of ``repeat`` (a single end
    varies from 0.015 to 0.11 s). ``forked``: by the sandboxed fork server (what course
    grade does), else started anew as a plain limited kernel (``limited_kernel.py``: what
    every nbgrader kernel pays). ``ready``: with ``readyclient.ReadyKernelManager``
    (course grade's workers), else with jupyter_client's ``AsyncKernelManager`` and its
    waits."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient

    from course.grading.execute import shard as pool
    from course.grading.execute.readyclient import ReadyKernelManager
    from course.grading.submission import Options

    shard = tmp / "kernel-start" / ("forked" if forked else "plain")
    folder = shard / "autograded" / "student" / "assignment"
    folder.mkdir(parents=True, exist_ok=True)
    if not (shard / "lib" / "utils").exists():
        import shutil

        import utils

        shutil.copytree(Path(utils.__file__).parent, shard / "lib" / "utils")
        pool.prepare_kernel(shard)  # the layout course grade gives a worker
    server = None
    if forked:
        server = pool.start_fork_server(shard, Options())
        argv = pool.kernel_argv(shard)
        time.sleep(3)  # the server's own start (its imports) is paid once per worker
    else:
        argv = [sys.executable, str(pool.SANDBOX / "limited_kernel.py"),
                "--cpu", "60", "--mem-mb", "2048", "-f", "{connection_file}"]
    starts, ends = [], []
    try:
        for _ in range(repeat):
            manager = ReadyKernelManager if ready else AsyncKernelManager
            km = manager(transport="ipc", ip=str(pool.runtime_dir(shard) / "k"))
            km._kernel_spec = KernelSpec(argv=argv, display_name="grading",
                                         language="python", interrupt_mode="message")
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy")])
            start = time.perf_counter()
            NotebookClient(nb, km=km, timeout=60,
                           resources={"metadata": {"path": str(folder)}}).execute()
            starts.append(time.perf_counter() - start)
            start = time.perf_counter()
            run_sync(km.shutdown_kernel)(now=True)
            ends.append(time.perf_counter() - start)
        return statistics.median(starts), statistics.median(ends)
    finally:
        if server:
            server.kill()
            server.wait()


def cell_seconds(root: Path, skip_first: bool = False) -> tuple[float, int]:
    """The cells' own execution time summed over every autograded notebook (nbclient's
    timing metadata), and the number of notebooks. ``skip_first`` leaves out each
    notebook's first cell, its imports: a fork-server kernel has them already, a kernel
    nbgrader starts anew pays them there, so only the rest compares machine speed."""
    from datetime import datetime

    total, count = 0.0, 0
    for path in (root / "autograded").glob("*/*/*.ipynb"):
        count += 1
        first = skip_first
        for cell in read(path).cells:
            timing = cell.get("metadata", {}).get("execution", {})
            if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
                if first:
                    first = False
                    continue
                begin = datetime.fromisoformat(timing["iopub.execute_input"].rstrip("Z"))
                end = datetime.fromisoformat(timing["shell.execute_reply"].rstrip("Z"))
                total += (end - begin).total_seconds()
    return total, count


def speed_line(plain: Path, ours: Path) -> str:
    """The cells after the imports, per notebook, in each run: how fast the machine was."""
    (a, n), (b, m) = cell_seconds(plain, True), cell_seconds(ours, True)
    return (f"cells after the imports, per notebook: {a / max(n, 1):.2f} s one at a time "
            f"(sequential), {b / max(m, 1):.2f} s two at a time (course grade): the machine's "
            "speed in each run; a ratio is only as steady as it")


# The two classes: a section of 10 (target <= 0.5x sequential nbgrader) and 40
# students x chapters 1-4 (160 submissions, target <= 0.3x)
SCENARIOS = [(10, ["ch1_perceptron"], 0.5),
             (40, ["ch1_perceptron", "ch2_mlp", "ch3_backprop", "ch4_optimizers"], 0.3)]
COST_TARGET = 1.5  # per-submission cost / the notebook's own cell-execution time


@contextlib.contextmanager
def two_classes(names: list[str], students: int):
    """Two identical synthetic classes in a scratch folder: (plain, ours, submissions)."""
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        plain, ours = Path(tmp) / "plain", Path(tmp) / "ours"
        n = build(plain, names, students)
        build(ours, names, students)
        yield plain, ours, n


def scenario(students: int, names: list[str], workers: int, target: float) -> dict:
    """Grade one synthetic class both ways; print and return the figures."""
    with two_classes(names, students) as (plain, ours, n):
        print(f"\nclass: {students} students x {len(names)} assignments = {n} submissions; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        start = time.perf_counter()
        for name in names:
            if workspace.autograde(plain, name).returncode != 0:
                raise SystemExit(f"nbgrader autograde {name} failed")
        t_plain = time.perf_counter() - start
        start = time.perf_counter()  # the rest of what course grade delivers
        for name in names:
            workspace.nbgrader(plain, "generate_feedback", name, "--force", check=False)
        workspace.nbgrader(plain, "export", "--to", "grades.csv")
        t_rest = time.perf_counter() - start
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "course", "--root", str(ours), "grade",
                               "--workers", str(workers)], capture_output=True, text=True)
        t_ours = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-2000:])
        same = all(workspace.scores(plain, a) == workspace.scores(ours, a) for a in names)
        cells, notebooks = cell_seconds(ours)
        speed = speed_line(plain, ours)
    cores = os.cpu_count() or 1
    t_full = t_plain + t_rest
    cost = t_ours * min(workers, cores) / n
    own = cells / max(notebooks, 1)
    print(f"grades identical: {'yes' if same else 'NO'}")
    print(f"sequential nbgrader autograde:        {t_plain:7.1f} s  ({t_plain / n:.2f} s per "
          "submission)")
    print(f"  + generate_feedback + export:       {t_full:7.1f} s  ({t_full / n:.2f} s per "
          "submission: the outputs course grade gives)")
    print(f"course grade --workers {workers}:             {t_ours:7.1f} s  "
          f"({t_ours / n:.2f} s per submission: autograde, feedback, grades.csv)")
    print(f"ratio course grade / sequential autograde alone:       {t_ours / t_plain:.2f}"
          f"  (target <= {target})")
    print(f"ratio course grade / sequential, same outputs:         {t_ours / t_full:.2f}")
    print(f"floor: the cells' own execution time {cells:.1f} s over {notebooks} notebooks "
          f"/ {cores} cores = {cells / cores:.1f} s ({cells / cores / t_plain:.2f}x sequential)")
    print(speed)
    print(f"cost per submission: {cost:.2f} core-s, the cells' own time {own:.2f} s: "
          f"{cost / max(own, 1e-9):.2f}x  (target <= {COST_TARGET}x)")
    phases = [line for line in proc.stdout.splitlines() if line.startswith("time:")]
    print("course grade " + (phases[0] if phases else "time: (not reported)"))
    if not same:
        raise SystemExit("grades differ from sequential nbgrader")
    return {"n": n, "ratio": t_ours / t_plain, "target": target,
            "cost": cost / max(own, 1e-9), "floor": cells / cores / t_plain}


def interleaved(students: int, names: list[str], workers: int, target: float) -> float:
    """The same comparison with the two alternating, one assignment at a time: this VM's
    speed drifts over minutes, and a sequential phase of ten minutes followed by a parallel
    one of three can meet two different machines. Here each slice of sequential nbgrader is
    next to its slice of course grade; course grade pays its start-up and export once per
    assignment instead of once, so its figure is if anything too high."""
    with two_classes(names, students) as (plain, ours, n):
        print(f"\ninterleaved, one assignment at a time: {n} submissions; load average "
              f"{os.getloadavg()[0]:.2f}")
        t_plain = t_ours = 0.0
        for name in names:
            start = time.perf_counter()
            if workspace.autograde(plain, name).returncode != 0:
                raise SystemExit(f"nbgrader autograde {name} failed")
            took_plain = time.perf_counter() - start
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "course", "--root", str(ours), "grade",
                                   name, "--workers", str(workers)], capture_output=True,
                                  text=True)
            took_ours = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-2000:])
            t_plain, t_ours = t_plain + took_plain, t_ours + took_ours
            print(f"  {name:<16} sequential {took_plain:6.1f} s, course grade {took_ours:5.1f} s:"
                  f" {took_ours / took_plain:.2f}")
        same = all(workspace.scores(plain, a) == workspace.scores(ours, a) for a in names)
        speed = speed_line(plain, ours)
    print(f"grades identical: {'yes' if same else 'NO'}")
    print(f"sequential {t_plain:.1f} s, course grade {t_ours:.1f} s: ratio {t_ours / t_plain:.2f}"
          f"  (target <= {target})")
    print(speed)
    if not same:
        raise SystemExit("grades differ from sequential nbgrader")
    return t_ours / t_plain


def under_load(students: int, names: list[str], workers: int, hogs: int) -> None:
    """Grade one class with ``course grade`` on an idle machine, then the same class again
    while ``hogs`` processes keep a core busy each; print both times and whether every
    grade and status is the same (a loaded machine must never change a grade)."""
    import csv
    import json

    def grade(root: Path) -> tuple[float, dict, dict]:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "course", "--root", str(root), "grade",
                               "--workers", str(workers)], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
        with open(root / "grades.csv") as fh:
            grades = {(r["assignment"], r["student_id"]): r["raw_score"]
                      for r in csv.DictReader(fh)}
        record = json.loads((root / "reports" / "grade_run.json").read_text())
        return seconds, grades, {k: r["status"] for k, r in record.items()}

    with two_classes(names, students) as (idle_root, busy_root, n):
        print(f"\nclass: {n} submissions ({', '.join(names)}); {os.cpu_count()} CPUs, "
              f"{workers} workers; load average {os.getloadavg()[0]:.2f}")
        t_idle, idle, idle_status = grade(idle_root)
        print(f"idle:                    {t_idle:7.1f} s")
        busy = [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])
                for _ in range(hogs)]
        try:
            time.sleep(1)
            t_busy, loaded, busy_status = grade(busy_root)
            load = os.getloadavg()[0]
        finally:
            for hog in busy:
                hog.kill()
                hog.wait()
        print(f"beside {hogs} busy processes: {t_busy:7.1f} s  ({t_busy / t_idle:.2f}x; load "
              f"average {load:.1f})")
        same = loaded == idle and busy_status == idle_status
        print(f"grades and statuses identical: {'yes' if same else 'NO'} ({len(idle)} grades; "
              f"{sum(s == 'failed' for s in idle_status.values())} not graded in both)")
        if not same:
            for key in sorted(set(idle) | set(loaded)):
                if idle.get(key) != loaded.get(key):
                    print(f"  {key}: idle {idle.get(key)}, loaded {loaded.get(key)}")
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=None,
                        help="one class of this size instead of the two standard ones")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--interleaved", action="store_true",
                        help="only the 160-submission class, sequential and course grade "
                             "alternating one assignment at a time")
    parser.add_argument("--kernels", action="store_true",
                        help="only what a kernel start and end cost")
    parser.add_argument("--under-load", action="store_true",
                        help="course grade idle, then beside --hogs busy processes")
    parser.add_argument("--hogs", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    if args.under_load:
        under_load(args.students or 40, args.assignments or ["ch5_regularization"],
                   args.workers, args.hogs)
        return
    if args.interleaved:
        students, names, target = SCENARIOS[-1]
        interleaved(students, names, args.workers, target)
        return
    if args.students is None and not args.assignments:
        runs = SCENARIOS
    else:
        names = args.assignments or assignments()
        students = args.students or 40
        runs = [(students, names, 0.5 if students * len(names) <= 10 else 0.3)]
    results = [] if args.kernels else [scenario(students, names, args.workers, target)
                                       for students, names, target in runs]
    with tempfile.TemporaryDirectory(prefix="bench-kernels-") as tmp:
        kernel = min(bare_kernel() for _ in range(3))
        anew = kernel_costs(forked=False, ready=False, tmp=Path(tmp))
        forked_stock = kernel_costs(forked=True, ready=False, tmp=Path(tmp))
        forked = kernel_costs(forked=True, ready=True, tmp=Path(tmp))
    print(f"\nbare kernel start + one cell: {kernel:.2f} s")
    print("grading kernel, start + import numpy / end (medians):")
    for label, (start, end) in [("started anew (as nbgrader)", anew),
                                ("forked, jupyter_client's waits", forked_stock),
                                ("forked, ReadyKernelManager (course grade)", forked)]:
        print(f"  {label:<44}{start:.3f} s / {end:.3f} s")
    if not results:
        return
    print(f"\n{'submissions':>12}{'ratio':>8}{'target':>8}{'floor':>8}{'cost/cells':>12}")
    for r in results:
        print(f"{r['n']:>12}{r['ratio']:>8.2f}{r['target']:>8}{r['floor']:>8.2f}"
              f"{r['cost']:>11.2f}x  (target <= {COST_TARGET}x)")


if __name__ == "__main__":
    main()
