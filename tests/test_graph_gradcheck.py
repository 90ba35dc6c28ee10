import math

import numpy as np
import pytest
from matplotlib.figure import Figure

from utils import gradcheck, mlp
from utils.graph import Value, draw_graph, topological_order

UNARY = {
    "exp": (lambda v: v.exp(), math.exp),
    "log": (lambda v: v.log(), math.log),
    "sin": (lambda v: v.sin(), math.sin),
    "tanh": (lambda v: v.tanh(), math.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x))),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0)),
    "square": (lambda v: v**2, lambda x: x**2),
    "cube root": (lambda v: v ** (1 / 3), lambda x: x ** (1 / 3)),
    "neg": (lambda v: -v, lambda x: -x),
    "reciprocal": (lambda v: 1 / v, lambda x: 1 / x),
    "rsub": (lambda v: 3 - v, lambda x: 3 - x),
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("x", [0.7, 2.3])
def test_unary_operations_match_finite_differences(name, x):
    op, plain = UNARY[name]
    v = Value(x)
    out = op(v)
    out.backward()
    h = 1e-6
    assert out.data == pytest.approx(plain(x), rel=1e-14)
    assert v.grad == pytest.approx((plain(x + h) - plain(x - h)) / (2 * h), rel=1e-7)


def test_binary_operations_and_reuse():
    a, b = Value(1.5), Value(-0.5)
    out = (a * b + a / b - b) * a  # a appears three times: its contributions add up
    out.backward()
    f = lambda x, y: (x * y + x / y - y) * x  # noqa: E731
    h = 1e-6
    assert a.grad == pytest.approx((f(1.5 + h, -0.5) - f(1.5 - h, -0.5)) / (2 * h), rel=1e-7)
    assert b.grad == pytest.approx((f(1.5, -0.5 + h) - f(1.5, -0.5 - h)) / (2 * h), rel=1e-7)


def test_the_syllabus_examples_by_hand():
    a, b, c = Value(2.0), Value(3.0), Value(1.0)
    Y = (a + b) * (b - c)
    Y.backward()
    assert (Y.data, a.grad, b.grad, c.grad) == (10.0, 2.0, 7.0, -5.0)  # e, e + d, -d
    x1, x2 = Value(1.0), Value(2.0)
    f = x1 * x2 + x1.sin()
    f.backward()
    assert f.data == pytest.approx(2 + math.sin(1))
    assert x1.grad == pytest.approx(2 + math.cos(1)) and x2.grad == 1.0


def test_backward_twice_gives_the_same_gradients_and_order_is_topological():
    x = Value(0.3)
    y = (x * x).tanh() + x
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first
    order = topological_order(y)
    assert order[-1] is y and order.index(x) < order.index(y)


def test_deep_graph_needs_no_recursion():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000, rel=1e-9)


def test_bad_values():
    with pytest.raises(ValueError, match="real number"):
        Value("3")
    with pytest.raises(ValueError, match="positive"):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / Value(0.0)


def test_draw_graph_shows_gradients_once_known_or_the_ones_given():
    """Before a backward pass a graph shows its values only; after it, every gradient; with
    ``grads`` (a student's hand-derived ones, chapter 3), those of the nodes it names."""
    a, b = Value(1.0, "a"), Value(2.0, "b")
    out = a * b + a

    def texts(fig):
        return sorted(t.get_text() for t in fig.axes[0].texts if "=" in t.get_text())

    assert texts(draw_graph(out)) == ["a = 1", "b = 2"]
    assert texts(draw_graph(out, grads={a: 3.0, out: 1.0})) == ["a = 1\ngrad 3", "b = 2"]
    out.backward()
    assert isinstance(draw_graph(out, title="t"), Figure)
    assert texts(draw_graph(out)) == ["a = 1\ngrad 3", "b = 2\ngrad 1"]


def test_numerical_gradient_is_central_and_restores_x():
    x = np.array([[0.1, -0.4], [1.2, 0.0]])
    saved = x.copy()
    g = gradcheck.numerical_gradient(lambda v: np.sum(np.exp(3 * v)), x)
    assert np.array_equal(x, saved)
    exact = 3 * np.exp(3 * saved)
    assert gradcheck.relative_error(g, exact) < 1e-9  # a one-sided difference gives ~1e-5
    with pytest.raises(ValueError, match="float64"):
        gradcheck.numerical_gradient(lambda v: v.sum(), np.array([1, 2]))


def test_relative_error_values():
    assert gradcheck.relative_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert gradcheck.relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert gradcheck.relative_error([1.0, 0.0], [0.0, 0.0]) == 1.0
    expected = 0.5 / (5 + math.sqrt(29.25))
    assert gradcheck.relative_error([3.0, 4.0], [3.0, 4.5]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="shapes"):
        gradcheck.relative_error([1.0], [1.0, 2.0])


def test_gradient_check_passes_mlp_backward_and_catches_a_bug():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(8, 3)), (rng.random((8, 1)) > 0.5).astype(float)
    params = mlp.init_parameters([3, 5, 1], seed=0)
    acts = ["sigmoid", "sigmoid"]

    def loss():
        return mlp.LOSSES["bce"][0](mlp.forward(X, params, acts)[0], Y)

    AL, caches = mlp.forward(X, params, acts)
    grads = mlp.backward(AL, Y, caches, "bce")
    errors = gradcheck.gradient_check(loss, params, grads)
    assert max(errors.values()) < 1e-7
    grads["db1"] = grads["db1"] * 2
    errors = gradcheck.gradient_check(loss, params, grads)
    assert errors["db1"] > 1e-2 and errors["dW1"] < 1e-7
