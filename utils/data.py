"""Seeded synthetic data sets: nothing is downloaded, every set is rebuilt from its seed.

All generators return ``X`` with one example per row and a target vector ``y``.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_int, check_number
from .perceptron import LOGIC_GATES, logic_gate

__all__ = ["LOGIC_GATES", "logic_gate", "HOUSE_FEATURES", "house_prices", "xor_blobs",
           "two_moons", "circles", "spirals", "train_val_split"]

#: Column names of ``house_prices``'s X.
HOUSE_FEATURES = ("bedrooms", "age_years", "distance_to_ocean_km", "pool")


def house_prices(n=200, seed=0, noise=15.0):
    """The handbook's running example: predict a house price from four features.

    Columns of X (shape (n, 4)): bedrooms (1..6), age in years (0..80), distance to
    the ocean in km (0..50) and pool (0 or 1). The price y (shape (n,), in thousands)
    follows a non-linear rule plus Gaussian noise of standard deviation ``noise``:

        price = 120 + 45 bedrooms - 1.2 age + 180 e^(-distance / 8) + 35 pool
                + 0.015 age^2 + noise,

    so the ocean premium decays with distance and old houses regain some value.
    """
    n = check_int(n, "n", low=1)
    noise = check_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    bedrooms = rng.integers(1, 7, size=n)
    age = rng.uniform(0, 80, size=n)
    distance = rng.uniform(0, 50, size=n)
    pool = (rng.random(n) < 0.3).astype(np.int64)
    price = (120 + 45 * bedrooms - 1.2 * age + 180 * np.exp(-distance / 8) + 35 * pool
             + 0.015 * age**2 + rng.normal(0, noise, size=n))
    X = np.column_stack([bedrooms, age, distance, pool]).astype(np.float64)
    return X, price


def _rng_and_n(n, seed, noise):
    n = check_int(n, "n", low=2)
    check_number(noise, "noise", low=0.0)
    return n, np.random.default_rng(seed)


def xor_blobs(n=200, seed=0, noise=0.25):
    """Four Gaussian blobs at the corners of the unit square labelled like XOR.

    Returns X (n, 2) and y (n,) in {0, 1}: y = 1 for the blobs at (0, 1) and (1, 0).
    """
    n, rng = _rng_and_n(n, seed, noise)
    corners = rng.integers(0, 2, size=(n, 2))
    X = corners + rng.normal(0, noise, size=(n, 2))
    return X, (corners[:, 0] ^ corners[:, 1]).astype(np.int64)


def two_moons(n=200, seed=0, noise=0.1):
    """Two interleaving half circles; X (n, 2), y (n,) in {0, 1}."""
    n, rng = _rng_and_n(n, seed, noise)
    y = np.arange(n) % 2
    angle = rng.uniform(0, np.pi, size=n)
    X = np.column_stack([np.cos(angle), np.sin(angle)])
    X[y == 1] = np.column_stack([1 - np.cos(angle[y == 1]), 0.5 - np.sin(angle[y == 1])])
    X += rng.normal(0, noise, size=X.shape)
    return X, y


def circles(n=200, seed=0, noise=0.05, factor=0.5):
    """An inner circle (y = 1, radius ``factor``) inside an outer one (y = 0, radius 1)."""
    n, rng = _rng_and_n(n, seed, noise)
    check_number(factor, "factor", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    y = np.arange(n) % 2
    angle = rng.uniform(0, 2 * np.pi, size=n)
    radius = np.where(y == 1, factor, 1.0)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + rng.normal(0, noise, size=X.shape), y


def spirals(n=300, seed=0, noise=0.2, classes=3):
    """``classes`` interleaved spiral arms; X (n, 2), y (n,) in {0, ..., classes - 1}."""
    n, rng = _rng_and_n(n, seed, noise)
    classes = check_int(classes, "classes", low=2)
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, size=n)
    angle = 4.0 * r + 2 * np.pi * y / classes + rng.normal(0, noise, size=n)
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)]), y


def train_val_split(X, y, val_fraction=0.2, seed=0):
    """Shuffle the rows of (X, y) together and split them into training and validation.

    Returns ``X_train, X_val, y_train, y_val``; the validation part holds
    round(val_fraction * m) rows (at least one of each part is kept).
    """
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    check_number(val_fraction, "val_fraction", low=0.0, high=1.0,
                 low_inclusive=False, high_inclusive=False)
    m = X.shape[0]
    if m < 2:
        raise ValueError("need at least 2 examples to split")
    n_val = min(max(1, round(val_fraction * m)), m - 1)
    order = np.random.default_rng(seed).permutation(m)
    val, train = order[:n_val], order[n_val:]
    return X[train], X[val], y[train], y[val]
