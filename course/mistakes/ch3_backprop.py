"""Plausible wrong answers for ch3_backprop: Chapter 3 (backprop, gradient checking).
Imports ``course.mistakes`` (``Mistake``) only.
"""

from string import Template

from . import Mistake

# The correct backward pass of the 2-layer network, one line at a time; each backward
# mistake swaps one line for a plausible wrong one.
_BACKWARD = Template("""
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    dZ2 = $dZ2
    dW2 = cache['A1'].T @ dZ2
    dA1 = dZ2 @ params['W2'].T
    dZ1 = $dZ1
    return {'dW1': $dW1, 'db1': dZ1.sum(axis=0), 'dW2': dW2, 'db2': dZ2.sum(axis=0)}
""")
_RIGHT = {"dZ2": "(cache['A2'] - Y) / m", "dZ1": "dA1 * cache['A1'] * (1 - cache['A1'])",
          "dW1": "X.T @ dZ1"}


def _backward(**wrong: str) -> str:
    return _BACKWARD.substitute({**_RIGHT, **wrong})


MISTAKES = [
    Mistake(
        'dY/db follows only one path', 'graphs_answer', fails=('graph_example_tests',),
        code="""
            d = a + b
            e = b - c
            return d * e, e, e, -d
        """),
    Mistake(
        'graph example handed to utils.graph.Value', 'graphs_answer',
        message=r"backpropagate is not in this edition",
        fails=('graph_example_tests',),
        code="""
            a, b, c = Value(a), Value(b), Value(c)
            Y = (a + b) * (b - c)
            Y.backward()
            return Y.data, a.grad, b.grad, c.grad
        """),
    Mistake(
        'df/dx1 forgets the sine', 'graphs_answer', fails=('f_and_grad_tests',),
        region=1,
        code="""
            return x1 * x2 + np.sin(x1), x2, x1
        """),
    Mistake(
        'sigmoid_backward drops dA', 'sigmoid_backward_answer', fails=('sigmoid_backward_tests',),
        code="""
            s = utils.sigmoid(Z)
            return s * (1.0 - s)
        """),
    Mistake(
        'loss summed instead of averaged', 'bce_answer', fails=('bce_loss_tests',),
        code="""
            A2 = np.clip(np.asarray(A2, dtype=float), 1e-12, 1 - 1e-12)
            return float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))
        """),
    Mistake(
        'dA2 without clipping divides by zero', 'bce_answer', fails=('bce_grad_tests',),
        region=1,
        code="""
            A2 = np.asarray(A2, dtype=float)
            return -(Y / A2 - (1 - Y) / (1 - A2)) / A2.shape[0]
        """),
    Mistake(
        'forward pass forgets b1', 'two_layer_answer', fails=('two_layer_forward_tests',),
        code="""
            A1 = utils.sigmoid(X @ params['W1'])
            Z2 = A1 @ params['W2'] + params['b2']
            A2 = utils.sigmoid(Z2)
            return A2, {'Z1': X @ params['W1'], 'A1': A1, 'Z2': Z2, 'A2': A2}
        """),
    Mistake(
        'forward pass handed to utils.mlp.forward', 'two_layer_answer',
        fails=('two_layer_forward_tests',),
        code="""
            A2, caches = utils.mlp.forward(X, params, "sigmoid")
            (_, _, _, Z1, _), (A1, _, _, Z2, _) = caches
            return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
        """),
    Mistake(
        'backward pass handed to utils.mlp.backward', 'two_layer_answer',
        message=r"utils\.mlp\.backward is not in this edition",
        fails=('two_layer_backward_tests',), region=1,
        code="""
            A2, caches = utils.mlp.forward(X, params, "sigmoid")
            return utils.mlp.backward(A2, Y, caches, "bce")
        """),
    Mistake(
        'backward pass missing 1/m', 'two_layer_answer', fails=('two_layer_backward_tests',),
        region=1, code=_backward(dZ2="cache['A2'] - Y")),
    Mistake(
        'backward pass with a forgotten transpose', 'two_layer_answer',
        fails=('two_layer_backward_tests',), region=1, code=_backward(dW1="dZ1.T @ X")),
    Mistake(
        'dZ1 without the sigmoid derivative', 'two_layer_answer',
        fails=('two_layer_backward_tests',), region=1, code=_backward(dZ1="dA1")),
    Mistake(
        'backward pass by finite differences', 'two_layer_answer',
        message=r"numerical_gradient is not in this edition",
        fails=('two_layer_backward_tests',), region=1,
        code="""
            grads = {}
            for key in ('W1', 'b1', 'W2', 'b2'):
                def loss(value, key=key):
                    return bce_loss(two_layer_forward(X, {**params, key: value})[0], Y)
                grads['d' + key] = utils.gradcheck.numerical_gradient(
                    loss, np.array(params[key], dtype=float))
            return grads
        """),
    Mistake(
        'backward pass by a fourth-order difference', 'two_layer_answer',
        fails=('two_layer_backward_tests',), region=1,
        code="""
            X = np.asarray(X, dtype=float)
            grads, h = {}, 3e-3
            for key in ('W1', 'b1', 'W2', 'b2'):
                value = np.array(params[key], dtype=float)
                grad = np.zeros_like(value)
                for i in np.ndindex(value.shape):
                    old, J = value[i], []
                    for step in (2 * h, h, -h, -2 * h):
                        value[i] = old + step
                        J.append(bce_loss(two_layer_forward(X, {**params, key: value})[0], Y))
                    value[i] = old
                    grad[i] = (-J[0] + 8 * J[1] - 8 * J[2] + J[3]) / (12 * h)
                grads['d' + key] = grad
            return grads
        """),
    Mistake(
        'fixed backward by central differences', 'buggy_gradient_answer',
        fails=('buggy_gradient_tests',),
        code="""
            def loss(p):
                A1 = np.tanh(X @ p["W1"] + p["b1"])
                A2 = utils.sigmoid(A1 @ p["W2"] + p["b2"])
                return -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))

            grads, h = {}, 1e-6
            for key in ("W1", "b1", "W2", "b2"):
                grad = np.zeros_like(params[key], dtype=float)
                for i in np.ndindex(grad.shape):
                    plus = {**params, key: np.array(params[key], dtype=float)}
                    minus = {**params, key: np.array(params[key], dtype=float)}
                    plus[key][i] += h
                    minus[key][i] -= h
                    grad[i] = (loss(plus) - loss(minus)) / (2 * h)
                grads["d" + key] = grad
            return grads
        """),
    Mistake(
        'one-sided difference', 'gradcheck_answer', fails=('numerical_gradient_tests',),
        code="""
            grad = np.zeros_like(x, dtype=float)
            f0 = f(x)
            for i in np.ndindex(x.shape):
                old = x[i]
                x[i] = old + h
                grad[i] = (f(x) - f0) / h
                x[i] = old
            return grad
        """),
    Mistake(
        'numerical gradient leaves x perturbed', 'gradcheck_answer',
        fails=('numerical_gradient_tests',),
        code="""
            grad = np.zeros_like(x, dtype=float)
            for i in np.ndindex(x.shape):
                x[i] += h
                f_plus = f(x)
                x[i] -= 2 * h
                f_minus = f(x)
                grad[i] = (f_plus - f_minus) / (2 * h)
            return grad
        """),
    Mistake(
        'relative error divides by zero', 'gradcheck_answer', fails=('relative_error_tests',),
        region=1,
        code="""
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))
        """),
    Mistake(
        "fix uses the sigmoid's derivative for the tanh layer", 'buggy_gradient_answer',
        fails=('buggy_gradient_tests',),
        code="""
            A1 = np.tanh(X @ params["W1"] + params["b1"])
            A2 = utils.sigmoid(A1 @ params["W2"] + params["b2"])
            m = X.shape[0]
            dZ2 = (A2 - Y) / m
            dZ1 = (dZ2 @ params["W2"].T) * A1 * (1 - A1)
            return {"dW2": A1.T @ dZ2, "db2": dZ2.sum(axis=0), "dW1": X.T @ dZ1,
                    "db1": dZ1.sum(axis=0)}
        """),
    Mistake(
        'Q3 thinks dZ2 is an approximation', 'check_yourself_answer', fails=('q3_tests',),
        code='Q1 = 1.0; Q2 = "b"; Q3 = "c"'),
]
