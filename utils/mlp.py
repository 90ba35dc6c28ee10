"""Multilayer perceptrons: dense layers, forward and backward through a whole network.

Conventions: examples are rows. A dense layer computes Z = A_prev @ W + b with W of
shape (n_in, n_out), so W[i, j] is the weight from unit i to unit j (the slides'
w_ij) and b[j] is the slides' bias theta_j.

    forward    Z[l] = A[l-1] @ W[l] + b[l],    A[l] = g_l(Z[l])
    backward   dZ[l] = dA[l] * g_l'(Z[l]),     dW[l] = A[l-1].T @ dZ[l],   db[l] = sum_rows dZ[l],
               dA[l-1] = dZ[l] @ W[l].T

The course unit's 4-2-1 worked example is ``utils.worked_example``; its names are
available here too (``utils.mlp.WORKED_EXAMPLE``), as the chapters use them.
"""

from __future__ import annotations

import numpy as np

from . import init as _init
from . import losses as _losses
from ._checks import as_float_array, check_int
from .activations import get_activation
from .worked_example import (
    PARAMETER_NAMES,
    RECORDED_LRS,
    SLIDE_VALUES,
    WORKED_EXAMPLE,
    SlideComparison,
    WorkedExample,
    WorkedIteration,
    recorded_iteration,
    recorded_run,
    slide_comparison,
    worked_example_iteration,
    worked_example_iterations,
    worked_example_run,
)

__all__ = ["WorkedExample", "WORKED_EXAMPLE", "PARAMETER_NAMES", "SLIDE_VALUES",
           "WorkedIteration", "worked_example_iteration", "worked_example_iterations",
           "worked_example_run", "SlideComparison", "slide_comparison", "RECORDED_LRS",
           "recorded_iteration", "recorded_run",
           "init_parameters", "dense_forward", "dense_backward", "forward", "backward",
           "LOSSES"]


# ----------------------------------------------------------------------------- general MLP

LOSSES = {"bce": (_losses.bce, _losses.bce_grad), "mse": (_losses.mse, _losses.mse_grad),
          "half_sse": (_losses.half_sse, _losses.half_sse_grad)}
_INITS = {"uniform": _init.uniform, "xavier": _init.xavier_uniform,
          "xavier_normal": _init.xavier_normal, "he": _init.he_normal,
          "he_uniform": _init.he_uniform}


def init_parameters(layer_dims, method: str = "xavier", seed=0) -> dict:
    """Parameters {"W1", "b1", ..., "WL", "bL"} for layer sizes (n_0, n_1, ..., n_L).

    ``W{l}`` has shape (n_{l-1}, n_l). ``method``: "uniform" (weights and biases in
    [-0.5, 0.5], as the course unit does), "xavier" (uniform, Var = 2 / (n_in + n_out)),
    "xavier_normal", "he" (normal, Var = 2 / n_in) or "he_uniform"; biases start at 0
    except for "uniform".
    """
    dims = [check_int(d, "layer size", low=1) for d in layer_dims]
    if len(dims) < 2:
        raise ValueError("layer_dims needs the input size and at least one layer size")
    if method not in _INITS:
        raise ValueError(f"unknown init method {method!r}; choose one of {', '.join(_INITS)}")
    rng = np.random.default_rng(seed)
    params = {}
    for l, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
        params[f"W{l}"] = _INITS[method](n_in, n_out, rng)
        params[f"b{l}"] = (rng.uniform(-0.5, 0.5, n_out) if method == "uniform"
                           else np.zeros(n_out))
    return params


def _activation_pair(name: str, alpha: float = 0.01):
    f, df = get_activation(name)
    if name == "leaky_relu":
        return (lambda z: f(z, alpha)), (lambda z: df(z, alpha))
    return f, df


def dense_forward(A_prev, W, b, activation: str = "sigmoid"):
    """Z = A_prev @ W + b and A = f(Z). Returns ``(A, cache)``."""
    A_prev = as_float_array(A_prev, "A_prev", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if A_prev.shape[1] != W.shape[0]:
        raise ValueError(f"A_prev has {A_prev.shape[1]} columns but W has {W.shape[0]} rows: "
                         "W must have shape (n_in, n_out)")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b has shape {b.shape}, expected ({W.shape[1]},)")
    f, _ = _activation_pair(activation)
    Z = A_prev @ W + b
    return np.asarray(f(Z)), (A_prev, W, b, Z, activation)


def dense_backward(dA, cache):
    """Given dJ/dA of a dense layer, return (dA_prev, dW, db).

    dZ = dA * f'(Z), dW = A_prev^T dZ, db = sum_rows dZ, dA_prev = dZ W^T.
    """
    A_prev, W, _, Z, activation = cache
    _, df = _activation_pair(activation)
    dZ = dA * df(Z)
    return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)


def _activations(activations, L: int) -> list[str]:
    names = [activations] * L if isinstance(activations, str) else list(activations)
    if len(names) != L:
        raise ValueError(f"give one activation per layer: {L} layers, {len(names)} activations")
    return names


def _n_layers(parameters: dict) -> int:
    L = len([k for k in parameters if k.startswith("W")])
    if L == 0 or any(f"W{l}" not in parameters or f"b{l}" not in parameters
                     for l in range(1, L + 1)):
        raise ValueError("parameters must hold W1, b1, ..., WL, bL")
    return L


def forward(X, parameters: dict, activations):
    """Forward pass through every layer. Returns ``(AL, caches)``, one cache per layer."""
    L = _n_layers(parameters)
    names = _activations(activations, L)
    A = as_float_array(X, "X", ndim=2)
    caches = []
    for l in range(1, L + 1):
        A, cache = dense_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], names[l - 1])
        caches.append(cache)
    return A, caches


def backward(AL, Y, caches, loss: str = "bce") -> dict:
    """Gradients {"dW1", "db1", ...} of ``loss`` (mean over the m rows) by backpropagation.

    With a sigmoid output and "bce", dZ_L = (A_L - Y) / m is used directly: the
    sigmoid's derivative cancels against the loss's denominators.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    AL = as_float_array(AL, "AL", ndim=2)
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    if Y.ndim == 1 and AL.shape[1] == 1:
        Y = Y[:, None]  # a label vector for a single output unit
    if Y.shape != AL.shape:
        raise ValueError(f"Y has shape {Y.shape} but AL has shape {AL.shape}")
    grads = {}
    L = len(caches)
    A_prev, W, _, _, activation = caches[-1]
    if loss == "bce" and activation == "sigmoid":
        dZ = (AL - Y) / AL.shape[0]
        dA, grads[f"dW{L}"], grads[f"db{L}"] = dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)
    else:
        dA = LOSSES[loss][1](AL, Y)
        dA, grads[f"dW{L}"], grads[f"db{L}"] = dense_backward(dA, caches[-1])
    for l in range(L - 1, 0, -1):
        dA, grads[f"dW{l}"], grads[f"db{l}"] = dense_backward(dA, caches[l - 1])
    return grads
