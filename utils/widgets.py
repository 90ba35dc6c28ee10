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
from .plots import activation_curve

__all__ = ["interactive_enabled", "quiet_plots_under_grading", "ActivationExplorer",
           "activation_explorer", "saturation_summary"]


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


class ActivationExplorer:
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
        self.figure.tight_layout()
        self.image.value = _png(self.figure)
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
