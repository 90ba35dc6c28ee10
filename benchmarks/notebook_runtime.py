"""Speed figures for the course's budgets (docs: COURSE_DESIGN section 7).

Prints, for every assignment, the wall time of a top-to-bottom run: the release notebook with
the solutions filled in, run as a student runs it (figures and widgets on) on the edition of
utils a student of that assignment has (``course.editions``; the full edition for the
assignments not graded on one), cells only; the source notebook in a fresh kernel as an
instructor runs it (its hidden tests decided in the kernel, as nothing grades it) and as
nbgrader runs it (NBGRADER_EXECUTION set), kernel start included; next to the cost of
starting a bare kernel. Then the response time of each widget to a control change.

    python benchmarks/notebook_runtime.py [--repeat 3] [ASSIGNMENT ...]

The budget is 10 s per chapter (COURSE_DESIGN section 7) and 20 s for the Keras case
study, whose first cell imports Keras and JAX.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import nbformat
from nbclient import NotebookClient

from course import editions
from course.as_student import run_as_student
from course.notebooks import assignments, course_root, fill_answers, notebook_path, read

BUDGET = {"case_study_keras": 20.0}  # seconds; every other notebook: 10


def run_notebook(path, grading: bool) -> float:
    nb = nbformat.read(str(path), as_version=4)
    saved = os.environ.pop("NBGRADER_EXECUTION", None)
    if grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        return time.perf_counter() - start
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
        if saved is not None:
            os.environ["NBGRADER_EXECUTION"] = saved


def as_a_student(root, name: str) -> float:
    """Seconds of the solved release notebook's cells, run as a student on the edition of
    utils a student of ``name`` has (the full one for an assignment not graded on an edition);
    an error outside the exercises is a failure of this benchmark."""
    release = read(notebook_path(root, "release", name))
    solved = fill_answers(release, read(notebook_path(root, "source", name)))
    folder = (editions.cached(editions.released_before(name))
              if name in editions.GRADED_ON_EDITION else None)
    seconds, errors = run_as_student(solved, root / "release" / name, edition=folder)
    if errors:
        raise SystemExit(f"{name} fails on its student edition: {errors}")
    return seconds


def bare_kernel() -> float:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    start = time.perf_counter()
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    return time.perf_counter() - start


def _median_change_time(change, steps) -> float:
    """Median seconds of ``change(i)`` over ``steps`` (a change of a control plus its redraw)."""
    times = []
    for i in steps:
        start = time.perf_counter()
        change(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def widget_latency(changes: int = 20) -> dict[str, float]:
    """Median seconds from a control change to the redrawn widget, per widget."""
    from utils.widgets import (
        ActivationExplorer,
        BackpropPlayground,
        DropoutExplorer,
        GradientFlowExplorer,
        LearningRateExplorer,
        LSTMGateExplorer,
        OptimizerRace,
        RegularizationPlayground,
        WorkedExampleStepper,
    )

    explorer = ActivationExplorer()
    names = ["relu", "leaky_relu", "tanh", "sigmoid"]

    def explorer_change(i):
        if i % 2:
            explorer.controls["name"].value = names[i % len(names)]
        else:
            explorer.controls["z_range"].value = (-4.0 - i % 5, 6.0)

    stepper = WorkedExampleStepper()

    def stepper_change(i):
        if i % 2:
            lrs = stepper.controls["lr"].options  # a new rate: reads another recorded run
            stepper.controls["lr"].value = lrs[i % len(lrs)]
        else:
            stepper.controls["iteration"].value = 1 + i

    playground = BackpropPlayground()

    def playground_change(i):
        if i % 2:
            playground.controls["hidden"].value = 1 + i % 16
        else:
            playground.controls["lr"].value = 0.1 * (1 + i)

    explorer2d = LearningRateExplorer()
    settings = [("lr", 0.05), ("optimizer", "adam"), ("lr", 0.3), ("surface", "rosenbrock"),
                ("optimizer", "momentum"), ("surface", "ravine")]

    def explorer2d_change(i):
        name, value = settings[i % len(settings)]
        explorer2d.controls[name].value = value

    race = OptimizerRace()

    def race_change(i):
        race.controls["lr"].value = 0.002 * (1 + i)

    playground5 = RegularizationPlayground()
    settings5 = [("l2", 1e-3), ("dropout", 0.2), ("batchnorm", True), ("early", True),
                 ("l2", 0.0), ("dropout", 0.0), ("batchnorm", False), ("early", False)]

    def playground5_change(i):  # the first visit of a setting trains; later ones hit the cache
        name, value = settings5[i % len(settings5)]
        playground5.controls[name].value = value

    dropout = DropoutExplorer()

    def dropout_change(i):
        dropout.controls["p"].value = 0.05 * (1 + i % 15)

    flow = GradientFlowExplorer()
    flow_settings = [("activation", "relu"), ("init", "he"), ("residual", True), ("depth", 40),
                     ("batchnorm", True), ("activation", "sigmoid"), ("residual", False),
                     ("init", "xavier")]

    def flow_change(i):
        name, value = flow_settings[i % len(flow_settings)]
        flow.controls[name].value = value

    gates = LSTMGateExplorer()

    def gates_change(i):
        gates.controls["forget"].value = -6.0 + 0.5 * (i % 24)

    every = range(changes)
    runs = [("regularization_playground (trains on a new setting)", playground5_change, range(8)),
            ("regularization_playground (settings seen before)", playground5_change,
             range(8, 8 + changes)),
            ("dropout_explorer", dropout_change, every),
            ("gradient_flow_explorer", flow_change, every),
            ("lstm_gate_explorer", gates_change, every),
            ("learning_rate_explorer", explorer2d_change, every),
            ("optimizer_race (4 optimizers x 30 epochs)", race_change, every),
            ("backprop_playground (retrains 300 steps)", playground_change, every),
            ("activation_explorer", explorer_change, every),
            ("worked_example_stepper", stepper_change, every)]
    return {name: _median_change_time(change, steps) for name, change, steps in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("assignments", nargs="*", help="default: every notebook")
    args = parser.parse_args()
    root = course_root()
    kernel = statistics.median(bare_kernel() for _ in range(args.repeat))
    print(f"bare kernel start + 1 cell: {kernel:.2f} s (median of {args.repeat})")
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'notebook':<18}{'as a student':>14}{'edition':>9}{'source':>10}"
          f"{'under nbgrader':>16}   budget")
    for name in args.assignments or assignments(root):
        path = notebook_path(root, "source", name)
        student = statistics.median(as_a_student(root, name) for _ in range(args.repeat))
        edition = "student" if name in editions.GRADED_ON_EDITION else "full"
        source = statistics.median(run_notebook(path, False) for _ in range(args.repeat))
        grading = statistics.median(run_notebook(path, True) for _ in range(args.repeat))
        budget = BUDGET.get(name, 10.0)
        verdict = "OK" if max(student, grading) < budget else "OVER"
        print(f"{name:<18}{student:>12.2f} s{edition:>9}{source:>8.2f} s{grading:>14.2f} s"
              f"   < {budget:g} s {verdict}")
    for widget, seconds in (widget_latency().items() if not args.assignments else ()):
        verdict = "OK" if seconds < 0.2 else "OVER"
        print(f"widget {widget}: {1000 * seconds:.0f} ms per control change "
              f"(median)   budget < 200 ms: {verdict}")


if __name__ == "__main__":
    main()
