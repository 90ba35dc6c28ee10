"""Interactive widgets for the notebooks (ipywidgets + matplotlib), one module per topic.

``base`` holds what every widget shares (the grading switch, the off-screen backend, the
``Widget`` base class and ``show``); each topic module mirrors a ``utils`` module:

    activations   ActivationExplorer, activation_explorer()        (chapter 1)
    mlp           WorkedExampleStepper, worked_example_stepper()   (chapter 2)
    backprop      BackpropPlayground, backprop_playground()        (chapter 3)
    optim         LearningRateExplorer, OptimizerRace, ...         (chapter 4)
    regularization  RegularizationPlayground, DropoutExplorer      (chapter 5)
    gradients     GradientFlowExplorer, gradient_flow_explorer()   (chapter 6)
    rnn           LSTMGateExplorer, lstm_gate_explorer()           (chapter 7)

Every widget is a thin layer over a plain, tested function in ``utils``. Under
nbgrader (autograde or validate) widgets render nothing.
"""

from .activations import ActivationExplorer, activation_explorer
from .backprop import BackpropPlayground, backprop_playground
from .base import Widget, interactive_enabled, needs, quiet_plots_under_grading, show
from .gradients import GradientFlowExplorer, gradient_flow_explorer
from .mlp import WorkedExampleStepper, worked_example_stepper
from .optim import LearningRateExplorer, OptimizerRace, learning_rate_explorer, optimizer_race
from .regularization import (
    DropoutExplorer,
    RegularizationPlayground,
    dropout_explorer,
    regularization_playground,
)
from .rnn import LSTMGateExplorer, lstm_gate_explorer

__all__ = ["interactive_enabled", "quiet_plots_under_grading", "Widget", "show", "needs",
           "ActivationExplorer", "activation_explorer", "WorkedExampleStepper",
           "worked_example_stepper", "BackpropPlayground", "backprop_playground",
           "LearningRateExplorer", "learning_rate_explorer", "OptimizerRace", "optimizer_race",
           "RegularizationPlayground", "regularization_playground", "DropoutExplorer",
           "dropout_explorer", "GradientFlowExplorer", "gradient_flow_explorer",
           "LSTMGateExplorer", "lstm_gate_explorer"]
