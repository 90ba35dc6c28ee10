"""Chapter 4: the learning-rate explorer (2-D surfaces) and the optimizer race."""

from __future__ import annotations

import numpy as np

from ..data import two_moons
from ..optim import OPTIMIZERS, SURFACES, optimize_2d
from ..training import train
from .base import Widget, show

__all__ = ["LearningRateExplorer", "learning_rate_explorer", "explorer_verdict", "OptimizerRace",
           "optimizer_race"]


class LearningRateExplorer(Widget):
    """An optimiser's path over a 2-D loss surface (``utils.optim.optimize_2d``).

    The verdict under the figure follows the loss (``explorer_verdict``): a run whose loss
    blows up is stopped and reported as diverged, with the last finite point drawn; a run
    that runs off downhill (the saddle's loss falls without bound) is escaping, not
    diverging.
    """

    figsize = (8.4, 3.3)
    dpi = 72
    subplots = (1, 2)

    def __init__(self, surface="ravine", optimizer="gd", lr=0.1, steps=60):
        self.initial = {"surface": surface, "optimizer": optimizer, "lr": lr}
        self.steps = steps
        self._drawn = None
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "surface": w.Dropdown(options=list(SURFACES), value=self.initial["surface"],
                                  description="surface"),
            "optimizer": w.Dropdown(options=list(OPTIMIZERS), value=self.initial["optimizer"],
                                    description="optimizer"),
            "lr": w.FloatLogSlider(value=self.initial["lr"], base=10, min=-3, max=0.5, step=0.05,
                                   description="learning rate", readout_format=".3g"),
            "beta1": w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                   description="beta / beta1"),
            "beta2": w.FloatSlider(value=0.999, min=0.9, max=0.9999, step=0.0001,
                                   description="beta2", readout_format=".4f"),
        }

    def layout(self, w):
        c = self.controls
        return w.VBox([w.HBox([c["surface"], c["optimizer"]]), w.HBox([c["lr"]]),
                       w.HBox([c["beta1"], c["beta2"]]), self.image, self.summary])

    def _draw_surface(self, name: str) -> None:
        surf = SURFACES[name]
        x0, x1, y0, y1 = surf.box
        gx, gy = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
        gz = surf.f(np.stack([gx, gy], axis=-1))
        ax_path, ax_loss = self.axes
        ax_path.clear()
        levels = np.unique(np.quantile(gz, np.linspace(0.0, 1.0, 20) ** 2))
        ax_path.contour(gx, gy, gz, levels=levels, cmap="viridis", linewidths=0.7)
        ax_path.plot(*surf.start, "ks", ms=5)
        if surf.minimum is not None:
            ax_path.plot(*surf.minimum, "*", color="gold", ms=12, mec="k")
        self._path_line = self.animate(ax_path.plot([], [], "o-", color="C3", ms=2.5, lw=1)[0])
        ax_path.set_xlim(x0, x1)
        ax_path.set_ylim(y0, y1)
        ax_path.set_title(surf.name, fontsize=9)
        ax_loss.clear()
        self._loss_line = self.animate(ax_loss.plot([], [])[0])
        start = float(np.abs(surf.f(np.asarray(surf.start, dtype=float))))
        self._loss_top = 10 ** np.ceil(np.log10(max(start, 1e-6)) + 1)
        ax_loss.set_xlim(0, self.steps)
        ax_loss.set_yscale("log")
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("|loss|")
        self._drawn = name
        self.static_version += 1

    def redraw(self) -> None:
        c = self.state()
        # only the betas the chosen optimizer has are live (greyed out otherwise)
        self.controls["beta1"].disabled = c["optimizer"] in ("gd", "adagrad")
        self.controls["beta2"].disabled = c["optimizer"] not in ("adam", "adamw")
        beta = {"beta": c["beta1"], "beta1": c["beta1"], "beta2": c["beta2"]}
        self.result = optimize_2d(c["surface"], c["optimizer"], c["lr"], self.steps,
                                  limit=1e3, **beta)
        path = self.result["path"]
        if self._drawn != c["surface"]:  # contours only change with the surface
            self._draw_surface(c["surface"])
        self._path_line.set_data(path[:, 0], path[:, 1])
        self._loss_line.set_data(np.arange(len(path)),
                                 np.maximum(np.abs(self.result["loss"]), 1e-12))
        # fixed axes (eight decades below the start, ten times above it) unless a run
        # climbs higher: then changing a control only redraws the two curves
        loss = np.abs(np.asarray(self.result["loss"], dtype=float))
        top = float(np.max(loss[np.isfinite(loss)], initial=0.0))
        top = self._loss_top if top <= self._loss_top else 10 ** np.ceil(np.log10(top))
        self.axes[1].set_ylim(self._loss_top * 1e-9, top)
        status = explorer_verdict(self.result, SURFACES[c["surface"]])
        self.summary.value = f"{c['optimizer']}, learning rate {c['lr']:.3g}: {status}"


def explorer_verdict(result: dict, surface) -> str:
    """What the explorer says under the figure about a run of ``optimize_2d`` on
    ``surface`` (a ``utils.optim.Surface``): diverged only if the loss grew. On a surface
    unbounded below (no minimum: the saddle), a point that has left the plotted box or the
    run's limit with the loss below its start is escaping downhill, not diverging."""
    path, loss = result["path"], np.asarray(result["loss"], dtype=float)
    steps, (x, y) = len(path) - 1, path[-1]
    if result["diverged"]:
        return (f"<b style='color:#b00'>diverged</b> after {steps} step{'s' * (steps != 1)}: "
                "the loss grew, "
                "the learning rate is too large for this surface")
    x0, x1, y0, y1 = surface.box
    inside = x0 <= x <= x1 and y0 <= y <= y1
    where = f"at ({x:.3g}, {y:.3g}), loss {loss[-1]:.3g}"
    if surface.minimum is None and (result.get("escaped") or not inside) and loss[-1] < loss[0]:
        return (f"<b>escaping downhill</b>: after {steps} steps {where} (it started at "
                f"{loss[0]:.3g}), outside the plotted region. This surface has no minimum, "
                "its loss falls without bound: leaving downhill is not divergence")
    return f"after {steps} steps {where}" + ("" if inside else " (outside the plotted region)")


NEEDS = "the optimizer exercises (1 to 5) to drive this widget"


def learning_rate_explorer(surface="ravine"):
    """Show the learning-rate explorer (returns the widget; ``None`` under nbgrader). In a
    student edition it steps with the student's optimizers (``utils.use``)."""
    return show(LearningRateExplorer, surface, needs=NEEDS)


class OptimizerRace(Widget):
    """The same network on two moons trained by several optimisers, same start and
    same mini-batches (``utils.training.train``): loss curves side by side. The second
    feature can be scaled up, which turns the loss into a ravine (chapter 4, section 7).
    The weights start as ``method`` draws them (``utils.mlp.init_parameters``): uniform in
    [-0.5, 0.5] by default, as chapter 4 does before chapter 6's Xavier and He.
    """

    figsize = (6.0, 3.2)
    dpi = 72

    SCALES = {"as generated": 1.0, "2nd feature x10": 10.0}

    def __init__(self, optimizers=("gd", "momentum", "rmsprop", "adam"), lr=0.01, epochs=30,
                 n=160, seed=0, layer_dims=(2, 8, 1), activations=("tanh", "sigmoid"),
                 mini_batch_size=32, scale=10.0, method="uniform"):
        self.initial = {"optimizers": tuple(optimizers), "lr": lr, "scale": scale}
        self.epochs, self.seed = epochs, seed
        self.layer_dims, self.activations = list(layer_dims), list(activations)
        self.mini_batch_size, self.method = mini_batch_size, method
        self.X, self.y = two_moons(n, seed=seed)
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "optimizers": w.SelectMultiple(options=list(OPTIMIZERS),
                                           value=self.initial["optimizers"],
                                           description="optimizers", rows=6),
            "lr": w.FloatLogSlider(value=self.initial["lr"], base=10, min=-3, max=0.5, step=0.05,
                                   description="learning rate", readout_format=".3g"),
            "scale": w.Dropdown(options=self.SCALES, value=self.initial["scale"],
                                description="inputs"),
        }

    def history(self, name: str, lr: float, scale: float):
        """The loss per epoch of one optimizer (cached: only new settings are trained)."""
        key = (name, lr, scale)
        if key not in self._histories:
            X = self.X * np.array([1.0, scale])
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                _, self._histories[key] = train(
                    X, self.y, self.layer_dims, self.activations, "bce", name, lr, self.epochs,
                    mini_batch_size=self.mini_batch_size, seed=self.seed, method=self.method)
        return self._histories[key]

    def redraw(self) -> None:
        lr, scale = self.controls["lr"].value, self.controls["scale"].value
        ax = self.axes
        if not hasattr(self, "_lines"):  # one line per optimizer, made once
            self._histories: dict = {}
            self._lines = {name: self.animate(ax.plot([], [], color=f"C{i}", label=name)[0])
                           for i, name in enumerate(OPTIMIZERS)}
            ax.set_xlabel(f"epoch (mini-batches of {self.mini_batch_size})")
            ax.set_ylabel("binary cross-entropy")
            ax.set_xlim(0, self.epochs)
            self.animate(ax.title)
            self._legend = None
        self.histories = {name: self.history(name, lr, scale)
                          for name in self.controls["optimizers"].value}
        epochs = np.arange(self.epochs + 1)
        for name, line in self._lines.items():
            line.set_visible(name in self.histories)
            if name in self.histories:
                line.set_data(epochs, self.histories[name])
        # the loss axis stays put (0 to 1) unless a run climbs above it
        worst = max((np.nanmax(np.where(np.isfinite(h), h, np.nan), initial=0.0)
                     for h in self.histories.values()), default=0.0)
        ax.set_ylim(0, 1.0 if worst <= 1.0 else float(np.ceil(min(worst, 1e3))))
        ax.set_title(f"learning rate {lr:.3g}")
        if self._legend is not None:
            self._legend.remove()
        self._legend = (self.animate(ax.legend(handles=[self._lines[n] for n in self.histories]))
                        if self.histories else None)
        finals = ", ".join(f"{k} {v[-1]:.3f}" for k, v in self.histories.items())
        self.summary.value = f"loss after {self.epochs} epochs: {finals}" if finals else ""


def optimizer_race():
    """Show the optimizer race (returns the widget; ``None`` under nbgrader). In a student
    edition it trains with the student's optimizers and mini-batches (``utils.use``)."""
    return show(OptimizerRace, needs=NEEDS)
