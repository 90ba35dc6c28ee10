"""Chapter 1: the activation explorer (f and f' of any activation, and how flat f' gets)."""

from __future__ import annotations

import numpy as np

from ..activations import ACTIVATIONS, saturation_summary
from ..plots import activation_curve
from .base import Widget, show

__all__ = ["ActivationExplorer", "activation_explorer"]


class ActivationExplorer(Widget):
    """Pick an activation, its negative slope and the z range; see f and f'.

    ``curves`` holds the last computed z, f(z) and f'(z).
    """

    def __init__(self, name="sigmoid", alpha=0.1, z_range=(-6.0, 6.0), functions=None):
        self.functions = dict(functions or {})
        self.names = (["linear", *self.functions] if functions is not None
                      else list(ACTIVATIONS))
        if name not in self.names:
            raise ValueError(f"unknown activation {name!r}; choose one of {self.names}")
        self.initial = {"name": name, "alpha": alpha, "z_range": z_range}
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "name": w.Dropdown(options=self.names, value=self.initial["name"],
                               description="activation"),
            "alpha": w.FloatSlider(value=self.initial["alpha"], min=0.0, max=0.5, step=0.01,
                                   description="leaky alpha"),
            "z_range": w.FloatRangeSlider(value=self.initial["z_range"], min=-12.0, max=12.0,
                                          step=1.0, description="z range",
                                          readout_format=".0f"),
            "derivative": w.Checkbox(value=True, description="show f'(z)"),
        }

    def layout(self, w):
        c = self.controls
        return w.VBox([w.HBox([c["name"], c["derivative"]]), w.HBox([c["alpha"], c["z_range"]]),
                       self.image, self.summary])

    def redraw(self) -> None:
        name = self.controls["name"].value
        lo, hi = self.controls["z_range"].value
        self.controls["alpha"].disabled = name != "leaky_relu"
        z, fz, dfz = activation_curve(name, np.linspace(lo, hi, 301), self.controls["alpha"].value,
                                      self.functions)
        self.curves = {"z": z, "f": fz, "df": dfz}
        ax = self.axes
        if not hasattr(self, "_f_line"):  # artists made once; later only their data changes
            ax.axhline(0, color="0.8", lw=0.8)
            ax.axvline(0, color="0.8", lw=0.8)
            ax.set_xlabel("z")
            self._f_line = self.animate(ax.plot([], [], color="C0", lw=2)[0])
            self._df_line = self.animate(ax.plot([], [], color="C3", lw=2, ls="--")[0])
        self._f_line.set(data=(z, fz), label=f"{name}(z)")
        self._df_line.set(data=(z, dfz), label=f"{name}'(z)",
                          visible=self.controls["derivative"].value)
        shown = np.concatenate([fz, dfz]) if self.controls["derivative"].value else fz
        bottom, top = float(np.min(shown)), float(np.max(shown))
        pad = 0.05 * max(top - bottom, 1e-9)
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom - pad, top + pad)
        if getattr(self, "_legend", None) is not None:
            self._legend.remove()
        self._legend = self.animate(ax.legend(loc="upper left"))
        info = saturation_summary(dfz)
        self.summary.value = (
            f"largest derivative: <b>{info['max_grad']:.3g}</b>; "
            f"derivative below 0.01 on <b>{100 * info['flat_fraction']:.0f}%</b> of this range "
            "(where a gradient would all but vanish)")


def activation_explorer(name="sigmoid", functions=None):
    """Show the activation explorer (returns the widget; ``None`` under nbgrader).
    ``functions``: {name: (f, df)}, the student's own activations and derivatives, which then
    drive it (the course's otherwise)."""
    return show(ActivationExplorer, name, functions=functions,
                needs="exercises 6 to 9 (the activations) to drive this explorer")
