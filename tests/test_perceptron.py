import numpy as np
import pytest

from utils import perceptron as P


def test_and_binary_inputs_bipolar_targets_matches_the_textbook_run():
    # Fausett, Fundamentals of Neural Networks, example 2.11: alpha = 1, theta = 0.2,
    # patterns (1,1), (1,0), (0,1), (0,0) -> w = (2, 3), b = -4, epoch 10 changes nothing.
    X = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    t = np.array([1, -1, -1, -1])
    r = P.train_perceptron(X, t, alpha=1.0, theta=0.2)
    assert r.w.tolist() == [2.0, 3.0] and r.b == -4.0
    assert r.epochs == 10 and r.converged
    assert r.history[-1]["updates"] == 0 and r.history[-2]["updates"] > 0
    assert P.perceptron_predict(X, r.w, r.b, 0.2).tolist() == t.tolist()


def test_and_bipolar_one_epoch_of_updates():
    # Bipolar inputs and targets, theta = 0: w = (1, 1), b = -1 after the first epoch.
    X, t = P.logic_gate("AND", "bipolar")
    r = P.train_perceptron(X, t)
    assert r.w.tolist() == [1.0, 1.0] and r.b == -1.0 and r.epochs == 2


def test_hand_trace_of_the_first_updates():
    # (0,0), t=-1: y_in = 0 -> y = 0 != -1: w = (0, 0), b = -1
    # (0,1), t=-1: y_in = -1 -> y = -1: no change
    # (1,0), t=-1: no change; (1,1), t=1: y_in = -1 -> wrong: w = (1, 1), b = 0
    X, t = P.logic_gate("AND", "binary-bipolar")
    r = P.train_perceptron(X, t, max_epochs=1)
    assert r.w.tolist() == [1.0, 1.0] and r.b == 0.0 and not r.converged
    assert r.history[0]["updates"] == 2


def test_only_wrong_outputs_update():
    X = np.array([[1.0, 2.0]])
    r = P.train_perceptron(X, np.array([1]), alpha=0.5)
    assert r.w.tolist() == [0.5, 1.0] and r.b == 0.5 and r.epochs == 2


def test_binary_targets_stop_without_learning():
    X, t = P.logic_gate("AND", "binary")
    r = P.train_perceptron(X, t)
    assert r.converged and r.epochs == 2
    assert P.perceptron_predict(X, r.w, r.b).tolist() == [1, 1, 1, 1]  # wrong, never corrected


def test_xor_never_converges():
    X, t = P.logic_gate("XOR", "binary-bipolar")
    r = P.train_perceptron(X, t, max_epochs=50)
    assert not r.converged and r.epochs == 50 and len(r.history) == 50
    assert all(h["errors"] > 0 for h in r.history)


def test_multiple_outputs_equal_independent_units():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(30, 3))
    T = np.column_stack([np.where(X @ w + c > 0, 1, -1)
                         for w, c in [([1, -2, 0.5], 0.3), ([-1, 0, 1], -0.1), ([0, 1, 1], 0.0)]])
    multi = P.train_perceptron(X, T, alpha=0.1, theta=0.05)
    assert multi.w.shape == (3, 3) and multi.b.shape == (3,) and multi.converged
    epochs = []
    for j in range(3):
        single = P.train_perceptron(X, T[:, j], alpha=0.1, theta=0.05)
        assert np.allclose(multi.w[:, j], single.w) and np.isclose(multi.b[j], single.b)
        epochs.append(single.epochs)
    assert multi.epochs == max(epochs)


def test_logic_gates_tables_and_encodings():
    X, t = P.logic_gate("nand")
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and t.tolist() == [1, 1, 1, 0]
    X, t = P.logic_gate("OR", "bipolar")
    assert X.min() == -1 and t.tolist() == [-1, 1, 1, 1]
    X[0, 0] = 99  # a copy: the table itself is untouched and read-only
    assert P.LOGIC_GATES["OR"][0][0, 0] == 0
    with pytest.raises(ValueError):
        P.LOGIC_GATES["OR"][0][0, 0] = 5
    assert P.logic_gate("NOT")[0].shape == (2, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"X": np.ones(3), "T": np.ones(3)}, "X must be 2-D"),
    ({"X": np.ones((3, 2)), "T": np.ones(2)}, "T has 2 rows but X has 3"),
    ({"X": np.ones((3, 2)), "T": np.array([1, 2, 1])}, "targets must be -1, 0 or 1"),
    ({"X": np.ones((3, 2)), "T": np.ones(3), "alpha": 0}, "alpha"),
    ({"X": np.ones((3, 2)), "T": np.ones(3), "theta": -1}, "theta"),
    ({"X": np.ones((3, 2)), "T": np.ones(3), "max_epochs": 0}, "max_epochs"),
    ({"X": np.ones((3, 2)), "T": np.ones(3), "max_epochs": 2.5}, "max_epochs"),
])
def test_bad_input_raises_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        P.train_perceptron(**kwargs)


def test_unknown_gate_and_encoding():
    with pytest.raises(ValueError, match="unknown gate"):
        P.logic_gate("XNOR")
    with pytest.raises(ValueError, match="unknown encoding"):
        P.logic_gate("AND", "ternary")
