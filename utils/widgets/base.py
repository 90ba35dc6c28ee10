"""What every widget shares: the grading switch, the off-screen backend and one base class.

Under nbgrader (autograde or validate, ``NBGRADER_EXECUTION`` set) widgets render
nothing: ``interactive_enabled()`` is the single place that decides, and ``show()`` the
single place that asks it.

A widget is built in four steps, always in this order: ``build_controls`` (the
ipywidgets controls, by name) -> every control observed -> ``layout`` (the box to
display) -> ``redraw`` (recompute, update the matplotlib figure, set the summary),
after which the figure is rendered once to PNG. Every control change repeats the last
step. The computation a widget shows is a plain, tested function in the topic's
``utils`` module.

Rendering is what a student waits for, and most of it is axes: ticks, tick labels and
titles. So artists that change with the controls are marked *animated*
(``Widget.animate``) and drawn over a cached *background* (everything else); the
background is drawn again only when its key changes (axis limits, scales, titles, labels
or ``static_version``). That is matplotlib's blitting, done off screen.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import OrderedDict

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

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


def _png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as PNG (RGB: a widget's figure is opaque; fast zlib level)."""
    buffer = io.BytesIO()
    Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA",
                     0, 1).convert("RGB").save(buffer, format="png", compress_level=1)
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
    backgrounds_kept: int = 16  # cached backgrounds (a student often goes back and forth)
    needs: str = "the exercises above"  # what a control needing unfinished work asks for

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
        self.canvas = FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(*self.subplots)
        self.static_version = 0  # bump it when a non-animated artist changes
        self._animated: list = []
        self._backgrounds: OrderedDict = OrderedDict()
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

    def animate(self, artist):
        """Mark ``artist`` as one that changes with the controls; returns it.

        Animated artists are drawn over the cached background on every render, in the
        order of their ``zorder`` (then of marking). An artist removed from its axes is
        forgotten.
        """
        artist.set_animated(True)
        self._animated.append(artist)
        return artist

    def background_key(self) -> tuple:
        """What the background depends on: every axes' limits, scales, title and labels,
        and ``static_version`` (an animated title is left out). Two renders with equal
        keys share one background."""
        return (self.static_version,) + tuple(
            (ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(),
             None if ax.title.get_animated() else ax.get_title(), ax.get_xlabel(),
             ax.get_ylabel(), ax.get_visible()) for ax in self.figure.axes)

    def render(self, fresh: bool = False) -> bytes:
        """The figure as PNG: the background (cached by ``background_key``, or drawn anew
        when ``fresh``) with the animated artists drawn over it."""
        self._animated = [a for a in self._animated if a.figure is not None]
        key = self.background_key()
        background = None if fresh else self._backgrounds.get(key)
        if background is None:
            self.canvas.draw()  # every artist but the animated ones
            background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._backgrounds[key] = background
            while len(self._backgrounds) > self.backgrounds_kept:
                self._backgrounds.popitem(last=False)
        else:
            self._backgrounds.move_to_end(key)
            self.canvas.restore_region(background)
        renderer = self.canvas.get_renderer()
        for artist in sorted(self._animated, key=lambda a: a.get_zorder()):
            artist.draw(renderer)
        return _png(self.canvas)

    def update(self, change=None) -> None:
        """Recompute and redraw for the current controls, then render the figure. A control
        that needs an exercise not yet done (``needs``) says so under the figure."""
        try:
            self.redraw()
        except (NotImplementedError, RuntimeError) as exc:
            message = _not_yet(exc, self.needs)
            if message is None or change is None:  # when built: show() says it instead
                raise
            self.summary.value = f"<i>{message}</i>"
            return
        if not self._laid_out:  # the layout barely moves between updates and costs ~0.1 s
            self.figure.tight_layout()
            self._laid_out = True
        self.image.value = self.render()


def _not_yet(exc: BaseException, what: str) -> str | None:
    """What to tell the student when a demo stops on ``exc``, or None for a real error.

    An unfinished exercise raises NotImplementedError; a reference that this edition of
    utils does not hold yet raises NotReleasedError. Any other error is the student's to see.
    """
    from .._edition import NotReleasedError

    if isinstance(exc, NotReleasedError):
        qualname, _, rest = str(exc).partition(" is not in this edition")
        name = qualname.rsplit(".", 1)[-1]
        assignment = rest.split("an exercise of ")[-1].split(",")[0] if rest else "a later chapter"
        return (f"This needs {name}, an exercise of {assignment}: write yours and hand it to "
                f"utils with utils.use({name}), then run this again (or wait for that "
                f"chapter's references).")
    if isinstance(exc, NotImplementedError):
        return f"Finish {what}: this runs on your own code."
    return None


@contextlib.contextmanager
def needs(what: str):
    """Run a demo that is driven by the student's own functions::

        with utils.widgets.needs("Exercise 2 (rnn_forward and rnn_backward)"):
            ...

    Until those functions are written (they raise NotImplementedError), or while the
    edition of utils lacks a reference the demo uses, the cell prints what is missing
    instead of failing, and no half-drawn figure is left. Other errors propagate."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    try:
        yield
    except (NotImplementedError, RuntimeError) as exc:
        message = _not_yet(exc, what)
        if message is None:
            raise
        for number in set(plt.get_fignums()) - before:
            plt.close(number)
        print(message)


def show(widget_class, *args, needs: str | None = None, **kwargs):
    """Build ``widget_class(*args, **kwargs)`` and return its box; ``None`` under nbgrader.
    ``needs``: the exercise whose functions drive the widget ("Exercise 3 (...) to drive this
    explorer"): until they work, a line saying so is returned instead of the widget."""
    if not interactive_enabled():
        return None
    try:
        widget = widget_class.__new__(widget_class)
        widget.needs = needs or Widget.needs
        widget.__init__(*args, **kwargs)
        return widget.widget
    except (NotImplementedError, RuntimeError) as exc:
        message = _not_yet(exc, needs or "the exercises above")
        if message is None:
            raise
        import ipywidgets

        return ipywidgets.HTML(f"<i>{message}</i>")
