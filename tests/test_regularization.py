"""utils.regularization, utils.normalization, utils.augmentation and the regularized
training loop: values by hand, finite differences for every backward pass."""

import numpy as np
import pytest

from utils import augmentation as aug
from utils import mlp, training
from utils import normalization as N
from utils import regularization as R
from utils.gradcheck import numerical_gradient, relative_error

P = {"W1": np.array([[1.0, -2.0], [0.0, 3.0]]), "b1": np.array([5.0, -5.0]),
     "W2": np.array([[0.5], [-0.5]]), "b2": np.array([7.0])}


def test_penalties_by_hand_and_biases_untouched():
    assert R.l2_penalty(P, 0.1) == pytest.approx(0.1 * (1 + 4 + 9 + 0.25 + 0.25))
    assert R.l1_penalty(P, 0.1) == pytest.approx(0.1 * (1 + 2 + 3 + 0.5 + 0.5))
    assert R.elastic_net_penalty(P, 0.1, 0.25) == pytest.approx(
        0.25 * R.l1_penalty(P, 0.1) + 0.75 * R.l2_penalty(P, 0.1))
    g2, g1 = R.l2_grad(P, 0.1), R.l1_grad(P, 0.1)
    assert sorted(g2) == sorted(g1) == ["dW1", "dW2"]
    assert np.allclose(g2["dW1"], 0.2 * P["W1"]) and g1["dW1"].tolist() == [[0.1, -0.1], [0, 0.1]]
    # gradients are the derivatives of the penalties (away from W = 0 for L1)
    for name, pen, grad in (("l2", R.l2_penalty, R.l2_grad), ("l1", R.l1_penalty, R.l1_grad)):
        W = P["W2"].copy()
        numeric = numerical_gradient(lambda w, pen=pen: pen({**P, "W2": w}, 0.3), W)
        assert relative_error(grad(P, 0.3)["dW2"], numeric) < 1e-8, name
    with pytest.raises(ValueError, match="lambd"):
        R.l2_penalty(P, -1)
    with pytest.raises(ValueError, match="l1_ratio"):
        R.elastic_net_penalty(P, 0.1, 1.5)


def test_dropout_keeps_the_expectation_only_with_inverted_scaling():
    A = np.full((2000, 50), 2.0)
    out, cache = R.dropout_forward(A, 0.3, seed=1)
    assert cache["mask"].mean() == pytest.approx(0.7, abs=0.01)
    assert out.mean() == pytest.approx(2.0, rel=0.01)
    assert set(np.unique(out)) == {0.0, 2.0 / 0.7}
    mask = np.random.default_rng(1).random(A.shape) >= 0.3
    assert np.array_equal(cache["mask"], mask)
    # classic dropout: train with the mask alone, scale test activations by 1 - p (not p)
    assert (A * mask).mean() == pytest.approx(2.0 * 0.7, rel=0.01)
    assert not np.isclose((A * mask).mean(), 2.0 * 0.3, rtol=0.1)
    test_out, test_cache = R.dropout_forward(A, 0.3, seed=1, training=False)
    assert np.array_equal(test_out, A)
    dout = np.ones_like(A)
    assert np.array_equal(R.dropout_backward(dout, cache), mask / 0.7)
    assert np.array_equal(R.dropout_backward(dout, test_cache), dout)
    for p in (1.0, -0.1):
        with pytest.raises(ValueError, match="drop probability"):
            R.dropout_forward(A, p)


def _check_backward(forward, backward, x, gamma, beta, dout):
    out, cache = forward(x, gamma, beta)
    dx, dgamma, dbeta = backward(dout, cache)
    for arg, analytic in ((x, dx), (gamma, dgamma), (beta, dbeta)):
        numeric = numerical_gradient(lambda _: float(np.sum(forward(x, gamma, beta)[0] * dout)),
                                     arg)
        assert relative_error(analytic, numeric) < 1e-7


def test_batchnorm_forward_backward_and_running_statistics():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(8, 3))
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 1.0])
    bn = {"mode": "train"}
    out, cache = N.batchnorm_forward(x, gamma, beta, bn)
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)  # biased variance
    assert np.allclose(out, gamma * x_hat + beta)
    assert np.allclose(bn["running_mean"], 0.1 * x.mean(0))
    assert np.allclose(bn["running_var"], 0.9 + 0.1 * x.var(0))
    bn["mode"] = "test"
    out_test, _ = N.batchnorm_forward(x[:2], gamma, beta, bn)
    assert np.allclose(out_test, gamma * (x[:2] - bn["running_mean"])
                       / np.sqrt(bn["running_var"] + 1e-5) + beta)
    dout = rng.normal(size=x.shape)
    for mode in ("train", "test"):
        params = {"mode": mode, "running_mean": x.mean(0) + 1, "running_var": x.var(0) + 2}
        _check_backward(lambda a, g, b, params=params: N.batchnorm_forward(a, g, b, dict(params)),
                        N.batchnorm_backward, x, gamma, beta, dout)
    with pytest.raises(ValueError, match="mode"):
        N.batchnorm_forward(x, gamma, beta, {})
    with pytest.raises(ValueError, match="shape"):
        N.batchnorm_forward(x, gamma[:2], beta, {"mode": "train"})


def test_layernorm_normalizes_rows_and_its_backward_checks():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5)) * np.array([[1.0], [10.0], [0.1], [3.0]])
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    out, cache = N.layernorm_forward(x, np.ones(5), np.zeros(5))
    assert np.allclose(out.mean(axis=1), 0)
    assert np.allclose(out.var(axis=1), 1, atol=0.01)  # eps matters for the row of scale 0.1
    _check_backward(N.layernorm_forward, N.layernorm_backward, x, gamma, beta,
                    rng.normal(size=x.shape))


def test_group_and_instance_norm():
    x = np.random.default_rng(2).normal(size=(2, 4, 3, 3))
    out, _ = N.groupnorm_forward(x, np.ones(4), np.zeros(4), groups=2)
    grouped = out.reshape(2, 2, 2 * 9)
    assert np.allclose(grouped.mean(-1), 0) and np.allclose(grouped.var(-1), 1, atol=1e-4)
    inst, _ = N.instancenorm_forward(x, np.ones(4), np.zeros(4))
    assert np.allclose(inst.reshape(2, 4, 9).mean(-1), 0)
    layer, _ = N.groupnorm_forward(x, np.ones(4), np.zeros(4), groups=1)
    assert np.allclose(layer.reshape(2, -1).var(-1), 1, atol=1e-4)
    with pytest.raises(ValueError, match="divide"):
        N.groupnorm_forward(x, np.ones(4), np.zeros(4), groups=3)


@pytest.mark.parametrize("losses, patience, expected", [
    ([1.0, 0.8, 0.9, 0.85, 0.95, 0.7], 3, (1, 4)),
    ([1.0, 0.8, 0.8, 0.8], 2, (1, 3)),  # a tie is no improvement
    ([3.0, 2.0, 1.0], 2, (2, 2)),  # never stops: the last epoch
    ([0.5], 1, (0, 0)),
])
def test_early_stopping(losses, patience, expected):
    assert R.early_stopping(losses, patience) == expected


def test_early_stopping_callback_restores_the_best_weights():
    X = np.random.default_rng(3).normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(float)
    stop = R.EarlyStopping(X[:20], y[:20] * 0 + 1 - y[:20], mlp.LOSSES["bce"][0], patience=3)
    params, history = training.train(X[20:], y[20:], [2, 4, 1], "sigmoid", epochs=200,
                                     learning_rate=1.0, callbacks=[stop])
    # validation labels are flipped: validation loss rises at once and training stops early
    assert stop.best_epoch == 0 and stop.stop_epoch == 3 and len(history) == 5
    assert params is stop.best_params
    with pytest.raises(ValueError, match="patience"):
        R.early_stopping([1.0], 0)


def test_translate_shifts_without_wrapping():
    im = np.arange(12.0).reshape(3, 4)
    assert aug.translate(im, 1, 0).tolist() == [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]]
    assert aug.translate(im, -1, 1).tolist() == [[0, 0, 0, 0], [1, 2, 3, 0], [5, 6, 7, 0]]
    assert not aug.translate(im, 4, 0).any()
    assert np.array_equal(aug.translate(im, 0, 0), im)


def test_augmentations_keep_shape_and_do_what_they_say():
    six = aug.digit_image(6)
    assert six.shape == (16, 16) and six.sum() == 2 * 2 * sum(
        r.count("#") for r in aug._FONT["6"].split("|"))
    assert np.array_equal(aug.flip_horizontal(six)[:, ::-1], six)
    assert np.array_equal(aug.rotate(aug.rotate(six, 90), -90), six)
    assert np.array_equal(aug.rotate(aug.rotate(six, 180), 180), six)
    # a "6" turned upside down is a "9" of the same font here, nearly pixel for pixel
    assert (aug.rotate(six, 180) != aug.digit_image(9)).sum() < 0.25 * six.sum()
    assert aug.scale(six, 0.5).sum() < six.sum() < aug.scale(six, 1.5).sum()
    assert np.array_equal(aug.shear(six, 0.0), six) and not np.array_equal(aug.shear(six, 0.3),
                                                                            six)
    assert aug.crop(six, 0, 0, 16, 16).tolist() == six.tolist()
    assert aug.crop(six, 4, 4, 8, 8).shape == (16, 16)
    noisy = aug.gaussian_noise(six, 0.2, seed=1)
    assert noisy.min() >= 0 and noisy.max() <= 1 and not np.array_equal(noisy, six)
    with pytest.raises(ValueError, match="0-9"):
        aug.digit_image("x")
    with pytest.raises(ValueError, match="leaves"):
        aug.crop(six, 10, 10, 8, 8)


def test_regularized_backward_matches_finite_differences():
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(10, 3)), (rng.random((10, 1)) > 0.5).astype(float)
    params = training.add_batchnorm(mlp.init_parameters([3, 5, 4, 1], "xavier", 5))
    acts = ["tanh", "relu", "sigmoid"]

    def loss(_):
        p = dict(params)  # running statistics change in training mode: work on a copy
        AL, _ = training.forward(X, p, acts, True, 0.3, np.random.default_rng(9))
        return mlp.LOSSES["bce"][0](AL, Y)

    p = dict(params)
    AL, caches = training.forward(X, p, acts, True, 0.3, np.random.default_rng(9))
    grads = training.backward(AL, Y, caches, "bce")
    for key in ("W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"):
        numeric = numerical_gradient(loss, params[key])
        assert relative_error(grads["d" + key], numeric) < 1e-6, key
    # batch norm subtracts the batch mean, so the bias before it has no effect at all
    assert np.abs(grads["db1"]).max() < 1e-12
    assert np.abs(numerical_gradient(loss, params["b1"])).max() < 1e-9


def test_regularized_training_runs_and_l2_shrinks_the_weights():
    X = np.random.default_rng(5).normal(size=(80, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    free, _ = training.train(X, y, [2, 16, 1], ["tanh", "sigmoid"], "bce", "adam", 0.05, 100,
                             seed=0)
    small, hist = training.train(X, y, [2, 16, 1], ["tanh", "sigmoid"], "bce", "adam", 0.05,
                                 100, seed=0, l2=0.01, dropout=0.2, batchnorm=True,
                                 mini_batch_size=16)
    assert np.abs(small["W1"]).sum() < np.abs(free["W1"]).sum()
    assert hist[-1] < hist[0] and "running_mean1" in small
    assert training.predict(X, small, ["tanh", "sigmoid"]).shape == (80, 1)


def test_playground_shows_section_1_data_and_the_weights_it_says():
    """Chapter 5's playground trains on section 1's 80/320 split; without early stopping it
    shows the last epoch's weights, with it the best epoch's (the curves' dotted line)."""
    from utils.data import two_moons
    from utils.widgets import RegularizationPlayground

    X, y = two_moons(400, seed=3, noise=0.35)
    playground = RegularizationPlayground(epochs=100)
    assert np.array_equal(playground.X_train, X[:80]) and np.array_equal(playground.X_val, X[80:])
    assert np.array_equal(playground.y_val, y[80:])

    def val_loss(params):
        A = training.predict(playground.X_val, params, playground.ACTS)
        return mlp.LOSSES["bce"][0](A, playground.y_val.reshape(-1, 1))

    last = playground.run(0.0, 0.0, False, False)
    assert val_loss(last["params"]) == pytest.approx(last["val"][-1], rel=1e-12)
    assert last["best"] != len(last["val"]) - 1  # the last epoch is not the best here
    stopped = playground.run(0.0, 0.0, False, True)
    assert val_loss(stopped["params"]) == pytest.approx(stopped["val"][stopped["best"]], rel=1e-12)
