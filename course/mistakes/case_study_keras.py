"""Plausible wrong answers for case_study_keras: the same networks in Keras.
Imports ``course.mistakes`` (``Mistake``) only.
"""

from . import Mistake


def _batchnorm(momentum: str = 'bn_param.get("momentum", 0.9)',
               epsilon: str = 'bn_param.get("eps", 1e-5)',
               third: str = "running_mean", fourth: str = "running_var") -> str:
    """batchnorm_to_keras with one slip: the momentum, the epsilon or the order of the stats."""
    default = {"running_mean": "np.zeros(D)", "running_var": "np.ones(D)"}
    return f"""
        D = len(gamma)
        weights = [gamma, beta, bn_param.get("{third}", {default[third]}),
                   bn_param.get("{fourth}", {default[fourth]})]
        return weights, {{"momentum": {momentum}, "epsilon": {epsilon}}}
    """


MISTAKES = [
    Mistake(
        "kernels transposed, PyTorch's (n_out, n_in) layout", "load_worked_example_answer",
        fails=("load_worked_example_tests",), code="""
        model.set_weights([example.W_hidden.T, example.b_hidden, example.W_out.T, example.b_out])
        return model
        """),
    Mistake(
        "always chapter 2's weights, not the example given", "load_worked_example_answer",
        fails=("load_worked_example_tests",), code="""
        ex = utils.mlp.WORKED_EXAMPLE
        model.set_weights([ex.W_hidden, ex.b_hidden, ex.W_out, ex.b_out])
        return model
        """),
    Mistake(
        "the delta rule's alpha as Keras's learning rate", "delta_rule_lr_answer",
        fails=("delta_rule_lr_tests",), code="return alpha"),
    Mistake(
        "half of alpha, whatever the batch and the outputs", "delta_rule_lr_answer",
        fails=("delta_rule_lr_tests",), code="return alpha / 2"),
    Mistake(
        "parameter count without the biases", "parameter_count_answer",
        fails=("parameter_count_tests",),
        code="return sum(a * b for a, b in zip(layer_dims[:-1], layer_dims[1:]))"),
    Mistake(
        "a bias for every unit, inputs included", "parameter_count_answer",
        fails=("parameter_count_tests",),
        code="""
        pairs = zip(layer_dims[:-1], layer_dims[1:])
        return sum(a * b for a, b in pairs) + sum(layer_dims)
        """),
    Mistake(
        "parameter count read from a Keras model built for it", "parameter_count_answer",
        fails=("parameter_count_tests",),
        code="""
        model = keras.Sequential([keras.Input(shape=(layer_dims[0],))]
                                 + [keras.layers.Dense(n) for n in layer_dims[1:]])
        return model.count_params()
        """),
    Mistake(
        "momentum learning rate divided by 1 - beta", "momentum_lr_answer",
        fails=("momentum_lr_tests",), code="return alpha / (1 - beta)"),
    Mistake(
        "Adam epsilon multiplied by the correction", "course_epsilon_answer",
        fails=("course_epsilon_tests",), code="return epsilon_hat * np.sqrt(1 - beta2**t)"),
    Mistake(
        "Adam epsilon divided without the square root", "course_epsilon_answer",
        fails=("course_epsilon_tests",), code="return epsilon_hat / (1 - beta2**t)"),
    Mistake(
        "batch-norm momentum in PyTorch's convention", "batchnorm_to_keras_answer",
        fails=("batchnorm_to_keras_tests",),
        code=_batchnorm(momentum='1 - bn_param.get("momentum", 0.9)')),
    Mistake(
        "Keras's defaults where bn_param has no momentum or eps", "batchnorm_to_keras_answer",
        fails=("batchnorm_to_keras_tests",),
        code=_batchnorm(momentum='bn_param.get("momentum", 0.99)',
                        epsilon='bn_param.get("eps", 1e-3)')),
    Mistake(
        "moving mean and variance swapped", "batchnorm_to_keras_answer",
        fails=("batchnorm_to_keras_tests",),
        code=_batchnorm(third="running_var", fourth="running_mean")),
    Mistake(
        "Q1: the keep probability instead of its inverse", "check_yourself_answer",
        fails=("q1_tests",), code='Q1 = 0.7; Q2 = "b"; Q3 = 128'),
    Mistake(
        "Q2: predict in training mode", "check_yourself_answer",
        fails=("q2_tests",), code='Q1 = 1 / 0.7; Q2 = "a"; Q3 = 128'),
    Mistake(
        "Q3: one non-trainable array instead of two", "check_yourself_answer",
        fails=("q3_tests",), code='Q1 = 1 / 0.7; Q2 = "b"; Q3 = 64'),
]
