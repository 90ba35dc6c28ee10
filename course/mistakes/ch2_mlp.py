"""Plausible wrong answers for ch2_mlp: Chapter 2 (MLP, the 4-2-1 worked example).
Imports ``course.mistakes`` (``Mistake``) only.
"""

import textwrap
from string import Template

from . import Mistake

# One delta-rule iteration written out; the iteration mistakes swap the lines that load
# the parameters or compute the hidden errors and updates.
_ITERATION = Template("""
    x = np.asarray(x, dtype=float)
    $load
    O_h = utils.sigmoid(x @ W1 + b1)
    O_o = utils.sigmoid(O_h @ W2 + b2)
    err_o = O_o * (1 - O_o) * (t - O_o)
    $update
    return float(t - utils.sigmoid(utils.sigmoid(x @ W1 + b1) @ W2 + b2)[0])
""")
_LOAD = 'W1, b1, W2, b2 = (np.asarray(params[k], dtype=float) for k in ("W1", "b1", "W2", "b2"))'


def _iteration(update: str, load: str = _LOAD) -> str:
    return textwrap.dedent(_ITERATION.substitute(load=load, update=update.strip("\n").lstrip()))


MISTAKES = [
    Mistake(
        'dense layer without the bias', 'dense_forward_answer', fails=('dense_forward_tests',),
        code="""
            Z = np.asarray(A_prev, dtype=float) @ np.asarray(W, dtype=float)
            return Z, utils.get_activation(activation)[0](Z)
        """),
    Mistake(
        'dense layer always uses sigmoid', 'dense_forward_answer', fails=('dense_forward_tests',),
        code="""
            Z = np.asarray(A_prev, dtype=float) @ W + b
            return Z, utils.sigmoid(Z)
        """),
    Mistake(
        'output error without the sigmoid derivative', 'error_terms_answer',
        fails=('output_error_tests',),
        code="""
            return np.asarray(t, dtype=float) - np.asarray(O, dtype=float)
        """),
    Mistake(
        'hidden error without O(1 - O)', 'error_terms_answer', fails=('hidden_error_tests',),
        region=1,
        code="""
            return np.asarray(error_out, dtype=float) @ np.asarray(W_out, dtype=float).T
        """),
    Mistake(
        'update changes W in place', 'delta_rule_update_answer', fails=('delta_rule_update_tests',),
        code="""
            O_prev = np.atleast_2d(O_prev)
            error = np.atleast_2d(error)
            W += lr * O_prev.T @ error
            b += lr * error.sum(axis=0)
            return W, b
        """),
    Mistake(
        'update forgets the bias', 'delta_rule_update_answer', fails=('delta_rule_update_tests',),
        code="""
            O_prev = np.atleast_2d(O_prev)
            error = np.atleast_2d(error)
            return W + lr * O_prev.T @ error, np.asarray(b, dtype=float)
        """),
    Mistake(
        'hidden errors computed with the updated output weights', 'error_after_update_answer',
        fails=('error_after_update_tests',),
        code=_iteration(update="""
    W2, b2 = W2 + lr * np.outer(O_h, err_o), b2 + lr * err_o
    err_h = O_h * (1 - O_h) * (err_o @ W2.T)
    W1, b1 = W1 + lr * np.outer(x, err_h), b1 + lr * err_h""")),
    Mistake(
        'iteration updates the weights in place', 'error_after_update_answer',
        fails=('error_after_update_tests',),
        code=_iteration(load="W1, b1, W2, b2 = (params[k] for k in ('W1', 'b1', 'W2', 'b2'))",
                        update="""
    err_h = O_h * (1 - O_h) * (err_o @ W2.T)
    W2 += lr * np.outer(O_h, err_o)
    b2 += lr * err_o
    W1 += lr * np.outer(x, err_h)
    b1 += lr * err_h""")),
    Mistake(
        'forward pass skips the last activation', 'mlp_forward_answer',
        fails=('mlp_forward_tests',),
        code="""
            A = np.asarray(X, dtype=float)
            caches = []
            for l in range(1, len(activations) + 1):
                W, b = parameters[f'W{l}'], parameters[f'b{l}']
                Z = A @ W + b
                caches.append((A, W, b, Z))
                f = utils.get_activation(activations[l - 1])[0]
                A = f(Z) if l < len(activations) else Z
            return A, caches
        """),
    Mistake(
        'forward pass keeps no caches', 'mlp_forward_answer', fails=('mlp_forward_tests',),
        code="""
            A = np.asarray(X, dtype=float)
            for l in range(1, len(activations) + 1):
                Z = A @ parameters[f'W{l}'] + parameters[f'b{l}']
                A = utils.get_activation(activations[l - 1])[0](Z)
            return A, [None] * len(activations)
        """),
    Mistake(
        "caches hold the layer's output instead of its input", 'mlp_forward_answer',
        fails=('mlp_forward_tests',),
        code="""
            A = np.asarray(X, dtype=float)
            caches = []
            for l in range(1, len(activations) + 1):
                W, b = parameters[f'W{l}'], parameters[f'b{l}']
                Z = A @ W + b
                A = utils.get_activation(activations[l - 1])[0](Z)
                caches.append((A, W, b, Z))
            return A, caches
        """),
    Mistake(
        'Q1 counts only the weights', 'check_yourself_answer', fails=('q1_tests',),
        code='Q1 = 10; Q2 = "b"; Q3 = "b"; Q4 = "b"'),
]
