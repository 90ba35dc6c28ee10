"""Chapter 5: the regularization playground and the dropout explorer."""

from __future__ import annotations

import numpy as np

from ..data import two_moons
from ..mlp import LOSSES
from ..regularization import EarlyStopping, dropout_forward
from ..training import predict, train
from .base import Widget, show

__all__ = ["RegularizationPlayground", "regularization_playground", "DropoutExplorer",
           "dropout_explorer"]

LAMBDAS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
DROP_RATES = (0.0, 0.1, 0.2, 0.3, 0.5)


class RegularizationPlayground(Widget):
    """A 2-H-1 network on few, noisy two-moons points: L2 strength, dropout rate, batch
    norm and early stopping as controls; decision boundary and train/validation loss.

    The defaults are chapter 5's section 1: ``two_moons(400, seed=3, noise=0.35)``, its first
    80 points for training and the other 320 for validation, 64 hidden units, Adam at
    learning rate 0.05 (150 epochs instead of 300, to answer quickly). Without early stopping
    the model shown is the last epoch's; with it, the best epoch's (patience 15).

    Runs are cached per setting, so returning to a setting costs only the drawing. The
    weights start as ``method`` draws them: uniform in [-0.5, 0.5] by default (chapter 5
    comes before chapter 6's Xavier and He). In a student edition the penalties, dropout,
    batch norm and early stopping are the student's own (``utils.use``).
    """

    figsize = (8.6, 3.3)
    dpi = 72
    subplots = (1, 2)
    ACTS = ["tanh", "sigmoid"]

    def __init__(self, hidden=64, epochs=150, n_train=80, n_val=320, seed=3, noise=0.35,
                 method="uniform", learning_rate=0.05):
        X, y = two_moons(n_train + n_val, seed=seed, noise=noise)
        self.X_train, self.y_train = X[:n_train], y[:n_train]
        self.X_val, self.y_val = X[n_train:], y[n_train:]
        self.hidden, self.epochs, self.method = hidden, epochs, method
        self.learning_rate = learning_rate
        self.runs: dict = {}
        lo, hi = X.min(axis=0) - 0.4, X.max(axis=0) + 0.4
        self.grid = np.meshgrid(np.linspace(lo[0], hi[0], 50), np.linspace(lo[1], hi[1], 50))
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "l2": w.SelectionSlider(options=LAMBDAS, value=0.0, description="L2 lambda"),
            "dropout": w.SelectionSlider(options=DROP_RATES, value=0.0, description="dropout p"),
            "batchnorm": w.Checkbox(value=False, description="batch norm"),
            "early": w.Checkbox(value=False, description="early stopping (patience 15)"),
        }

    def layout(self, w):
        c = self.controls
        return w.VBox([w.HBox([c["l2"], c["dropout"]]), w.HBox([c["batchnorm"], c["early"]]),
                       self.image, self.summary])

    def run(self, l2, dropout, batchnorm, early) -> dict:
        """Train (or fetch from the cache) for one setting of the controls."""
        key = (l2, dropout, batchnorm, early)
        if key not in self.runs:
            # without early stopping it only records the validation loss: the last epoch's
            # weights are shown, not the best one's
            watch = EarlyStopping(self.X_val, self.y_val, LOSSES["bce"][0],
                                  patience=15 if early else self.epochs + 1, restore_best=early)
            params, history = train(self.X_train, self.y_train, [2, self.hidden, 1], self.ACTS,
                                    "bce", "adam", self.learning_rate, self.epochs, seed=0, l2=l2,
                                    dropout=dropout, batchnorm=batchnorm, callbacks=[watch],
                                    method=self.method)
            self.runs[key] = {"params": params, "train": history[1:], "val": watch.val_losses,
                              "best": watch.best_epoch, "stopped": watch.stop_epoch}
        return self.runs[key]

    def _first_draw(self) -> None:
        """Artists made once; later redraws only change their data (much cheaper)."""
        ax_data, ax_loss = self.axes
        g0, g1 = self.grid
        extent = (g0.min(), g0.max(), g1.min(), g1.max())
        self._field = self.animate(ax_data.pcolormesh(g0, g1, np.zeros(g0.shape), cmap="RdBu",
                                                      vmin=0, vmax=1, alpha=0.35,
                                                      shading="nearest"))
        ax_data.set_xlim(extent[:2])
        ax_data.set_ylim(extent[2:])
        self._boundary = None
        self.animate(ax_data.scatter(*self.X_train.T, c=self.y_train, cmap="RdBu",
                                     edgecolors="k", s=18, zorder=3))  # over the field
        ax_data.set_title("training points and the decision boundary", fontsize=9)
        self._train_line = self.animate(ax_loss.plot([], [], label="training loss")[0])
        self._val_line = self.animate(ax_loss.plot([], [], label="validation loss")[0])
        self._best_line = self.animate(ax_loss.axvline(1, color="0.5", ls=":", lw=1))
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("binary cross-entropy")
        ax_loss.set_xlim(0, self.epochs + 1)
        ax_loss.legend(fontsize=8, loc="upper right")

    def redraw(self) -> None:
        c = self.state()
        run = self.run(c["l2"], c["dropout"], c["batchnorm"], c["early"])
        if not hasattr(self, "_field"):
            self._first_draw()
        ax_data, ax_loss = self.axes
        g0, g1 = self.grid
        p = predict(np.column_stack([g0.ravel(), g1.ravel()]), run["params"], self.ACTS)
        p = p.reshape(g0.shape)
        self._field.set_array(p)
        if self._boundary is not None:
            self._boundary.remove()
        self._boundary = self.animate(ax_data.contour(g0, g1, p, levels=[0.5], colors="k",
                                                      linewidths=1))
        epochs = np.arange(1, len(run["train"]) + 1)
        self._train_line.set_data(epochs, run["train"])
        self._val_line.set_data(epochs, run["val"])
        self._best_line.set_xdata([run["best"] + 1, run["best"] + 1])
        # the loss axis moves in steps of 0.5 only, so most changes redraw just the curves
        highest = max(max(run["val"]), max(run["train"]), 1.0)
        ax_loss.set_ylim(0, np.ceil(2 * highest) / 2)
        errors = {}
        for part, X, y in (("train", self.X_train, self.y_train), ("val", self.X_val, self.y_val)):
            errors[part] = float(np.mean((predict(X, run["params"], self.ACTS)[:, 0] > 0.5) != y))
        stop = (f"stopped after epoch {run['stopped'] + 1}, weights of epoch {run['best'] + 1}"
                if run["stopped"] is not None else f"{len(run['train'])} epochs")
        self.summary.value = (f"training error <b>{100 * errors['train']:.0f}%</b>, validation "
                              f"error <b>{100 * errors['val']:.0f}%</b> ({stop})")
        self.errors = errors


def regularization_playground():
    """Show the regularization playground (returns the widget; ``None`` under nbgrader)."""
    return show(RegularizationPlayground,
                needs="the exercises of sections 2 to 7 to drive this playground")


class DropoutExplorer(Widget):
    """One layer's activations, the dropout mask for a chosen p and seed, and the output:
    in training mode the kept units are scaled by 1 / (1 - p), at test time nothing."""

    figsize = (8.0, 2.6)
    subplots = (1, 3)

    def __init__(self, units=40, seed=0):
        self.A = np.abs(np.random.default_rng(seed).normal(1.0, 0.5, size=(1, units)))
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "p": w.FloatSlider(value=0.5, min=0.0, max=0.9, step=0.05, description="drop p"),
            "seed": w.IntSlider(value=0, min=0, max=20, description="mask seed"),
            "training": w.ToggleButtons(options={"training": True, "test": False}, value=True,
                                        description="mode"),
        }

    def _draw_axes(self) -> None:
        """The three bar charts, once; later updates only change the bars' heights."""
        x = np.arange(self.A.shape[1])
        self._bars = []
        for ax, title, color in zip(self.axes, ("activations A", "mask (1 = kept)", "output"),
                                    ("C0", "C2", "C0"), strict=True):
            bars = ax.bar(x, np.zeros_like(x, dtype=float), color=color)
            for bar in bars:
                self.animate(bar)
            self._bars.append(bars)
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
        self.axes[1].set_ylim(0, 1.1)

    def redraw(self) -> None:
        c = self.state()
        out, cache = dropout_forward(self.A, c["p"], c["seed"], c["training"])
        self.out, self.mask = out, cache["mask"]
        if not hasattr(self, "_bars"):
            self._draw_axes()
        for bars, values in zip(self._bars, (self.A, cache["mask"].astype(float), out),
                                strict=True):
            for bar, height in zip(bars, values[0], strict=True):
                bar.set_height(height)
        # the axes depend on p only (the largest output 1 / (1 - p) can give), not on the
        # seed: a new mask redraws the bars alone
        top = self.A.max() * (1 / (1 - c["p"]) if c["training"] else 1.0) * 1.05
        self.axes[0].set_ylim(0, top)
        self.axes[2].set_ylim(0, top)
        kept = cache["mask"].mean()
        means = (f"mean activation <b>{self.A.mean():.3f}</b>, mean output "
                 f"<b>{out.mean():.3f}</b>")
        if c["training"]:
            self.summary.value = (f"kept {100 * kept:.0f}% of the units (expected "
                                  f"{100 * (1 - c['p']):.0f}%); {means} (kept units scaled by "
                                  f"1/(1 - p) = {1 / (1 - c['p']):.2f})")
        else:
            self.summary.value = ("test time: every unit is kept and nothing is scaled; "
                                  + means)


def dropout_explorer():
    """Show the dropout explorer (returns the widget; ``None`` under nbgrader)."""
    return show(DropoutExplorer, needs="Exercise 3 (dropout_forward) to drive this widget")
