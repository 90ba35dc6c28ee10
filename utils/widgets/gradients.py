"""Chapter 6: the gradient-flow explorer (per-layer gradient norms and activation variance)."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from ..gradients import INITS, deep_stack, stack_statistics
from .base import Widget, show

__all__ = ["GradientFlowExplorer", "gradient_flow_explorer"]


class GradientFlowExplorer(Widget):
    """Depth, activation, initialisation, residual connections and batch norm of a deep
    stack (``utils.gradients.stack_statistics``) -> ||dW_l|| and Var(A_l) per layer."""

    figsize = (8.6, 3.2)
    dpi = 72
    subplots = (1, 2)

    def __init__(self, depth=30, activation="tanh", init="xavier", width=64, batch=128, seed=0):
        self.initial = {"depth": depth, "activation": activation, "init": init}
        self.width, self.seed = width, seed
        self.X = np.random.default_rng(seed).normal(size=(batch, width))
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "depth": w.IntSlider(value=self.initial["depth"], min=2, max=50, description="depth"),
            "activation": w.Dropdown(options=["sigmoid", "tanh", "relu"],
                                     value=self.initial["activation"], description="activation"),
            "init": w.Dropdown(options=list(INITS), value=self.initial["init"],
                               description="init"),
            "residual": w.Checkbox(value=False, description="residual connections"),
            "batchnorm": w.Checkbox(value=False, description="batch norm"),
        }

    def layout(self, w):
        c = self.controls
        return w.VBox([w.HBox([c["depth"], c["activation"], c["init"]]),
                       w.HBox([c["residual"], c["batchnorm"]]), self.image, self.summary])

    def _weights(self, depth: int, init: str) -> list:
        key = (depth, init)
        if getattr(self, "_key", None) != key:  # draw the stack only when it changes
            self._key, self._stack = key, deep_stack(depth, self.width, init, self.seed)
        return self._stack

    def redraw(self) -> None:
        c = self.state()
        weights = self._weights(c["depth"], c["init"])
        self.stats = stack_statistics(self.X, weights, c["activation"], c["residual"],
                                      c["batchnorm"])
        layers = np.arange(1, c["depth"] + 1)
        if not hasattr(self, "_lines"):  # artists made once; later only their data changes
            self._lines = []
            for ax, label in zip(self.axes, ("||dW_l||  (gradient norm)",
                                             "Var(A_l)  (activation variance)"), strict=True):
                line = self.animate(ax.plot([], [], "o-", ms=3)[0])
                ax.set_yscale("log")
                # plain-text tick labels: mathtext (10^k) would be re-parsed on every redraw
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
                ax.yaxis.set_major_locator(LogLocator(numticks=6))
                ax.yaxis.set_minor_locator(NullLocator())  # minor ticks: most of a redraw
                ax.set_xlabel("layer l (1 = next to the input)")
                ax.set_title(label, fontsize=9)
                self._lines.append(line)
        for ax, line, key in zip(self.axes, self._lines, ("grad_norms", "variances"),
                                 strict=True):
            values = np.asarray(self.stats[key], dtype=float)
            values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
            line.set_data(layers, np.clip(values, 1e-300, 1e300))
            finite = values[np.isfinite(values)]
            lo, hi = (finite.min(), finite.max()) if finite.size else (1e-3, 1.0)
            # limits in steps (10 layers, 3 decades) so that most changes keep the axes and
            # redraw only the curve
            ax.set_xlim(0, 10 * np.ceil((c["depth"] + 1) / 10))
            ax.set_ylim(10.0 ** (3 * np.floor((np.log10(lo) - 0.2) / 3)),
                        10.0 ** (3 * np.ceil((np.log10(hi) + 0.2) / 3)))
        self.summary.value = (f"{gradient_verdict(self.stats['grad_norms'])}; last layer's "
                              f"activation variance {self.stats['variances'][-1]:.2g}")


def gradient_verdict(norms) -> str:
    """One line on per-layer gradient norms: vanishing, exploding or healthy."""
    norms = np.nan_to_num(np.asarray(norms, dtype=float), nan=np.inf)
    if norms.max() < 1e-12:
        return "<b>vanishing</b>: every layer's gradient is below 1e-12"
    ratio = norms[0] / max(norms[-1], 1e-300)
    verdict = "vanishing" if ratio < 1e-3 else "exploding" if ratio > 1e3 else "healthy"
    return f"first layer's gradient / last layer's: <b>{ratio:.2g}</b> ({verdict})"


def gradient_flow_explorer():
    """Show the gradient-flow explorer (returns the widget; ``None`` under nbgrader). In a
    student edition it measures with the student's functions (``utils.use``)."""
    return show(GradientFlowExplorer,
                needs="Exercises 1 to 3 (the measurement, Xavier and He, the residual layer) "
                      "to drive this explorer")
