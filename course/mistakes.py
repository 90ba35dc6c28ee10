"""Plausible wrong answers, one or more per graded function, for every assignment.

Each mistake replaces one solution region of one answer cell and names the tests
cells it must fail; every other tests cell must keep its points. The test suite
grades a submission per mistake with nbgrader to prove it, and the demo's simulated
students make some of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    name: str
    cell: str  # grade_id of the answer cell
    region: int  # which ### BEGIN SOLUTION region of that cell (0 = first)
    code: str  # what the student wrote instead
    fails: tuple[str, ...]  # grade_ids of the tests cells that must score 0


CH1 = [
    Mistake("threshold with > instead of >=", "threshold_unit_answer", 0,
            "return (np.asarray(X) @ np.asarray(w) - T > 0).astype(int)",
            ("threshold_unit_tests",)),
    Mistake("NAND copied from AND", "gate_params_answer", 0,
            'GATE_PARAMS = {"AND": (np.array([1.0, 1.0]), 1.5),\n'
            '               "OR": (np.array([1.0, 1.0]), 0.5),\n'
            '               "NAND": (np.array([1.0, 1.0]), 1.5)}',
            ("gate_params_tests",)),
    Mistake("step fires at y_in = theta", "bipolar_step_answer", 0,
            "y_in = np.asarray(y_in, dtype=float)\n"
            "return np.where(y_in >= theta, 1, np.where(y_in <= -theta, -1, 0))",
            ("bipolar_step_tests",)),
    Mistake("perceptron also updates when y = t", "train_perceptron_answer", 0,
            "X = np.asarray(X, dtype=float)\n"
            "w, b = np.zeros(X.shape[1]), 0.0\n"
            "for epochs in range(1, max_epochs + 1):\n"
            "    old = (w.copy(), b)\n"
            "    for x_i, t_i in zip(X, t):\n"
            "        w = w + alpha * t_i * x_i\n"
            "        b = b + alpha * t_i\n"
            "    if np.array_equal(old[0], w) and old[1] == b:\n"
            "        break\n"
            "return w, b, epochs",
            ("train_perceptron_tests",)),
    Mistake("multi-output: all units update when one is wrong", "train_perceptron_multi_answer", 0,
            "X = np.asarray(X, dtype=float)\n"
            "T = np.asarray(T, dtype=float)\n"
            "W, b = np.zeros((X.shape[1], T.shape[1])), np.zeros(T.shape[1])\n"
            "for epochs in range(1, max_epochs + 1):\n"
            "    changed = False\n"
            "    for x_i, t_i in zip(X, T):\n"
            "        y = utils.bipolar_step(x_i @ W + b, theta)\n"
            "        if np.any(y != t_i):\n"
            "            W = W + alpha * np.outer(x_i, t_i)\n"
            "            b = b + alpha * t_i\n"
            "            changed = True\n"
            "    if not changed:\n"
            "        break\n"
            "return W, b, epochs",
            ("train_perceptron_multi_tests",)),
    Mistake("naive sigmoid overflows", "sigmoid_answer", 0,
            "return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))",
            ("sigmoid_tests",)),
    Mistake("sigmoid derivative as sigma(z)(1 - z)", "sigmoid_answer", 1,
            "s = utils.sigmoid(z)\nreturn s * (1.0 - np.asarray(z))",
            ("sigmoid_grad_tests",)),
    Mistake("tanh from the definition overflows", "tanh_answer", 0,
            "z = np.asarray(z, dtype=float)\n"
            "return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))",
            ("tanh_tests",)),
    Mistake("tanh derivative as 1 - tanh(z)", "tanh_answer", 1,
            "return 1.0 - utils.tanh(z)",
            ("tanh_grad_tests",)),
    Mistake("relu with np.max (a reduction)", "relu_answer", 0,
            "return np.max(np.asarray(z, dtype=float), 0)",
            ("relu_tests",)),
    Mistake("relu derivative as sign(z)", "relu_answer", 1,
            "return np.sign(np.asarray(z, dtype=float))",
            ("relu_grad_tests",)),
    Mistake("leaky relu ignores alpha", "leaky_relu_answer", 0,
            "z = np.asarray(z, dtype=float)\nreturn np.where(z > 0, z, 0.01 * z)",
            ("leaky_relu_tests",)),
    Mistake("leaky relu derivative 0 for z < 0", "leaky_relu_answer", 1,
            "return (np.asarray(z, dtype=float) > 0).astype(float)",
            ("leaky_relu_grad_tests",)),
    Mistake("softmax without the max shift", "softmax_answer", 0,
            "e = np.exp(np.asarray(z, dtype=float))\nreturn e / e.sum(axis=-1, keepdims=True)",
            ("softmax_tests",)),
    Mistake("softmax delegated to utils", "softmax_answer", 0,
            "return utils.softmax(z)",
            ("softmax_tests",)),
    Mistake("Q3 thinks binary targets lower the weights", "check_yourself_answer", 0,
            'Q1 = "b"\nQ2 = 0.25\nQ3 = "a"\nQ4 = "b"',
            ("q3_tests",)),
]

CH2 = [
    Mistake("dense layer without the bias", "dense_forward_answer", 0,
            "Z = np.asarray(A_prev, dtype=float) @ np.asarray(W, dtype=float)\n"
            "return Z, utils.get_activation(activation)[0](Z)",
            ("dense_forward_tests",)),
    Mistake("dense layer always uses sigmoid", "dense_forward_answer", 0,
            "Z = np.asarray(A_prev, dtype=float) @ W + b\nreturn Z, utils.sigmoid(Z)",
            ("dense_forward_tests",)),
    Mistake("output error without the sigmoid derivative", "error_terms_answer", 0,
            "return np.asarray(t, dtype=float) - np.asarray(O, dtype=float)",
            ("output_error_tests",)),
    Mistake("hidden error without O(1 - O)", "error_terms_answer", 1,
            "return np.asarray(error_out, dtype=float) @ np.asarray(W_out, dtype=float).T",
            ("hidden_error_tests",)),
    Mistake("update changes W in place", "delta_rule_update_answer", 0,
            "O_prev = np.atleast_2d(O_prev)\nerror = np.atleast_2d(error)\n"
            "W += lr * O_prev.T @ error\nb += lr * error.sum(axis=0)\nreturn W, b",
            ("delta_rule_update_tests",)),
    Mistake("update forgets the bias", "delta_rule_update_answer", 0,
            "O_prev = np.atleast_2d(O_prev)\nerror = np.atleast_2d(error)\n"
            "return W + lr * O_prev.T @ error, np.asarray(b, dtype=float)",
            ("delta_rule_update_tests",)),
    Mistake("second pass repeats the slides' I6 slip", "error_after_update_answer", 0,
            "ex = utils.mlp.WORKED_EXAMPLE\n"
            "new = utils.mlp.worked_example_iteration().after\n"
            "W = new.W_hidden.copy()\n"
            "W[0, 1] = W[0, 0]  # w15 used for unit 6\n"
            "O_h = utils.sigmoid(ex.x @ W + new.b_hidden)\n"
            "O_o = utils.sigmoid(O_h @ new.W_out + new.b_out)\n"
            "ERROR_AFTER_UPDATE = float(ex.t - O_o[0])",
            ("error_after_update_tests",)),
    Mistake("error typed from the slides", "error_after_update_answer", 0,
            "ERROR_AFTER_UPDATE = 0.526", ("error_after_update_tests",)),
    Mistake("forward pass skips the last activation", "mlp_forward_answer", 0,
            "A = np.asarray(X, dtype=float)\ncaches = []\n"
            "for l in range(1, len(activations) + 1):\n"
            "    W, b = parameters[f'W{l}'], parameters[f'b{l}']\n"
            "    Z = A @ W + b\n"
            "    caches.append((A, W, b, Z))\n"
            "    f = utils.get_activation(activations[l - 1])[0]\n"
            "    A = f(Z) if l < len(activations) else Z\n"
            "return A, caches",
            ("mlp_forward_tests",)),
    Mistake("Q1 counts only the weights", "check_yourself_answer", 0,
            'Q1 = 10\nQ2 = "b"\nQ3 = "b"\nQ4 = "b"', ("q1_tests",)),
]

_BACKWARD = (
    "X = np.asarray(X, dtype=float)\n"
    "m = X.shape[0]\n"
    "dZ2 = {dZ2}\n"
    "dW2 = cache['A1'].T @ dZ2\n"
    "dA1 = dZ2 @ params['W2'].T\n"
    "dZ1 = {dZ1}\n"
    "return {{'dW1': {dW1}, 'db1': dZ1.sum(axis=0), 'dW2': dW2, 'db2': dZ2.sum(axis=0)}}"
)
_RIGHT = {"dZ2": "(cache['A2'] - Y) / m", "dZ1": "dA1 * cache['A1'] * (1 - cache['A1'])",
          "dW1": "X.T @ dZ1"}

CH3 = [
    Mistake("dY/db follows only one path", "graphs_answer", 0,
            "d = a + b\ne = b - c\nreturn d * e, e, e, -d", ("graph_example_tests",)),
    Mistake("df/dx1 forgets the sine", "graphs_answer", 1,
            "return x1 * x2 + np.sin(x1), x2, x1", ("f_and_grad_tests",)),
    Mistake("sigmoid_backward drops dA", "sigmoid_backward_answer", 0,
            "s = utils.sigmoid(Z)\nreturn s * (1.0 - s)", ("sigmoid_backward_tests",)),
    Mistake("loss summed instead of averaged", "bce_answer", 0,
            "A2 = np.clip(np.asarray(A2, dtype=float), 1e-12, 1 - 1e-12)\n"
            "return float(-np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))",
            ("bce_loss_tests",)),
    Mistake("dA2 without clipping divides by zero", "bce_answer", 1,
            "A2 = np.asarray(A2, dtype=float)\nreturn -(Y / A2 - (1 - Y) / (1 - A2)) / A2.shape[0]",
            ("bce_grad_tests",)),
    Mistake("forward pass forgets b1", "two_layer_answer", 0,
            "A1 = utils.sigmoid(X @ params['W1'])\nZ2 = A1 @ params['W2'] + params['b2']\n"
            "A2 = utils.sigmoid(Z2)\n"
            "return A2, {'Z1': X @ params['W1'], 'A1': A1, 'Z2': Z2, 'A2': A2}",
            ("two_layer_forward_tests",)),
    Mistake("backward pass missing 1/m", "two_layer_answer", 1,
            _BACKWARD.format(**{**_RIGHT, "dZ2": "cache['A2'] - Y"}),
            ("two_layer_backward_tests",)),
    Mistake("backward pass with a forgotten transpose", "two_layer_answer", 1,
            _BACKWARD.format(**{**_RIGHT, "dW1": "dZ1.T @ X"}), ("two_layer_backward_tests",)),
    Mistake("dZ1 without the sigmoid derivative", "two_layer_answer", 1,
            _BACKWARD.format(**{**_RIGHT, "dZ1": "dA1"}), ("two_layer_backward_tests",)),
    Mistake("one-sided difference", "gradcheck_answer", 0,
            "grad = np.zeros_like(x, dtype=float)\nf0 = f(x)\n"
            "for i in np.ndindex(x.shape):\n"
            "    old = x[i]\n    x[i] = old + h\n    grad[i] = (f(x) - f0) / h\n    x[i] = old\n"
            "return grad",
            ("numerical_gradient_tests",)),
    Mistake("numerical gradient leaves x perturbed", "gradcheck_answer", 0,
            "grad = np.zeros_like(x, dtype=float)\n"
            "for i in np.ndindex(x.shape):\n"
            "    x[i] += h\n    f_plus = f(x)\n    x[i] -= 2 * h\n    f_minus = f(x)\n"
            "    grad[i] = (f_plus - f_minus) / (2 * h)\n"
            "return grad",
            ("numerical_gradient_tests",)),
    Mistake("relative error divides by zero", "gradcheck_answer", 1,
            "a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)\n"
            "return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))",
            ("relative_error_tests",)),
    Mistake("blames db1 without checking", "buggy_gradient_answer", 0,
            'BUGGY_GRADIENT = "db1"', ("buggy_gradient_tests",)),
    Mistake("Q3 thinks dZ2 is an approximation", "check_yourself_answer", 0,
            'Q1 = 1.0\nQ2 = "b"\nQ3 = "c"', ("q3_tests",)),
]

_ADAM = (
    "v = {{k: beta1 * v[k] + (1 - beta1) * grads[k] for k in v}}\n"
    "s = {{k: beta2 * s[k] + (1 - beta2) * grads[k] ** 2 for k in s}}\n"
    "new = {{}}\n"
    "for k, p in parameters.items():\n"
    "    v_hat = {v_hat}\n"
    "    s_hat = {s_hat}\n"
    "    step = v_hat / (np.sqrt(s_hat) + epsilon)\n"
    "{decay}"
    "    new[k] = p - learning_rate * step\n"
    "return new, v, s"
)
_CORRECTED = {"v_hat": 'v["d" + k] / (1 - beta1**t)', "s_hat": 's["d" + k] / (1 - beta2**t)',
              "decay": ""}
_DECAY = '    if k.startswith("W"):\n        step = step + weight_decay * p\n'

CH4 = [
    Mistake("gradient ascent (+ instead of -)", "gd_answer", 0,
            'return {k: v + learning_rate * grads["d" + k] for k, v in parameters.items()}',
            ("gd_tests",)),
    Mistake("last smaller batch dropped", "mini_batches_answer", 0,
            "m = X.shape[0]\norder = np.random.default_rng(seed).permutation(m)\n"
            "X, Y = X[order], Y[order]\n"
            "return [(X[i:i + mini_batch_size], Y[i:i + mini_batch_size])\n"
            "        for i in range(0, m - mini_batch_size + 1, mini_batch_size)]",
            ("mini_batches_tests",)),
    Mistake("X and Y shuffled separately", "mini_batches_answer", 0,
            "m = X.shape[0]\nrng = np.random.default_rng(seed)\n"
            "X, Y = X[rng.permutation(m)], Y[rng.permutation(m)]\n"
            "return [(X[i:i + mini_batch_size], Y[i:i + mini_batch_size])\n"
            "        for i in range(0, m, mini_batch_size)]",
            ("mini_batches_tests",)),
    Mistake("velocity keyed like the parameters", "momentum_answer", 0,
            "return {k: np.zeros_like(v, dtype=float) for k, v in parameters.items()}",
            ("initialize_velocity_tests",)),
    Mistake("momentum without the (1 - beta) factor", "momentum_answer", 1,
            "v = {k: beta * v[k] + grads[k] for k in v}\n"
            'return {k: p - learning_rate * v["d" + k] for k, p in parameters.items()}, v',
            ("momentum_tests",)),
    Mistake("Adagrad keeps only the last squared gradient", "adaptive_answer", 0,
            "s = {k: grads[k] ** 2 for k in s}\n"
            'return {k: p - learning_rate * grads["d" + k] / (np.sqrt(s["d" + k]) + epsilon)\n'
            "        for k, p in parameters.items()}, s",
            ("adagrad_tests",)),
    Mistake("RMSProp with epsilon inside the root", "adaptive_answer", 1,
            "s = {k: beta * s[k] + (1 - beta) * grads[k] ** 2 for k in s}\n"
            'return {k: p - learning_rate * grads["d" + k] / np.sqrt(s["d" + k] + epsilon)\n'
            "        for k, p in parameters.items()}, s",
            ("rmsprop_tests",)),
    Mistake("v and s are the same dictionary", "adam_answer", 0,
            'v = {"d" + k: np.zeros_like(p, dtype=float) for k, p in parameters.items()}\n'
            "return v, v",
            ("initialize_adam_tests",)),
    Mistake("Adam without bias correction", "adam_answer", 1,
            _ADAM.format(v_hat='v["d" + k]', s_hat='s["d" + k]', decay=""), ("adam_tests",)),
    Mistake("AdamW decays the biases too", "adamw_answer", 0,
            _ADAM.format(**{**_CORRECTED, "decay": "    step = step + weight_decay * p\n"}),
            ("adamw_tests",)),
    Mistake("AdamW decays a copy taken at the first call", "adamw_answer", 0,
            "if not hasattr(update_parameters_with_adamw, 'w0'):\n"
            "    update_parameters_with_adamw.w0 = {k: p.copy() for k, p in parameters.items()}\n"
            "w0 = update_parameters_with_adamw.w0\n"
            + _ADAM.format(**{**_CORRECTED, "decay": '    if k.startswith("W"):\n'
                              "        step = step + weight_decay * w0.get(k, p)\n"}),
            ("adamw_tests",)),
    Mistake("AdamW decay inside the adaptive step (L2 in the gradient)", "adamw_answer", 0,
            "g = {k: grads[k] + (weight_decay * parameters[k[1:]] if k.startswith('dW') else 0)\n"
            "     for k in grads}\n"
            + _ADAM.format(**_CORRECTED).replace("grads[k]", "g[k]"),
            ("adamw_tests",)),
    Mistake("Q2 drops the last batch", "check_yourself_answer", 0,
            'Q1 = 1.0\nQ2 = 15\nQ3 = "b"\nQ4 = "a"', ("q2_tests",)),
]

MISTAKES: dict[str, list[Mistake]] = {"ch1_perceptron": CH1, "ch2_mlp": CH2, "ch3_backprop": CH3,
                                      "ch4_optimizers": CH4}


def by_name(assignment: str, *names: str) -> list[Mistake]:
    """Look mistakes up by name (used by the demo's simulated students)."""
    table = {m.name: m for m in MISTAKES.get(assignment, [])}
    return [table[n] for n in names]
