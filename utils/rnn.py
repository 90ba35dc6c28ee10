"""Recurrent networks (chapter 7): sequence models built on the cells, their tasks, training.

The cells and backpropagation through time (the RNN cell, the LSTM, forward/backward pairs)
are ``utils.rnn_cells``, available here too (``utils.rnn.lstm_step_forward``). This module
puts a linear read-out on them (at the last step or at every step), makes the chapter's
sequence tasks (the first symbol after a long stretch of noise, a noisy sine), trains on
them (with any of chapter 4's optimisers, Adam by default), and measures gradient norms across time.

Batch first: a sequence batch X has shape (m, T, n_x), hidden states (m, T, H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array
from .activations import sigmoid
from .rnn_cells import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
           "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
           "init_rnn", "init_lstm", "hidden_gradient_norms", "first_symbol_task", "noisy_sine",
           "sequence_forward", "sequence_loss_and_grads", "train_sequence_model",
           "accuracy_on_first_symbol", "long_range_experiment", "Cells"]


@dataclass(frozen=True)
class Cells:
    """The cell functions a sequence model runs on: the course's by default, or a student's
    own once chapter 7's exercises are done (``Cells(rnn_forward=rnn_forward, ...)`` with the
    notebook's functions), so that the chapter's experiments are driven by their code."""

    rnn_forward: object = rnn_forward
    rnn_backward: object = rnn_backward
    rnn_step_backward: object = rnn_step_backward
    lstm_forward: object = lstm_forward
    lstm_step_backward: object = lstm_step_backward
    lstm_backward: object = lstm_backward

    def pair(self, cell: str):
        """(forward, backward) over a whole sequence for ``cell`` ("rnn" or "lstm")."""
        if cell == "rnn":
            return self.rnn_forward, self.rnn_backward
        if cell == "lstm":
            return self.lstm_forward, self.lstm_backward
        raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")


COURSE_CELLS = Cells()


# ------------------------------------------------------------------------------ models
def init_rnn(n_x: int, H: int, n_y: int, seed=0, scale: float = 1.0) -> dict:
    """RNN parameters {"Wx", "Wh", "b", "Wy", "by"}: Xavier-like Wx, Wy and Wh = ``scale``
    times a random orthogonal matrix (spectral radius ``scale``)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(H, H)))
    return {"Wx": rng.normal(0, np.sqrt(1 / n_x), (n_x, H)), "Wh": scale * Q,
            "b": np.zeros(H), "Wy": rng.normal(0, np.sqrt(1 / H), (H, n_y)), "by": np.zeros(n_y)}


def init_lstm(n_x: int, H: int, n_y: int, seed=0, forget_bias: float = 1.0) -> dict:
    """LSTM parameters {"Wx" (n_x, 4H), "Wh" (H, 4H), "b" (4H,), "Wy", "by"}; the forget
    gate's bias starts at ``forget_bias`` (1: remember by default)."""
    rng = np.random.default_rng(seed)
    b = np.zeros(4 * H)
    b[H:2 * H] = forget_bias
    return {"Wx": rng.normal(0, np.sqrt(1 / n_x), (n_x, 4 * H)),
            "Wh": rng.normal(0, np.sqrt(1 / H), (H, 4 * H)), "b": b,
            "Wy": rng.normal(0, np.sqrt(1 / H), (H, n_y)), "by": np.zeros(n_y)}


def hidden_gradient_norms(X, params: dict, cell: str = "rnn",
                          cells: Cells = COURSE_CELLS) -> np.ndarray:
    """||dL/dh_t|| (mean over the batch of the row norms) for t = 1..T, when the loss is the
    sum of the last hidden state's units: how much of the gradient reaches each step."""
    X = as_float_array(X, "X", ndim=3)
    m, T = X.shape[:2]
    H = params["Wh"].shape[0]
    h0 = np.zeros((m, H))
    forward = cells.pair(cell)[0]
    step_backward = cells.rnn_step_backward if cell == "rnn" else cells.lstm_step_backward
    _, cache = forward(X, h0, params["Wx"], params["Wh"], params["b"])
    norms = np.zeros(T)
    dh, dc = np.ones((m, H)), np.zeros((m, H))
    for t in range(T - 1, -1, -1):
        norms[t] = float(np.mean(np.linalg.norm(dh, axis=1)))
        if cell == "rnn":
            dh = step_backward(dh, cache[t])[1]
        else:
            _, dh, dc, *_ = step_backward(dh, dc, cache[t])
    return norms


# ------------------------------------------------------------------------------ tasks
def first_symbol_task(n: int, T: int, seed=0, noise: float = 1.0):
    """Recall the first symbol: x_1 = +1 or -1, then T - 1 steps of N(0, noise^2)
    distraction; the target, read after the last step, is 1 when x_1 = +1. A model must
    carry one bit across T steps. Returns X (n, T, 1) and y (n,)."""
    from ._checks import check_int, check_number

    n, T = check_int(n, "n", low=1), check_int(T, "T", low=1)
    noise = check_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    first = rng.choice([-1.0, 1.0], size=n)
    X = rng.normal(0.0, noise, size=(n, T, 1))
    X[:, 0, 0] = first
    return X, (first > 0).astype(float)


def noisy_sine(n: int, T: int, seed=0, noise: float = 0.05):
    """Windows of a sine wave with Gaussian noise; the target at every step is the next
    (noise-free) value. Returns X (n, T, 1) and Y (n, T, 1)."""
    from ._checks import check_int, check_number

    n, T = check_int(n, "n", low=1), check_int(T, "T", low=1)
    noise = check_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 2 * np.pi, size=(n, 1))
    times = start + 0.3 * np.arange(T + 1)
    X = np.sin(times[:, :-1]) + rng.normal(0.0, noise, size=(n, T))
    return X[..., None], np.sin(times[:, 1:])[..., None]


# ------------------------------------------------------------------------------ training
def sequence_forward(X, params: dict, cell: str = "rnn", output: str = "last",
                     cells: Cells = COURSE_CELLS):
    """Hidden states and outputs: ``(Y_hat, H_all, cache)``. ``output="last"``: one
    probability per sequence, sigmoid(h_T Wy + by), shape (m, n_y); ``"every"``: a linear
    output at every step, H_all Wy + by, shape (m, T, n_y). ``cells``: whose cell functions
    run (``Cells``)."""
    forward, _ = cells.pair(cell)
    X = as_float_array(X, "X", ndim=3)
    H_all, cache = forward(X, np.zeros((X.shape[0], params["Wh"].shape[0])), params["Wx"],
                           params["Wh"], params["b"])
    if output == "last":
        return sigmoid(H_all[:, -1] @ params["Wy"] + params["by"]), H_all, cache
    if output == "every":
        return H_all @ params["Wy"] + params["by"], H_all, cache
    raise ValueError(f"output must be 'last' or 'every', got {output!r}")


def sequence_loss_and_grads(X, Y, params: dict, cell: str = "rnn", output: str = "last",
                            cells: Cells = COURSE_CELLS):
    """The loss (mean binary cross-entropy for ``"last"``, mean squared error over every
    step for ``"every"``) and its gradients {"dWx", "dWh", "db", "dWy", "dby"} by BPTT."""
    from .losses import bce, mse

    Y_hat, H_all, cache = sequence_forward(X, params, cell, output, cells)
    m = X.shape[0]
    dH_all = np.zeros_like(H_all)
    if output == "last":
        Y = np.asarray(Y, dtype=float).reshape(m, -1)
        loss, dZ = bce(Y_hat, Y), (Y_hat - Y) / m  # sigmoid + BCE: the derivative cancels
        dWy, dby = H_all[:, -1].T @ dZ, dZ.sum(axis=0)
        dH_all[:, -1] = dZ @ params["Wy"].T
    else:
        Y = np.asarray(Y, dtype=float).reshape(Y_hat.shape)
        loss, dY = mse(Y_hat.reshape(-1, Y_hat.shape[-1]), Y.reshape(-1, Y.shape[-1])), \
            2.0 * (Y_hat - Y) / Y_hat[..., 0].size / Y_hat.shape[-1]
        dWy = np.einsum("mth,mty->hy", H_all, dY)
        dby = dY.sum(axis=(0, 1))
        dH_all = dY @ params["Wy"].T
    _, _, dWx, dWh, db = cells.pair(cell)[1](dH_all, cache)
    return loss, {"dWx": dWx, "dWh": dWh, "db": db, "dWy": dWy, "dby": dby}


def train_sequence_model(X, Y, cell: str = "lstm", hidden: int = 8, output: str = "last",
                         optimizer: str = "adam", learning_rate: float = 0.02, epochs: int = 20,
                         mini_batch_size: int | None = 64, clip_norm=1.0, seed=0,
                         forget_bias: float = 1.0, cells: Cells = COURSE_CELLS, **hyper):
    """Train an RNN or LSTM with one output layer through ``utils.training.fit`` (the
    course's one loop: chapter 4's optimisers, chapter 6's clipping). Returns
    ``(params, history)``."""
    from .training import fit

    X = as_float_array(X, "X", ndim=3)
    n_y = 1 if output == "last" else np.asarray(Y).shape[-1]
    params = (init_rnn(X.shape[2], hidden, n_y, seed) if cell == "rnn"
              else init_lstm(X.shape[2], hidden, n_y, seed, forget_bias))
    cells.pair(cell)

    def grads_of(p, Xb, Yb):
        return sequence_loss_and_grads(Xb, Yb, p, cell, output, cells)

    return fit(params, grads_of, X, np.asarray(Y, dtype=float),
               lambda p: sequence_loss_and_grads(X, Y, p, cell, output, cells)[0],
               lambda Z: sequence_forward(Z, params, cell, output, cells)[0], optimizer,
               learning_rate, epochs, mini_batch_size, seed, clip_norm, **hyper)


def accuracy_on_first_symbol(params: dict, cell: str, T: int, n: int = 500, seed=1,
                             cells: Cells = COURSE_CELLS) -> float:
    """Accuracy on fresh sequences of the first-symbol task (0.5 = guessing)."""
    X, y = first_symbol_task(n, T, seed)
    p = sequence_forward(X, params, cell, "last", cells)[0][:, 0]
    return float(np.mean((p > 0.5) == (y > 0.5)))


def long_range_experiment(lengths=(5, 10, 20, 40), n: int = 512, hidden: int = 8,
                          epochs: int = 20, seed=0, cells: Cells = COURSE_CELLS) -> dict:
    """RNN against LSTM on the first-symbol task for several sequence lengths:
    {"lengths", "rnn", "lstm"} with the test accuracy of each (same data, same budget)."""
    result = {"lengths": list(lengths), "rnn": [], "lstm": []}
    for T in lengths:
        X, y = first_symbol_task(n, T, seed)
        for cell in ("rnn", "lstm"):
            params, _ = train_sequence_model(X, y, cell, hidden, epochs=epochs, seed=seed,
                                             cells=cells)
            result[cell].append(accuracy_on_first_symbol(params, cell, T, cells=cells))
    return result
