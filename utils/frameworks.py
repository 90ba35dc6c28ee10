"""The course's NumPy networks next to Keras 3 (the case study): set-up and conversions.

Keras is imported through ``keras_backend()`` only. It chooses the JAX backend on the
CPU and float64 everywhere *before* Keras is first imported, so that a number computed
here and the same number computed by Keras can be compared to the last digit.

The conventions that make the two agree:

    weights      a Dense layer's kernel is (n_in, n_out) and its bias (n_out,): the
                 course's W and b; ``model.get_weights()`` is [W1, b1, W2, b2, ...]
    activations  the same names: "linear", "sigmoid", "tanh", "relu"
    losses       "bce" is Keras's binary cross-entropy (both the mean over rows); "mse"
                 is Keras's mean squared error for one output (Keras also averages over
                 the outputs, the course sums them)

One repair: Keras 3.15's type promotion turns float64 into float32 on the JAX backend
(``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE``), so ``keras.ops.tanh`` of a
float64 array is computed in float32 and a float64 network's tanh layers lose half their
digits (keras-team/keras#23223, fixed upstream after 3.15.1). ``keras_backend()`` maps
float64 to itself in that table, which is what the upstream fix does; nothing else changes.

Nothing here trains with the course's code; that stays in ``utils.training``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ._checks import as_float_array, check_int, check_number
from .optim import SURFACES

KERAS_ENV = {
    "KERAS_BACKEND": "jax",  # Keras 3 runs on JAX, TensorFlow or PyTorch: the course uses JAX
    "JAX_PLATFORMS": "cpu",  # no search for accelerators (and no warning about them)
    "JAX_ENABLE_X64": "1",  # float64 arrays, as NumPy's
}
ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu")
LOSSES = {"bce": "binary_crossentropy", "mse": "mean_squared_error"}


def keras_backend():
    """Import Keras on JAX (CPU) with float64 as its default type; returns the module.

    Must run before anything else imports Keras: the backend is chosen at import time.
    """
    loaded = sys.modules.get("keras")
    if loaded is None:
        os.environ.update(KERAS_ENV)
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras was imported with the {keras.backend.backend()!r} backend "
                           "before keras_backend() could choose JAX: restart the kernel and "
                           "run the set-up cell first")
    keras.config.set_floatx("float64")
    from keras.src.backend.common import dtypes

    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"  # see the module docstring
    return keras


def _layer_dims(layer_dims) -> tuple[int, ...]:
    dims = tuple(check_int(n, "layer size", low=1) for n in layer_dims)
    if len(dims) < 2:
        raise ValueError(f"layer_dims needs the input size and at least one layer, got {dims}")
    return dims


def _activations(activations, n_layers: int) -> list[str]:
    names = [activations] * n_layers if isinstance(activations, str) else list(activations)
    if len(names) != n_layers:
        raise ValueError(f"{n_layers} layers need {n_layers} activations, got {len(names)}")
    for name in names:
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of "
                             f"{', '.join(ACTIVATIONS)} (Keras's leaky_relu has another "
                             "default slope than the course's)")
    return names


def to_keras_weights(parameters: dict) -> list[np.ndarray]:
    """The course's {"W1", "b1", ..., "WL", "bL"} as Keras's list [W1, b1, ..., WL, bL]."""
    L = sum(1 for k in parameters if k.startswith("W"))
    out = []
    for layer in range(1, L + 1):
        if f"W{layer}" not in parameters or f"b{layer}" not in parameters:
            raise ValueError(f"parameters must hold W1, b1, ..., W{L}, b{L}; "
                             f"got {sorted(parameters)}")
        W = as_float_array(parameters[f"W{layer}"], f"W{layer}", ndim=2)
        b = as_float_array(parameters[f"b{layer}"], f"b{layer}").reshape(-1)
        if b.shape != (W.shape[1],):
            raise ValueError(f"b{layer} has {b.size} entries but W{layer} has {W.shape[1]} "
                             "columns (one bias per unit)")
        out += [W, b]
    return out


def from_keras_weights(weights) -> dict:
    """Keras's [W1, b1, ..., WL, bL] (``model.get_weights()``) as the course's dictionary."""
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    if len(weights) % 2:
        raise ValueError(f"expected kernel and bias pairs, got {len(weights)} arrays")
    return {f"{'Wb'[i % 2]}{i // 2 + 1}": w for i, w in enumerate(weights)}


def dense_model(layer_dims, activations, parameters: dict | None = None):
    """``keras.Sequential`` of Dense layers: layer_dims = (n_0, n_1, ..., n_L), one activation
    per layer (or one name for all); with ``parameters`` (the course's dictionary), their
    weights are loaded into it."""
    keras = keras_backend()
    dims = _layer_dims(layer_dims)
    names = _activations(activations, len(dims) - 1)
    model = keras.Sequential([keras.Input(shape=(dims[0],))]
                             + [keras.layers.Dense(n, activation=a) for n, a in
                                zip(dims[1:], names, strict=True)],
                             name="mlp_" + "_".join(map(str, dims)))  # summary(): "mlp_2_4_1"
    if parameters is not None:
        weights = to_keras_weights(parameters)
        expected = [tuple(w.shape) for w in model.get_weights()]
        if [w.shape for w in weights] != expected:
            raise ValueError(f"parameters have shapes {[w.shape for w in weights]}, the model "
                             f"{expected}")
        model.set_weights(weights)
    return model


def fit_full_batch(model, X, Y, loss: str = "bce", learning_rate: float = 0.5,
                   epochs: int = 100) -> np.ndarray:
    """Train ``model`` with Keras's plain SGD on the whole set at every step, as
    ``utils.training.train(..., optimizer="gd")`` does; returns the loss history in the
    course's form: J before each step, then after the last (epochs + 1 values)."""
    keras = keras_backend()
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    X = as_float_array(X, "X", ndim=2)
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}")
    if loss == "mse" and Y.shape[1] != 1:
        raise ValueError("Keras's MSE averages over the outputs as well, the course's sums "
                         "them: compare them with one output")
    lr = check_number(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    epochs = check_int(epochs, "epochs", low=1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss=LOSSES[loss])
    run = model.fit(X, Y, batch_size=X.shape[0], epochs=epochs, shuffle=False, verbose=0)
    final = model.evaluate(X, Y, batch_size=X.shape[0], verbose=0)
    return np.array(run.history["loss"] + [final])


def optimizer_path(optimizer, surface: str = "ravine", steps: int = 50, start=None):
    """Points visited by a Keras optimizer on one of ``utils.optim``'s 2-D surfaces, the
    gradient taken from the surface's formula (as ``utils.optim.optimize_2d`` does for the
    course's optimizers). Returns an array (steps + 1, 2)."""
    keras = keras_backend()
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")
    surf = SURFACES[surface]
    steps = check_int(steps, "steps", low=1)
    w0 = as_float_array(surf.start if start is None else start, "start", ndim=1)
    if w0.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {w0.shape}")
    w = keras.Variable(w0.copy(), name="kernel")
    path = [w0.copy()]
    for _ in range(steps):
        optimizer.apply_gradients([(surf.grad(np.asarray(w.numpy())), w)])
        path.append(np.array(w.numpy()))
    return np.array(path)
