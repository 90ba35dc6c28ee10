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
        self.summary.value = gradient_verdict(self.stats["grad_norms"], self.stats["variances"],
                                              c["activation"], c["residual"])


# What the explorer calls a problem: thresholds on the whole stack, not on one layer
TINY, HUGE = 1e-8, 1e8  # a weight gradient this small learns nothing; this large, a step explodes
UNEVEN, SEVERE = 10.0, 1e3  # spread of ||dW_l|| over the layers (largest / smallest)
FADED, BLOWN = 1e-3, 1e3  # the last layer's activation variance
SATURATED = {"tanh": 0.8, "sigmoid": 0.2}  # variance near its bound (1, 1/4): outputs at the rails


def gradient_verdict(norms, variances, activation, residual=False) -> str:
    """One line on a stack's health, from every layer's ||dW_l|| and Var(A_l).

    Judged on: the gradients' level (tiny or huge everywhere), their spread over the layers
    (largest / smallest, and whether they grow or shrink towards the input, with the factor per
    layer), and the signal reaching the top (Var(A_L) faded, blown up or, for a plain tanh or
    sigmoid stack whose outputs are bounded, saturated).
    """
    norms, variances = np.asarray(norms, dtype=float), np.asarray(variances, dtype=float)
    if norms.size == 0 or norms.size != variances.size:
        raise ValueError("give one gradient norm and one activation variance per layer")
    if not (np.isfinite(norms).all() and np.isfinite(variances).all()):
        return "<b>overflow</b>: a gradient or an activation reached inf or nan"
    depth, top = norms.size, norms.max()
    low = max(norms.min(), np.finfo(float).tiny)
    spread, problems = top / low, []
    if top < TINY:
        problems.append(f"<b>vanishing</b> everywhere: every layer's gradient is below {top:.1g}")
    elif top > HUGE:
        problems.append(f"<b>exploding</b> everywhere: gradients up to {top:.2g}")
    if spread > UNEVEN and depth > 1:
        towards_input = int(np.argmax(norms)) < int(np.argmin(norms))
        per_layer = spread ** (1.0 / (depth - 1))
        word = ("exploding" if towards_input else "vanishing") if spread > SEVERE else "uneven"
        problems.append(f"<b>{word}</b> over the layers: their gradients span a factor of "
                        f"{spread:.2g}, {'growing' if towards_input else 'shrinking'} towards the "
                        f"input (about {per_layer:.3g}x per layer)")
    last = variances[-1]
    if last < FADED:
        problems.append(f"the signal <b>fades</b>: Var(A_{depth}) = {last:.2g}")
    elif last > BLOWN:
        problems.append(f"the signal <b>blows up</b>: Var(A_{depth}) = {last:.2g}")
    elif not residual and last > SATURATED.get(activation, np.inf):
        problems.append(f"the units are <b>saturated</b>: Var(A_{depth}) = {last:.2g}")
    if problems:
        return "; ".join(problems)
    return (f"<b>healthy</b>: every layer's gradient within a factor of {spread:.2g} of the "
            f"others, Var(A_{depth}) = {last:.2g}")


def gradient_flow_explorer():
    """Show the gradient-flow explorer (returns the widget; ``None`` under nbgrader). In a
    student edition it measures with the student's functions (``utils.use``)."""
    return show(GradientFlowExplorer,
                needs="Exercises 1 to 3 (the measurement, Xavier and He, the residual layer) "
                      "to drive this explorer")
