"""What every widget shares: the grading switch, the off-screen backend and one base class.

Under nbgrader (autograde or validate, ``NBGRADER_EXECUTION`` set) widgets render
nothing: ``interactive_enabled()`` is the single place that decides, and ``show()`` the
single place that asks it.

A widget is built in four steps, always in this order: ``build_controls`` (the
ipywidgets controls, by name) -> every control observed -> ``layout`` (the box to
display) -> ``redraw`` (recompute, draw into the matplotlib figure, set the summary),
after which the figure is rendered once to PNG. Every control change repeats the last
step. The computation a widget shows is a plain, tested function in the topic's
``utils`` module.
"""

from __future__ import annotations

import io
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["interactive_enabled", "quiet_plots_under_grading", "Widget", "show"]


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


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


class Widget:
    """Base class: controls -> observe -> layout -> redraw, drawn into one figure.

    Subclasses set ``figsize``/``dpi``/``subplots`` and implement ``build_controls(w)``
    (``w`` is the ipywidgets module) and ``redraw()``; they may override ``layout(w)``.
    Attributes: ``controls`` (dict of controls), ``widget`` (the box to display),
    ``image`` (the rendered PNG), ``summary`` (HTML under the figure), ``figure`` and
    ``axes`` (one Axes or a tuple, as ``Figure.subplots`` returns them).
    """

    figsize: tuple = (6.4, 3.2)
    dpi: int = 80
    subplots: tuple = (1, 1)

    def __init__(self) -> None:
        import ipywidgets as w

        self.controls: dict = self.build_controls(w)
        for control in self.controls.values():  # a label as wide as its text: none is cut
            if getattr(control, "description", "") and hasattr(control.style,
                                                                "description_width"):
                control.style.description_width = "initial"
        self.defaults = self.state()  # what the text promises; a browser must not move them
        self.image = w.Image(format="png")
        self.summary = w.HTML()
        self.figure = Figure(figsize=self.figsize, dpi=self.dpi)
        self.axes = self.figure.subplots(*self.subplots)
        self._laid_out = False
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.widget = self.layout(w)
        self.update()

    def build_controls(self, w) -> dict:
        raise NotImplementedError("a widget defines its controls")

    def redraw(self) -> None:
        raise NotImplementedError("a widget defines what it draws")

    def layout(self, w):
        """Default layout: the controls in a row, the figure, the summary."""
        return w.VBox([w.HBox(list(self.controls.values())), self.image, self.summary])

    def state(self) -> dict:
        """The current control values, by name."""
        return {key: control.value for key, control in self.controls.items()}

    def update(self, change=None) -> None:
        """Recompute and redraw for the current controls, then render the figure."""
        self.redraw()
        if not self._laid_out:  # the layout barely moves between updates and costs ~0.1 s
            self.figure.tight_layout()
            self._laid_out = True
        self.image.value = _png(self.figure)


def show(widget_class, *args, **kwargs):
    """Build ``widget_class(*args, **kwargs)`` and return its box; ``None`` under nbgrader."""
    if not interactive_enabled():
        return None
    return widget_class(*args, **kwargs).widget
