"""One training loop for every chapter: an MLP, a loss, an optimiser, batches.

Each epoch shuffles the rows into mini-batches (or uses the whole set when
``mini_batch_size`` is None) and, for every batch, runs the forward pass, the backward
pass and one optimiser step:

    A_L, caches = forward(X_b, parameters)      grads = backward(A_L, Y_b, caches)
    parameters, state = optimizer.step(parameters, grads, state, t)     t = 1, 2, ...

The returned history holds the loss on the *whole* training set before training and
after every epoch, ``history[k]`` = J(parameters after k epochs), so every optimiser's
curve starts at the same point. Later chapters add their options here (penalties, early
stopping, clipping), not in a second loop.
"""

from __future__ import annotations

import numpy as np

from . import mlp
from ._checks import as_float_array, check_int, check_number
from .optim import get_optimizer, random_mini_batches

__all__ = ["train"]


def train(X, Y, layer_dims, activations, loss: str = "bce", optimizer: str = "gd",
          learning_rate: float = 0.5, epochs: int = 1000, mini_batch_size: int | None = None,
          method: str = "xavier", seed=0, parameters: dict | None = None, **hyper):
    """Train an MLP (``utils.mlp``) with any optimiser of ``utils.optim``.

    X: (m, n_0); Y: (m,) or (m, n_L); ``layer_dims`` = (n_0, n_1, ..., n_L); one
    activation per layer (or one name for all); ``hyper`` goes to the optimiser (beta,
    beta1, beta2, epsilon, weight_decay). The same seed gives the same initial weights
    and the same batches whatever the optimiser. Starts from ``parameters`` when given
    (they are not modified).

    Returns ``(parameters, history)`` with history of shape (epochs + 1,).
    """
    opt = get_optimizer(optimizer)
    epochs = check_int(epochs, "epochs", low=1)
    learning_rate = check_number(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    if loss not in mlp.LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(mlp.LOSSES)}")
    if mini_batch_size is not None:
        mini_batch_size = check_int(mini_batch_size, "mini_batch_size", low=1)
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    params = (dict(parameters) if parameters is not None
              else mlp.init_parameters(layer_dims, method, seed))
    loss_fn = mlp.LOSSES[loss][0]

    def whole_set_loss() -> float:
        return loss_fn(mlp.forward(X, params, activations)[0], Y)

    full_batch = mini_batch_size is None
    state, t = opt.init(params), 0
    history = [] if full_batch else [whole_set_loss()]
    for epoch in range(epochs):
        batches = ([(X, Y)] if full_batch
                   else random_mini_batches(X, Y, mini_batch_size, seed=(seed, epoch)))
        for Xb, Yb in batches:
            t += 1
            AL, caches = mlp.forward(Xb, params, activations)
            if full_batch:  # this forward pass is the whole set: J after `epoch` epochs
                history.append(loss_fn(AL, Yb))
            grads = mlp.backward(AL, Yb, caches, loss)
            params, state = opt.step(params, grads, state, t, learning_rate, hyper)
        if not full_batch:
            history.append(whole_set_loss())
    if full_batch:
        history.append(whole_set_loss())
    return params, np.array(history)
