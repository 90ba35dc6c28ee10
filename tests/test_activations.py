import math

import numpy as np
import pytest

import utils
from utils import activations as act

from .conftest import central_difference

# Points away from the kinks of relu/leaky relu at 0.
Z = np.array([-7.5, -3.0, -1.0, -0.2, 0.3, 1.0, 2.5, 8.0])
BIG = np.array([-1e4, -1000.0, -800.0, -50.0, 0.0, 50.0, 800.0, 1000.0, 1e4])


@pytest.mark.parametrize("name", act.ACTIVATIONS)
def test_derivative_matches_central_differences(name):
    f, df = act.get_activation(name)
    assert np.allclose(df(Z), central_difference(f, Z), rtol=1e-6, atol=1e-9)


def test_leaky_relu_derivative_uses_alpha():
    f = lambda z: act.leaky_relu(z, 0.25)  # noqa: E731
    assert np.allclose(act.leaky_relu_grad(Z, 0.25), central_difference(f, Z), rtol=1e-6)
    assert act.leaky_relu_grad(-2.0, 0.25) == 0.25


def test_values_against_the_definitions():
    for z in (-3.0, -0.5, 0.0, 0.7, 4.0):
        assert act.sigmoid(z) == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-15)
        assert act.tanh(z) == pytest.approx(math.tanh(z), rel=1e-14, abs=1e-16)
        assert act.tanh(z) == pytest.approx(2 * act.sigmoid(2 * z) - 1, abs=1e-15)
    assert act.sigmoid(0.0) == 0.5
    assert act.sigmoid_grad(0.0) == 0.25  # the largest value: the vanishing-gradient bound
    assert act.tanh_grad(0.0) == 1.0
    assert act.relu(-2.0) == 0.0 and act.relu(3.0) == 3.0
    assert act.leaky_relu(-2.0) == pytest.approx(-0.02)


def test_derivative_convention_at_zero():
    assert act.relu_grad(0.0) == 0.0
    assert act.leaky_relu_grad(0.0, 0.1) == 0.1


def test_stable_for_huge_inputs_without_warnings(strict_float):
    s = act.sigmoid(BIG)
    assert np.all(np.isfinite(s)) and s[0] == 0.0 and s[-1] == 1.0
    assert np.all((s[1:] - s[:-1]) >= 0)
    t = act.tanh(BIG)
    assert t[0] == -1.0 and t[-1] == 1.0 and t[4] == 0.0
    for grad in (act.sigmoid_grad, act.tanh_grad):
        g = grad(BIG)
        assert np.all(np.isfinite(g)) and g[0] == 0.0
    p = act.softmax(np.array([[1e4, 1e4 - 1.0, -1e4], [1000.0, 1001.0, 1002.0]]))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p[1], act.softmax(np.array([0.0, 1.0, 2.0])))


def test_derivatives_keep_relative_accuracy_in_the_tails():
    # sigma'(z) = e^-|z| / (1 + e^-|z|)^2 ~ e^-|z|, which sigma (1 - sigma) rounds to 0
    assert act.sigmoid_grad(40.0) == pytest.approx(math.exp(-40.0), rel=1e-12)
    assert act.tanh_grad(20.0) == pytest.approx(4 * math.exp(-40.0), rel=1e-12)


def test_tanh_has_full_relative_accuracy_from_the_smallest_float_to_the_tails():
    # 1 - e^(-2|z|) cancels to exactly 0 below |z| ~ 1e-16: tanh(1e-17) must still be 1e-17, and
    # near 0 tanh(z) = z - z^3/3 + ..., so for |z| < 1e-8 the float nearest to tanh(z) is z itself
    for z in (5e-324, 1e-300, 1e-17, 1e-9):
        assert act.tanh(z) == z and act.tanh(-z) == -z
    for z in (1e-3, 0.5, 1.0, 3.0, 18.0, 30.0, 800.0):
        for s in (1.0, -1.0):
            assert act.tanh(s * z) == pytest.approx(math.tanh(s * z), rel=2.5e-16, abs=0.0)
    z = np.concatenate([np.logspace(-320, 3, 4001), -np.logspace(-320, 3, 4001)])
    assert np.all(np.abs(act.tanh(z) - np.tanh(z)) <= 2.5e-16 * np.abs(np.tanh(z)))
    assert act.tanh(0.0) == 0.0 and act.tanh(30.0) == 1.0


def test_softmax_properties_and_jacobian():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 5))
    p = act.softmax(z)
    assert p.shape == (4, 5) and np.allclose(p.sum(axis=-1), 1.0)
    assert np.allclose(act.softmax(z + 100.0), p)  # shift invariance
    assert np.allclose(act.softmax(z.T, axis=0), p.T)
    J = act.softmax_grad(z[0])
    h = 1e-6
    numeric = np.column_stack([(act.softmax(z[0] + h * e) - act.softmax(z[0] - h * e)) / (2 * h)
                               for e in np.eye(5)])
    assert np.allclose(J, numeric, atol=1e-9)
    assert act.softmax_grad(z).shape == (4, 5, 5)


def test_scalars_in_scalars_out():
    for f in (act.sigmoid, act.tanh, act.relu, act.sigmoid_grad, act.linear):
        assert np.ndim(f(0.3)) == 0


def test_threshold_and_bipolar_step_boundaries():
    assert act.threshold(np.array([0.49, 0.5, 0.51]), 0.5).tolist() == [0, 1, 1]
    y = act.bipolar_step(np.array([-0.3, -0.2, 0.0, 0.2, 0.3]), 0.2)
    assert y.tolist() == [-1, 0, 0, 0, 1]
    assert act.bipolar_step(0.0, 0.0) == 0 and act.bipolar_step(1e-12, 0.0) == 1


def test_get_activation_and_reexports():
    f, df = act.get_activation("tanh")
    assert f is utils.tanh and df is utils.tanh_grad
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        act.get_activation("swish")


@pytest.mark.parametrize("call, message", [
    (lambda: act.sigmoid("abc"), "z must be numeric"),
    (lambda: act.relu([1.0, np.nan]), "NaN"),
    (lambda: act.leaky_relu(1.0, alpha=-0.1), "alpha"),
    (lambda: act.leaky_relu_grad(1.0, alpha=1.5), "alpha"),
    (lambda: act.softmax(3.0), "at least a 1-D"),
    (lambda: act.softmax(np.ones(3), axis=1), "axis 1 is out of range"),
    (lambda: act.softmax(np.array([np.inf, 0.0])), "finite"),
    (lambda: act.bipolar_step(1.0, theta=-0.1), "theta"),
    (lambda: act.threshold(1.0, T="x"), "T"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
