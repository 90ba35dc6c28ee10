import numpy as np
import pytest

from utils import mlp, optim, pretrained, worked_example
from utils.activations import sigmoid

from .test_losses_init import numeric_grad


def hand_forward():
    """The worked example's first forward pass, unit by unit, in plain Python floats."""
    import math

    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    x1, x2, x3, x4 = 1, 1, 0, 1
    I5 = x1 * 0.3 + x2 * -0.2 + x3 * 0.2 + x4 * 0.1 + 0.2
    I6 = x1 * 0.1 + x2 * 0.4 + x3 * -0.3 + x4 * 0.4 + 0.1
    O5, O6 = s(I5), s(I6)
    I7 = O5 * -0.3 + O6 * 0.2 - 0.3
    O7 = s(I7)
    E7 = O7 * (1 - O7) * (1 - O7)
    E6 = O6 * (1 - O6) * E7 * 0.2
    E5 = O5 * (1 - O5) * E7 * -0.3
    return dict(I5=I5, O5=O5, I6=I6, O6=O6, I7=I7, O7=O7, error=1 - O7, Error7=E7,
                Error6=E6, Error5=E5, w15=0.3 + 0.8 * E5, w67=0.2 + 0.8 * E7 * O6,
                theta7=-0.3 + 0.8 * E7)


def test_worked_example_matches_a_hand_calculation():
    values = mlp.worked_example_iteration().values
    for name, expected in hand_forward().items():
        assert values[name] == pytest.approx(expected, rel=1e-12), name
    # the exact figures quoted in the course design (4 decimals)
    quoted = dict(I6=1.0, O6=0.7311, I7=-0.3334, O7=0.4174, error=0.5826, Error7=0.1417,
                  Error6=0.0056, Error5=-0.0102)
    for name, value in quoted.items():
        assert round(values[name], 4) == value, name


def test_error_after_one_update_is_0_5290_not_the_slides_0_526():
    first = mlp.worked_example_iteration()
    second = mlp.worked_example_iteration(first.after)
    assert round(second.values["error"], 4) == 0.5290
    run = mlp.worked_example_run(iterations=3)
    assert run["error"][1] == pytest.approx(second.values["error"])
    assert np.all(np.diff(run["error"]) < 0)


def test_the_recording_is_what_the_iteration_computes():
    """Chapter 2 shows the recorded run before its exercises are done (a student edition has
    no worked_example_iteration): every recorded number is the computed one."""
    assert np.load(worked_example._RECORDING).shape == (8, 31, 23)
    np.testing.assert_allclose(worked_example._recording(), worked_example.record_runs(),
                               rtol=1e-13, atol=1e-15)
    for lr in (0.8, 5.0):
        computed, recorded = mlp.worked_example_run(30, lr), mlp.recorded_run(30, lr)
        np.testing.assert_allclose(recorded["weights"], computed["weights"], rtol=1e-13)
        assert [n for n, _, _ in recorded["steps"][4].rows] == [
            n for n, _, _ in computed["steps"][4].rows]
        assert [f for _, f, _ in recorded["steps"][4].rows] == [
            f for _, f, _ in computed["steps"][4].rows]
    assert mlp.recorded_iteration(2).values["error"] == pytest.approx(0.5289784623791298, 1e-12)
    with pytest.raises(ValueError, match="recorded for the learning rates 0.1, 0.2"):
        mlp.recorded_run(5, lr=0.3)
    with pytest.raises(ValueError, match="30 iterations are recorded"):
        mlp.recorded_run(31)
    with pytest.raises(ValueError, match="iterations 1 to 31"):
        mlp.recorded_iteration(32)


def test_the_pretrained_house_price_network_is_what_its_recipe_trains():
    recipe, network = pretrained.house_price_recipe(), pretrained.house_price_network()
    for name, value in recipe["params"].items():
        assert network[name].shape == value.shape
        np.testing.assert_allclose(network[name], value, atol=5e-5 + 1e-9)  # 4 decimals
    network["W1"][0, 0] = 99.0  # a fresh copy each time
    assert pretrained.house_price_network()["W1"][0, 0] == 0.1919


def test_slide_comparison_flags_the_i6_slip():
    rows = {(it, name): differs for it, name, _, _, differs in mlp.slide_comparison()}
    assert rows[(1, "I6")] and rows[(1, "O7")] and rows[(2, "error")]
    assert not rows[(1, "I5")] and not rows[(1, "O5")] and not rows[(1, "w15")]


def test_the_slide_rule_is_gradient_descent_on_half_squared_error():
    ex = mlp.WORKED_EXAMPLE
    params = {"W1": ex.W_hidden.copy(), "b1": ex.b_hidden.copy(), "W2": ex.W_out.copy(),
              "b2": ex.b_out.copy()}
    AL, caches = mlp.forward(ex.x[None, :], params, "sigmoid")
    grads = mlp.backward(AL, np.array([[ex.t]]), caches, loss="half_sse")
    new = optim.update_parameters_with_gd(params, grads, ex.lr)
    after = mlp.worked_example_iteration().after
    assert np.allclose(new["W1"], after.W_hidden) and np.allclose(new["b1"], after.b_hidden)
    assert np.allclose(new["W2"], after.W_out) and np.allclose(new["b2"], after.b_out)
    # Error_7 = -dE/dI_7
    assert grads["db2"][0] == pytest.approx(-mlp.worked_example_iteration().values["Error7"])


@pytest.mark.parametrize("loss, out_act", [("bce", "sigmoid"), ("mse", "linear"),
                                           ("mse", "tanh"), ("half_sse", "sigmoid")])
def test_backward_matches_finite_differences(loss, out_act):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    Y = (rng.random((6, 2)) > 0.5).astype(float)
    acts = ["tanh", "leaky_relu", out_act]
    params = mlp.init_parameters([3, 4, 5, 2], "xavier", seed=1)
    AL, caches = mlp.forward(X, params, acts)
    grads = mlp.backward(AL, Y, caches, loss)
    loss_fn = mlp.LOSSES[loss][0]
    for key, value in params.items():
        def J(v, key=key):
            trial = {**params, key: v}
            return loss_fn(mlp.forward(X, trial, acts)[0], Y)
        numeric = numeric_grad(J, value)
        err = np.linalg.norm(grads["d" + key] - numeric) / (
            np.linalg.norm(grads["d" + key]) + np.linalg.norm(numeric))
        assert err < 1e-7, (key, err)
        assert grads["d" + key].shape == value.shape


def test_init_parameters_shapes_and_methods():
    p = mlp.init_parameters([4, 2, 1], "uniform", seed=3)
    assert p["W1"].shape == (4, 2) and p["b1"].shape == (2,) and p["W2"].shape == (2, 1)
    assert max(np.abs(v).max() for v in p.values()) <= 0.5
    assert mlp.init_parameters([4, 2, 1], "he", seed=3)["b1"].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="unknown init method"):
        mlp.init_parameters([2, 1], "zeros")
    with pytest.raises(ValueError, match="at least one layer"):
        mlp.init_parameters([2])


def test_forward_shape_errors_are_clear():
    p = mlp.init_parameters([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"W must have shape \(n_in, n_out\)"):
        mlp.forward(np.ones((5, 4)), p, "sigmoid")
    with pytest.raises(ValueError, match="one activation per layer"):
        mlp.forward(np.ones((5, 3)), p, ["sigmoid", "relu"])
    with pytest.raises(ValueError, match="W1, b1"):
        mlp.forward(np.ones((5, 3)), {"W1": p["W1"]}, "sigmoid")
    A, caches = mlp.forward(np.ones((5, 3)), p, "sigmoid")
    assert A.shape == (5, 2) and len(caches) == 1
    assert np.allclose(A, sigmoid(np.ones((5, 3)) @ p["W1"] + p["b1"]))
