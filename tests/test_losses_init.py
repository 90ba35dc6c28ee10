import math

import numpy as np
import pytest

from utils import init, losses


def numeric_grad(f, A, h=1e-6):
    A = np.array(A, dtype=float)
    g = np.zeros_like(A)
    for idx in np.ndindex(A.shape):
        old = A[idx]
        A[idx] = old + h
        up = f(A)
        A[idx] = old - h
        down = f(A)
        A[idx] = old
        g[idx] = (up - down) / (2 * h)
    return g


def test_bce_value_by_hand_and_gradient():
    A, Y = np.array([0.9, 0.2, 0.6]), np.array([1.0, 0.0, 1.0])
    by_hand = -(math.log(0.9) + math.log(0.8) + math.log(0.6)) / 3
    assert losses.bce(A, Y) == pytest.approx(by_hand, rel=1e-14)
    assert np.allclose(losses.bce_grad(A, Y), numeric_grad(lambda a: losses.bce(a, Y), A),
                       rtol=1e-6)


def test_bce_is_finite_at_certain_predictions():
    assert np.isfinite(losses.bce(np.array([0.0, 1.0]), np.array([1.0, 0.0])))
    assert losses.bce(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == pytest.approx(0, abs=1e-11)
    assert np.all(np.isfinite(losses.bce_grad(np.array([0.0, 1.0]), np.array([1.0, 0.0]))))


def test_mse_and_half_sse():
    A, Y = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.0, 2.0], [1.0, 3.0]])
    assert losses.mse(A, Y) == pytest.approx((1 + 0 + 1 + 4) / 2)
    assert np.allclose(losses.mse_grad(A, Y), numeric_grad(lambda a: losses.mse(a, Y), A))
    assert losses.half_sse(np.array([0.4]), np.array([1.0])) == pytest.approx(0.18)
    assert np.allclose(losses.half_sse_grad(A, Y), numeric_grad(lambda a: losses.half_sse(a, Y), A))


def test_cross_entropy_stable_and_gradient():
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    y = np.array([0, 1])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert losses.cross_entropy(z, y) == pytest.approx(-np.log(p[[0, 1], y]).mean(), rel=1e-13)
    assert np.allclose(losses.cross_entropy_grad(z, y),
                       numeric_grad(lambda a: losses.cross_entropy(a, y), z), atol=1e-9)
    with np.errstate(all="raise", under="ignore"):
        assert losses.cross_entropy(z * 1000, y) == pytest.approx(0.0, abs=1e-9)
        assert np.isfinite(losses.cross_entropy(np.array([[1e4, -1e4]]), np.array([1])))


@pytest.mark.parametrize("call, message", [
    (lambda: losses.bce(np.ones(3) * 0.5, np.ones(2)), "must match"),
    (lambda: losses.bce(np.array([1.5]), np.array([1.0])), "probabilities"),
    (lambda: losses.cross_entropy(np.ones((2, 3)), np.array([0, 3])), "labels must be in 0..2"),
    (lambda: losses.cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), "integer class labels"),
    (lambda: init.xavier_uniform(0, 3), "n_in"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("fn, variance", [
    (init.xavier_uniform, 2 / (300 + 200)), (init.xavier_normal, 2 / (300 + 200)),
    (init.he_uniform, 2 / 300), (init.he_normal, 2 / 300), (init.uniform, 0.25 / 3),
])
def test_initialisers_have_the_documented_variance(fn, variance):
    W = fn(300, 200, seed=0)
    assert W.shape == (300, 200)
    assert W.var() == pytest.approx(variance, rel=0.03)
    assert np.array_equal(W, fn(300, 200, seed=0))


def test_xavier_uniform_limit():
    W = init.xavier_uniform(4, 2, seed=1)
    assert np.abs(W).max() <= math.sqrt(6 / 6)
