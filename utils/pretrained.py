"""Networks trained in advance, for a chapter that shows a trained network before the course
has taught the training.

Chapter 2 runs the handbook's house-price regression (a 4-16-1 network, tanh hidden units, a
linear output, inputs and target standardised with the training set's statistics) through the
student's own forward pass, one chapter before backpropagation is derived. Its weights below
were found by ``house_price_recipe()``, the course's training loop, and rounded to 4 decimals;
the tests check that the recipe still gives them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["house_price_network", "house_price_recipe"]

_HOUSE_PRICE_4_16_1 = {
    "W1": [[0.1919, -0.1973, -0.7726, -0.1204, 0.3171, 0.1289, 0.1832, 0.3226, -0.0084, 0.2605,
            0.3298, -0.4898, 0.4189, -0.1981, 0.141, -0.3431],
           [0.3638, 0.0376, -0.0021, -0.2208, -0.5125, -0.3768, 0.1926, 0.0191, 0.1538, 0.0165,
            0.7216, 0.4197, 0.1328, 0.0203, 0.2424, -0.0937],
           [-0.1959, 0.2092, -0.2084, -0.5614, -0.0309, 0.5214, 0.7131, -0.1556, 0.2049, -0.351,
            0.2233, -0.001, -0.1033, 1.1121, -0.3883, 0.1481],
           [-0.5526, 0.4464, 0.2344, -0.0636, 0.4094, -0.342, -0.1657, -0.2341, -0.0653, 0.573,
            -0.2342, -0.5446, 0.0222, -0.1254, -0.3364, 0.0373]],
    "b1": [0.044, 0.0452, -0.0577, -0.3817, -0.0098, 0.3013, -0.2949, 0.2446, 0.0098, -0.123,
           0.334, 0.0142, 0.1726, -0.4064, -0.0686, -0.1036],
    "W2": [-0.0807, 0.0613, -0.6432, 0.6175, -0.022, -0.5013, 0.3332, 0.6982, -0.2371, 0.9396,
           -0.4426, -0.1438, 0.4021, 0.8433, 0.7303, -0.2984],
    "b2": [0.4742],
}


def house_price_network() -> dict:
    """The trained 4-16-1 house-price network: fresh arrays {"W1" (4, 16), "b1" (16,),
    "W2" (16, 1), "b2" (1,)}, for standardised inputs (``house_price_recipe``'s ``mu``, ``sd``)
    and a standardised price (``y_mu``, ``y_sd``); activations ``["tanh", "linear"]``."""
    params = {name: np.array(values, dtype=float) for name, values in _HOUSE_PRICE_4_16_1.items()}
    params["W2"] = params["W2"].reshape(-1, 1)
    return params


def house_price_recipe() -> dict:
    """How ``house_price_network`` was trained: 400 houses (``house_prices(400, seed=0)``), a
    75/25 split (seed 0), standardisation with the training statistics, then
    ``utils.training.train`` with the mean squared error, learning rate 0.05, 1500 full-batch
    epochs, Xavier initialisation (seed 0). Returns the unrounded parameters and the
    statistics {"params", "mu", "sd", "y_mu", "y_sd"}. Needs the references of chapters 3, 4
    and 6 (backpropagation, the gradient-descent step, Xavier)."""
    from .data import house_prices, train_val_split
    from .training import train

    X, price = house_prices(400, seed=0)
    X_tr, _, y_tr, _ = train_val_split(X, price, val_fraction=0.25, seed=0)
    mu, sd, y_mu, y_sd = X_tr.mean(axis=0), X_tr.std(axis=0), y_tr.mean(), y_tr.std()
    params, _ = train((X_tr - mu) / sd, (y_tr - y_mu) / y_sd, [4, 16, 1], ["tanh", "linear"],
                      "mse", learning_rate=0.05, epochs=1500, seed=0)
    return {"params": params, "mu": mu, "sd": sd, "y_mu": y_mu, "y_sd": y_sd}
