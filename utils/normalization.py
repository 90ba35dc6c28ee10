"""The normalization family: batch, layer, group and instance norm (chapters 5 and 6).

All of them compute x_hat = (x - mean) / sqrt(var + eps) over some axes (the variance is
the biased one, dividing by the count) and then y = gamma x_hat + beta with a learned
scale and shift per feature. They differ in the axes they average over:

    batch norm     (m, D): over the m examples, per feature      -> depends on the batch
    layer norm     (m, D): over the D features, per example      -> one example at a time
    group norm     (N, C, H, W): per example, over groups of C/G channels and H, W
    instance norm  (N, C, H, W): per example and channel, over H, W (group norm, G = C)

Forward functions return ``(out, cache)``; the caches are dicts {"x_hat", "gamma",
"std", ...}, and the backward functions return ``(dx, dgamma, dbeta)``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_int, check_number

__all__ = ["batchnorm_forward", "batchnorm_backward", "layernorm_forward",
           "layernorm_backward", "groupnorm_forward", "instancenorm_forward", "AXES"]

#: Which axes of an (N, C, H, W) tensor each normalization averages over.
AXES = {"batch norm": (0, 2, 3), "layer norm": (1, 2, 3), "instance norm": (2, 3),
        "group norm": "per example, channels in groups, (H, W)", "input norm": (0,)}


def _affine(x, gamma, beta, D: int):
    gamma = as_float_array(gamma, "gamma", ndim=1)
    beta = as_float_array(beta, "beta", ndim=1)
    if gamma.shape != (D,) or beta.shape != (D,):
        raise ValueError(f"gamma and beta must have shape ({D},), got {gamma.shape} and "
                         f"{beta.shape}")
    return gamma, beta


def batchnorm_forward(x, gamma, beta, bn_param: dict):
    """Batch normalization of x (m, D), feature by feature. Returns ``(out, cache)``.

    Train (``bn_param["mode"] == "train"``): mu = mean over the batch, var = (1/m) sum
    (x - mu)^2, x_hat = (x - mu) / sqrt(var + eps), out = gamma x_hat + beta, and the
    running statistics become momentum * running + (1 - momentum) * batch statistic
    (stored back into ``bn_param``). Test: x_hat uses the running mean and variance.
    ``bn_param``: "mode", optional "eps" (1e-5), "momentum" (0.9), "running_mean"
    (zeros), "running_var" (ones). The cache is {"x_hat", "gamma", "std", "mode"}.
    """
    x = as_float_array(x, "x", ndim=2)
    m, D = x.shape
    gamma, beta = _affine(x, gamma, beta, D)
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = check_number(bn_param.get("eps", 1e-5), "eps", low=0.0, low_inclusive=False)
    momentum = check_number(bn_param.get("momentum", 0.9), "momentum", low=0.0, high=1.0)
    running_mean = bn_param.get("running_mean", np.zeros(D))
    running_var = bn_param.get("running_var", np.ones(D))
    if mode == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mu, var = running_mean, running_var
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std, "mode": mode}


def batchnorm_backward(dout, cache: dict):
    """Gradients of batch norm: ``(dx, dgamma, dbeta)``.

    dbeta = sum_rows dout, dgamma = sum_rows dout * x_hat, and with g = dout * gamma,
    train mode (mu and var depend on every row):
        dx = (g - mean_rows(g) - x_hat * mean_rows(g * x_hat)) / std,
    test mode (fixed statistics): dx = g / std.
    """
    dout = as_float_array(dout, "dout", ndim=2)
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    if dout.shape != x_hat.shape:
        raise ValueError(f"dout has shape {dout.shape}, expected {x_hat.shape}")
    g = dout * gamma
    if cache["mode"] == "train":
        dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
    else:
        dx = g / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(x, gamma, beta, eps: float = 1e-5):
    """Layer normalization of x (m, D): every row over its own D features.

    mu_i = mean_j x_ij, var_i = (1/D) sum_j (x_ij - mu_i)^2, x_hat = (x - mu) / sqrt(var
    + eps), out = gamma x_hat + beta. The same at training and test time (no running
    statistics). Returns ``(out, cache)``, cache {"x_hat", "gamma", "std"} (std (m, 1)).
    """
    x = as_float_array(x, "x", ndim=2)
    gamma, beta = _affine(x, gamma, beta, x.shape[1])
    eps = check_number(eps, "eps", low=0.0, low_inclusive=False)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    x_hat = (x - x.mean(axis=1, keepdims=True)) / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}


def layernorm_backward(dout, cache: dict):
    """Gradients of layer norm: batch norm's formula with rows and columns swapped.

    With g = dout * gamma: dx = (g - mean_cols(g) - x_hat * mean_cols(g * x_hat)) / std,
    dgamma = sum_rows dout * x_hat, dbeta = sum_rows dout.
    """
    dout = as_float_array(dout, "dout", ndim=2)
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    if dout.shape != x_hat.shape:
        raise ValueError(f"dout has shape {dout.shape}, expected {x_hat.shape}")
    g = dout * gamma
    dx = (g - g.mean(axis=1, keepdims=True)
          - x_hat * (g * x_hat).mean(axis=1, keepdims=True)) / std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def groupnorm_forward(x, gamma, beta, groups: int, eps: float = 1e-5):
    """Group normalization of x (N, C, H, W): per example, over each group of C / groups
    channels and all H, W positions; gamma, beta per channel (C,). groups = 1 is layer
    norm over (C, H, W), groups = C instance norm. Returns ``(out, cache)``."""
    x = as_float_array(x, "x", ndim=4)
    N, C, H, W = x.shape
    groups = check_int(groups, "groups", low=1)
    if C % groups:
        raise ValueError(f"groups must divide the {C} channels, got {groups}")
    gamma, beta = _affine(x, gamma, beta, C)
    eps = check_number(eps, "eps", low=0.0, low_inclusive=False)
    xg = x.reshape(N, groups, C // groups, H, W)
    std = np.sqrt(xg.var(axis=(2, 3, 4), keepdims=True) + eps)
    x_hat = ((xg - xg.mean(axis=(2, 3, 4), keepdims=True)) / std).reshape(x.shape)
    out = gamma[None, :, None, None] * x_hat + beta[None, :, None, None]
    return out, {"x_hat": x_hat, "gamma": gamma, "std": std, "groups": groups}


def instancenorm_forward(x, gamma, beta, eps: float = 1e-5):
    """Instance normalization of x (N, C, H, W): per example and channel, over H and W
    (group norm with one channel per group). Returns ``(out, cache)``."""
    x = as_float_array(x, "x", ndim=4)
    return groupnorm_forward(x, gamma, beta, x.shape[1], eps)
