"""Interactive widgets for the notebooks (ipywidgets + matplotlib).

Every widget is a thin layer over a plain function in ``utils`` that is tested on
its own. Under nbgrader (autograde or validate) widgets render nothing:
``interactive_enabled()`` is the single place that decides.
"""

from __future__ import annotations

import io
import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .activations import ACTIVATIONS
from .data import circles, two_moons, xor_blobs
from .mlp import forward, train, worked_example_run
from .optim import OPTIMIZERS, SURFACES, optimize_2d, train_with_optimizer
from .plots import activation_curve

__all__ = ["interactive_enabled", "quiet_plots_under_grading", "ActivationExplorer",
           "activation_explorer", "saturation_summary", "WorkedExampleStepper",
           "worked_example_stepper", "BackpropPlayground", "backprop_playground",
           "LearningRateExplorer", "learning_rate_explorer", "OptimizerRace", "optimizer_race"]


def interactive_enabled() -> bool:
    """False while nbgrader executes the notebook (``NBGRADER_EXECUTION`` is set)."""
    return not os.environ.get("NBGRADER_EXECUTION")


def quiet_plots_under_grading() -> bool:
    """While nbgrader grades, draw figures off screen (nothing is rendered to PNG).

    Plots teach nothing to the autograder and rendering them is most of a solved
    notebook's run time. Returns True when the switch was made.
    """
    if interactive_enabled():
        return False
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["figure.max_open_warning"] = 0
    return True


def saturation_summary(dfz, tol=0.01) -> dict:
    """How much of a derivative curve is (nearly) flat: the vanishing-gradient hint.

    Returns the largest derivative and the fraction of points where |f'(z)| < tol.
    """
    dfz = np.asarray(dfz, dtype=np.float64)
    if dfz.size == 0:
        raise ValueError("dfz is empty")
    return {"max_grad": float(np.abs(dfz).max()),
            "flat_fraction": float(np.mean(np.abs(dfz) < tol))}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


class _FigureWidget:
    """Shared drawing for the widgets: lay the figure out once, then render it to PNG."""

    figure: Figure
    image: object
    _laid_out = False

    def _render(self) -> None:
        if not self._laid_out:  # the layout barely moves between updates and costs ~0.1 s
            self.figure.tight_layout()
            self._laid_out = True
        self.image.value = _png(self.figure)


class ActivationExplorer(_FigureWidget):
    """Pick an activation, its negative slope and the z range; see f and f'.

    ``controls`` maps names to the ipywidgets controls, ``widget`` is the box to
    display, ``image`` the rendered plot and ``summary`` the text under it.
    """

    def __init__(self, name="sigmoid", alpha=0.1, z_range=(-6.0, 6.0)):
        import ipywidgets as w

        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")
        self.controls = {
            "name": w.Dropdown(options=list(ACTIVATIONS), value=name, description="activation"),
            "alpha": w.FloatSlider(value=alpha, min=0.0, max=0.5, step=0.01,
                                   description="leaky alpha"),
            "z_range": w.FloatRangeSlider(value=z_range, min=-12.0, max=12.0, step=0.5,
                                          description="z range"),
            "derivative": w.Checkbox(value=True, description="show f'(z)"),
        }
        self.image = w.Image(format="png")
        self.summary = w.HTML()
        self.figure = Figure(figsize=(6.4, 3.2), dpi=80)
        self.axes = self.figure.add_subplot()
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.widget = w.VBox([w.HBox([self.controls["name"], self.controls["derivative"]]),
                              w.HBox([self.controls["alpha"], self.controls["z_range"]]),
                              self.image, self.summary])
        self.update()

    def state(self) -> dict:
        """The current control values."""
        return {key: control.value for key, control in self.controls.items()}

    def update(self, change=None) -> None:
        """Recompute the curves for the current controls and redraw."""
        name = self.controls["name"].value
        lo, hi = self.controls["z_range"].value
        self.controls["alpha"].disabled = name != "leaky_relu"
        z, fz, dfz = activation_curve(name, np.linspace(lo, hi, 301), self.controls["alpha"].value)
        self.curves = {"z": z, "f": fz, "df": dfz}
        ax = self.axes
        ax.clear()
        ax.plot(z, fz, color="C0", lw=2, label=f"{name}(z)")
        if self.controls["derivative"].value:
            ax.plot(z, dfz, color="C3", lw=2, ls="--", label=f"{name}'(z)")
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel("z")
        ax.legend(loc="upper left")
        self._render()
        info = saturation_summary(dfz)
        self.summary.value = (
            f"largest derivative: <b>{info['max_grad']:.3g}</b>; "
            f"derivative below 0.01 on <b>{100 * info['flat_fraction']:.0f}%</b> of this range "
            "(where a gradient would all but vanish)")


def activation_explorer(name="sigmoid"):
    """Show the activation explorer (returns the widget; ``None`` under nbgrader)."""
    if not interactive_enabled():
        return None
    return ActivationExplorer(name).widget


class WorkedExampleStepper(_FigureWidget):
    """Step the 4-2-1 worked example through its iterations with a chosen learning rate.

    Left: the error t - O7 per iteration (the current one marked); right: every weight
    and bias against the iteration; below: the full table of the current iteration.
    """

    def __init__(self, iterations=30, lr=0.8):
        import ipywidgets as w

        self.controls = {
            "iteration": w.IntSlider(value=1, min=1, max=iterations, description="iteration"),
            "lr": w.FloatLogSlider(value=lr, base=10, min=-2, max=1.3, step=0.05,
                                   description="learning rate", readout_format=".3g"),
        }
        self.iterations = iterations
        self._runs: dict = {}
        self.image = w.Image(format="png")
        self.table = w.HTML()
        self.figure = Figure(figsize=(9.0, 3.2), dpi=80)
        self.ax_error, self.ax_weights = self.figure.subplots(1, 2)
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values())), self.image, self.table])
        self.update()

    def _run(self, lr: float) -> dict:
        if lr not in self._runs:
            self._runs = {lr: worked_example_run(self.iterations, lr)}
        return self._runs[lr]

    def update(self, change=None) -> None:
        """Redraw for the current learning rate and iteration (runs are cached per rate)."""
        lr = self.controls["lr"].value
        k = self.controls["iteration"].value
        self.run = run = self._run(lr)
        ax = self.ax_error
        ax.clear()
        ax.plot(np.arange(1, self.iterations + 2), run["error"], "o-", ms=3)
        ax.plot([k], [run["error"][k - 1]], "o", color="C3", ms=8)
        ax.set_xlabel("iteration")
        ax.set_ylabel("error t - O7 (before the update)")
        ax.set_title(f"learning rate {lr:.3g}")
        ax = self.ax_weights
        ax.clear()
        ax.plot(np.arange(self.iterations + 1), run["weights"], lw=1)
        ax.axvline(k, color="0.5", ls=":")
        ax.set_xlabel("updates done")
        ax.set_title("the 13 weights and biases")
        self._render()
        self.current = run["steps"][k - 1]
        self.table.value = f"<b>iteration {k}</b>" + self.current._repr_html_()


def worked_example_stepper(iterations=30):
    """Show the worked-example stepper (returns the widget; ``None`` under nbgrader)."""
    if not interactive_enabled():
        return None
    return WorkedExampleStepper(iterations).widget


_DATASETS = {"two moons": two_moons, "circles": circles, "xor blobs": xor_blobs}


class BackpropPlayground(_FigureWidget):
    """Train the 2-layer sigmoid network (binary cross-entropy, full-batch gradient
    descent with ``utils.mlp.train``) and see its loss curve and decision boundary.
    """

    def __init__(self, dataset="two moons", hidden=4, lr=1.0, epochs=300, n=160, seed=0):
        import ipywidgets as w

        if dataset not in _DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose one of {list(_DATASETS)}")
        self.epochs, self.n, self.seed = epochs, n, seed
        self.controls = {
            "dataset": w.Dropdown(options=list(_DATASETS), value=dataset, description="data"),
            "hidden": w.IntSlider(value=hidden, min=1, max=16, description="hidden units"),
            "lr": w.FloatLogSlider(value=lr, base=10, min=-2, max=1.3, step=0.05,
                                   description="learning rate", readout_format=".3g"),
        }
        self.image = w.Image(format="png")
        self.summary = w.HTML()
        self.figure = Figure(figsize=(8.0, 3.2), dpi=72)
        self.ax_loss, self.ax_data = self.figure.subplots(1, 2)
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values())), self.image, self.summary])
        self.update()

    def update(self, change=None) -> None:
        """Retrain from the same seed with the current controls and redraw."""
        X, y = _DATASETS[self.controls["dataset"].value](self.n, seed=self.seed)
        hidden, lr = self.controls["hidden"].value, self.controls["lr"].value
        acts = ["sigmoid", "sigmoid"]
        self.params, self.losses = train(X, y, [2, hidden, 1], acts, "bce", learning_rate=lr,
                                         epochs=self.epochs, seed=self.seed)
        predict = forward(X, self.params, acts)[0][:, 0]
        self.accuracy = float(np.mean((predict > 0.5) == (y == 1)))
        ax = self.ax_loss
        ax.clear()
        ax.plot(self.losses)
        ax.set_xlabel("gradient-descent step")
        ax.set_ylabel("binary cross-entropy")
        ax = self.ax_data
        ax.clear()
        lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 60), np.linspace(lo[1], hi[1], 60))
        grid = np.column_stack([g0.ravel(), g1.ravel()])
        p = forward(grid, self.params, acts)[0].reshape(g0.shape)
        ax.contourf(g0, g1, p, levels=np.linspace(0, 1, 6), cmap="RdBu", alpha=0.4)
        ax.contour(g0, g1, p, levels=[0.5], colors="k", linewidths=1)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu", edgecolors="k", s=14)
        ax.set_title(f"{hidden} hidden units, learning rate {lr:.3g}")
        self._render()
        self.summary.value = (f"final loss <b>{self.losses[-1]:.3f}</b>, training accuracy "
                              f"<b>{100 * self.accuracy:.0f}%</b> after {self.epochs} steps")


def backprop_playground(dataset="two moons"):
    """Show the backprop playground (returns the widget; ``None`` under nbgrader)."""
    if not interactive_enabled():
        return None
    return BackpropPlayground(dataset).widget


class LearningRateExplorer(_FigureWidget):
    """An optimiser's path over a 2-D loss surface (``utils.optim.optimize_2d``).

    A run that leaves the plotting box or overflows is stopped and reported as
    diverged, with the last finite point drawn.
    """

    def __init__(self, surface="ravine", optimizer="gd", lr=0.1, steps=60):
        import ipywidgets as w

        self.steps = steps
        self.controls = {
            "surface": w.Dropdown(options=list(SURFACES), value=surface, description="surface"),
            "optimizer": w.Dropdown(options=list(OPTIMIZERS), value=optimizer,
                                    description="optimizer"),
            "lr": w.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05,
                                   description="learning rate", readout_format=".3g"),
            "beta1": w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                   description="beta / beta1"),
            "beta2": w.FloatSlider(value=0.999, min=0.9, max=0.9999, step=0.0001,
                                   description="beta2", readout_format=".4f"),
        }
        self.image = w.Image(format="png")
        self.summary = w.HTML()
        self.figure = Figure(figsize=(8.4, 3.3), dpi=72)
        self.ax_path, self.ax_loss = self.figure.subplots(1, 2)
        self._drawn = None
        for control in self.controls.values():
            control.observe(self.update, names="value")
        c = self.controls
        self.widget = w.VBox([w.HBox([c["surface"], c["optimizer"]]), w.HBox([c["lr"]]),
                              w.HBox([c["beta1"], c["beta2"]]), self.image, self.summary])
        self.update()

    def _draw_surface(self, name: str) -> None:
        surf = SURFACES[name]
        x0, x1, y0, y1 = surf.box
        gx, gy = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
        gz = surf.f(np.stack([gx, gy], axis=-1))
        ax = self.ax_path
        ax.clear()
        levels = np.unique(np.quantile(gz, np.linspace(0.0, 1.0, 20) ** 2))
        ax.contour(gx, gy, gz, levels=levels, cmap="viridis", linewidths=0.7)
        ax.plot(*surf.start, "ks", ms=5)
        if surf.minimum is not None:
            ax.plot(*surf.minimum, "*", color="gold", ms=12, mec="k")
        (self._path_line,) = ax.plot([], [], "o-", color="C3", ms=2.5, lw=1)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(surf.name, fontsize=9)
        self.ax_loss.clear()
        (self._loss_line,) = self.ax_loss.plot([], [])
        self.ax_loss.set_yscale("log")
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("|loss|")
        self._drawn = name

    def update(self, change=None) -> None:
        c = {k: ctl.value for k, ctl in self.controls.items()}
        beta = {"beta": c["beta1"], "beta1": c["beta1"], "beta2": c["beta2"]}
        self.result = optimize_2d(c["surface"], c["optimizer"], c["lr"], self.steps,
                                  limit=1e3, **beta)
        path = self.result["path"]
        if self._drawn != c["surface"]:  # contours only change with the surface
            self._draw_surface(c["surface"])
        self._path_line.set_data(path[:, 0], path[:, 1])
        self._loss_line.set_data(np.arange(len(path)),
                                 np.maximum(np.abs(self.result["loss"]), 1e-12))
        self.ax_loss.relim()
        self.ax_loss.autoscale_view()
        self._render()
        last = path[-1]
        if self.result["diverged"]:
            status = (f"<b style='color:#b00'>diverged</b> after {len(path) - 1} steps: the "
                      "learning rate is too large for this surface")
        else:
            status = f"after {len(path) - 1} steps at ({last[0]:.3g}, {last[1]:.3g})"
        self.summary.value = f"{c['optimizer']}, learning rate {c['lr']:.3g}: {status}"


def learning_rate_explorer(surface="ravine"):
    """Show the learning-rate explorer (returns the widget; ``None`` under nbgrader)."""
    if not interactive_enabled():
        return None
    return LearningRateExplorer(surface).widget


class OptimizerRace(_FigureWidget):
    """The same 2-8-1 network on two moons trained by several optimisers, same start and
    same mini-batches (``utils.optim.train_with_optimizer``): loss curves side by side.
    """

    def __init__(self, optimizers=("gd", "momentum", "rmsprop", "adam"), lr=0.01, epochs=30,
                 n=160, seed=0):
        import ipywidgets as w

        self.epochs, self.seed = epochs, seed
        self.X, self.y = two_moons(n, seed=seed)
        self.controls = {
            "optimizers": w.SelectMultiple(options=list(OPTIMIZERS), value=tuple(optimizers),
                                           description="optimizers", rows=6),
            "lr": w.FloatLogSlider(value=lr, base=10, min=-3, max=0.5, step=0.05,
                                   description="learning rate", readout_format=".3g"),
        }
        self.image = w.Image(format="png")
        self.figure = Figure(figsize=(6.0, 3.2), dpi=72)
        self.ax = self.figure.subplots()
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.widget = w.VBox([w.HBox(list(self.controls.values())), self.image])
        self.update()

    def update(self, change=None) -> None:
        lr = self.controls["lr"].value
        self.histories = {}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for name in self.controls["optimizers"].value:
                _, history = train_with_optimizer(
                    self.X, self.y, [2, 8, 1], ["tanh", "sigmoid"], name, lr, self.epochs,
                    mini_batch_size=32, seed=self.seed)
                self.histories[name] = history
        ax = self.ax
        ax.clear()
        for name, history in self.histories.items():
            ax.plot(np.arange(1, self.epochs + 1), history, label=name)
        ax.set_xlabel("epoch (mini-batches of 32)")
        ax.set_ylabel("binary cross-entropy")
        ax.set_title(f"learning rate {lr:.3g}")
        if self.histories:
            ax.legend()
        self._render()


def optimizer_race():
    """Show the optimizer race (returns the widget; ``None`` under nbgrader)."""
    if not interactive_enabled():
        return None
    return OptimizerRace().widget
