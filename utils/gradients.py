"""Vanishing and exploding gradients, measured (chapter 6).

A *plain stack* is the simplest deep network: no biases, A_0 = X, Z_l = A_{l-1} W_l,
A_l = f(Z_l) for l = 1..L. Its loss is J = (1/m) sum of the last layer's outputs, so the
gradient arriving at A_L is 1/m everywhere, and backpropagation gives

    dZ_l = dA_l * f'(Z_l),   dW_l = A_{l-1}^T dZ_l,   dA_{l-1} = dZ_l W_l^T .

Every layer multiplies the gradient by one Jacobian, W_l^T diag(f'(Z_l)), so its norm
shrinks or grows geometrically with depth unless the weights' scale and the activation's
slope balance (Xavier / He initialisation, ``utils.init``). A *residual* layer computes
y = x + f(x W) (so dE/dx = dE/dy (1 + f'(...) W^T): the 1 is the identity path), and a
*batch-norm* layer normalises Z_l over the batch before the activation.
"""

from __future__ import annotations

import numpy as np

from . import init as _init
from ._checks import as_float_array, check_int, check_number
from .activations import get_activation
from .mlp import dense_backward
from .normalization import batchnorm_backward, batchnorm_forward

__all__ = ["INITS", "deep_stack", "gradient_norms_per_layer", "stack_statistics",
           "residual_forward", "residual_backward", "clip_by_global_norm", "clip_by_value",
           "float_limits", "loss_scaling_demo", "gd_steps_on_quadratic"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _standard(n_in, n_out, rng):
    return rng.normal(0.0, 1.0, size=(n_in, n_out))


def _small(n_in, n_out, rng):
    return rng.normal(0.0, 0.01, size=(n_in, n_out))


#: Initialisations for ``deep_stack``: N(0, 0.01^2), N(0, 1), Xavier and He (both normal).
INITS = {"small normal (0.01)": _small, "standard normal": _standard,
         "xavier": _init.xavier_normal, "he": _init.he_normal}


def deep_stack(depth: int = 30, width: int = 64, init: str = "xavier", seed=0) -> list:
    """``depth`` square weight matrices (width x width) drawn with one of ``INITS``."""
    depth, width = check_int(depth, "depth", low=1), check_int(width, "width", low=1)
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    rng = np.random.default_rng(seed)
    return [INITS[init](width, width, rng) for _ in range(depth)]


def _stack_inputs(X, weights, activation):
    X = as_float_array(X, "X", ndim=2)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
    if not weights:
        raise ValueError("weights is empty: give at least one matrix")
    Ws = [as_float_array(W, f"weights[{i}]", ndim=2) for i, W in enumerate(weights)]
    n = X.shape[1]
    for i, W in enumerate(Ws):
        if W.shape[0] != n:
            raise ValueError(f"weights[{i}] has {W.shape[0]} rows, expected {n}")
        n = W.shape[1]
    return X, Ws


def stack_statistics(X, weights, activation: str, residual: bool = False,
                     batchnorm: bool = False) -> dict:
    """Forward and backward through a stack; per layer l = 1..L: ``grad_norms`` = ||dW_l||
    (Frobenius) and ``variances`` = Var(A_l) over all entries.

    ``residual``: A_l = A_{l-1} + f(Z_l) (square weights); ``batchnorm``: Z_l is batch
    normalised (gamma = 1, beta = 0) before the activation. Loss J = mean over rows of the
    sum of the last layer's outputs.

    Built from the chapters' pieces: the plain stack's norms are ``gradient_norms_per_layer``,
    a residual layer is ``residual_forward`` / ``residual_backward``, batch norm is chapter
    5's and the linear part of a layer is chapter 3's ``dense_backward``. So in a student
    edition it runs on the student's own functions (``utils.use``) and holds no answer.
    """
    X, Ws = _stack_inputs(X, weights, activation)
    if residual and any(W.shape[0] != W.shape[1] for W in Ws):
        raise ValueError("a residual stack needs square weight matrices")
    f, df = get_activation(activation)
    layers, variances, A = [], [], X
    with np.errstate(over="ignore", invalid="ignore"):
        for W in Ws:
            if batchnorm:
                ones, zeros = np.ones(W.shape[1]), np.zeros(W.shape[1])
                Z, bn = batchnorm_forward(A @ W, ones, zeros, {"mode": "train"})
                layers.append((A, W, Z, bn))
                A = A + f(Z) if residual else f(Z)
            elif residual:
                A, cache = residual_forward(A, W, activation)
                layers.append(cache)
            else:
                A = f(A @ W)
            variances.append(float(np.var(A)))
        if not (residual or batchnorm):
            return {"grad_norms": [float(n) for n in gradient_norms_per_layer(X, Ws, activation)],
                    "variances": variances}
        dA = np.full(A.shape, 1.0 / X.shape[0])
        norms = []
        for cache in reversed(layers):
            if batchnorm:
                A_prev, W, Z, bn = cache
                dZ = batchnorm_backward(dA * df(Z), bn)[0]
                linear = (A_prev, W, np.zeros(W.shape[1]), dZ, "linear")
                d_branch, dW, _ = dense_backward(dZ, linear)
                dA = dA + d_branch if residual else d_branch
            else:
                dA, dW = residual_backward(dA, cache)
            norms.append(float(np.linalg.norm(dW)))
    return {"grad_norms": norms[::-1], "variances": variances}


def gradient_norms_per_layer(X, weights, activation: str) -> list:
    """||dW_l|| for l = 1..L of the plain stack (see the module docstring)."""
    X, Ws = _stack_inputs(X, weights, activation)
    f, df = get_activation(activation)
    caches, A = [], X
    with np.errstate(over="ignore", invalid="ignore"):
        for W in Ws:
            Z = A @ W
            caches.append((A, W, Z))
            A = f(Z)
        dA = np.full(A.shape, 1.0 / X.shape[0])
        norms = []
        for A_prev, W, Z in reversed(caches):
            dZ = dA * df(Z)
            norms.append(float(np.linalg.norm(A_prev.T @ dZ)))
            dA = dZ @ W.T
    return norms[::-1]


def residual_forward(x, W, activation: str = "tanh"):
    """y = x + f(x @ W) with W square. Returns ``(y, cache)``."""
    x = as_float_array(x, "x", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    if W.shape != (x.shape[1], x.shape[1]):
        raise ValueError(f"W must be square ({x.shape[1]}, {x.shape[1]}) for y = x + f(x W), "
                         f"got {W.shape}")
    f, _ = get_activation(activation)
    Z = x @ W
    return x + f(Z), (x, W, Z, activation)


def residual_backward(dy, cache):
    """``(dx, dW)`` of y = x + f(x W): dZ = dy * f'(Z), dW = x^T dZ, and
    dx = dy + dZ W^T (the identity path plus the branch)."""
    x, W, Z, activation = cache
    dy = as_float_array(dy, "dy", ndim=2)
    dZ = dy * get_activation(activation)[1](Z)
    return dy + dZ @ W.T, x.T @ dZ


def _grads(grads) -> dict:
    if not isinstance(grads, dict) or not grads:
        raise ValueError("grads must be a non-empty dict of arrays")
    return {k: as_float_array(v, k) for k, v in grads.items()}


def clip_by_global_norm(grads: dict, max_norm: float):
    """``(clipped, norm)``: norm = sqrt(sum over every array of sum g^2), measured before
    clipping; if norm > max_norm every array is multiplied by max_norm / norm (same
    direction), otherwise the arrays are returned unchanged. ``grads`` is not modified."""
    grads = _grads(grads)
    max_norm = check_number(max_norm, "max_norm", low=0.0, low_inclusive=False)
    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
    factor = max_norm / norm if norm > max_norm else 1.0
    return {k: g * factor for k, g in grads.items()}, norm


def clip_by_value(grads: dict, clip_value: float) -> dict:
    """Every entry clipped to [-clip_value, clip_value] (a new dict; the direction of the
    whole gradient generally changes)."""
    grads = _grads(grads)
    c = check_number(clip_value, "clip_value", low=0.0, low_inclusive=False)
    return {k: np.clip(g, -c, c) for k, g in grads.items()}


def float_limits() -> dict:
    """{dtype name: {"eps", "smallest_subnormal", "smallest_normal", "max"}} for float16,
    float32 and float64 (eps: the gap between 1 and the next number)."""
    return {np.dtype(t).name: {"eps": float(np.finfo(t).eps),
                               "smallest_subnormal": float(np.finfo(t).smallest_subnormal),
                               "smallest_normal": float(np.finfo(t).smallest_normal),
                               "max": float(np.finfo(t).max)}
            for t in (np.float16, np.float32, np.float64)}


def loss_scaling_demo(upstream: float = 1e-4, local: float = 1e-4,
                      scale: float = 2.0**16) -> dict:
    """One step of a float16 backward pass, dW = upstream * local, with and without loss
    scaling (mixed precision).

    The exact product (1e-8 by default) is below float16's smallest subnormal number
    (about 6e-8) and underflows to 0. Scaling the loss by ``scale`` scales every gradient
    by it (chain rule), so the float16 product is ``scale`` times larger and survives;
    dividing by ``scale`` in float32 afterwards gives the gradient back.
    """
    upstream, local = check_number(upstream, "upstream"), check_number(local, "local")
    scale = check_number(scale, "scale", low=1.0)
    plain = np.float16(upstream) * np.float16(local)
    scaled = np.float16(upstream * scale) * np.float16(local)
    unscaled = float(np.float32(scaled) / np.float32(scale))
    return {"exact": upstream * local, "float16": float(plain), "float16, scaled": float(scaled),
            "float16, scaled, then unscaled in float32": unscaled}


def gd_steps_on_quadratic(condition: float, tol: float = 1e-6, max_steps: int = 100_000) -> int:
    """Gradient-descent steps to bring f(w) = (w_1^2 + condition * w_2^2) / 2 from (1, 1)
    below ``tol``, with the best fixed learning rate 2 / (1 + condition). The count grows
    like the condition number (the ratio of the largest to the smallest curvature)."""
    kappa = check_number(condition, "condition", low=1.0)
    h = np.array([1.0, kappa])
    lr, w = 2.0 / (1.0 + kappa), np.ones(2)
    for step in range(1, check_int(max_steps, "max_steps", low=1) + 1):
        w = w - lr * h * w
        if 0.5 * np.sum(h * w**2) < tol:
            return step
    return max_steps
