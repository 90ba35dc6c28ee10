"""Recurrent cells and backpropagation through time: the RNN cell and the LSTM (chapter 7).

Batch first: a sequence batch X has shape (m, T, n_x), hidden states (m, T, H).

RNN cell (h_0 = 0 unless given):
    h_t = tanh(x_t Wx + h_{t-1} Wh + b),      Wx (n_x, H), Wh (H, H), b (H,)
LSTM cell, gates stacked in the order input, forget, cell candidate, output (as in
PyTorch and Keras): a = x_t Wx + h_{t-1} Wh + b with Wx (n_x, 4H), Wh (H, 4H), b (4H,),
    i = sigma(a[:, :H]), f = sigma(a[:, H:2H]), g = tanh(a[:, 2H:3H]), o = sigma(a[:, 3H:])
    c_t = f * c_{t-1} + i * g,      h_t = o * tanh(c_t),      c_0 = 0.

Backpropagation through time runs the cell's backward pass from t = T down to 1, adding
the gradient arriving from the loss at step t (``dH_all[:, t]``) to the one coming back
from step t + 1, and summing the weight gradients over the steps.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array
from .activations import sigmoid

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
           "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]


def _cell_inputs(x_t, h_prev, Wx, Wh, b, gates: int):
    x_t = as_float_array(x_t, "x_t", ndim=2)
    h_prev = as_float_array(h_prev, "h_prev", ndim=2)
    Wx, Wh = as_float_array(Wx, "Wx", ndim=2), as_float_array(Wh, "Wh", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    H = h_prev.shape[1]
    expected = {"Wx": (x_t.shape[1], gates * H), "Wh": (H, gates * H), "b": (gates * H,)}
    for name, arr in (("Wx", Wx), ("Wh", Wh), ("b", b)):
        if arr.shape != expected[name]:
            raise ValueError(f"{name} has shape {arr.shape}, expected {expected[name]} "
                             f"(n_x = {x_t.shape[1]}, H = {H}, {gates} block(s) of H)")
    if x_t.shape[0] != h_prev.shape[0]:
        raise ValueError(f"x_t has {x_t.shape[0]} rows but h_prev has {h_prev.shape[0]}")
    return x_t, h_prev, Wx, Wh, b


def _sequence(X, h0):
    X = as_float_array(X, "X", ndim=3)
    h0 = as_float_array(h0, "h0", ndim=2)
    if h0.shape[0] != X.shape[0]:
        raise ValueError(f"h0 has {h0.shape[0]} rows but X has {X.shape[0]} sequences")
    return X, h0


# ------------------------------------------------------------------------------ RNN
def rnn_step_forward(x_t, h_prev, Wx, Wh, b):
    """h_next = tanh(x_t Wx + h_prev Wh + b). Returns ``(h_next, cache)``, the cache a dict
    {"x_t", "h_prev", "Wx", "Wh", "h_next"}."""
    x_t, h_prev, Wx, Wh, b = _cell_inputs(x_t, h_prev, Wx, Wh, b, 1)
    h_next = np.tanh(x_t @ Wx + h_prev @ Wh + b)
    return h_next, {"x_t": x_t, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "h_next": h_next}


def rnn_step_backward(dh_next, cache):
    """``(dx_t, dh_prev, dWx, dWh, db)``: with da = dh_next (1 - h_next^2),
    dx_t = da Wx^T, dh_prev = da Wh^T, dWx = x_t^T da, dWh = h_prev^T da, db = sum_rows da."""
    da = as_float_array(dh_next, "dh_next", ndim=2) * (1.0 - cache["h_next"]**2)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x_t"].T @ da,
            cache["h_prev"].T @ da, da.sum(axis=0))


def rnn_forward(X, h0, Wx, Wh, b):
    """Run the RNN cell over X (m, T, n_x) from h0 (m, H). Returns ``(H_all, cache)``."""
    X, h = _sequence(X, h0)
    steps = []
    for t in range(X.shape[1]):
        h, cache = rnn_step_forward(X[:, t], h, Wx, Wh, b)
        steps.append(cache)
    return np.stack([c["h_next"] for c in steps], axis=1), steps


def rnn_backward(dH_all, cache):
    """BPTT: ``(dX, dh0, dWx, dWh, db)`` given dL/dh_t for every step, dH_all (m, T, H)."""
    dH_all = as_float_array(dH_all, "dH_all", ndim=3)
    x0, Wx, Wh = cache[0]["x_t"], cache[0]["Wx"], cache[0]["Wh"]
    m, T = dH_all.shape[:2]
    dX = np.zeros((m, T, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1])
    dh = np.zeros((m, Wh.shape[0]))
    for t in range(T - 1, -1, -1):
        dX[:, t], dh, dWx_t, dWh_t, db_t = rnn_step_backward(dH_all[:, t] + dh, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dX, dh, dWx, dWh, db


# ------------------------------------------------------------------------------ LSTM
def lstm_step_forward(x_t, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step (gates i, f, g, o in that order). Returns ``(h_next, c_next, cache)``,
    the cache a dict {"x_t", "h_prev", "c_prev", "Wx", "Wh", "i", "f", "g", "o", "c_next",
    "h_next"}."""
    x_t, h_prev, Wx, Wh, b = _cell_inputs(x_t, h_prev, Wx, Wh, b, 4)
    c_prev = as_float_array(c_prev, "c_prev", ndim=2)
    if c_prev.shape != h_prev.shape:
        raise ValueError(f"c_prev has shape {c_prev.shape}, expected {h_prev.shape}")
    H = h_prev.shape[1]
    a = x_t @ Wx + h_prev @ Wh + b
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
    return h_next, c_next, {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx,
                            "Wh": Wh, "i": i, "f": f, "g": g, "o": o, "c_next": c_next,
                            "h_next": h_next}


def lstm_step_backward(dh_next, dc_next, cache):
    """``(dx_t, dh_prev, dc_prev, dWx, dWh, db)`` of one LSTM step.

    dc = dc_next + dh_next o (1 - tanh(c)^2)   (the path from h through tanh(c) into c)
    do = dh_next tanh(c), di = dc g, df = dc c_prev, dg = dc i, dc_prev = dc f,
    and through the nonlinearities da = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)].
    """
    i, f, g, o, c_prev = cache["i"], cache["f"], cache["g"], cache["o"], cache["c_prev"]
    tanh_c = np.tanh(cache["c_next"])
    dh_next = as_float_array(dh_next, "dh_next", ndim=2)
    dc = as_float_array(dc_next, "dc_next", ndim=2) + dh_next * o * (1.0 - tanh_c**2)
    da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                         dc * i * (1 - g**2), dh_next * tanh_c * o * (1 - o)], axis=1)
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, dc * f, cache["x_t"].T @ da,
            cache["h_prev"].T @ da, da.sum(axis=0))


def lstm_forward(X, h0, Wx, Wh, b):
    """Run the LSTM over X (m, T, n_x) from h0 and c_0 = 0. Returns ``(H_all, cache)``."""
    X, h = _sequence(X, h0)
    c = np.zeros_like(h)
    steps = []
    for t in range(X.shape[1]):
        h, c, cache = lstm_step_forward(X[:, t], h, c, Wx, Wh, b)
        steps.append(cache)
    return np.stack([s["h_next"] for s in steps], axis=1), steps


def lstm_backward(dH_all, cache):
    """BPTT through the LSTM: ``(dX, dh0, dWx, dWh, db)`` given dL/dh_t, dH_all (m, T, H).

    Two gradients travel back from step t + 1: dh (through h_t W_h into the next step's
    gates) and dc (along the cell state). For t = T down to 1, with dh = dc = 0 after the
    last step: ``lstm_step_backward(dH_all[:, t] + dh, dc, cache[t])`` gives this step's
    dx_t and the new dh, dc; dWx, dWh and db are summed over the steps."""
    dH_all = as_float_array(dH_all, "dH_all", ndim=3)
    x0, h0, Wx, Wh = cache[0]["x_t"], cache[0]["h_prev"], cache[0]["Wx"], cache[0]["Wh"]
    m, T = dH_all.shape[:2]
    dX = np.zeros((m, T, x0.shape[1]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1])
    dh, dc = np.zeros_like(h0), np.zeros_like(h0)
    for t in range(T - 1, -1, -1):
        dX[:, t], dh, dc, dWx_t, dWh_t, db_t = lstm_step_backward(dH_all[:, t] + dh, dc, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dX, dh, dWx, dWh, db
