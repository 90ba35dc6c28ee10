"""The case study's claims: Keras 3 (JAX, float64) computes what the course's NumPy computes.

Every "equal" of ``source/case_study_keras`` is asserted here, to rounding (1e-12 or
tighter), together with the conventions that make it so, and a control for each that shows
the comparison can fail (the convention left unmatched).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

import utils
from utils import frameworks as fw

keras = fw.keras_backend()
EXACT = 1e-12
# Keras's own get_weights() calls np.array on its variables (a NumPy 2 deprecation inside Keras)
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _gap(a, b) -> float:
    a, b = (x.numpy() if hasattr(x, "numpy") else x for x in (a, b))  # Keras variables, arrays
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def test_backend_is_jax_on_cpu_in_float64():
    assert keras.backend.backend() == "jax" and keras.config.floatx() == "float64"
    z = np.linspace(-4.0, 4.0, 101)
    assert _gap(keras.ops.tanh(z), np.tanh(z)) < 1e-15  # the float64 repair is in place


def test_the_float64_repair_is_still_needed_and_a_late_backend_is_refused():
    # without the repair Keras 3.15 computes tanh of float64 in float32; when an upgrade
    # fixes it upstream this fails, and utils/frameworks.py can drop its one line
    env = {**os.environ, **fw.KERAS_ENV}
    probe = ("import numpy as np, keras; keras.config.set_floatx('float64'); "
             "z = np.linspace(-4, 4, 101); "
             "print(np.abs(np.asarray(keras.ops.tanh(z)) - np.tanh(z)).max())")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert float(out.stdout.strip()) > 1e-9, out.stderr[-500:]
    late = ("import keras\nfrom utils.frameworks import keras_backend\n"
            "try:\n    keras_backend()\nexcept RuntimeError as e:\n    print(e)")
    env["KERAS_BACKEND"] = "numpy"
    out = subprocess.run([sys.executable, "-c", late], env=env, capture_output=True, text=True)
    assert "restart the kernel" in out.stdout, out.stderr[-500:]


def test_worked_example_one_sgd_step_equals_chapter_2():
    ex = utils.mlp.WORKED_EXAMPLE
    params = {"W1": ex.W_hidden, "b1": ex.b_hidden, "W2": ex.W_out, "b2": ex.b_out}
    model = fw.dense_model((4, 2, 1), "sigmoid", params)
    assert float(model.predict(ex.x[None], verbose=0)[0, 0]) == pytest.approx(0.4174149, abs=1e-7)
    # the delta rule's alpha = 0.8 is Keras's learning rate 0.4 on "mse" (no 1/2 in its loss)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.8 * 1 * 1 / 2), loss="mse")
    model.train_on_batch(ex.x[None], np.array([[ex.t]]))
    W1, b1, W2, b2 = model.get_weights()
    after = dataclasses.replace(ex, W_hidden=W1, b_hidden=b1, W_out=W2, b_out=b2)
    iteration = utils.mlp.worked_example_iteration()
    for name in utils.mlp.PARAMETER_NAMES:
        assert after.weight(name) == pytest.approx(iteration.after.weight(name), abs=EXACT), name
        assert after.weight(name) == pytest.approx(iteration.values[name], abs=1e-6), name
    # by hand, from the design's Error6 = 0.0056 and Error7 = 0.1417: w46 = 0.4 + 0.8 * 0.0056 * 1
    # and theta7 = -0.3 + 0.8 * 0.1417
    assert after.weight("w46") == pytest.approx(0.4 + 0.8 * 0.0056, abs=1e-4)
    assert after.weight("theta7") == pytest.approx(-0.3 + 0.8 * 0.1417, abs=1e-4)
    O7 = float(model.predict(ex.x[None], verbose=0)[0, 0])
    assert ex.t - O7 == pytest.approx(0.5290, abs=5e-5)  # chapter 2's error after one update
    # control: the delta rule's alpha itself is twice too large a step
    model = fw.dense_model((4, 2, 1), "sigmoid", params)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.8), loss="mse")
    model.train_on_batch(ex.x[None], np.array([[ex.t]]))
    assert _gap(model.get_weights()[0], iteration.after.W_hidden) > 1e-4


def test_xor_and_house_price_fits_equal_the_course_run():
    X, y = utils.perceptron.LOGIC_GATES["XOR"]
    X, Y = X.astype(float), y.reshape(-1, 1).astype(float)
    start = utils.mlp.init_parameters((2, 4, 1), "xavier", seed=1)
    course_params, course_loss = utils.training.train(
        X, Y, (2, 4, 1), ["tanh", "sigmoid"], loss="bce", optimizer="gd", learning_rate=1.0,
        epochs=300, parameters=start)
    model = fw.dense_model((2, 4, 1), ["tanh", "sigmoid"], start)
    keras_loss = fw.fit_full_batch(model, X, Y, "bce", learning_rate=1.0, epochs=300)
    assert keras_loss.shape == course_loss.shape == (301,)
    assert _gap(keras_loss, course_loss) < EXACT
    assert course_loss[-1] < 0.02  # it did learn XOR
    learned = fw.from_keras_weights(model.get_weights())
    assert all(_gap(learned[k], course_params[k]) < 1e-10 for k in course_params)
    assert _gap(model.predict(X, verbose=0),
                utils.training.predict(X, course_params, ["tanh", "sigmoid"])) < 1e-10
    assert model.count_params() == 17

    Xh, price = utils.data.house_prices(200, seed=0)
    Xs, Ys = (Xh - Xh.mean(0)) / Xh.std(0), ((price - price.mean()) / price.std()).reshape(-1, 1)
    start = utils.mlp.init_parameters((4, 8, 1), "he", seed=0)
    _, course_loss = utils.training.train(Xs, Ys, (4, 8, 1), ["relu", "linear"], loss="mse",
                                          optimizer="gd", learning_rate=0.05, epochs=200,
                                          parameters=start)
    model = fw.dense_model((4, 8, 1), ["relu", "linear"], start)
    assert model.count_params() == 49
    keras_loss = fw.fit_full_batch(model, Xs, Ys, "mse", learning_rate=0.05, epochs=200)
    assert _gap(keras_loss, course_loss) < EXACT and course_loss[-1] < 0.5 * course_loss[0]


def _course_adam(lr, epsilon_of_step, steps=50):
    ravine = utils.optim.SURFACES["ravine"]
    params = {"W1": np.array(ravine.start)}
    v, s = utils.optim.initialize_adam(params)
    path = [params["W1"]]
    for t in range(1, steps + 1):
        params, v, s = utils.optim.update_parameters_with_adam(
            params, {"dW1": ravine.grad(params["W1"])}, v, s, t, lr, 0.9, 0.999, epsilon_of_step(t))
        path.append(params["W1"])
    return np.array(path)


def test_optimizers_step_for_step():
    opt = keras.optimizers

    def ours(name, lr, **hyper):
        return utils.optim.optimize_2d("ravine", name, lr, steps=50, **hyper)["path"]

    def theirs(optimizer):
        return fw.optimizer_path(optimizer, "ravine", steps=50)

    assert _gap(ours("gd", 0.1), theirs(opt.SGD(0.1))) < EXACT
    alpha, beta = 0.1, 0.9  # Keras's heavy ball with eta = alpha (1 - beta)
    assert _gap(ours("momentum", alpha, beta=beta),
                theirs(opt.SGD(alpha * (1 - beta), momentum=beta))) < EXACT
    assert _gap(ours("momentum", alpha, beta=beta), theirs(opt.SGD(alpha, momentum=beta))) > 1.0
    assert _gap(ours("rmsprop", 0.05, beta=0.9, epsilon=1e-300),
                theirs(opt.RMSprop(0.05, rho=0.9, epsilon=0.0))) < EXACT
    assert _gap(ours("rmsprop", 0.05, beta=0.9, epsilon=1e-7),
                theirs(opt.RMSprop(0.05, rho=0.9, epsilon=1e-7))) > 1e-9
    keras_adam = theirs(opt.Adam(0.1, epsilon=1e-7))
    converted = _course_adam(0.1, lambda t: 1e-7 / np.sqrt(1 - 0.999**t))
    assert _gap(converted, keras_adam) < 1e-13
    assert _gap(ours("adam", 0.1, epsilon=1e-7), keras_adam) > 1e-7  # same eps: not the same


def test_adamw_equals_the_course_only_with_biases_excluded():
    params = {"W1": np.array([[0.5, -0.3]]), "b1": np.array([0.2, 0.1])}
    grads = {"dW1": np.array([[0.3, -0.1]]), "db1": np.array([0.05, -0.2])}
    v, s = utils.optim.initialize_adam(params)
    course, _, _ = utils.optim.update_parameters_with_adamw(params, grads, v, s, 1, 0.1,
                                                           epsilon=1e-300, weight_decay=0.5)
    for exclude in (False, True):
        kernel = keras.Variable(params["W1"], name="kernel")
        bias = keras.Variable(params["b1"], name="bias")
        adamw = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5, epsilon=0.0)
        if exclude:
            adamw.exclude_from_weight_decay(var_names=["bias"])
        adamw.apply_gradients([(grads["dW1"], kernel), (grads["db1"], bias)])
        assert _gap(kernel.numpy(), course["W1"]) < EXACT
        bias_gap = _gap(bias.numpy(), course["b1"])
        assert bias_gap < EXACT if exclude else bias_gap == pytest.approx(0.01)  # lr*wd*0.2


def test_dropout_batchnorm_layernorm_equal_chapter_5():
    A = np.full((200, 500), 2.0)
    layer = keras.layers.Dropout(0.25, seed=0)
    dropped = np.asarray(layer(A, training=True))
    ours, _ = utils.regularization.dropout_forward(A, 0.25, seed=0, training=True)
    assert set(np.unique(dropped)) == set(np.unique(ours)) == {0.0, 2.0 / 0.75}
    assert abs(np.mean(dropped == 0) - 0.25) < 0.01
    assert np.array_equal(np.asarray(layer(A, training=False)), A)

    x = np.random.default_rng(0).normal(2.0, 3.0, size=(8, 3))
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    bn_param = {"mode": "train", "momentum": 0.8, "eps": 1e-5,
                "running_mean": np.array([0.1, 0.2, 0.3]), "running_var": np.array([1.0, 2.0, 0.5])}
    bn = keras.layers.BatchNormalization(momentum=0.8, epsilon=1e-5)
    bn.build((None, 3))
    assert [w.path.split("/")[-1] for w in bn.weights] == ["gamma", "beta", "moving_mean",
                                                           "moving_variance"]
    bn.set_weights([gamma, beta, bn_param["running_mean"], bn_param["running_var"]])
    train_out = np.asarray(bn(x, training=True))
    ours, _ = utils.normalization.batchnorm_forward(x, gamma, beta, bn_param)
    assert _gap(train_out, ours) < EXACT
    assert _gap(bn.moving_mean, bn_param["running_mean"]) < EXACT
    assert _gap(bn.moving_variance, bn_param["running_var"]) < EXACT
    test_ours, _ = utils.normalization.batchnorm_forward(x, gamma, beta,
                                                         {**bn_param, "mode": "test"})
    assert _gap(bn(x, training=False), test_ours) < EXACT
    # control: PyTorch's convention (momentum = weight of the new statistic) is another average
    other = keras.layers.BatchNormalization(momentum=0.2, epsilon=1e-5)
    other.build((None, 3))
    other.set_weights([gamma, beta, np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 0.5])])
    other(x, training=True)
    assert _gap(other.moving_mean, bn_param["running_mean"]) > 0.1

    ln = keras.layers.LayerNormalization(epsilon=1e-5)
    ln.build((None, 3))
    ln.set_weights([gamma, beta])
    assert _gap(ln(x), utils.normalization.layernorm_forward(x, gamma, beta, 1e-5)[0]) < EXACT


def test_lstm_layer_with_chapter_7_weights_gives_the_same_hidden_states():
    n_x, H, T, m = 3, 4, 6, 2
    p = utils.rnn.init_lstm(n_x, H, 1, seed=0)
    X = np.random.default_rng(1).normal(size=(m, T, n_x))
    lstm = keras.layers.LSTM(H, return_sequences=True)
    lstm.build((None, T, n_x))
    assert [tuple(w.shape) for w in lstm.weights] == [(n_x, 4 * H), (H, 4 * H), (4 * H,)]
    lstm.set_weights([p["Wx"], p["Wh"], p["b"]])
    ours, _ = utils.rnn.lstm_forward(X, np.zeros((m, H)), p["Wx"], p["Wh"], p["b"])
    assert _gap(lstm(X), ours) < EXACT
    # control: swapping the forget and input blocks (another library's order) changes them
    swapped = [w.copy() for w in (p["Wx"], p["Wh"], p["b"])]
    for w in swapped:
        w[..., :H], w[..., H:2 * H] = w[..., H:2 * H].copy(), w[..., :H].copy()
    lstm.set_weights(swapped)
    assert _gap(lstm(X), ours) > 1e-3


def test_conversions_and_bad_input():
    params = utils.mlp.init_parameters((3, 5, 2), "xavier", seed=0)
    weights = fw.to_keras_weights(params)
    assert [w.shape for w in weights] == [(3, 5), (5,), (5, 2), (2,)]
    back = fw.from_keras_weights(weights)
    assert all(np.array_equal(back[k], params[k]) for k in params)
    with pytest.raises(ValueError, match="one bias per unit"):
        fw.to_keras_weights({"W1": np.ones((3, 5)), "b1": np.ones(4)})
    with pytest.raises(ValueError, match="W1, b1"):
        fw.to_keras_weights({"W1": np.ones((3, 5))})
    with pytest.raises(ValueError, match="unknown activation"):
        fw.dense_model((2, 2), "leaky_relu")
    with pytest.raises(ValueError, match="2 layers need 2 activations"):
        fw.dense_model((2, 3, 1), ["tanh"])
    with pytest.raises(ValueError, match="shapes"):
        fw.dense_model((2, 3, 1), "tanh", utils.mlp.init_parameters((2, 4, 1), seed=0))
    with pytest.raises(ValueError, match="one output"):
        fw.fit_full_batch(fw.dense_model((2, 2), "linear"), np.ones((4, 2)), np.ones((4, 2)), "mse")
    with pytest.raises(ValueError, match="rows"):
        fw.fit_full_batch(fw.dense_model((2, 1), "linear"), np.ones((4, 2)), np.ones(3), "mse")
    with pytest.raises(ValueError, match="unknown surface"):
        fw.optimizer_path(keras.optimizers.SGD(0.1), "bowl")
    with pytest.raises(ValueError, match="at least two"):
        utils.plots.plot_loss_overlay({"one": [1.0, 0.5]})
    fig = utils.plots.plot_loss_overlay({"a": [1.0, 0.5, 0.25], "b": [1.0, 0.5, 0.25 + 1e-9]})
    assert len(fig.axes) == 2
    fig = utils.plots.plot_paths_on_surface("ravine", {"a": np.zeros((3, 2)), "b": np.ones((3, 2))})
    assert len(fig.axes[0].lines) >= 3
