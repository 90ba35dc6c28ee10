"""The course unit's 4-2-1 worked example, number by number (chapter 2).

x = (1, 1, 0, 1), target 1, the slides' weights and biases, learning rate 0.8. Conventions
as in ``utils.mlp``: W[i, j] is the weight from unit i to unit j (the slides' w_ij).

The rule, for a sigmoid network and one training vector:

    forward   I_j = sum_i O_i w_ij + theta_j,        O_j = 1 / (1 + e^(-I_j))
    output    Error_k = O_k (1 - O_k) (t - O_k)
    hidden    Error_j = O_j (1 - O_j) sum_k Error_k w_jk
    update    w_ij += alpha Error_j O_i,             theta_j += alpha Error_j

Error_k is minus the derivative of E = 1/2 (t - O_k)^2 with respect to I_k, so the
rule is exactly gradient descent on that squared error with learning rate alpha.
``slide_comparison`` puts the slide's printed numbers beside the exact ones.

The iteration itself is the answer to chapter 2's exercises, so a student edition of utils
does not hold ``worked_example_iteration`` until that chapter's deadline. What chapter 2
shows before then comes from a recording: every number of 30 iterations for the learning
rates ``RECORDED_LRS``, computed once by ``record_runs()`` (in the full edition) and kept in
``worked_example_runs.npy``; ``recorded_iteration`` and ``recorded_run`` read it, and the
tests check that the recording equals what the iteration computes.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ._checks import check_int, check_number
from .activations import sigmoid

__all__ = ["WorkedExample", "WORKED_EXAMPLE", "PARAMETER_NAMES", "SLIDE_VALUES",
           "WorkedIteration", "worked_example_iteration", "worked_example_iterations",
           "worked_example_run", "SlideComparison", "slide_comparison", "RECORDED_LRS",
           "RECORDED_ITERATIONS", "record_runs", "recorded_iteration", "recorded_run"]


def _frozen(values) -> np.ndarray:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class WorkedExample:
    """The 4-2-1 network of the worked example.

    ``W_hidden[i - 1, j - 5]`` is w_ij (input i = 1..4 to hidden unit j = 5, 6),
    ``W_out[j - 5, 0]`` is w_j7, ``b_hidden`` = (theta5, theta6), ``b_out`` = (theta7,).
    """

    x: np.ndarray
    t: float
    W_hidden: np.ndarray
    b_hidden: np.ndarray
    W_out: np.ndarray
    b_out: np.ndarray
    lr: float

    def weight(self, name: str) -> float:
        """A parameter by its slide name: 'w15', ..., 'w67', 'theta5', 'theta6', 'theta7'."""
        if name.startswith("theta"):
            j = int(name[5:])
            return float(self.b_hidden[j - 5] if j in (5, 6) else self.b_out[0])
        i, j = int(name[1]), int(name[2])
        return float(self.W_hidden[i - 1, j - 5] if j in (5, 6) else self.W_out[i - 5, 0])


WORKED_EXAMPLE = WorkedExample(
    x=_frozen([1, 1, 0, 1]),
    t=1.0,
    W_hidden=_frozen([[0.3, 0.1], [-0.2, 0.4], [0.2, -0.3], [0.1, 0.4]]),
    b_hidden=_frozen([0.2, 0.1]),
    W_out=_frozen([[-0.3], [0.2]]),
    b_out=_frozen([-0.3]),
    lr=0.8,
)


PARAMETER_NAMES = ("w15", "w16", "w25", "w26", "w35", "w36", "w45", "w46", "w57", "w67",
                   "theta5", "theta6", "theta7")


#: The numbers as printed on the slides (strings keep their printed precision).
#: Iteration 1 computes I6 with w15 = 0.3 instead of w16 = 0.1; the second forward
#: pass repeats the slip (with the updated w15 = 0.292) and prints I7 = -0.326 while
#: using I7 = -0.1034 for O7.
SLIDE_VALUES = {
    1: {"I5": "0.4", "O5": "0.599", "I6": "1.2", "O6": "0.769", "I7": "-0.326", "O7": "0.419",
        "error": "0.581", "Error7": "0.141", "Error6": "0.005", "Error5": "-0.0101",
        "w15": "0.292", "w16": "0.104", "w25": "-0.208", "w26": "0.404", "w35": "0.2",
        "w36": "-0.3", "w45": "0.092", "w46": "0.404", "w57": "-0.232", "w67": "0.287",
        "theta5": "0.192", "theta6": "0.104", "theta7": "-0.187"},
    2: {"I5": "0.368", "O5": "0.591", "I6": "1.204", "O6": "0.7692", "I7": "-0.326",
        "O7": "0.474", "error": "0.526"},
}


def _update_formula(name: str) -> str:
    if name.startswith("theta"):
        return f"{name} + lr Error{name[5:]}"
    source = f"x{name[1]}" if name[2] in "56" else f"O{name[1]}"
    return f"{name} + lr Error{name[2]} {source}"


#: The rows of an iteration's table: the forward pass, the error terms, the new weights.
ROW_NAMES = ("I5", "O5", "I6", "O6", "I7", "O7", "error", "Error7", "Error6",
             "Error5") + PARAMETER_NAMES
_FORMULAS = ("sum_i x_i w_i5 + theta5", "1 / (1 + e^-I5)", "sum_i x_i w_i6 + theta6",
             "1 / (1 + e^-I6)", "O5 w57 + O6 w67 + theta7", "1 / (1 + e^-I7)", "t - O7",
             "O7 (1 - O7) (t - O7)", "O6 (1 - O6) Error7 w67", "O5 (1 - O5) Error7 w57",
             ) + tuple(_update_formula(name) for name in PARAMETER_NAMES)


@dataclass
class WorkedIteration:
    """Every intermediate of one iteration: ``rows`` of (name, formula, value).

    ``values`` maps names (I5, O5, ..., Error5, w15 (new), ..., theta7) to numbers;
    ``after`` is the network with the updated weights.
    """

    rows: list = field(default_factory=list)
    after: WorkedExample | None = None

    @property
    def values(self) -> dict[str, float]:
        return {name: value for name, _, value in self.rows}

    def __str__(self) -> str:
        width = max(len(f) for _, f, _ in self.rows)
        lines = [f"{'quantity':<9} {'formula':<{width}}  value"]
        lines += [f"{n:<9} {f:<{width}}  {v: .4f}" for n, f, v in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><td>{html.escape(n)}</td><td><code>{html.escape(f)}</code></td>"
                       f"<td style='text-align:right'>{v:.4f}</td></tr>" for n, f, v in self.rows)
        return ("<table><thead><tr><th>quantity</th><th>formula</th><th>value</th></tr>"
                f"</thead><tbody>{body}</tbody></table>")


def worked_example_iteration(example: WorkedExample = WORKED_EXAMPLE,
                             lr: float | None = None) -> WorkedIteration:
    """One forward pass, backward pass and update of the 4-2-1 network, every number kept."""
    lr = example.lr if lr is None else check_number(lr, "lr", low=0.0, low_inclusive=False)
    x, t = example.x, example.t
    I_h = x @ example.W_hidden + example.b_hidden
    O_h = sigmoid(I_h)
    I_o = O_h @ example.W_out + example.b_out
    O_o = sigmoid(I_o)
    err_o = O_o * (1 - O_o) * (t - O_o)
    err_h = O_h * (1 - O_h) * (example.W_out @ err_o)
    W_hidden = example.W_hidden + lr * np.outer(x, err_h)
    b_hidden = example.b_hidden + lr * err_h
    W_out = example.W_out + lr * np.outer(O_h, err_o)
    b_out = example.b_out + lr * err_o
    after = replace(example, W_hidden=_frozen(W_hidden), b_hidden=_frozen(b_hidden),
                    W_out=_frozen(W_out), b_out=_frozen(b_out))
    values = [I_h[0], O_h[0], I_h[1], O_h[1], I_o[0], O_o[0], t - O_o[0], err_o[0], err_h[1],
              err_h[0]] + [after.weight(name) for name in PARAMETER_NAMES]
    rows = list(zip(ROW_NAMES, _FORMULAS, values, strict=True))
    return WorkedIteration([(n, f, float(v)) for n, f, v in rows], after)


def worked_example_iterations(iterations: int = 10, lr: float | None = None,
                              example: WorkedExample = WORKED_EXAMPLE) -> list[WorkedIteration]:
    """``iterations`` consecutive iterations, each starting from the previous one's result."""
    iterations = check_int(iterations, "iterations", low=1)
    steps = [worked_example_iteration(example, lr)]
    for _ in range(iterations - 1):
        steps.append(worked_example_iteration(steps[-1].after, lr))
    return steps


def worked_example_run(iterations: int = 10, lr: float | None = None,
                       example: WorkedExample = WORKED_EXAMPLE) -> dict:
    """Repeat the iteration: the error t - O7 before each update and the weights after.

    Returns ``{"error": (iterations + 1,), "weights": (iterations + 1, 13), "names",
    "steps"}``: row 0 of weights is the starting network, the columns follow
    ``PARAMETER_NAMES``, and the last error is measured after the final update.
    """
    steps = worked_example_iterations(iterations + 1, lr, example)
    weights = [[example.weight(n) for n in PARAMETER_NAMES]]
    weights += [[step.after.weight(n) for n in PARAMETER_NAMES] for step in steps[:-1]]
    return {"error": np.array([step.values["error"] for step in steps]),
            "weights": np.array(weights), "names": PARAMETER_NAMES, "steps": steps[:-1]}


class SlideComparison(list):
    """Rows (iteration, quantity, slide, exact, differs) that render as a highlighted table."""

    def __str__(self) -> str:
        lines = [f"{'pass':<5}{'quantity':<9}{'slide':>9}{'exact':>10}"]
        lines += [f"{it:<5}{name:<9}{slide:>9}{exact:>10.4f}{'   <-- differs' if d else ''}"
                  for it, name, slide, exact, d in self]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for it, name, slide, exact, differs in self:
            style = " style='background:#fbe3e3;font-weight:bold'" if differs else ""
            rows.append(f"<tr{style}><td>{it}</td><td>{html.escape(name)}</td><td>{slide}</td>"
                        f"<td>{exact:.4f}</td><td>{'differs' if differs else ''}</td></tr>")
        return ("<table><thead><tr><th>forward pass</th><th>quantity</th><th>slide</th>"
                "<th>exact</th><th></th></tr></thead><tbody>" + "".join(rows) +
                "</tbody></table>")


def slide_comparison() -> SlideComparison:
    """(iteration, quantity, slide value, exact value, differs) for every printed number.

    A value differs when the exact one, rounded to the slide's printed decimals, is not
    the printed number. The exact values are the recorded ones (``recorded_iteration``).
    """
    exact = {k: recorded_iteration(k).values for k in SLIDE_VALUES}
    rows = []
    for it, printed in SLIDE_VALUES.items():
        for name, text in printed.items():
            decimals = len(text.split(".")[1]) if "." in text else 0
            value = exact[it][name]
            rows.append((it, name, text, value, round(value, decimals) != float(text)))
    return SlideComparison(rows)


# ------------------------------------------------------------------------------ recording

#: The learning rates the run is recorded for (the worked example's 0.8 among them).
RECORDED_LRS = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 5.0, 10.0)
#: Iterations recorded per learning rate (one more forward pass measures the last update).
RECORDED_ITERATIONS = 30
_RECORDING = Path(__file__).with_name("worked_example_runs.npy")


def record_runs() -> np.ndarray:
    """Compute the recording: ``(len(RECORDED_LRS), RECORDED_ITERATIONS + 1, len(ROW_NAMES))``,
    entry ``[r, k - 1]`` the values of iteration k at learning rate ``RECORDED_LRS[r]``."""
    return np.array([[[value for _, _, value in step.rows]
                      for step in worked_example_iterations(RECORDED_ITERATIONS + 1, lr)]
                     for lr in RECORDED_LRS])


@functools.cache
def _recording() -> np.ndarray:
    table = np.load(_RECORDING, allow_pickle=False)
    table.setflags(write=False)
    return table


def _recorded_lr(lr) -> int:
    lr = check_number(lr, "lr", low=0.0, low_inclusive=False)
    matches = [r for r, recorded in enumerate(RECORDED_LRS) if np.isclose(recorded, lr)]
    if not matches:
        raise ValueError(f"the worked example is recorded for the learning rates "
                         f"{', '.join(map(str, RECORDED_LRS))}; got lr = {lr}")
    return matches[0]


def _as_example(values) -> WorkedExample:
    """The network after an iteration, from the recorded new weights."""
    new = dict(zip(ROW_NAMES, values, strict=True))
    hidden = [[new[f"w{i}{j}"] for j in (5, 6)] for i in range(1, 5)]
    return replace(WORKED_EXAMPLE, W_hidden=_frozen(hidden),
                   b_hidden=_frozen([new["theta5"], new["theta6"]]),
                   W_out=_frozen([[new["w57"]], [new["w67"]]]), b_out=_frozen([new["theta7"]]))


def recorded_iteration(k: int = 1, lr: float = 0.8) -> WorkedIteration:
    """Iteration ``k`` (1 = the first, from the slides' weights) at learning rate ``lr``, as
    recorded: the same table ``worked_example_iteration`` computes. ``lr`` is one of
    ``RECORDED_LRS`` and ``k`` at most ``RECORDED_ITERATIONS + 1``."""
    k = check_int(k, "k", low=1)
    if k > RECORDED_ITERATIONS + 1:
        raise ValueError(f"iterations 1 to {RECORDED_ITERATIONS + 1} are recorded, got k = {k}")
    values = _recording()[_recorded_lr(lr), k - 1]
    rows = [(n, f, float(v)) for n, f, v in zip(ROW_NAMES, _FORMULAS, values, strict=True)]
    return WorkedIteration(rows, _as_example(values))


def recorded_run(iterations: int = 10, lr: float = 0.8) -> dict:
    """``worked_example_run(iterations, lr)`` from the recording (``iterations`` at most
    ``RECORDED_ITERATIONS``, ``lr`` one of ``RECORDED_LRS``): the error before each update
    and after the last, the weights after each update, and the iterations' tables."""
    iterations = check_int(iterations, "iterations", low=1)
    if iterations > RECORDED_ITERATIONS:
        raise ValueError(f"{RECORDED_ITERATIONS} iterations are recorded, got {iterations}")
    steps = [recorded_iteration(k, lr) for k in range(1, iterations + 2)]
    weights = [[WORKED_EXAMPLE.weight(n) for n in PARAMETER_NAMES]]
    weights += [[step.after.weight(n) for n in PARAMETER_NAMES] for step in steps[:-1]]
    return {"error": np.array([step.values["error"] for step in steps]),
            "weights": np.array(weights), "names": PARAMETER_NAMES, "steps": steps[:-1]}
