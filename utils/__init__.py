"""The course's shared NumPy implementation, imported by every notebook.

Submodules follow the chapters: ``activations``, ``perceptron``, ``data``, ``plots``,
``widgets`` and ``grading`` (test-cell helpers). The most used names are re-exported
here, so ``utils.sigmoid`` and ``utils.activations.sigmoid`` are the same function.
"""

from . import (
    activations,
    data,
    gradcheck,
    grading,
    graph,
    init,
    losses,
    mlp,
    perceptron,
    plots,
    widgets,
)
from .activations import (
    ACTIVATIONS,
    bipolar_step,
    get_activation,
    leaky_relu,
    leaky_relu_grad,
    linear,
    linear_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_grad,
    tanh,
    tanh_grad,
    threshold,
)
from .perceptron import LOGIC_GATES, logic_gate, train_perceptron

widgets.quiet_plots_under_grading()

__all__ = [
    "activations", "data", "gradcheck", "grading", "graph", "init", "losses", "mlp", "perceptron",
    "plots", "widgets",
    "ACTIVATIONS", "bipolar_step", "get_activation", "leaky_relu", "leaky_relu_grad", "linear",
    "linear_grad", "relu", "relu_grad", "sigmoid", "sigmoid_grad", "softmax", "softmax_grad",
    "tanh", "tanh_grad", "threshold", "LOGIC_GATES", "logic_gate", "train_perceptron",
]
