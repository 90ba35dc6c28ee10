"""Gradient checking: compare a backward pass with central finite differences.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)      (error O(h^2))

The one-sided difference (f(x + h e_i) - f(x)) / h has error O(h), far too large to
judge a backward pass. Compare with the relative error ||a - b|| / (||a|| + ||b||):
below about 1e-7 the gradients agree; around 1e-4 something is suspicious (or a kink
such as ReLU's was crossed); 1e-2 and above, the backward pass is wrong. Use float64:
in float32 the rounding of f alone is about 1e-7 of its value, which h = 1e-5 turns
into gradient noise of order 1e-2.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_number

__all__ = ["numerical_gradient", "relative_error", "gradient_check"]


def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar ``f(x)`` with respect to every entry of x.

    ``x`` must be a float64 NumPy array; each entry is nudged in place by +h and -h and
    then restored exactly, so ``f`` may also read x through a closure.
    """
    h = check_number(h, "h", low=0.0, low_inclusive=False)
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError("x must be a float64 NumPy array (it is perturbed in place)")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        f_plus = float(f(x))
        x[idx] = old - h
        f_minus = float(f(x))
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad


def relative_error(a, b) -> float:
    """||a - b|| / (||a|| + ||b||) with Euclidean norms; 0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


def gradient_check(loss, parameters: dict, grads: dict, h=1e-5) -> dict[str, float]:
    """Relative error of ``grads["d" + name]`` against finite differences, for every parameter.

    ``loss()`` takes no argument and reads ``parameters`` (whose arrays are perturbed in
    place and restored).
    """
    errors = {}
    for name, value in parameters.items():
        key = "d" + name
        if key not in grads:
            raise ValueError(f"grads has no {key!r} for parameter {name!r}")
        numeric = numerical_gradient(lambda _: loss(), value, h)
        errors[key] = relative_error(grads[key], numeric)
    return errors
