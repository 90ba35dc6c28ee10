"""Chapter 2: the 4-2-1 worked example stepped iteration by iteration."""

from __future__ import annotations

import numpy as np

from ..worked_example import RECORDED_ITERATIONS, RECORDED_LRS, recorded_run
from .base import Widget, show

__all__ = ["WorkedExampleStepper", "worked_example_stepper"]


class WorkedExampleStepper(Widget):
    """Step the 4-2-1 worked example through its iterations with a chosen learning rate.

    Left: the error t - O7 per iteration (the current one marked); right: every weight
    and bias against the iteration; below (``table``): the full table of the current
    iteration, ``current`` its values. The numbers are the recorded run
    (``utils.worked_example.recorded_run``), so the stepper works before chapter 2's own
    exercises are done: the learning rate is one of ``RECORDED_LRS``.
    """

    figsize = (9.0, 3.2)
    subplots = (1, 2)

    def __init__(self, iterations=30, lr=0.8):
        if not 1 <= iterations <= RECORDED_ITERATIONS:
            raise ValueError(f"iterations should be 1 to {RECORDED_ITERATIONS} (the recorded "
                             f"run), got {iterations}")
        if lr not in RECORDED_LRS:
            raise ValueError(f"lr should be one of the recorded learning rates {RECORDED_LRS}, "
                             f"got {lr}")
        self.iterations, self.initial_lr = iterations, lr
        self._runs: dict = {}
        super().__init__()

    def build_controls(self, w) -> dict:
        return {
            "iteration": w.IntSlider(value=1, min=1, max=self.iterations,
                                     description="iteration"),
            # the recorded learning rates, the worked example's 0.8 among them
            "lr": w.SelectionSlider(options=RECORDED_LRS, value=self.initial_lr,
                                    description="learning rate"),
        }

    @property
    def table(self):
        """The HTML table of the current iteration (the summary area)."""
        return self.summary

    def _run(self, lr: float) -> dict:
        if lr not in self._runs:
            self._runs = {lr: recorded_run(self.iterations, lr)}
        return self._runs[lr]

    def _draw_run(self, lr: float, run: dict) -> None:
        """The curves of one learning rate (the background: they change only with it)."""
        ax_error, ax_weights = self.axes
        if not hasattr(self, "_error_line"):
            (self._error_line,) = ax_error.plot([], [], "o-", ms=3)
            self._weight_lines = ax_weights.plot(np.zeros((2, 13)), lw=1)
            ax_error.set_xlabel("iteration")
            ax_error.set_ylabel("error t - O7 (before the update)")
            ax_weights.set_xlabel("updates done")
            ax_weights.set_title("the 13 weights and biases")
            self._marker = self.animate(ax_error.plot([], [], "o", color="C3", ms=8)[0])
            self._now = self.animate(ax_weights.axvline(1, color="0.5", ls=":"))
        self._error_line.set_data(np.arange(1, self.iterations + 2), run["error"])
        updates = np.arange(self.iterations + 1)
        for line, values in zip(self._weight_lines, np.asarray(run["weights"]).T, strict=True):
            line.set_data(updates, values)
        for ax in self.axes:
            ax.relim()
            ax.autoscale_view()
        ax_error.set_title(f"learning rate {lr:.3g}")
        self.static_version += 1

    def redraw(self) -> None:
        lr = self.controls["lr"].value
        k = self.controls["iteration"].value
        self.run = run = self._run(lr)
        if getattr(self, "_drawn_lr", None) != lr:
            self._draw_run(lr, run)
            self._drawn_lr = lr
        self._marker.set_data([k], [run["error"][k - 1]])
        self._now.set_xdata([k, k])
        self.current = run["steps"][k - 1]
        self.summary.value = f"<b>iteration {k}</b>" + self.current._repr_html_()


def worked_example_stepper(iterations=30):
    """Show the worked-example stepper (returns the widget; ``None`` under nbgrader)."""
    return show(WorkedExampleStepper, iterations)
