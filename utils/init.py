"""Weight initialisation for a dense layer with W of shape (n_in, n_out).

Xavier/Glorot keeps the variance of activations and gradients roughly constant for
tanh/sigmoid layers: Var(W) = 2 / (n_in + n_out). (The handbook writes
2 / sqrt(n_in + n_out); the square root is a slip.) He keeps it for ReLU layers:
Var(W) = 2 / n_in. A uniform distribution on [-a, a] has variance a^2 / 3, which
gives the uniform limits below.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int

__all__ = ["uniform", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]


def _shape(n_in, n_out):
    return check_int(n_in, "n_in", low=1), check_int(n_out, "n_out", low=1)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def uniform(n_in, n_out, seed=None, limit=0.5):
    """U(-limit, limit), the course unit's 'random weights in [-0.5, 0.5]'."""
    n_in, n_out = _shape(n_in, n_out)
    return _rng(seed).uniform(-limit, limit, size=(n_in, n_out))


def xavier_uniform(n_in, n_out, seed=None):
    """U(-a, a) with a = sqrt(6 / (n_in + n_out)), so Var(W) = 2 / (n_in + n_out)."""
    n_in, n_out = _shape(n_in, n_out)
    a = np.sqrt(6.0 / (n_in + n_out))
    return _rng(seed).uniform(-a, a, size=(n_in, n_out))


def xavier_normal(n_in, n_out, seed=None):
    """N(0, 2 / (n_in + n_out))."""
    n_in, n_out = _shape(n_in, n_out)
    return _rng(seed).normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def he_uniform(n_in, n_out, seed=None):
    """U(-a, a) with a = sqrt(6 / n_in), so Var(W) = 2 / n_in."""
    n_in, n_out = _shape(n_in, n_out)
    a = np.sqrt(6.0 / n_in)
    return _rng(seed).uniform(-a, a, size=(n_in, n_out))


def he_normal(n_in, n_out, seed=None):
    """N(0, 2 / n_in)."""
    n_in, n_out = _shape(n_in, n_out)
    return _rng(seed).normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
