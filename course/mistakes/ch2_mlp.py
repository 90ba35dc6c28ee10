"""Plausible wrong answers for ch2_mlp: Chapter 2 (MLP, the 4-2-1 worked example)."""

from . import Mistake

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
        "second pass repeats the slides' I6 slip", 'error_after_update_answer',
        fails=('error_after_update_tests',),
        code="""
            ex = utils.mlp.WORKED_EXAMPLE
            new = utils.mlp.worked_example_iteration().after
            W = new.W_hidden.copy()
            W[0, 1] = W[0, 0]  # w15 used for unit 6
            O_h = utils.sigmoid(ex.x @ W + new.b_hidden)
            O_o = utils.sigmoid(O_h @ new.W_out + new.b_out)
            ERROR_AFTER_UPDATE = float(ex.t - O_o[0])
        """),
    Mistake(
        'error typed from the slides', 'error_after_update_answer',
        fails=('error_after_update_tests',),
        code="""
            ERROR_AFTER_UPDATE = 0.526
        """),
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
        'Q1 counts only the weights', 'check_yourself_answer', fails=('q1_tests',),
        code="""
            Q1 = 10
            Q2 = "b"
            Q3 = "b"
            Q4 = "b"
        """),
]
