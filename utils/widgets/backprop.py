"""Chapter 3: the backprop playground (train a small network, see its boundary)."""

from __future__ import annotations

import numpy as np

from ..data import circles, two_moons, xor_blobs
from ..mlp import forward
from ..training import train
from .base import Widget, show

__all__ = ["BackpropPlayground", "backprop_playground", "DATASETS"]

DATASETS = {"two moons": two_moons, "circles": circles, "xor blobs": xor_blobs}


class BackpropPlayground(Widget):
    """Train the 2-layer sigmoid network (binary cross-entropy, full-batch gradient
    descent with ``utils.training.train``) and see its loss curve and decision boundary.
    """

    figsize = (8.0, 3.2)
    dpi = 72
    subplots = (1, 2)

    def __init__(self, dataset="two moons", hidden=4, lr=1.0, epochs=300, n=160, seed=0):
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}")
        self.initial = {"dataset": dataset, "hidden": hidden, "lr": lr}
        self.epochs, self.n, self.seed = epochs, n, seed
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "dataset": w.Dropdown(options=list(DATASETS), value=self.initial["dataset"],
                                  description="data"),
            "hidden": w.IntSlider(value=self.initial["hidden"], min=1, max=16,
                                  description="hidden units"),
            "lr": w.FloatLogSlider(value=self.initial["lr"], base=10, min=-2, max=1.3,
                                   step=0.05, description="learning rate", readout_format=".3g"),
        }

    def redraw(self) -> None:
        X, y = DATASETS[self.controls["dataset"].value](self.n, seed=self.seed)
        hidden, lr = self.controls["hidden"].value, self.controls["lr"].value
        acts = ["sigmoid", "sigmoid"]
        self.params, self.losses = train(X, y, [2, hidden, 1], acts, "bce", learning_rate=lr,
                                         epochs=self.epochs, seed=self.seed)
        predict = forward(X, self.params, acts)[0][:, 0]
        self.accuracy = float(np.mean((predict > 0.5) == (y == 1)))
        ax_loss, ax_data = self.axes
        ax_loss.clear()
        ax_loss.plot(self.losses)
        ax_loss.set_xlabel("gradient-descent step")
        ax_loss.set_ylabel("binary cross-entropy")
        ax_data.clear()
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 60), np.linspace(lo[1], hi[1], 60))
        grid = np.column_stack([g0.ravel(), g1.ravel()])
        p = forward(grid, self.params, acts)[0].reshape(g0.shape)
        ax_data.contourf(g0, g1, p, levels=np.linspace(0, 1, 6), cmap="RdBu", alpha=0.4)
        ax_data.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=1)
        ax_data.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=14)
        ax_data.set_title(f"{hidden} hidden units, learning rate {lr:.3g}")
        self.summary.value = (f"final loss <b>{self.losses[-1]:.3f}</b>, training accuracy "
                              f"<b>{100 * self.accuracy:.0f}%</b> after {self.epochs} steps")


def backprop_playground(dataset="two moons"):
    """Show the backprop playground (returns the widget; ``None`` under nbgrader)."""
    return show(BackpropPlayground, dataset)
