"""Regularization: weight penalties, dropout and early stopping (chapter 5).

Parameter dictionaries are those of chapters 2-4 ({"W1", "b1", ...}); penalties touch
the weights (keys starting with "W") only, never the biases. The normalization layers
(``utils.normalization``) and the image augmentations (``utils.augmentation``) of the
chapter are re-exported here, so ``utils.regularization`` holds the whole chapter.

    L2 (ridge)     lambda sum_l sum W_l^2              gradient 2 lambda W
    L1 (lasso)     lambda sum_l sum |W_l|              gradient lambda sign(W), sign(0) = 0
    elastic net    lambda (r sum |W| + (1 - r) sum W^2)
    dropout        mask ~ Bernoulli(1 - p) (p: the drop probability); training:
                   out = A * mask / (1 - p) (inverted dropout); test: out = A
"""

from __future__ import annotations

import copy

import numpy as np

from ._checks import as_float_array, check_int, check_number
from .augmentation import (  # noqa: F401 -- re-exported: the chapter's whole toolbox
    crop,
    digit_image,
    flip_horizontal,
    gaussian_noise,
    rotate,
    scale,
    shear,
    translate,
)
from .normalization import (  # noqa: F401
    batchnorm_backward,
    batchnorm_forward,
    groupnorm_forward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
)

__all__ = ["l2_penalty", "l2_grad", "l1_penalty", "l1_grad", "elastic_net_penalty",
           "elastic_net_grad", "dropout_forward", "dropout_backward", "early_stopping",
           "EarlyStopping", "batchnorm_forward", "batchnorm_backward", "layernorm_forward",
           "layernorm_backward", "groupnorm_forward", "instancenorm_forward", "translate",
           "flip_horizontal", "rotate", "scale", "crop", "shear", "gaussian_noise",
           "digit_image"]


# ------------------------------------------------------------------------------ penalties
def _weights(parameters: dict) -> dict:
    if not isinstance(parameters, dict) or not parameters:
        raise ValueError("parameters must be a non-empty dict like {'W1': ..., 'b1': ...}")
    return {k: as_float_array(v, k) for k, v in parameters.items() if k.startswith("W")}


def _lambda(lambd) -> float:
    return check_number(lambd, "lambd", low=0.0)


def l2_penalty(parameters: dict, lambd: float) -> float:
    """L2 (ridge) penalty lambda * sum over weight matrices of sum W^2 (biases excluded)."""
    lambd = _lambda(lambd)
    return float(lambd * sum(np.sum(W**2) for W in _weights(parameters).values()))


def l2_grad(parameters: dict, lambd: float) -> dict:
    """Gradient of ``l2_penalty``: {"dW1": 2 lambda W1, ...} for the weights only."""
    lambd = _lambda(lambd)
    return {"d" + k: 2.0 * lambd * W for k, W in _weights(parameters).items()}


def l1_penalty(parameters: dict, lambd: float) -> float:
    """L1 (lasso) penalty lambda * sum over weight matrices of sum |W| (biases excluded)."""
    lambd = _lambda(lambd)
    return float(lambd * sum(np.sum(np.abs(W)) for W in _weights(parameters).values()))


def l1_grad(parameters: dict, lambd: float) -> dict:
    """(Sub)gradient of ``l1_penalty``: {"dW1": lambda sign(W1), ...}, with sign(0) = 0."""
    lambd = _lambda(lambd)
    return {"d" + k: lambd * np.sign(W) for k, W in _weights(parameters).items()}


def _ratio(l1_ratio) -> float:
    return check_number(l1_ratio, "l1_ratio", low=0.0, high=1.0)


def elastic_net_penalty(parameters: dict, lambd: float, l1_ratio: float) -> float:
    """Elastic net lambda (r sum |W| + (1 - r) sum W^2), r = ``l1_ratio`` in [0, 1]."""
    r = _ratio(l1_ratio)
    return r * l1_penalty(parameters, lambd) + (1 - r) * l2_penalty(parameters, lambd)


def elastic_net_grad(parameters: dict, lambd: float, l1_ratio: float) -> dict:
    """Gradient of ``elastic_net_penalty`` (weights only)."""
    r = _ratio(l1_ratio)
    g1, g2 = l1_grad(parameters, lambd), l2_grad(parameters, lambd)
    return {k: r * g1[k] + (1 - r) * g2[k] for k in g1}


# ------------------------------------------------------------------------------ dropout
def _drop_probability(p) -> float:
    return check_number(p, "p (the drop probability)", low=0.0, high=1.0, high_inclusive=False)


def dropout_forward(A, p: float, seed=0, training: bool = True):
    """Inverted dropout. Returns ``(out, cache)``.

    Training: keep each unit where a uniform draw is at least p, mask = (u >= p), so a
    unit is kept with probability 1 - p, and out = A * mask / (1 - p): the expected
    value of out is A. Test (``training=False``): out = A, unchanged. ``seed`` is an int
    or a ``np.random.Generator``. The cache is {"mask", "p", "training"}.
    """
    A = as_float_array(A, "A")
    p = _drop_probability(p)
    if not training:
        return A.copy(), {"mask": np.ones(A.shape, dtype=bool), "p": p, "training": False}
    mask = np.random.default_rng(seed).random(A.shape) >= p
    return A * mask / (1.0 - p), {"mask": mask, "p": p, "training": True}


def dropout_backward(dout, cache: dict):
    """dA = dout * mask / (1 - p) in training (the kept units pass the gradient, rescaled);
    dA = dout at test time."""
    dout = as_float_array(dout, "dout")
    if not cache["training"]:
        return dout.copy()
    if dout.shape != cache["mask"].shape:
        raise ValueError(f"dout has shape {dout.shape}, the mask {cache['mask'].shape}")
    return dout * cache["mask"] / (1.0 - cache["p"])


# ------------------------------------------------------------------------------ early stopping
def early_stopping(val_losses, patience: int) -> tuple[int, int]:
    """``(best_epoch, stop_epoch)`` for validation losses of epochs 0, 1, 2, ...

    An epoch improves when its loss is strictly below the best so far. Training stops at
    the epoch that makes ``patience`` epochs in a row without improvement; if that never
    happens, ``stop_epoch`` is the last epoch. The weights to keep are those of
    ``best_epoch``.
    """
    losses = as_float_array(val_losses, "val_losses", ndim=1)
    if losses.size == 0:
        raise ValueError("val_losses is empty")
    patience = check_int(patience, "patience", low=1)
    best, best_epoch, waited = np.inf, 0, 0
    for epoch, loss in enumerate(losses):
        if loss < best:
            best, best_epoch, waited = loss, epoch, 0
        else:
            waited += 1
            if waited == patience:
                return best_epoch, epoch
    return best_epoch, int(losses.size - 1)


class EarlyStopping:
    """Early stopping for ``utils.training.train`` (a callback).

    After every epoch the loop calls ``after_epoch(epoch, params, predict)``: the
    validation loss of ``predict(X_val)`` is recorded, the parameters of the best epoch
    so far are copied, and True (stop) is returned once ``patience`` epochs in a row have
    not improved. ``finish(params)`` returns the best epoch's parameters when
    ``restore_best`` (the default). Epochs are counted from 0 = the first trained epoch.
    """

    def __init__(self, X_val, Y_val, loss, patience: int = 10, restore_best: bool = True):
        self.X_val = as_float_array(X_val, "X_val", ndim=2)
        Y = as_float_array(Y_val, "Y_val", ndim=(1, 2))
        self.Y_val = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        self.loss, self.restore_best = loss, restore_best
        self.patience = check_int(patience, "patience", low=1)
        self.val_losses: list[float] = []
        self.best_epoch, self.stop_epoch, self.best_params = None, None, None

    def after_epoch(self, epoch: int, params: dict, predict) -> bool:
        self.val_losses.append(float(self.loss(predict(self.X_val), self.Y_val)))
        self.best_epoch, _ = early_stopping(self.val_losses, self.patience)
        if self.best_epoch == len(self.val_losses) - 1:
            self.best_params = copy.deepcopy(params)
        if len(self.val_losses) - 1 - self.best_epoch >= self.patience:
            self.stop_epoch = epoch
            return True
        return False

    def finish(self, params: dict) -> dict:
        return self.best_params if self.restore_best and self.best_params else params
