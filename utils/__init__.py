"""The course's shared NumPy implementation, imported by every notebook.

One module per concept, in chapter order:

    activations  activation functions, their derivatives, saturation   (chapter 1)
    perceptron   logic gates, the perceptron learning rule             (chapter 1)
    losses       BCE, MSE, 1/2 SSE, cross-entropy and their gradients  (chapters 2-3)
    init         uniform, Xavier/Glorot and He initialisation          (chapters 2-6)
    mlp          dense layers, forward/backward through a network      (chapters 2-3)
    worked_example  the unit's 4-2-1 example, number by number           (chapter 2)
    pretrained   networks trained in advance (house prices)             (chapter 2)
    graph        a scalar autograd ``Value`` and graph drawing          (chapter 3)
    gradcheck    numerical gradients and gradient checking             (chapter 3)
    optim        GD, momentum, Adagrad, RMSProp, Adam, AdamW; 2-D surfaces (chapter 4)
    regularization  penalties, dropout, early stopping (and the two below)  (chapter 5)
    normalization   batch, layer, group and instance norm                (chapter 5)
    augmentation    digit images, flips, rotations, shifts, noise        (chapter 5)
    gradients    vanishing/exploding gradients, residual layers, clipping (chapter 6)
    rnn_cells    RNN and LSTM cells and BPTT, forward/backward pairs   (chapter 7)
    rnn          sequence models on the cells, tasks and training      (chapter 7)
    frameworks   the same networks in Keras 3: set-up and conversions    (case study)
    training     the one training loop every chapter uses (``train``, ``fit``)
    data         seeded synthetic data sets (house prices, moons, circles, ...)
    plots        activation curves, decision boundaries, logic gates
    widgets      the interactive widgets, one module per topic (``utils.widgets.*``)
    grading      helpers for the notebooks' test cells
    observe, plain, blocks  what a hidden test does in a grading kernel: call the student's
                 functions, hand out plain data, stand a correct earlier function in

A student edition of this package (``python -m course edition``) holds the answers of the
released chapters only: the others raise ``NotReleasedError`` (``_edition`` says which) until
the student hands over their own with ``utils.use(function)``; then utils runs on theirs.

The most used names are re-exported here, so ``utils.sigmoid`` and
``utils.activations.sigmoid`` are the same function.
"""

from . import (
    activations,
    augmentation,
    data,
    frameworks,
    gradcheck,
    gradients,
    grading,
    graph,
    init,
    losses,
    mlp,
    normalization,
    optim,
    perceptron,
    plots,
    pretrained,
    regularization,
    rnn,
    rnn_cells,
    training,
    widgets,
    worked_example,
)
from ._edition import NotReleasedError, use
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
    "activations", "data", "frameworks", "gradcheck", "grading", "graph", "init", "losses",
    "mlp", "optim", "perceptron", "plots", "training", "widgets", "regularization", "normalization",
    "augmentation", "gradients", "rnn", "rnn_cells", "worked_example", "pretrained",
    "ACTIVATIONS", "bipolar_step", "get_activation", "leaky_relu", "leaky_relu_grad", "linear",
    "linear_grad", "relu", "relu_grad", "sigmoid", "sigmoid_grad", "softmax", "softmax_grad",
    "tanh", "tanh_grad", "threshold", "LOGIC_GATES", "logic_gate", "train_perceptron",
    "NotReleasedError", "use",
]
