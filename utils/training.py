"""One training loop for every chapter: an MLP, a loss, an optimiser, batches, regularizers.

Each epoch shuffles the rows into mini-batches (or uses the whole set when
``mini_batch_size`` is None) and, for every batch, runs the forward pass, the backward
pass and one optimiser step:

    A_L, caches = forward(X_b, parameters)      grads = backward(A_L, Y_b, caches)
    parameters, state = optimizer.step(parameters, grads, state, t)     t = 1, 2, ...

A hidden layer computes Z = A W + b, then (with ``batchnorm``) batch norm of Z, the
activation, then (with ``dropout`` p > 0, training only) inverted dropout. The L2 / L1
penalties add 2 lambda W / lambda sign(W) to the weights' gradients (chapter 5), and
``clip_norm`` clips the whole gradient by its global norm before the step (chapter 6).

The returned history holds the data loss (without penalty) on the *whole* training set
before training and after every epoch, ``history[k]`` = J(parameters after k epochs), so
every optimiser's curve starts at the same point. Callbacks (``utils.regularization.
EarlyStopping``) can stop the loop after an epoch and choose the parameters returned.
"""

from __future__ import annotations

import numpy as np

from . import mlp
from ._checks import as_float_array, check_int, check_number
from .gradients import clip_by_global_norm
from .normalization import batchnorm_backward, batchnorm_forward
from .optim import get_optimizer, random_mini_batches
from .regularization import dropout_backward, dropout_forward, l1_grad, l2_grad

__all__ = ["train", "fit", "forward", "backward", "predict", "add_batchnorm", "sweep"]

_TRAINABLE = ("W", "b", "gamma", "beta")  # running_mean{l} / running_var{l} are not


def add_batchnorm(parameters: dict) -> dict:
    """A copy of ``parameters`` with gamma{l} = 1, beta{l} = 0 and running statistics for
    every hidden layer l (batch norm on Z = A W + b, before the activation)."""
    params = dict(parameters)
    L = mlp._n_layers(params)
    for l in range(1, L):
        n = params[f"W{l}"].shape[1]
        params.update({f"gamma{l}": np.ones(n), f"beta{l}": np.zeros(n),
                       f"running_mean{l}": np.zeros(n), f"running_var{l}": np.ones(n)})
    return params


def forward(X, parameters: dict, activations, training: bool = False, dropout: float = 0.0,
            rng=None):
    """Forward pass with batch norm (where ``gamma{l}`` is in the parameters) and dropout
    (training only). Returns ``(AL, caches)``; in training mode the batch-norm running
    statistics in ``parameters`` are updated in place."""
    L = mlp._n_layers(parameters)
    names = mlp._activations(activations, L)
    A = as_float_array(X, "X", ndim=2)
    caches = []
    for l in range(1, L + 1):
        W = parameters[f"W{l}"]
        if A.shape[1] != W.shape[0]:
            raise ValueError(f"layer {l}: its input has {A.shape[1]} columns but W{l} has "
                             f"{W.shape[0]} rows: W must have shape (n_in, n_out)")
        Z, linear = A @ W + parameters[f"b{l}"], (A, W)
        bn = drop = None
        if l < L and f"gamma{l}" in parameters:
            bn_param = {"mode": "train" if training else "test",
                        "running_mean": parameters[f"running_mean{l}"],
                        "running_var": parameters[f"running_var{l}"]}
            Z, bn = batchnorm_forward(Z, parameters[f"gamma{l}"], parameters[f"beta{l}"],
                                      bn_param)
            parameters[f"running_mean{l}"] = bn_param["running_mean"]
            parameters[f"running_var{l}"] = bn_param["running_var"]
        f, _ = mlp._activation_pair(names[l - 1])
        A_out = np.asarray(f(Z))
        if l < L and training and dropout > 0:
            A_out, drop = dropout_forward(A_out, dropout, rng)
        caches.append((linear, Z, names[l - 1], bn, drop))
        A = A_out
    return A, caches


def backward(AL, Y, caches, loss: str = "bce") -> dict:
    """Gradients {"dW1", "db1", ..., "dgamma1", "dbeta1", ...} of the mean data loss."""
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    grads = {}
    L = len(caches)
    dA = None
    for l in range(L, 0, -1):
        linear, Z, name, bn, drop = caches[l - 1]
        if l == L and loss == "bce" and name == "sigmoid":
            dZ = (AL - Y) / AL.shape[0]  # the sigmoid's derivative cancels (chapter 3)
        else:
            if l == L:
                dA = mlp.LOSSES[loss][1](AL, Y)
            elif drop is not None:
                dA = dropout_backward(dA, drop)
            dZ = dA * mlp._activation_pair(name)[1](Z)
        if bn is not None:
            dZ, grads[f"dgamma{l}"], grads[f"dbeta{l}"] = batchnorm_backward(dZ, bn)
        A_prev, W = linear[0], linear[1]
        dA, grads[f"dW{l}"], grads[f"db{l}"] = dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)
    return grads


def predict(X, parameters: dict, activations):
    """The network's output in inference mode (running statistics, no dropout)."""
    return forward(X, parameters, activations, training=False)[0]


def fit(params: dict, grads_of, X, Y, whole_set_loss, predict, optimizer: str = "gd",
        learning_rate: float = 0.5, epochs: int = 1000, mini_batch_size: int | None = None,
        seed=0, clip_norm=None, callbacks=(), batch_loss_is_exact: bool = True, **hyper):
    """The loop itself, for any model: ``grads_of(params, X_b, Y_b) -> (batch loss, grads)``,
    ``whole_set_loss(params)`` and ``predict(X)`` (for callbacks) describe the model; the
    rows of X (any number of dimensions) are the examples. ``params`` is updated in place
    and returned with the history (see the module docstring).

    ``batch_loss_is_exact``: the loss ``grads_of`` returns for the whole set (full batch)
    is J(params) before the step, so no extra forward pass is needed to record it.
    """
    opt = get_optimizer(optimizer)
    epochs = check_int(epochs, "epochs", low=1)
    learning_rate = check_number(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    if mini_batch_size is not None:
        mini_batch_size = check_int(mini_batch_size, "mini_batch_size", low=1)
    trainable = [k for k in params if k.startswith(_TRAINABLE)]
    state, t = opt.init({k: params[k] for k in trainable}), 0
    reuse = mini_batch_size is None and batch_loss_is_exact
    history = [] if reuse else [whole_set_loss(params)]
    for epoch in range(epochs):
        batches = ([(X, Y)] if mini_batch_size is None
                   else random_mini_batches(X, Y, mini_batch_size, seed=(seed, epoch)))
        for Xb, Yb in batches:
            t += 1
            batch_loss, grads = grads_of(params, Xb, Yb)
            if reuse:  # this batch is the whole set: J after `epoch` epochs
                history.append(batch_loss)
            if clip_norm is not None:
                grads, _ = clip_by_global_norm(grads, clip_norm)
            new, state = opt.step({k: params[k] for k in trainable}, grads, state, t,
                                  learning_rate, hyper)
            params.update(new)
        if not reuse:
            history.append(whole_set_loss(params))
        if any([cb.after_epoch(epoch, params, predict) for cb in callbacks]):
            break
    if reuse:
        history.append(whole_set_loss(params))
    for cb in callbacks:
        params = cb.finish(params)
    return params, np.array(history)


def train(X, Y, layer_dims, activations, loss: str = "bce", optimizer: str = "gd",
          learning_rate: float = 0.5, epochs: int = 1000, mini_batch_size: int | None = None,
          method: str = "xavier", seed=0, parameters: dict | None = None, l2: float = 0.0,
          l1: float = 0.0, dropout: float = 0.0, batchnorm: bool = False, clip_norm=None,
          callbacks=(), **hyper):
    """Train an MLP (``utils.mlp``) with any optimiser of ``utils.optim``.

    X: (m, n_0); Y: (m,) or (m, n_L); ``layer_dims`` = (n_0, n_1, ..., n_L); one
    activation per layer (or one name for all); ``hyper`` goes to the optimiser (beta,
    beta1, beta2, epsilon, weight_decay). Regularizers: ``l2`` / ``l1`` penalty strengths,
    ``dropout`` (drop probability of hidden units), ``batchnorm`` (on hidden layers);
    ``clip_norm``: clip the gradient by its global norm before every step (chapter 6);
    ``callbacks`` such as ``EarlyStopping``. The same seed gives the same initial weights,
    batches and dropout masks whatever the optimiser. Starts from ``parameters`` when
    given (they are not modified).

    Returns ``(parameters, history)`` with history of shape (epochs run + 1,).
    """
    l2, l1 = check_number(l2, "l2", low=0.0), check_number(l1, "l1", low=0.0)
    dropout = check_number(dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
    if loss not in mlp.LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(mlp.LOSSES)}")
    get_optimizer(optimizer)  # a bad name fails before the weights are drawn
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    params = ({k: np.array(v, dtype=np.float64) for k, v in parameters.items()}
              if parameters is not None else mlp.init_parameters(layer_dims, method, seed))
    if batchnorm and "gamma1" not in params:
        params = add_batchnorm(params)
    loss_fn = mlp.LOSSES[loss][0]
    rng = np.random.default_rng((seed, 1))  # dropout masks

    def grads_of(p, Xb, Yb):
        AL, caches = forward(Xb, p, activations, True, dropout, rng)
        grads = backward(AL, Yb, caches, loss)
        for strength, grad in ((l2, l2_grad), (l1, l1_grad)):
            if strength:
                for k, g in grad(p, strength).items():
                    grads[k] = grads[k] + g
        return loss_fn(AL, Yb), grads

    return fit(params, grads_of, X, Y, lambda p: loss_fn(predict(X, p, activations), Y),
               lambda Z: predict(Z, params, activations), optimizer, learning_rate, epochs,
               mini_batch_size, seed, clip_norm, callbacks,
               batch_loss_is_exact=not batchnorm and dropout == 0, **hyper)


def sweep(setting: str, values, X_train, Y_train, X_val, Y_val, layer_dims, activations,
          **kwargs) -> dict:
    """Train once per value of one setting and measure both sets (chapter 5's sweeps).

    ``setting`` is "hidden" (the width of the hidden layer of ``layer_dims`` = (n_0, h,
    n_L)) or a keyword of ``train`` ("l2", "l1", "dropout", ...); ``kwargs`` go to
    ``train``. Returns {"values", "train_error", "val_error", "train_loss", "val_loss"}
    (arrays; errors are the fraction of misclassified rows, output > 0.5 meaning 1).
    """
    out = {"values": np.asarray(list(values), dtype=float), "train_error": [],
           "val_error": [], "train_loss": [], "val_loss": []}
    loss_fn = mlp.LOSSES[kwargs.get("loss", "bce")][0]
    for value in values:
        dims, extra = list(layer_dims), dict(kwargs)
        if setting == "hidden":
            dims[1] = int(value)
        else:
            extra[setting] = value
        params, _ = train(X_train, Y_train, dims, activations, **extra)
        for part, X, Y in (("train", X_train, Y_train), ("val", X_val, Y_val)):
            Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
            A = predict(X, params, activations)
            out[f"{part}_error"].append(float(np.mean((A > 0.5) != (Y > 0.5))))
            out[f"{part}_loss"].append(float(loss_fn(A, Y)))
    return {k: np.asarray(v) for k, v in out.items()}
