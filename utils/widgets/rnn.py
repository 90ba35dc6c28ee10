"""Chapter 7: the LSTM gate explorer (one LSTM unit, its gates and cell state over time)."""

from __future__ import annotations

import numpy as np

from ..rnn import lstm_step_forward
from .base import Widget, show

__all__ = ["LSTMGateExplorer", "lstm_gate_explorer", "single_unit_lstm"]


def single_unit_lstm(x, w, biases, step=None) -> dict:
    """Run a one-unit LSTM (n_x = 1, H = 1) over the 1-D sequence ``x``.

    ``w`` = input weights (w_i, w_f, w_g, w_o), ``biases`` = (b_i, b_f, b_g, b_o); the
    recurrent weights are 0 so each gate reads only the current input. Returns the
    per-step values {"i", "f", "g", "o", "c", "h"} (arrays of length T). ``step``: the
    LSTM step that runs (default ``utils.rnn.lstm_step_forward``; the student's own in the
    notebook).
    """
    step = step or lstm_step_forward
    x = np.asarray(x, dtype=float).reshape(-1)
    Wx = np.asarray(w, dtype=float).reshape(1, 4)
    b = np.asarray(biases, dtype=float).reshape(4)
    h, c = np.zeros((1, 1)), np.zeros((1, 1))
    out = {k: [] for k in ("i", "f", "g", "o", "c", "h")}
    for x_t in x:
        h, c, cache = step(np.array([[x_t]]), h, c, Wx, np.zeros((1, 4)), b)
        for key in ("i", "f", "g", "o"):
            out[key].append(float(cache[key][0, 0]))
        out["c"].append(float(c[0, 0]))
        out["h"].append(float(h[0, 0]))
    return {k: np.array(v) for k, v in out.items()}


class LSTMGateExplorer(Widget):
    """A pulse at step 2 of a 16-step input; sliders on the gates' biases. The cell keeps
    f^13 of what the pulse wrote by the last step: 97 % at forget bias 6 (f = 0.998), 53 % at
    the default 3 (f = 0.953), 0.01 % at 0 (f = 0.5)."""

    figsize = (8.6, 3.2)
    dpi = 72
    subplots = (1, 2)

    def __init__(self, T: int = 16, step=None):
        self.step = step
        self.x = np.zeros(T)
        self.x[2] = 1.0
        self.w = (6.0, 0.0, 2.0, 0.0)  # the pulse opens the input gate and writes g > 0
        super().__init__()

    def build_controls(self, w) -> dict:
        def slider(name, value):
            return w.FloatSlider(value=value, min=-6.0, max=6.0, step=0.5, description=name)

        return {"forget": slider("forget bias", 3.0), "input": slider("input bias", -3.0),
                "output": slider("output bias", 0.0)}

    def redraw(self) -> None:
        c = self.state()
        self.values = v = single_unit_lstm(self.x, self.w, (c["input"], c["forget"], 0.0,
                                                           c["output"]), self.step)
        t = np.arange(len(self.x))
        ax_gates, ax_state = self.axes
        if not hasattr(self, "_lines"):  # fixed axes; only the curves move
            self._lines = {}
            # distinct markers and line styles: with equal biases f and o coincide (both
            # 0.5 at bias 0), and the hollow squares of f stay visible under o's triangles
            for key, label, style in (
                    ("i", "input gate i", {"marker": "o", "ls": "-", "ms": 3}),
                    ("f", "forget gate f", {"marker": "s", "ls": "--", "ms": 7, "mfc": "none"}),
                    ("o", "output gate o", {"marker": "^", "ls": ":", "ms": 4})):
                self._lines[key] = self.animate(ax_gates.plot(t, v[key], label=label,
                                                              **style)[0])
            ax_gates.bar(t, self.x, color="0.85", label="input x_t")
            ax_gates.set_ylim(-0.05, 1.05)
            ax_gates.set_xlabel("step t")
            ax_gates.legend(fontsize=7, loc="center right", bbox_to_anchor=(1.0, 0.3))
            self._lines["c"] = self.animate(ax_state.plot(t, v["c"], "o-", ms=3, color="C3",
                                                          label="cell state c_t")[0])
            self._lines["h"] = self.animate(ax_state.plot(t, v["h"], "o-", ms=3, color="C4",
                                                          label="output h_t")[0])
            ax_state.axhline(0, color="0.8", lw=0.8)
            ax_state.set_ylim(-0.1, 1.05)
            ax_state.set_xlabel("step t")
            ax_state.legend(fontsize=7)
        for key, line in self._lines.items():
            line.set_ydata(v[key])
        kept = v["c"][-1] / v["c"][2] if v["c"][2] else 0.0
        self.summary.value = (f"forget gate f = {v['f'][5]:.3f} between pulses: after "
                              f"{len(self.x) - 3} more steps the cell keeps <b>{100 * kept:.3g}%"
                              f"</b> of what the pulse wrote (f^{len(self.x) - 3} = "
                              f"{v['f'][5] ** (len(self.x) - 3):.3g})")


def lstm_gate_explorer(step=None):
    """Show the LSTM gate explorer driven by ``step`` (the student's ``lstm_step_forward``;
    default: the course's); returns the widget, ``None`` under nbgrader."""
    return show(LSTMGateExplorer, step=step,
                needs="Exercise 3 (lstm_step_forward) to drive this explorer")
