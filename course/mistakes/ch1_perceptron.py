"""Plausible wrong answers for ch1_perceptron: Chapter 1 (perceptron, activations).
Imports ``course.mistakes`` (``Mistake``) only.
"""

from . import Mistake

MISTAKES = [
    Mistake(
        'threshold with > instead of >=', 'threshold_unit_answer', fails=('threshold_unit_tests',),
        code="""
            return (np.asarray(X) @ np.asarray(w) - T > 0).astype(int)
        """),
    Mistake(
        'AND_NOT with the inputs swapped', 'gate_params_answer', fails=('gate_params_tests',),
        code="""
            GATE_PARAMS = {"NOR": (np.array([-1.0, -1.0]), -0.5),
                           "AND_NOT": (np.array([-1.0, 1.0]), 0.5)}
        """),
    Mistake(
        'step fires at y_in = theta', 'bipolar_step_answer', fails=('bipolar_step_tests',),
        code="""
            y_in = np.asarray(y_in, dtype=float)
            return np.where(y_in >= theta, 1, np.where(y_in <= -theta, -1, 0))
        """),
    Mistake(
        'perceptron also updates when y = t', 'train_perceptron_answer',
        fails=('train_perceptron_tests',),
        code="""
            X = np.asarray(X, dtype=float)
            w, b = np.zeros(X.shape[1]), 0.0
            for epochs in range(1, max_epochs + 1):
                old = (w.copy(), b)
                for x_i, t_i in zip(X, t):
                    w = w + alpha * t_i * x_i
                    b = b + alpha * t_i
                if np.array_equal(old[0], w) and old[1] == b:
                    break
            return w, b, epochs
        """),
    Mistake(
        'multi-output: all units update when one is wrong', 'train_perceptron_multi_answer',
        fails=('train_perceptron_multi_tests',),
        code="""
            X = np.asarray(X, dtype=float)
            T = np.asarray(T, dtype=float)
            W, b = np.zeros((X.shape[1], T.shape[1])), np.zeros(T.shape[1])
            for epochs in range(1, max_epochs + 1):
                changed = False
                for x_i, t_i in zip(X, T):
                    y = bipolar_step(x_i @ W + b, theta)
                    if np.any(y != t_i):
                        W = W + alpha * np.outer(x_i, t_i)
                        b = b + alpha * t_i
                        changed = True
                if not changed:
                    break
            return W, b, epochs
        """),
    Mistake(
        'naive sigmoid overflows', 'sigmoid_answer', fails=('sigmoid_tests',),
        code="""
            return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
        """),
    Mistake(
        'sigmoid derivative as sigma(z)(1 - z)', 'sigmoid_answer', fails=('sigmoid_grad_tests',),
        region=1,
        code="""
            s = sigmoid(z)
            return s * (1.0 - np.asarray(z))
        """),
    Mistake(
        'tanh from the definition overflows', 'tanh_answer', fails=('tanh_tests',),
        code="""
            z = np.asarray(z, dtype=float)
            return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
        """),
    Mistake(
        'tanh derivative as 1 - tanh(z)', 'tanh_answer', fails=('tanh_grad_tests',),
        region=1,
        code="""
            return 1.0 - tanh(z)
        """),
    Mistake(
        'relu with np.max (a reduction)', 'relu_answer', fails=('relu_tests',),
        code="""
            return np.max(np.asarray(z, dtype=float), 0)
        """),
    Mistake(
        'relu derivative as sign(z)', 'relu_answer', fails=('relu_grad_tests',),
        region=1,
        code="""
            return np.sign(np.asarray(z, dtype=float))
        """),
    Mistake(
        'leaky relu ignores alpha', 'leaky_relu_answer', fails=('leaky_relu_tests',),
        code="""
            z = np.asarray(z, dtype=float)
            return np.where(z > 0, z, 0.01 * z)
        """),
    Mistake(
        'leaky relu derivative 0 for z < 0', 'leaky_relu_answer', fails=('leaky_relu_grad_tests',),
        region=1,
        code="""
            return (np.asarray(z, dtype=float) > 0).astype(float)
        """),
    Mistake(
        'softmax without the max shift', 'softmax_answer', fails=('softmax_tests',),
        code="""
            e = np.exp(np.asarray(z, dtype=float))
            return e / e.sum(axis=-1, keepdims=True)
        """),
    Mistake(
        'softmax delegated to utils', 'softmax_answer', fails=('softmax_tests',),
        message=r"softmax is not in this edition", code="""
            return utils.softmax(z)
        """),
    Mistake(
        'Q3 thinks binary targets lower the weights', 'check_yourself_answer', fails=('q3_tests',),
        code='Q1 = "b"; Q2 = 0.25; Q3 = "a"; Q4 = "b"'),
]
