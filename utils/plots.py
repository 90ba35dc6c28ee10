"""Plots used across the chapters (matplotlib only; each returns its Figure)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._checks import as_float_array, check_int
from .activations import ACTIVATIONS, get_activation

__all__ = ["activation_curve", "plot_activations", "plot_decision_boundary", "plot_gate",
           "plot_loss_overlay", "plot_paths_on_surface"]


def activation_curve(name: str, z=None, alpha: float = 0.01, functions: dict | None = None):
    """Values and derivatives of an activation on a grid: returns ``(z, f(z), f'(z))``.

    This is the computation behind the activation explorer widget. ``alpha`` is used by
    ``leaky_relu`` only. ``functions``: {name: (f, df)} to use instead of the course's (a
    student's own, from chapter 1's exercises).
    """
    z = np.linspace(-6.0, 6.0, 401) if z is None else as_float_array(z, "z", ndim=1)
    f, df = (functions or {}).get(name) or get_activation(name)
    if name == "leaky_relu":
        return z, f(z, alpha), df(z, alpha)
    return z, np.asarray(f(z)), np.asarray(df(z))


def plot_activations(names=ACTIVATIONS, z=None, alpha=0.01, axes=None, functions=None):
    """Plot each activation (top row) above its derivative (bottom row); ``functions``:
    {name: (f, df)} in place of the course's (``activation_curve``)."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("give at least one activation name")
    if axes is None:
        fig, axes = plt.subplots(2, len(names), figsize=(2.6 * len(names), 4.2),
                                 sharex=True, squeeze=False)
    else:
        axes = np.asarray(axes).reshape(2, len(names))
        fig = axes[0, 0].figure
    for col, name in enumerate(names):
        zz, f, df = activation_curve(name, z, alpha, functions)
        axes[0, col].plot(zz, f, color="C0")
        axes[0, col].set_title(name)
        axes[1, col].plot(zz, df, color="C3")
        for ax in axes[:, col]:
            ax.axhline(0, color="0.8", lw=0.8)
            ax.axvline(0, color="0.8", lw=0.8)
    axes[0, 0].set_ylabel("f(z)")
    axes[1, 0].set_ylabel("f'(z)")
    for ax in axes[1]:
        ax.set_xlabel("z")
    fig.tight_layout()
    return fig


def plot_decision_boundary(predict, X, y, ax=None, resolution=200, title=None, padding=0.5):
    """Colour the plane by ``predict`` (a function of an (N, 2) array) and scatter (X, y).

    ``predict`` may return class labels or scores; the regions are filled by its value.
    """
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"a decision boundary is drawn for 2 features, X has {X.shape[1]}")
    resolution = check_int(resolution, "resolution", low=10)
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4))
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    values = np.asarray(predict(grid), dtype=np.float64).reshape(g0.shape)
    ax.contourf(g0, g1, values, levels=20 if np.unique(values).size > 3 else 2,
                cmap="RdBu", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=40)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax.figure


def plot_gate(X, t, w=None, b=None, ax=None, title=None):
    """Scatter a 2-input gate's truth table and, if given, the line w . x + b = 0 with the
    arrow of w, which points to the side where w . x + b > 0 (the unit fires)."""
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"plot_gate draws 2-input gates, X has {X.shape[1]} columns")
    t = np.asarray(t).reshape(-1)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    positive = t > 0
    ax.scatter(*X[positive].T, marker="o", s=120, c="C0", label="target 1", zorder=3)
    ax.scatter(*X[~positive].T, marker="x", s=120, c="C3", label="target 0/-1", zorder=3)
    lo, hi = X.min() - 0.5, X.max() + 0.5
    if w is not None:
        w = as_float_array(w, "w", ndim=1)
        b = float(b)
        xs = np.linspace(lo, hi, 2)
        norm2 = float(w @ w)
        if abs(w[1]) > 1e-12:
            ax.plot(xs, -(w[0] * xs + b) / w[1], "k--", lw=1.5, label="w.x + b = 0")
        elif abs(w[0]) > 1e-12:
            ax.axvline(-b / w[0], color="k", ls="--", lw=1.5, label="w.x + b = 0")
        if norm2 > 1e-24:  # the arrow of w, from the line's point nearest the centre
            centre = np.full(2, (lo + hi) / 2)
            foot = centre - (w @ centre + b) / norm2 * w
            tip = foot + 0.35 * (hi - lo) / 2 * w / np.sqrt(norm2)
            ax.annotate("", xy=tip, xytext=foot, zorder=4,
                        arrowprops={"arrowstyle": "->", "color": "k", "lw": 1.5})
        else:
            ax.text((lo + hi) / 2, hi - 0.15 * (hi - lo), "w = 0: no line", ha="center",
                    fontsize=8, color="0.3")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax.figure


def plot_loss_overlay(histories: dict, title: str | None = None):
    """Two or more loss histories of the same run, overlaid, and how far apart they are.

    ``histories`` maps a label to a loss history (one value per epoch); the first one is
    the reference. Left: the curves (the first solid, the others dashed on top of it).
    Right: |history - reference| per epoch on a log scale; exact zeros are drawn at 1e-18.
    """
    if len(histories) < 2:
        raise ValueError("give at least two histories to overlay (label -> losses)")
    curves = {label: as_float_array(h, f"history {label!r}", ndim=1)
              for label, h in histories.items()}
    (ref_label, ref), *others = curves.items()
    for label, h in others:
        if h.shape != ref.shape:
            raise ValueError(f"history {label!r} has {h.size} values, {ref_label!r} {ref.size}")
    fig, (ax_loss, ax_diff) = plt.subplots(1, 2, figsize=(10, 3.6))
    epochs = np.arange(ref.size)
    ax_loss.plot(epochs, ref, lw=4, alpha=0.45, label=ref_label)
    for i, (label, h) in enumerate(others, start=1):
        ax_loss.plot(epochs, h, "--", lw=1.5, color=f"C{i}", label=label)
        gap = np.maximum(np.abs(h - ref), 1e-18)
        ax_diff.semilogy(epochs, gap, color=f"C{i}", lw=1,
                         label=f"|{label} - {ref_label}| (max {np.abs(h - ref).max():.1e})")
    ax_loss.set(xlabel="epoch", ylabel="loss", title=title or "the same run, twice")
    ax_loss.legend()
    ax_diff.set(xlabel="epoch", ylabel="absolute difference", ylim=(1e-18, 1.0),
                title="how far apart (float64 has about 16 digits)")
    ax_diff.axhline(np.finfo(np.float64).eps, color="k", lw=0.8, ls=":")
    ax_diff.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_paths_on_surface(surface: str, paths: dict, ax=None, title: str | None = None):
    """Paths of optimisers (label -> array (k, 2)) over the contours of one of
    ``utils.optim``'s 2-D surfaces; paths drawn later are dashed, on top of the first."""
    from .optim import SURFACES

    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}")
    surf = SURFACES[surface]
    x0, x1, y0, y1 = surf.box
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    gz = surf.f(np.stack([gx, gy], axis=-1))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    levels = np.unique(np.quantile(gz, np.linspace(0.0, 1.0, 20) ** 2))
    ax.contour(gx, gy, gz, levels=levels, cmap="viridis", linewidths=0.7)
    for i, (label, path) in enumerate(paths.items()):
        path = as_float_array(path, f"path {label!r}", ndim=2)
        style = {"lw": 3, "alpha": 0.4} if i == 0 else {"ls": "--", "lw": 1.2}
        ax.plot(path[:, 0], path[:, 1], marker="." if i == 0 else None, label=label, **style)
    ax.plot(*surf.start, "ks", ms=5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$w_1$", ylabel="$w_2$",
           title=title or surf.name)
    ax.legend(fontsize=8)
    return ax.figure
