"""The one training loop (utils.training.train): every optimiser, full batch or mini-batches."""

import numpy as np
import pytest

from utils import mlp, optim
from utils.training import train

ACTS = ["tanh", "sigmoid"]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def test_training_solves_xor_with_a_hidden_layer():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    Y = np.array([0, 1, 1, 0], dtype=float)
    params, history = train(X, Y, [2, 4, 1], ACTS, "bce", learning_rate=1.0, epochs=2000,
                            seed=0)
    AL, _ = mlp.forward(X, params, ACTS)
    assert ((AL[:, 0] > 0.5) == Y.astype(bool)).all()
    assert history.shape == (2001,) and history[-1] < 0.05 < history[0]
    assert history[-1] == pytest.approx(mlp.LOSSES["bce"][0](AL, Y[:, None]))


def test_full_batch_gd_is_the_plain_loop_written_out():
    X, y = _data()
    params, history = train(X, y, [2, 3, 1], ACTS, "bce", "gd", 0.5, epochs=5, seed=1)
    p = mlp.init_parameters([2, 3, 1], "xavier", 1)
    losses = []
    for _ in range(5):
        AL, caches = mlp.forward(X, p, ACTS)
        losses.append(mlp.LOSSES["bce"][0](AL, y[:, None]))
        p = optim.update_parameters_with_gd(p, mlp.backward(AL, y, caches, "bce"), 0.5)
    losses.append(mlp.LOSSES["bce"][0](mlp.forward(X, p, ACTS)[0], y[:, None]))
    assert np.allclose(history, losses, rtol=1e-12)
    assert all(np.allclose(params[k], p[k], rtol=1e-12) for k in p)


def test_mini_batch_adam_steps_once_per_batch_with_a_running_t():
    X, y = _data()
    params, history = train(X, y, [2, 3, 1], ACTS, "bce", "adam", 0.01, epochs=2,
                            mini_batch_size=24, seed=2)
    p = mlp.init_parameters([2, 3, 1], "xavier", 2)
    v, s = optim.initialize_adam(p)
    t = 0
    for epoch in range(2):
        for Xb, Yb in optim.random_mini_batches(X, y[:, None], 24, seed=(2, epoch)):
            t += 1
            AL, caches = mlp.forward(Xb, p, ACTS)
            p, v, s = optim.update_parameters_with_adam(p, mlp.backward(AL, Yb, caches), v, s, t,
                                                        0.01)
    assert t == 6  # 64 rows in batches of 24: 24, 24, 16 per epoch
    assert all(np.allclose(params[k], p[k], rtol=1e-12) for k in p)
    assert history.shape == (3,)


def test_every_optimiser_lowers_the_loss_from_the_same_start():
    X, y = _data()
    starts = set()
    for name, lr in [("gd", 1.0), ("momentum", 1.0), ("rmsprop", 0.01), ("adam", 0.02),
                     ("adagrad", 0.1), ("adamw", 0.02)]:
        _, history = train(X, y, [2, 8, 1], ACTS, "bce", name, lr, 60, mini_batch_size=16)
        assert history[-1] < history[0], name
        starts.add(history[0])
    assert len(starts) == 1


def test_given_parameters_are_not_modified():
    X, y = _data()
    p = mlp.init_parameters([2, 3, 1], "xavier", 0)
    before = {k: v.copy() for k, v in p.items()}
    train(X, y, [2, 3, 1], ACTS, epochs=3, parameters=p)
    assert all(np.array_equal(p[k], before[k]) for k in p)


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "lion"}, "unknown optimizer"),
    ({"loss": "hinge"}, "unknown loss"),
    ({"epochs": 0}, "epochs"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"mini_batch_size": 0}, "mini_batch_size"),
])
def test_bad_input(kwargs, message):
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        train(X, y, [2, 3, 1], ACTS, **kwargs)


def test_rows_must_match():
    X, y = _data()
    with pytest.raises(ValueError, match="rows"):
        train(X, y[:10], [2, 3, 1], ACTS)
