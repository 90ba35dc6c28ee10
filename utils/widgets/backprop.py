"""Chapter 3: the backprop playground (train a small network, see its boundary)."""

from __future__ import annotations

import numpy as np

from ..data import circles, two_moons, xor_blobs
from ..mlp import forward
from ..training import train
from .base import Widget, show

__all__ = ["BackpropPlayground", "backprop_playground", "course_train", "DATASETS"]

DATASETS = {"two moons": two_moons, "circles": circles, "xor blobs": xor_blobs}


def course_train(X, y, hidden, learning_rate, epochs, seed=0):
    """The course's training of the 2-layer sigmoid network: ``utils.training.train`` with
    binary cross-entropy and full-batch gradient descent. Returns ``(parameters, losses)``,
    ``losses`` the loss before training and after every step."""
    return train(X, y, [X.shape[1], hidden, 1], ["sigmoid", "sigmoid"], "bce",
                 learning_rate=learning_rate, epochs=epochs, seed=seed)


class BackpropPlayground(Widget):
    """Train the 2-layer sigmoid network (binary cross-entropy, full-batch gradient
    descent) and see its loss curve and decision boundary.

    ``train(X, y, hidden, learning_rate, epochs, seed)`` returns ``(parameters, losses)``
    (``losses``: before training, then after every step): chapter 3 passes the student's
    own, built on their forward and backward passes; the default is ``course_train``.
    """

    figsize = (8.0, 3.2)
    dpi = 72
    subplots = (1, 2)

    def __init__(self, dataset="two moons", hidden=4, lr=1.0, epochs=300, n=160, seed=0,
                 train=course_train):
        if not callable(train):
            raise ValueError(f"train should be a function (X, y, hidden, learning_rate, epochs, "
                             f"seed) -> (parameters, losses), got {type(train).__name__}")
        self.train = train
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {list(DATASETS)}")
        self.initial = {"dataset": dataset, "hidden": hidden, "lr": lr}
        self.epochs, self.n, self.seed = epochs, n, seed
        self._drawn = self._field = self._points = self._boundary = None
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

    def _draw_dataset(self, X, y) -> None:
        """The axes, the data points and the artists that later only change their data."""
        ax_loss, ax_data = self.axes
        if not hasattr(self, "_loss_line"):
            self._loss_line = self.animate(ax_loss.plot([], [])[0])
            ax_loss.set_xlim(0, self.epochs)
            ax_loss.set_xlabel("gradient-descent step")
            ax_loss.set_ylabel("binary cross-entropy")
            self.animate(ax_data.title)
        for artist in (self._field, self._points):
            if artist is not None:
                artist.remove()
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        self._g0, self._g1 = np.meshgrid(np.linspace(lo[0], hi[0], 60),
                                         np.linspace(lo[1], hi[1], 60))
        self._grid = np.column_stack([self._g0.ravel(), self._g1.ravel()])
        self._field = self.animate(ax_data.pcolormesh(
            self._g0, self._g1, np.zeros(self._g0.shape), cmap="RdBu", vmin=0, vmax=1,
            alpha=0.4, shading="nearest"))
        self._points = self.animate(ax_data.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu",
                                                    edgecolors="k", s=14, zorder=3))
        ax_data.set_xlim(lo[0], hi[0])
        ax_data.set_ylim(lo[1], hi[1])
        self._drawn = self.controls["dataset"].value

    def redraw(self) -> None:
        X, y = DATASETS[self.controls["dataset"].value](self.n, seed=self.seed)
        hidden, lr = self.controls["hidden"].value, self.controls["lr"].value
        acts = ["sigmoid", "sigmoid"]
        self.params, losses = self.train(X, y, hidden, lr, self.epochs, self.seed)
        self.losses = np.asarray(losses, dtype=float)
        predict = forward(X, self.params, acts)[0][:, 0]
        self.accuracy = float(np.mean((predict > 0.5) == (y == 1)))
        ax_loss, ax_data = self.axes
        if self._drawn != self.controls["dataset"].value:  # axes and points: per dataset
            self._draw_dataset(X, y)
        self._loss_line.set_data(np.arange(len(self.losses)), self.losses)
        highest = max(float(np.max(self.losses)), 1.0)
        ax_loss.set_ylim(0, np.ceil(2 * highest) / 2)  # steps of 0.5: the axes rarely move
        p = forward(self._grid, self.params, acts)[0].reshape(self._g0.shape)
        self._field.set_array(p)
        if self._boundary is not None:
            self._boundary.remove()
        self._boundary = self.animate(ax_data.contour(self._g0, self._g1, p, levels=[0.5],
                                                      colors="k", linewidths=1))
        ax_data.set_title(f"{hidden} hidden units, learning rate {lr:.3g}")
        self.summary.value = (f"final loss <b>{self.losses[-1]:.3f}</b>, training accuracy "
                              f"<b>{100 * self.accuracy:.0f}%</b> after {self.epochs} steps")


def backprop_playground(dataset="two moons", train=course_train):
    """Show the backprop playground (returns the widget; ``None`` under nbgrader).

    ``train``: the function that trains the network (see ``BackpropPlayground``), for
    example the one written in chapter 3 on the student's own backward pass."""
    return show(BackpropPlayground, dataset, train=train,
                needs="Exercises 2 and 3 (the forward and backward passes) to drive this explorer")
