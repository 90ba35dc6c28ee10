"""utils.rnn: every backward pass against finite differences, the tasks, the trainer."""

import numpy as np
import pytest

from utils import rnn, widgets
from utils.gradcheck import numerical_gradient, relative_error


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_bptt_matches_finite_differences(cell):
    rng = np.random.default_rng(0)
    m, T, n_x, H = 3, 4, 2, 5
    blocks = 1 if cell == "rnn" else 4
    X, h0 = rng.normal(size=(m, T, n_x)), rng.normal(size=(m, H))
    Wx, Wh = rng.normal(0, 0.5, (n_x, blocks * H)), rng.normal(0, 0.5, (H, blocks * H))
    b, dH = rng.normal(0, 0.5, blocks * H), rng.normal(size=(m, T, H))
    forward = rnn.rnn_forward if cell == "rnn" else rnn.lstm_forward
    backward = rnn.rnn_backward if cell == "rnn" else rnn.lstm_backward
    _, cache = forward(X, h0, Wx, Wh, b)
    grads = backward(dH, cache)

    def objective(_):
        return float(np.sum(forward(X, h0, Wx, Wh, b)[0] * dH))

    for value, grad in zip((X, h0, Wx, Wh, b), grads, strict=True):
        assert relative_error(grad, numerical_gradient(objective, value)) < 1e-8


def test_lstm_step_by_hand_and_gate_order():
    b = np.array([0.0, 2.0, 0.5, -1.0])  # i, f, g, o of one unit
    h, c, cache = rnn.lstm_step_forward(np.zeros((1, 1)), np.zeros((1, 1)), np.array([[0.8]]),
                                        np.zeros((1, 4)), np.zeros((1, 4)), b)
    s = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    assert c[0, 0] == pytest.approx(s(2.0) * 0.8 + 0.5 * np.tanh(0.5))
    assert h[0, 0] == pytest.approx(s(-1.0) * np.tanh(c[0, 0]))
    assert cache["f"][0, 0] == pytest.approx(s(2.0))
    # along the cell state alone the gradient is multiplied by f
    dc_prev = rnn.lstm_step_backward(np.zeros((1, 1)), np.ones((1, 1)), cache)[2]
    assert dc_prev[0, 0] == pytest.approx(s(2.0))


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"Wh has shape \(3, 3\), expected \(3, 12\)"):
        rnn.lstm_step_forward(np.ones((2, 1)), np.ones((2, 3)), np.ones((2, 3)), np.ones((1, 12)),
                              np.ones((3, 3)), np.ones(12))
    with pytest.raises(ValueError, match="must be 3-D"):
        rnn.rnn_forward(np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 4)), np.ones((4, 4)),
                        np.ones(4))


@pytest.mark.parametrize("cell, output", [("rnn", "last"), ("lstm", "last"), ("lstm", "every")])
def test_sequence_model_gradients(cell, output):
    X, y = (rnn.first_symbol_task(6, 5, 0) if output == "last" else rnn.noisy_sine(5, 6, 0))
    p = rnn.init_rnn(1, 4, 1, 0) if cell == "rnn" else rnn.init_lstm(1, 4, 1, 0)
    _, grads = rnn.sequence_loss_and_grads(X, y, p, cell, output)
    for key, value in p.items():
        numeric = numerical_gradient(
            lambda _: rnn.sequence_loss_and_grads(X, y, p, cell, output)[0], value)
        assert relative_error(grads["d" + key], numeric) < 1e-7, key


def test_lstm_remembers_where_the_rnn_forgets():
    result = rnn.long_range_experiment(lengths=(5, 30), n=512, epochs=20)  # the notebook's budget
    assert result["rnn"][0] > 0.95 and result["lstm"][0] > 0.95  # short: both learn it
    assert result["rnn"][1] < 0.7 < 0.95 < result["lstm"][1]  # long: only the LSTM


def test_gradient_norms_across_time_follow_the_spectral_radius():
    X = np.random.default_rng(1).normal(0, 0.5, size=(16, 30, 1))
    small = rnn.hidden_gradient_norms(X, rnn.init_rnn(1, 16, 1, 0, scale=0.5))
    large = rnn.hidden_gradient_norms(X, rnn.init_rnn(1, 16, 1, 0, scale=2.0))
    assert small[0] < 1e-6 * small[-1] and large[0] > 10 * large[-1]


def test_lstm_gate_explorer(monkeypatch):
    explorer = widgets.LSTMGateExplorer()
    explorer.controls["forget"].value = 6.0
    kept = explorer.values["c"][-1] / explorer.values["c"][2]
    assert kept == pytest.approx(explorer.values["f"][5] ** 13, rel=1e-6) and kept > 0.9
    explorer.controls["forget"].value = -6.0
    assert explorer.values["c"][-1] < 1e-10
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets.lstm_gate_explorer() is None


def test_lstm_bptt_carries_both_states_and_cells_run_the_given_backward():
    # the loss on the last hidden state only: step 1 is reached through dh and dc carried back
    rng = np.random.default_rng(7)
    X, h0 = rng.normal(size=(2, 3, 1)), rng.normal(size=(2, 2))
    Wx, Wh, b = rng.normal(0, 0.5, (1, 8)), rng.normal(0, 0.5, (2, 8)), rng.normal(0, 0.5, 8)
    dH = np.zeros((2, 3, 2))
    dH[:, -1] = 1.0
    dX = rnn.lstm_backward(dH, rnn.lstm_forward(X, h0, Wx, Wh, b)[1])[0]
    numeric = numerical_gradient(
        lambda _: float(np.sum(rnn.lstm_forward(X, h0, Wx, Wh, b)[0] * dH)), X)
    assert relative_error(dX, numeric) < 1e-8 and np.abs(dX[:, 0]).min() > 1e-4
    calls = []
    cells = rnn.Cells(lstm_backward=lambda dH, cache: calls.append(len(cache)) or
                      rnn.lstm_backward(dH, cache))
    X, y = rnn.noisy_sine(3, 4, 0)
    rnn.sequence_loss_and_grads(X, y, rnn.init_lstm(1, 2, 1, 0), "lstm", "every", cells)
    assert calls == [4]


def test_gate_explorer_keeps_forget_and_output_apart_and_reports_what_it_keeps():
    explorer = widgets.LSTMGateExplorer()
    explorer.controls["forget"].value = 0.0  # f = o = 0.5 at every step: the curves coincide
    f, o = explorer._lines["f"], explorer._lines["o"]
    assert np.allclose(f.get_ydata(), o.get_ydata())
    assert f.get_marker() != o.get_marker() and f.get_linestyle() != o.get_linestyle()
    explorer.controls["forget"].value = 3.0  # the default: about half is left at the end
    kept = explorer.values["c"][-1] / explorer.values["c"][2]
    assert kept == pytest.approx(0.532, abs=1e-3) and "53.2%" in explorer.summary.value
