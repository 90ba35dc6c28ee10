"""Optimisation algorithms with the handbook's names and signatures.

Parameters are dictionaries {"W1", "b1", ..., "WL", "bL"} and gradients
{"dW1", "db1", ...}; the optimiser state (v, s) is keyed like the gradients. Every
update returns new dictionaries and leaves its inputs unchanged. With g = dJ/dtheta:

    gradient descent   theta <- theta - lr g
    momentum           v <- beta v + (1 - beta) g;      theta <- theta - lr v
    Adagrad            s <- s + g^2;                    theta <- theta - lr g / (sqrt(s) + eps)
    RMSProp            s <- beta s + (1 - beta) g^2;    theta <- theta - lr g / (sqrt(s) + eps)
    Adam               v <- b1 v + (1 - b1) g;  s <- b2 s + (1 - b2) g^2
                       v_hat = v / (1 - b1^t);  s_hat = s / (1 - b2^t)
                       theta <- theta - lr v_hat / (sqrt(s_hat) + eps)
    AdamW              Adam, plus for weights only: theta <- theta - lr wd theta
                       (theta: the current weights, decoupled from the adaptive step)

Momentum: the handbook's formula v <- gamma v + eta g, theta <- theta - v, and this
code's form give the same path when eta = lr (1 - beta): they differ only in how the
learning rate is scaled. RMSProp: eps is added after the square root, as in the
handbook's code; its formula puts eps inside, sqrt(s + eps). Both are in use (PyTorch
and Keras differ the same way); with eps = 1e-8 they only differ when s is tiny.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_int, check_number

__all__ = [
    "update_parameters_with_gd", "random_mini_batches", "initialize_velocity",
    "update_parameters_with_momentum", "initialize_adagrad", "update_parameters_with_adagrad",
    "initialize_rmsprop", "update_parameters_with_rmsprop", "initialize_adam",
    "update_parameters_with_adam", "update_parameters_with_adamw", "OPTIMIZERS", "Surface",
    "SURFACES", "get_optimizer", "optimize_2d",
]


# ------------------------------------------------------------------------------ checks
def _lr(learning_rate) -> float:
    return check_number(learning_rate, "learning_rate", low=0.0, low_inclusive=False)


def _beta(beta, name="beta") -> float:
    return check_number(beta, name, low=0.0, high=1.0, high_inclusive=False)


def _eps(epsilon) -> float:
    return check_number(epsilon, "epsilon", low=0.0, low_inclusive=False)


def _check_grads(parameters: dict, grads: dict, *states: dict) -> None:
    if not parameters:
        raise ValueError("parameters is empty")
    for key, value in parameters.items():
        gkey = "d" + key
        if gkey not in grads:
            raise ValueError(f"grads has no {gkey!r} for parameter {key!r}")
        if np.shape(grads[gkey]) != np.shape(value):
            raise ValueError(f"{gkey} has shape {np.shape(grads[gkey])} but {key} has shape "
                             f"{np.shape(value)}")
        for state in states:
            if gkey not in state or np.shape(state[gkey]) != np.shape(value):
                raise ValueError(f"optimiser state has no {gkey!r} of shape {np.shape(value)}: "
                                 "initialise it from these parameters")


def _zeros_like(parameters: dict) -> dict:
    return {"d" + k: np.zeros_like(np.asarray(v, dtype=np.float64)) for k, v in parameters.items()}


# ------------------------------------------------------------------------------ updates
def update_parameters_with_gd(parameters: dict, grads: dict, learning_rate: float) -> dict:
    """Gradient descent: theta <- theta - learning_rate * g."""
    lr = _lr(learning_rate)
    _check_grads(parameters, grads)
    return {k: v - lr * grads["d" + k] for k, v in parameters.items()}


def random_mini_batches(X, Y, mini_batch_size: int = 64, seed=0) -> list:
    """Shuffle the rows of (X, Y) together and cut them into mini-batches.

    All batches have ``mini_batch_size`` rows except the last, which holds the
    remaining m mod mini_batch_size rows when m is not a multiple.
    """
    X = as_float_array(X, "X", ndim=(1, 2, 3))  # rows are examples (sequences: (m, T, n_x))
    Y = np.asarray(Y)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    size = check_int(mini_batch_size, "mini_batch_size", low=1)
    order = np.random.default_rng(seed).permutation(X.shape[0])
    Xs, Ys = X[order], Y[order]
    return [(Xs[i:i + size], Ys[i:i + size]) for i in range(0, X.shape[0], size)]


def initialize_velocity(parameters: dict) -> dict:
    """Zero velocities {"dW1": 0, "db1": 0, ...} shaped like the parameters."""
    return _zeros_like(parameters)


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """Momentum (exponential average of gradients). Returns ``(parameters, v)``."""
    beta, lr = _beta(beta), _lr(learning_rate)
    _check_grads(parameters, grads, v)
    v = {k: beta * v[k] + (1 - beta) * grads[k] for k in v}
    return {k: p - lr * v["d" + k] for k, p in parameters.items()}, v


def initialize_adagrad(parameters: dict) -> dict:
    """Zero sums of squared gradients, keyed like the gradients."""
    return _zeros_like(parameters)


def update_parameters_with_adagrad(parameters, grads, s, learning_rate, epsilon=1e-8):
    """Adagrad: s accumulates g^2; each entry's step is lr g / (sqrt(s) + eps)."""
    lr, eps = _lr(learning_rate), _eps(epsilon)
    _check_grads(parameters, grads, s)
    s = {k: s[k] + grads[k] ** 2 for k in s}
    return {k: p - lr * grads["d" + k] / (np.sqrt(s["d" + k]) + eps)
            for k, p in parameters.items()}, s


def initialize_rmsprop(parameters: dict) -> dict:
    """Zero running averages of squared gradients, keyed like the gradients."""
    return _zeros_like(parameters)


def update_parameters_with_rmsprop(parameters, grads, s, learning_rate, beta=0.9, epsilon=1e-8):
    """RMSProp: s <- beta s + (1 - beta) g^2; theta <- theta - lr g / (sqrt(s) + eps)."""
    lr, beta, eps = _lr(learning_rate), _beta(beta), _eps(epsilon)
    _check_grads(parameters, grads, s)
    s = {k: beta * s[k] + (1 - beta) * grads[k] ** 2 for k in s}
    return {k: p - lr * grads["d" + k] / (np.sqrt(s["d" + k]) + eps)
            for k, p in parameters.items()}, s


def initialize_adam(parameters: dict) -> tuple[dict, dict]:
    """Zero first and second moment estimates ``(v, s)``, keyed like the gradients."""
    return _zeros_like(parameters), _zeros_like(parameters)


def _adam_moments(parameters, grads, v, s, t, learning_rate, beta1, beta2, epsilon):
    lr, b1, b2, eps = _lr(learning_rate), _beta(beta1, "beta1"), _beta(beta2, "beta2"), _eps(
        epsilon)
    t = check_int(t, "t (the step number, starting at 1)", low=1)
    _check_grads(parameters, grads, v, s)
    v = {k: b1 * v[k] + (1 - b1) * grads[k] for k in v}
    s = {k: b2 * s[k] + (1 - b2) * grads[k] ** 2 for k in s}
    step = {k: lr * (v["d" + k] / (1 - b1**t)) / (np.sqrt(s["d" + k] / (1 - b2**t)) + eps)
            for k in parameters}
    return step, v, s, lr


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9,
                                beta2=0.999, epsilon=1e-8):
    """Adam with bias correction at step t >= 1. Returns ``(parameters, v, s)``."""
    step, v, s, _ = _adam_moments(parameters, grads, v, s, t, learning_rate, beta1, beta2,
                                  epsilon)
    return {k: p - step[k] for k, p in parameters.items()}, v, s


def update_parameters_with_adamw(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9,
                                 beta2=0.999, epsilon=1e-8, weight_decay=0.01):
    """AdamW: the Adam step plus decoupled weight decay of the current weights.

    W <- W - lr (v_hat / (sqrt(s_hat) + eps) + weight_decay W); biases (keys starting
    with "b") get the Adam step only. Returns ``(parameters, v, s)``.
    """
    wd = check_number(weight_decay, "weight_decay", low=0.0)
    step, v, s, lr = _adam_moments(parameters, grads, v, s, t, learning_rate, beta1, beta2,
                                   epsilon)
    new = {k: p - step[k] - (lr * wd * p if k.startswith("W") else 0.0)
           for k, p in parameters.items()}
    return new, v, s


# ------------------------------------------------------------------------------ a common interface
@dataclass(frozen=True)
class _Optimizer:
    """A uniform (init, step) pair.

    ``step(params, grads, state, t, lr, hyper) -> (params, state)``.
    """

    init: object
    step: object


def _state_step(update, *names):
    def step(params, grads, state, t, lr, hyper):
        kwargs = {n: hyper[n] for n in names if n in hyper}
        params, state = update(params, grads, state, learning_rate=lr, **kwargs)
        return params, state
    return step


def _adam_step(update, *names):
    def step(params, grads, state, t, lr, hyper):
        kwargs = {n: hyper[n] for n in names if n in hyper}
        params, v, s = update(params, grads, state[0], state[1], t, learning_rate=lr, **kwargs)
        return params, (v, s)
    return step


OPTIMIZERS = {
    "gd": _Optimizer(lambda p: None,
                     lambda p, g, st, t, lr, h: (update_parameters_with_gd(p, g, lr), None)),
    "momentum": _Optimizer(initialize_velocity, lambda p, g, st, t, lr, h:
                           update_parameters_with_momentum(p, g, st, h.get("beta", 0.9), lr)),
    "adagrad": _Optimizer(initialize_adagrad,
                          _state_step(update_parameters_with_adagrad, "epsilon")),
    "rmsprop": _Optimizer(initialize_rmsprop,
                          _state_step(update_parameters_with_rmsprop, "beta", "epsilon")),
    "adam": _Optimizer(initialize_adam, _adam_step(update_parameters_with_adam, "beta1",
                                                   "beta2", "epsilon")),
    "adamw": _Optimizer(initialize_adam, _adam_step(update_parameters_with_adamw, "beta1",
                                                    "beta2", "epsilon", "weight_decay")),
}


def get_optimizer(name: str) -> _Optimizer:
    """The (init, step) pair of an optimiser by name (a key of ``OPTIMIZERS``)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


# ------------------------------------------------------------------------------ 2-D surfaces
@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface f(w) with gradient, a start point, a plotting box and a minimum."""

    name: str
    f: object
    grad: object
    start: tuple
    box: tuple  # (x_min, x_max, y_min, y_max)
    minimum: tuple | None


def _ravine_f(w):
    return 0.5 * (w[..., 0] ** 2 / 10.0 + 10.0 * w[..., 1] ** 2)


def _ravine_g(w):
    return np.array([w[0] / 10.0, 10.0 * w[1]])


def _rosen_f(w):
    return (1 - w[..., 0]) ** 2 + 100 * (w[..., 1] - w[..., 0] ** 2) ** 2


def _rosen_g(w):
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def _saddle_f(w):
    return 0.5 * (w[..., 0] ** 2 - w[..., 1] ** 2)


def _saddle_g(w):
    return np.array([w[0], -w[1]])


SURFACES = {
    "ravine": Surface("ravine: (x^2/10 + 10 y^2) / 2", _ravine_f, _ravine_g, (-8.0, 1.0),
                      (-9.0, 9.0, -2.0, 2.0), (0.0, 0.0)),
    "rosenbrock": Surface("Rosenbrock: (1 - x)^2 + 100 (y - x^2)^2", _rosen_f, _rosen_g,
                          (-1.5, 2.0), (-2.0, 2.0, -1.0, 3.0), (1.0, 1.0)),
    "saddle": Surface("saddle: (x^2 - y^2) / 2", _saddle_f, _saddle_g, (-2.0, 0.01),
                      (-2.5, 2.5, -2.5, 2.5), None),
}


def optimize_2d(surface: str, optimizer: str = "gd", learning_rate: float = 0.1,
                steps: int = 100, start=None, limit: float = 1e6, blowup: float = 100.0,
                **hyper) -> dict:
    """Run an optimiser on a 2-D surface; the point is the single parameter "W1".

    Returns ``{"path": (k + 1, 2), "loss": (k + 1,), "diverged": bool, "escaped": bool}``.
    The run stops early (``diverged``) as soon as the loss exceeds ``blowup`` times its
    starting value (at least ``blowup``), stops being finite, or the point leaves
    |w| < ``limit`` with the loss above its start, so a too-large learning rate shows as
    divergence, not as an overflow. A point that leaves |w| < ``limit`` downhill (loss
    below its start, as when it escapes the saddle, whose loss falls without bound) is
    not divergence of the method: the run stops with ``escaped`` instead.
    """
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")
    surf, opt = SURFACES[surface], get_optimizer(optimizer)
    steps = check_int(steps, "steps", low=1)
    lr = _lr(learning_rate)
    w = as_float_array(surf.start if start is None else start, "start", ndim=1)
    if w.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {w.shape}")
    params = {"W1": w.copy()}
    state = opt.init(params)
    path, loss, diverged, escaped = [w.copy()], [float(surf.f(w))], False, False
    ceiling = check_number(blowup, "blowup", low=1.0) * max(abs(loss[0]), 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            params, state = opt.step(params, {"dW1": surf.grad(params["W1"])}, state, t, lr,
                                     hyper)
            w = params["W1"]
            value = float(surf.f(w))
            if not (np.all(np.isfinite(w)) and np.isfinite(value)) or value > ceiling:
                diverged = True
            elif np.abs(w).max() > limit:  # gone: uphill is divergence, downhill an escape
                escaped = value < loss[0]
                diverged = not escaped
            if diverged or escaped:
                break
            path.append(w.copy())
            loss.append(value)
    return {"path": np.array(path), "loss": np.array(loss), "diverged": diverged,
            "escaped": escaped}
