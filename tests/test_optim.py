import numpy as np
import pytest

from utils import optim as O

P = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([0.5, 0.0])}
G = {"dW1": np.array([[0.1, -0.3]]), "db1": np.array([0.2, 0.4])}


def test_gd_step_and_inputs_unchanged():
    new = O.update_parameters_with_gd(P, G, 0.5)
    assert np.allclose(new["W1"], [[0.95, -1.85]]) and np.allclose(new["b1"], [0.4, -0.2])
    assert P["W1"][0, 0] == 1.0


def test_momentum_two_steps_by_hand_and_the_two_conventions_agree():
    v = O.initialize_velocity(P)
    p1, v1 = O.update_parameters_with_momentum(P, G, v, beta=0.9, learning_rate=0.1)
    assert np.allclose(v1["dW1"], 0.1 * G["dW1"])  # (1 - beta) g
    assert np.allclose(p1["W1"], P["W1"] - 0.1 * 0.1 * G["dW1"])
    # the handbook's formula v = gamma v + eta g, theta -= v, with eta = lr (1 - beta)
    rng = np.random.default_rng(0)
    theta, vel = {"W1": rng.normal(size=(2, 2))}, {"dW1": np.zeros((2, 2))}
    theta_h, vel_h = theta["W1"].copy(), np.zeros((2, 2))
    for _ in range(5):
        g = {"dW1": rng.normal(size=(2, 2))}
        theta, vel = O.update_parameters_with_momentum(theta, g, vel, 0.8, 0.3)
        vel_h = 0.8 * vel_h + 0.3 * (1 - 0.8) * g["dW1"]
        theta_h = theta_h - vel_h
    assert np.allclose(theta["W1"], theta_h, rtol=1e-13)


def test_adagrad_and_rmsprop_by_hand():
    p, s = O.update_parameters_with_adagrad(P, G, O.initialize_adagrad(P), 0.1)
    p, s = O.update_parameters_with_adagrad(p, G, s, 0.1)
    assert np.allclose(s["db1"], 2 * G["db1"] ** 2)
    expected = 0.5 - 0.1 * 0.2 / (0.2 + 1e-8) - 0.1 * 0.2 / (np.sqrt(2) * 0.2 + 1e-8)
    assert p["b1"][0] == pytest.approx(expected, rel=1e-12)
    p, s = O.update_parameters_with_rmsprop(P, G, O.initialize_rmsprop(P), 0.01, beta=0.9)
    assert np.allclose(s["dW1"], 0.1 * G["dW1"] ** 2)
    assert p["W1"][0, 1] == pytest.approx(-2.0 + 0.01 * 0.3 / (np.sqrt(0.1 * 0.09) + 1e-8))


def test_adam_bias_correction_over_three_steps():
    v, s = O.initialize_adam(P)
    p = P
    vh, sh, theta = 0.0, 0.0, P["b1"][1]
    for t in (1, 2, 3):
        g = {"dW1": G["dW1"] * t, "db1": G["db1"] * (-1) ** t}
        p, v, s = O.update_parameters_with_adam(p, g, v, s, t, 0.01)
        gi = g["db1"][1]
        vh, sh = 0.9 * vh + 0.1 * gi, 0.999 * sh + 0.001 * gi**2
        theta -= 0.01 * (vh / (1 - 0.9**t)) / (np.sqrt(sh / (1 - 0.999**t)) + 1e-8)
        if t == 1:  # corrected moments at t = 1 are g and g^2: a step of lr * sign(g)
            assert np.allclose(P["W1"] - p["W1"], 0.01 * np.sign(G["dW1"]), atol=1e-9)
        assert p["b1"][1] == pytest.approx(theta, rel=1e-12)


def test_adamw_decays_current_weights_not_biases():
    v, s = O.initialize_adam(P)
    adam, _, _ = O.update_parameters_with_adam(P, G, v, s, 1, 0.01)
    adamw, _, _ = O.update_parameters_with_adamw(P, G, v, s, 1, 0.01, weight_decay=0.1)
    assert np.allclose(adamw["b1"], adam["b1"])
    assert np.allclose(adamw["W1"], adam["W1"] - 0.01 * 0.1 * P["W1"])
    p2, _, _ = O.update_parameters_with_adamw(adamw, G, v, s, 1, 0.01, weight_decay=0.1)
    p2_adam, _, _ = O.update_parameters_with_adam(adamw, G, v, s, 1, 0.01)
    assert np.allclose(p2["W1"], p2_adam["W1"] - 0.01 * 0.1 * adamw["W1"])
    zero, _, _ = O.update_parameters_with_adamw(P, G, v, s, 1, 0.01, weight_decay=0.0)
    assert np.allclose(zero["W1"], adam["W1"])


@pytest.mark.parametrize("m, size, seed", [(10, 3, 0), (12, 4, 5), (7, 7, 1), (5, 64, 2)])
def test_mini_batches_partition_the_rows_and_keep_pairs(m, size, seed):
    X = np.arange(2.0 * m).reshape(m, 2)
    Y = np.arange(m)
    batches = O.random_mini_batches(X, Y, size, seed)
    sizes = [len(b[1]) for b in batches]
    assert sizes == [size] * (m // size) + ([m % size] if m % size else [])
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == list(range(m))
    for Xb, Yb in batches:
        assert np.array_equal(Xb[:, 0], 2 * Yb)
    again = O.random_mini_batches(X, Y, size, seed)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again, strict=True))


def test_surfaces_gradients_match_finite_differences():
    for name, surf in O.SURFACES.items():
        w = np.array([0.3, -0.7])
        h = 1e-6
        num = [(surf.f(w + h * e) - surf.f(w - h * e)) / (2 * h) for e in np.eye(2)]
        assert np.allclose(surf.grad(w), num, rtol=1e-6, atol=1e-8), name


def test_optimize_2d_converges_or_reports_divergence(strict_float):
    good = O.optimize_2d("ravine", "adam", 0.3, 200)
    assert not good["diverged"] and good["loss"][-1] < 1e-3
    bad = O.optimize_2d("ravine", "gd", 0.25, 200)  # 10 lr > 2: the steep direction explodes
    assert bad["diverged"] and len(bad["path"]) < 201
    assert np.all(np.isfinite(bad["path"]))
    assert O.optimize_2d("saddle", "gd", 0.1, 60)["path"][-1, 1] > 1  # escapes along y
    # |1 - 10 * 0.21| = 1.1 per step: only |y| ~ 45 after 40 steps, yet the loss has grown
    # more than 100-fold, which is divergence (ch4's example meant to diverge)
    slow = O.optimize_2d("ravine", "gd", 0.21, 40)
    assert slow["diverged"] and slow["loss"][-1] <= 100 * slow["loss"][0] < 1e4
    assert not O.optimize_2d("ravine", "gd", 0.19, 40)["diverged"]
    assert not O.optimize_2d("saddle", "gd", 0.1, 60)["diverged"]  # falling without bound


def test_optimize_2d_tells_escaping_the_saddle_from_divergence(strict_float):
    # GD at 0.3 multiplies the saddle's y by 1.3 per step: |w| passes 1e3 within 60 steps
    # while the loss falls without bound (downhill); that is an escape, not divergence
    away = O.optimize_2d("saddle", "gd", 0.3, 60, limit=1e3)
    assert away["escaped"] and not away["diverged"] and away["loss"][-1] < -1e5
    assert np.all(np.diff(away["loss"]) < 0) and len(away["path"]) < 61
    # at 3, x is multiplied by 1 - 3 = -2 per step: the loss grows first, divergence
    blown = O.optimize_2d("saddle", "gd", 3.0, 60, limit=1e3)
    assert blown["diverged"] and not blown["escaped"]
    ravine = O.optimize_2d("ravine", "gd", 0.25, 200, limit=1e3)  # uphill: diverged
    assert ravine["diverged"] and not ravine["escaped"]


@pytest.mark.parametrize("call, message", [
    (lambda: O.update_parameters_with_gd(P, {"dW1": G["dW1"]}, 0.1), "no 'db1'"),
    (lambda: O.update_parameters_with_gd(P, {**G, "db1": np.ones(3)}, 0.1), "shape"),
    (lambda: O.update_parameters_with_gd(P, G, -1), "learning_rate"),
    (lambda: O.update_parameters_with_momentum(P, G, O.initialize_velocity(P), 1.0, 0.1), "beta"),
    (lambda: O.update_parameters_with_adam(P, G, *O.initialize_adam(P), 0), "t"),
    (lambda: O.update_parameters_with_rmsprop(P, G, {}, 0.1), "initialise"),
    (lambda: O.random_mini_batches(np.ones((3, 2)), np.ones(4)), "rows"),
    (lambda: O.random_mini_batches(np.ones((3, 2)), np.ones(3), 0), "mini_batch_size"),
    (lambda: O.optimize_2d("himmelblau"), "unknown surface"),
    (lambda: O.optimize_2d("ravine", "lion"), "unknown optimizer"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
