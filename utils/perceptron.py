"""Threshold units, logic gates and the perceptron learning rule.

The rule (Rosenblatt's, in the form of the course unit): for each training vector x
with target t, compute the net input y_in = b + sum_i x_i w_i and the output
y = f(y_in) with the bipolar step f of dead band theta. Only when y != t,

    w_i <- w_i + alpha t x_i,        b <- b + alpha t.

Training stops after an epoch in which no weight changed. With several output units
(T of shape (m, k)) each unit j follows the same rule with its own column w_{.j}, b_j.

Targets should be bipolar (t in {-1, 1}): with a binary target t = 0 the update
alpha t x is zero, so a unit that wrongly fires for such an example is never corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import as_float_array, check_int, check_number
from .activations import bipolar_step

__all__ = ["LOGIC_GATES", "logic_gate", "PerceptronResult", "train_perceptron",
           "perceptron_predict"]

_INPUTS_2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])

#: Truth tables with binary inputs and outputs: name -> (X of shape (m, n), t of shape (m,)).
LOGIC_GATES = {
    "AND": (_INPUTS_2, np.array([0, 0, 0, 1])),
    "OR": (_INPUTS_2, np.array([0, 1, 1, 1])),
    "NAND": (_INPUTS_2, np.array([1, 1, 1, 0])),
    "NOR": (_INPUTS_2, np.array([1, 0, 0, 0])),
    "XOR": (_INPUTS_2, np.array([0, 1, 1, 0])),
    "NOT": (np.array([[0], [1]]), np.array([1, 0])),
}
for _X, _t in LOGIC_GATES.values():
    _X.setflags(write=False)
    _t.setflags(write=False)

_ENCODINGS = ("binary", "bipolar", "binary-bipolar")


def logic_gate(name: str, encoding: str = "binary"):
    """Return fresh copies ``(X, t)`` of a gate's truth table.

    ``encoding`` is ``"binary"`` (0/1 inputs and targets), ``"bipolar"`` (-1/1 inputs
    and targets: 0 becomes -1) or ``"binary-bipolar"`` (0/1 inputs, -1/1 targets,
    the usual set-up for the perceptron rule).
    """
    key = str(name).upper()
    if key not in LOGIC_GATES:
        raise ValueError(f"unknown gate {name!r}; choose one of {', '.join(LOGIC_GATES)}")
    if encoding not in _ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; choose one of {', '.join(_ENCODINGS)}")
    X, t = (a.astype(np.int64) for a in LOGIC_GATES[key])
    if encoding in ("bipolar", "binary-bipolar"):
        t = 2 * t - 1
    if encoding == "bipolar":
        X = 2 * X - 1
    return X, t


@dataclass
class PerceptronResult:
    """What ``train_perceptron`` returns.

    ``w`` has shape (n,) for one output unit or (n, k) for k units, ``b`` shape () or (k,).
    ``epochs`` counts every epoch run, including the final one without change.
    ``converged`` is True when an epoch ended without any weight change.
    ``history`` holds one dict per epoch: the weights and bias after it, the number of
    updates made and the number of misclassified examples seen during it.
    """

    w: np.ndarray
    b: np.ndarray
    epochs: int
    converged: bool
    history: list = field(default_factory=list)


def _check_targets(T, m: int) -> tuple[np.ndarray, bool]:
    T = as_float_array(T, "T (the targets)", ndim=(1, 2))
    if T.shape[0] != m:
        raise ValueError(f"T has {T.shape[0]} rows but X has {m}: one target per example")
    if not np.isin(T, (-1.0, 0.0, 1.0)).all():
        raise ValueError("targets must be -1, 0 or 1 (the outputs a bipolar step can give)")
    return T, T.ndim == 1


def train_perceptron(X, T, alpha=1.0, theta=0.0, max_epochs=100) -> PerceptronResult:
    """Train one or several perceptron units with the perceptron learning rule.

    X has shape (m, n) (one example per row) and T shape (m,) for one output unit or
    (m, k) for k units. Weights and biases start at zero. Examples are visited in
    order; each unit j computes y_j = bipolar_step(b_j + x . w_{.j}, theta) and, only
    if y_j != t_j, updates w_{.j} += alpha t_j x and b_j += alpha t_j. Training stops
    after the first epoch with no change, or after ``max_epochs`` epochs.

    The rule is online (each update changes the next example's output), so the loop
    over examples is the algorithm itself, not a missed vectorization.
    """
    X = as_float_array(X, "X", ndim=2)
    m, n = X.shape
    if m == 0:
        raise ValueError("X has no examples")
    T, single = _check_targets(T, m)
    T2 = T[:, None] if single else T
    alpha = check_number(alpha, "alpha (the learning rate)", low=0.0, low_inclusive=False)
    theta = check_number(theta, "theta", low=0.0)
    max_epochs = check_int(max_epochs, "max_epochs", low=1)

    W = np.zeros((n, T2.shape[1]))
    b = np.zeros(T2.shape[1])
    history, converged, epoch = [], False, 0
    for epoch in range(1, max_epochs + 1):
        updates = errors = 0
        for x, t in zip(X, T2, strict=True):
            y = bipolar_step(x @ W + b, theta)
            wrong = y != t
            errors += int(wrong.any())
            step = np.where(wrong, alpha * t, 0.0)  # alpha t_j where y_j != t_j, else 0
            if np.any(step != 0):  # the bias changes even when x is all zeros
                W += np.outer(x, step)
                b += step
                updates += 1
        history.append({"epoch": epoch, "w": W[:, 0].copy() if single else W.copy(),
                        "b": b[0].copy() if single else b.copy(),
                        "updates": updates, "errors": errors})
        if updates == 0:
            converged = True
            break
    if single:
        return PerceptronResult(W[:, 0].copy(), b[0].copy(), epoch, converged, history)
    return PerceptronResult(W, b, epoch, converged, history)


def perceptron_predict(X, w, b, theta=0.0):
    """Outputs bipolar_step(X w + b, theta) of trained units for every row of X."""
    X = as_float_array(X, "X", ndim=2)
    w = as_float_array(w, "w", ndim=(1, 2))
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w has {w.shape[0]} rows but X has {X.shape[1]} features")
    return bipolar_step(X @ w + as_float_array(b, "b"), theta)
