"""Loss functions and their gradients with respect to the prediction.

Shapes follow the course convention (one example per row): predictions ``A`` and
targets ``Y`` have the same shape, (m,) or (m, k); every loss is averaged over the
m examples, and its gradient carries the matching 1/m.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array

__all__ = ["EPS", "bce", "bce_grad", "mse", "mse_grad", "half_sse", "half_sse_grad",
           "cross_entropy", "cross_entropy_grad"]

#: Probabilities are clipped to [EPS, 1 - EPS] before a log, so log(0) never happens.
EPS = 1e-12


def _pair(A, Y, what: str = "A"):
    A = as_float_array(A, what, ndim=(1, 2))
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    if A.shape != Y.shape:
        raise ValueError(f"{what} has shape {A.shape} but Y has shape {Y.shape}; they must match "
                         "(one row per example)")
    return A, Y


def _probabilities(A):
    if (A < 0).any() or (A > 1).any():
        raise ValueError("A must hold probabilities in [0, 1] (the output of a sigmoid)")
    return np.clip(A, EPS, 1.0 - EPS)


def bce(A, Y) -> float:
    """Binary cross-entropy J = -(1/m) sum [Y log A + (1 - Y) log(1 - A)].

    A holds probabilities (clipped to [EPS, 1 - EPS]); Y holds 0/1 labels.
    """
    A, Y = _pair(A, Y)
    P = _probabilities(A)
    m = A.shape[0]
    return float(-np.sum(Y * np.log(P) + (1.0 - Y) * np.log1p(-P)) / m)


def bce_grad(A, Y):
    """dJ/dA of ``bce``: -(1/m) [Y / A - (1 - Y) / (1 - A)] (A clipped as in ``bce``)."""
    A, Y = _pair(A, Y)
    P = _probabilities(A)
    return -(Y / P - (1.0 - Y) / (1.0 - P)) / A.shape[0]


def mse(A, Y) -> float:
    """Mean squared error J = (1/m) sum_i ||A_i - Y_i||^2 (summed over outputs, mean over rows)."""
    A, Y = _pair(A, Y)
    return float(np.sum((A - Y) ** 2) / A.shape[0])


def mse_grad(A, Y):
    """dJ/dA of ``mse``: 2 (A - Y) / m."""
    A, Y = _pair(A, Y)
    return 2.0 * (A - Y) / A.shape[0]


def half_sse(A, Y) -> float:
    """E = 1/2 sum (Y - A)^2, the loss behind the worked example's Error_k (no 1/m)."""
    A, Y = _pair(A, Y)
    return float(0.5 * np.sum((Y - A) ** 2))


def half_sse_grad(A, Y):
    """dE/dA of ``half_sse``: -(Y - A) = A - Y."""
    A, Y = _pair(A, Y)
    return A - Y


def _logits_and_labels(logits, y):
    logits = as_float_array(logits, "logits", ndim=2)
    y = np.asarray(y)
    if y.shape != (logits.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer class labels of shape ({logits.shape[0]},), "
                         f"got {y.dtype} of shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= logits.shape[1]):
        raise ValueError(f"labels must be in 0..{logits.shape[1] - 1}")
    return logits, y


def cross_entropy(logits, y) -> float:
    """Softmax cross-entropy from raw scores: J = (1/m) sum_i [logsumexp(z_i) - z_i,y_i].

    ``logits`` has shape (m, C), ``y`` integer labels of shape (m,). Computed with
    the log-sum-exp shift, so large scores neither overflow nor give log(0).
    """
    logits, y = _logits_and_labels(logits, y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(y)), y]))


def cross_entropy_grad(logits, y):
    """dJ/dlogits of ``cross_entropy``: (softmax(z) - onehot(y)) / m."""
    logits, y = _logits_and_labels(logits, y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / logits.shape[0]
