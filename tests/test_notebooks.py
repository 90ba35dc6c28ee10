"""The student experience, graded for real by ``course grade`` and by plain nbgrader.

For every assignment: the solved source scores full marks, the blank release scores
zero (and finishes), every plausible mistake in ``course/mistakes/`` (a few to a
submission) loses exactly the points of the tests it names (and the two graders agree),
tampering with ``utils`` changes nothing, the feedback hides the hidden tests, and the
release is in sync and leak-free.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from html import unescape

import nbformat
import pytest
from nbclient import NotebookClient

from course import misconceptions, workspace
from course.check import check_leaks, check_metadata, run_checks
from course.coursedir import Course
from course.grading.feedback import PASSED_MESSAGE
from course.mistakes import MISTAKES, Mistake, by_name, mistakes
from course.notebooks import (
    KERNEL_CASES_CALL,
    RUN_ON_TAG,
    course_root,
    fill_answers,
    grade_id,
    hidden_only_lines,
    is_answer,
    is_tests,
    notebook_path,
    points_by_tests_cell,
    read,
)

ROOT = course_root()
ASSIGNMENTS = sorted(MISTAKES)

TAMPER = '''
import utils
try:
    utils.grading.assert_close = lambda *args, **kwargs: None
except AttributeError:
    pass
utils.sigmoid = sigmoid
utils.activations.sigmoid = sigmoid
'''


# Correct answers written differently from the solutions (in place, vectorized, other
# formulas, their own helper names): each must score full marks.
ALTERNATIVES = {
    "ch1_perceptron": [
        Mistake("numbers as NumPy scalars, a letter as np.str_", "check_yourself_answer", (),
                'Q1, Q2, Q3, Q4 = "b", np.float64(0.25), np.str_("b"), "b"'),
        Mistake("other gate weights, a module-level helper", "gate_params_answer", (), """
            def gate(w1, w2, T):
                return np.array([w1, w2]), T

            GATE_PARAMS = {"NOR": gate(-2.0, -3.0, -1.0), "AND_NOT": gate(2.0, -1.0, 1.5)}
            """),
        Mistake("multi-output rule with a mask and its own helper", "train_perceptron_multi_answer",
                (), """
            X, T = np.asarray(X, dtype=float), np.asarray(T, dtype=float)
            W, b = np.zeros((X.shape[1], T.shape[1])), np.zeros(T.shape[1])

            def outputs(x):
                net = x @ W + b
                return np.where(net > theta, 1, np.where(net < -theta, -1, 0))

            for epochs in range(1, max_epochs + 1):
                changed = False
                for x, t in zip(X, T):
                    wrong = outputs(x) != t
                    if wrong.any():
                        W[:, wrong] += alpha * np.outer(x, t[wrong])
                        b[wrong] += alpha * t[wrong]
                        changed = True
                if not changed:
                    break
            return W, b, epochs
            """),
    ],
    "ch2_mlp": [
        Mistake("Q1 as np.int64", "check_yourself_answer", (), """
            Q1 = np.int64(13)
            Q2 = "b"
            Q3 = "b"
            Q4 = "b"
            """),
        Mistake("caches as lists, in a list comprehension-free loop with its own helper",
                "mlp_forward_answer", (), """
            def layer(A_prev, W, b, name):
                Z = np.dot(A_prev, W) + b
                return utils.get_activation(name)[0](Z), [A_prev, W, b, Z]

            A, caches = np.array(X, dtype=float), []
            for l, name in enumerate(activations, start=1):
                A, cache = layer(A, parameters["W" + str(l)], parameters["b" + str(l)], name)
                caches.append(cache)
            return A, caches
            """),
        Mistake("the iteration built from the student's own functions", "error_after_update_answer",
                (), """
            Z1, O_h = dense_layer(x, params["W1"], params["b1"])
            Z2, O_o = dense_layer(O_h, params["W2"], params["b2"])
            e_out = output_error(O_o, t)
            e_hid = hidden_error(O_h, params["W2"], e_out)
            W2, b2 = delta_rule_update(params["W2"], params["b2"], O_h, e_out, lr)
            W1, b1 = delta_rule_update(params["W1"], params["b1"], x, e_hid, lr)
            O_new = dense_layer(dense_layer(x, W1, b1)[1], W2, b2)[1]
            return float(np.squeeze(t - O_new))
            """),
    ],
    "ch3_backprop": [
        Mistake("Q1 as np.float64", "check_yourself_answer", (), """
            Q1 = np.float64(1.0)
            Q2 = "b"
            Q3 = "a"
            """),
        Mistake("backward pass through the student's bce_grad and sigmoid_backward",
                "two_layer_answer",
                (), """
            dZ2 = sigmoid_backward(bce_grad(cache["A2"], Y), cache["Z2"])
            dZ1 = sigmoid_backward(dZ2 @ params["W2"].T, cache["Z1"])
            return {"dW1": np.einsum("mi,mj->ij", X, dZ1), "db1": dZ1.sum(axis=0),
                    "dW2": np.einsum("mi,mj->ij", cache["A1"], dZ2), "db2": np.sum(dZ2, axis=0)}
            """, region=1),
        Mistake("numerical gradient over a flat view of x", "gradcheck_answer", (), """
            flat, grad = x.reshape(-1), np.empty(x.size)
            for i in range(x.size):
                saved = flat[i]
                flat[i] = saved + h
                up = f(x)
                flat[i] = saved - h
                down = f(x)
                flat[i] = saved
                grad[i] = (up - down) / (2 * h)
            return grad.reshape(x.shape)
            """),
        Mistake("tanh' written as (1 - A)(1 + A)", "buggy_gradient_answer", (), """
            A1 = np.tanh(X @ params["W1"] + params["b1"])
            A2 = utils.sigmoid(A1 @ params["W2"] + params["b2"])
            dZ2 = (A2 - Y) / len(X)
            dZ1 = dZ2 @ params["W2"].T * (1 - A1) * (1 + A1)
            return {"dW1": X.T @ dZ1, "db1": dZ1.sum(0), "dW2": A1.T @ dZ2, "db2": dZ2.sum(0)}
            """),
    ],
    "ch5_regularization": [
        Mistake("Q1 and Q3 as NumPy floats", "check_yourself_answer", (), """
            Q1 = np.float64(0.8) ** 10
            Q2 = "b"
            Q3 = np.float64(2) * (1 - np.float64(0.9) ** 3)
            Q4 = "a"
            """),
        Mistake("Q1 and Q3 rounded to three digits", "check_yourself_answer", (), """
            Q1 = 0.107
            Q2 = "b"
            Q3 = np.float32(0.542)
            Q4 = "a"
            """),
        Mistake("L2 penalty as a NumPy float", "penalties_answer", (), """
            squares = [np.sum(np.square(W)) for k, W in parameters.items() if k[0] == "W"]
            return lambd * np.sum(squares)
            """),
        Mistake("early stopping returning NumPy integers in a list", "early_stopping_answer", (),
                """
            losses = np.asarray(val_losses, dtype=float)
            best_epoch, waited = np.int64(0), 0
            for epoch in np.arange(len(losses)):
                if losses[epoch] < losses[best_epoch] or epoch == 0:
                    best_epoch, waited = epoch, 0
                else:
                    waited += 1
                    if waited == patience:
                        return [best_epoch, epoch]
            return [best_epoch, np.int64(len(losses) - 1)]
            """),
        Mistake("early stopping vectorized with running minima", "early_stopping_answer", (), """
            losses = np.asarray(val_losses, dtype=float)
            best_so_far = np.minimum.accumulate(losses)
            improved = np.r_[True, losses[1:] < best_so_far[:-1]]
            last_improvement = np.maximum.accumulate(np.where(improved, np.arange(len(losses)), 0))
            waited = np.arange(len(losses)) - last_improvement
            stops = np.flatnonzero(waited >= patience)
            stop = int(stops[0]) if stops.size else len(losses) - 1
            return int(last_improvement[stop]), stop
            """),
        Mistake("translate by padding and slicing", "translate_answer", (), """
            image = np.asarray(image, dtype=float)
            H, W = image.shape
            pad = max(H, W, abs(dy), abs(dx))  # any shift, even past the image
            padded = np.pad(image, pad)
            return padded[pad - dy:pad - dy + H, pad - dx:pad - dx + W].copy()
            """),
        Mistake("dropout with np.where and its own helper", "dropout_answer", (), """
            def keep_mask(shape):
                return np.random.default_rng(seed).random(shape) >= p

            A = np.asarray(A, dtype=float)
            mask = keep_mask(A.shape) if training else np.ones(A.shape, dtype=bool)
            out = np.where(mask, A / (1 - p), 0.0) if training else A
            return out, {"mask": mask, "p": p, "training": training}
            """),
    ],
    "ch6_gradients": [
        Mistake("Q2 from np.arctan2, Q3 as a power, Q4 as a NumPy float", "check_yourself_answer",
                (), 'Q1 = "c"\nQ2 = np.degrees(np.arctan2(1, 1) - np.arctan2(1, 4))\nQ3 = 2 ** 5\n'
                'Q4 = np.float64(1.84)'),
        Mistake("Q2 rounded, Q4 through cosh", "check_yourself_answer", (),
                'Q1 = "c"\nQ2 = 31.0\nQ3 = np.float64(32)\nQ4 = 1 + 2 / np.cosh(1.0) ** 2'),
        Mistake("numbers as float32 and int64", "check_yourself_answer", (),
                'Q1 = "c"\nQ2 = np.float32(30.96)\nQ3 = np.int64(2) ** 5\nQ4 = 1.84'),
        Mistake("He normal through the legacy seeded global generator", "init_answer", (), region=1,
                code="""
                np.random.seed(seed)
                return np.random.randn(n_in, n_out) * np.sqrt(2.0 / n_in)
                """),
        Mistake("Xavier uniform as a scaled standard uniform", "init_answer", (), region=2, code="""
                a = np.sqrt(6.0 / (n_in + n_out))
                return a * (2.0 * np.random.default_rng(seed).random((n_in, n_out)) - 1.0)
                """),
        Mistake("clipping that copies the arrays below the threshold", "clipping_answer", (), """
                total = np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))
                if total <= max_norm:
                    return {k: np.copy(g) for k, g in grads.items()}, total
                return {k: g * (max_norm / total) for k, g in grads.items()}, total
                """),
        Mistake("clip by value with np.minimum and np.maximum", "clipping_answer", (), region=1,
                code="""
                return {k: np.minimum(np.maximum(g, -clip_value), clip_value)
                        for k, g in grads.items()}
                """),
        Mistake("initialisers through standard_normal and scaling", "init_answer", (), """
            rng = np.random.default_rng(seed)
            return rng.standard_normal((n_in, n_out)) * (2.0 / (n_in + n_out)) ** 0.5
            """),
        Mistake("clipping through one concatenated vector", "clipping_answer", (), """
            flat = np.concatenate([np.ravel(g) for g in grads.values()])
            total = float(np.linalg.norm(flat))
            scale = min(1.0, max_norm / total) if total > 0 else 1.0
            clipped = {}
            for name in grads:
                clipped[name] = np.array(grads[name], dtype=float) * scale
            return clipped, total
            """),
        Mistake("gradient norms with a recursive helper", "gradient_norms_answer", (), """
            f, df = utils.get_activation(activation)

            def backprop(A, layers):
                if not layers:
                    return np.full(A.shape, 1.0 / len(X)), []
                Z = A @ layers[0]
                dA_next, norms = backprop(f(Z), layers[1:])
                dZ = dA_next * df(Z)
                return dZ @ layers[0].T, [np.linalg.norm(A.T @ dZ)] + norms

            return [float(n) for n in backprop(np.asarray(X, dtype=float), list(weights))[1]]
            """),
    ],
    "ch7_rnn_lstm": [
        Mistake("Q1 as a NumPy integer", "check_yourself_answer", (),
                'Q1 = np.int64(4 * (6 * 32 + 32 * 32 + 32))\nQ2 = "b"\nQ3 = "a"\nQ4 = "d"'),
        Mistake("Q1 as a NumPy float", "check_yourself_answer", (),
                'Q1 = np.float64(4992)\nQ2 = "b"\nQ3 = "a"\nQ4 = "d"'),
        Mistake("LSTM BPTT collecting the steps and summing with np.sum", "lstm_backward_answer",
                (), """
            T = dH_all.shape[1]
            dh, dc = np.zeros_like(dH_all[:, 0]), np.zeros_like(dH_all[:, 0])
            dX, dWx, dWh, db = [], [], [], []
            for t in range(T - 1, -1, -1):
                dx_t, dh, dc, dWx_t, dWh_t, db_t = lstm_step_backward(dh + dH_all[:, t], dc,
                                                                      cache[t])
                dX.insert(0, dx_t)
                dWx.append(dWx_t)
                dWh.append(dWh_t)
                db.append(db_t)
            return (np.stack(dX, axis=1), dh, np.sum(dWx, axis=0), np.sum(dWh, axis=0),
                    np.sum(db, axis=0))
            """),
        Mistake("RNN step with copies in the cache and extra keys", "rnn_step_answer", (), """
            a = np.dot(x_t, Wx) + np.dot(h_prev, Wh) + b
            h_next = np.tanh(a)
            cache = dict(x_t=x_t.copy(), h_prev=h_prev.copy(), Wx=Wx.copy(), Wh=Wh.copy(),
                         h_next=h_next.copy(), b=b, a=a)
            return h_next, cache
            """),
        Mistake("RNN forward on the student's own step, caches in a tuple", "rnn_answer", (), """
            states, steps = [h0], []
            for t in range(X.shape[1]):
                h, step = rnn_step_forward(X[:, t], states[-1], Wx, Wh, b)
                states.append(h)
                steps.append(step)
            return np.stack(states[1:], axis=1), tuple(steps)
            """),
        Mistake("LSTM forward on the student's own step, H_all filled in place",
                "lstm_forward_answer",
                (), """
            m, T, _ = X.shape
            H_all = np.empty((m, T, h0.shape[1]))
            h, c, cache = h0, np.zeros(h0.shape), []
            for t in range(T):
                h, c, step = lstm_step_forward(X[:, t, :], h, c, Wx, Wh, b)
                H_all[:, t, :] = h
                cache += [step]
            return H_all, cache
            """),
        Mistake("LSTM step with np.split and a gate helper", "lstm_step_answer", (), """
            def gate(z):
                return 1.0 / (1.0 + np.exp(-z))

            a_i, a_f, a_g, a_o = np.split(x_t @ Wx + h_prev @ Wh + b, 4, axis=1)
            i, f, g, o = gate(a_i), gate(a_f), np.tanh(a_g), gate(a_o)
            c_next = c_prev * f + g * i
            h_next = np.tanh(c_next) * o
            return h_next, c_next, dict(x_t=x_t, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh, i=i,
                                        f=f, g=g, o=o, c_next=c_next, h_next=h_next)
            """),
        Mistake("BPTT collecting per-step gradients and summing them at the end", "rnn_answer", (),
                region=1, code="""
            T = dH_all.shape[1]
            per_step, dX_steps = [], [None] * T
            dh = np.zeros_like(dH_all[:, 0])
            for t in range(T - 1, -1, -1):
                dx_t, dh, *weights = rnn_step_backward(dH_all[:, t] + dh, cache[t])
                dX_steps[t] = dx_t
                per_step.append(weights)
            dWx, dWh, db = (sum(grads) for grads in zip(*per_step))
            return np.stack(dX_steps, axis=1), dh, dWx, dWh, db
            """),
    ],
    "case_study_keras": [
        Mistake("NumPy numbers for Q1 and Q3", "check_yourself_answer", (),
                'Q1 = np.float64(1) / np.float64(0.7)\nQ2 = "b"\nQ3 = np.int64(2 * 64)'),
        Mistake("Q3 as a float", "check_yourself_answer", (),
                'Q1 = 1 / (1 - 0.3)\nQ2 = "b"\nQ3 = 128.0'),
        Mistake("parameter count as a NumPy integer, vectorized", "parameter_count_answer", (), """
            dims = np.asarray(layer_dims, dtype=np.int64)
            return np.sum((dims[:-1] + 1) * dims[1:])
            """),
        Mistake("delta-rule learning rate as a NumPy float", "delta_rule_lr_answer", (),
                "return np.float64(alpha) * np.prod([batch_size, n_outputs]) / 2"),
        Mistake("momentum learning rate as a NumPy float", "momentum_lr_answer", (),
                "return np.float64(alpha) * np.subtract(1, beta)"),
        Mistake("course epsilon with np.power", "course_epsilon_answer", (),
                "return np.float64(epsilon_hat) * np.power(1.0 - np.power(beta2, t), -0.5)"),
        Mistake("batch-norm config as NumPy floats, weights unpacked", "batchnorm_to_keras_answer",
                (), """
            D = np.shape(gamma)[0]
            stats = (bn_param.get("running_mean", np.zeros(D)),
                     bn_param.get("running_var", np.ones(D)))
            config = {"momentum": np.float64(bn_param.get("momentum", 0.9)),
                      "epsilon": np.float64(bn_param.get("eps", 1e-5))}
            return [gamma, beta, *stats], config
            """),
        Mistake("layer by layer, variables assigned in place", "load_worked_example_answer", (), """
            pairs = [(example.W_hidden, example.b_hidden), (example.W_out, example.b_out)]
            for layer, (kernel, bias) in zip(model.layers, pairs):
                layer.kernel.assign(np.asarray(kernel, dtype=float))
                layer.bias.assign(np.asarray(bias, dtype=float))
            return model
            """),
        Mistake("the factors in another order", "delta_rule_lr_answer", (),
                "return 0.5 * n_outputs * alpha * batch_size"),
        Mistake("a loop and a helper", "parameter_count_answer", (), """
            def layer_size(fan_in, units):
                return fan_in * units + units

            total = 0
            for k in range(1, len(layer_dims)):
                total += layer_size(layer_dims[k - 1], layer_dims[k])
            return total
            """),
        Mistake("expanded", "momentum_lr_answer", (), "return alpha - alpha * beta"),
        Mistake("a negative power", "course_epsilon_answer", (),
                "return epsilon_hat * (1.0 - beta2 ** t) ** -0.5"),
        Mistake("defaults merged into one dictionary", "batchnorm_to_keras_answer", (), """
            D = len(gamma)
            p = {"momentum": 0.9, "eps": 1e-5, "running_mean": np.zeros(D),
                 "running_var": np.ones(D)} | dict(bn_param)
            return [gamma, beta, p["running_mean"], p["running_var"]], dict(
                momentum=p["momentum"], epsilon=p["eps"])
            """),
        Mistake("fractions and products", "check_yourself_answer", (),
                'Q1 = 10 / 7\nQ2 = "b"\nQ3 = 2 * 64'),
    ],
    "ch4_optimizers": [
        Mistake("numbers as NumPy scalars", "check_yourself_answer", (),
                'Q1 = np.float64(0.25)\nQ2 = np.int64(16)\nQ3 = np.float64(2)\n'
                'Q4 = np.float64(5e-4)'),
        Mistake("numbers computed with NumPy", "check_yourself_answer", (),
                'Q1 = np.float64(2) / 8\nQ2 = np.ceil(1000 / 64)\nQ3 = 0.2 / np.sqrt(0.01)\n'
                'Q4 = 0.01 * 0.1 * 2 / np.sqrt(16)'),
        Mistake("Adagrad and RMSProp in place", "adaptive_answer", (), """
                for k, p in parameters.items():
                    g = grads["d" + k]
                    s["d" + k] += g * g
                    p -= learning_rate * g / (np.sqrt(s["d" + k]) + epsilon)
                return parameters, s
                """),
        Mistake("RMSProp in place", "adaptive_answer", (), region=1, code="""
                for k, p in parameters.items():
                    g = grads["d" + k]
                    s["d" + k] *= beta
                    s["d" + k] += (1 - beta) * g * g
                    p -= learning_rate * g / (np.sqrt(s["d" + k]) + epsilon)
                return parameters, s
                """),
        Mistake("momentum in place", "momentum_answer", (), region=1, code="""
                for k in parameters:
                    v["d" + k] = beta * v["d" + k] + (1 - beta) * grads["d" + k]
                    parameters[k] -= learning_rate * v["d" + k]
                return parameters, v
                """),
        Mistake("mini-batches cut in a while loop, as lists", "mini_batches_answer", (), """
                perm = np.random.default_rng(seed).permutation(len(X))
                out = []
                start = 0
                while start < len(X):
                    idx = perm[start:start + mini_batch_size]
                    out.append([X[idx], Y[idx]])
                    start += mini_batch_size
                return out
                """),
        Mistake("Adam in place, with its own helper named like a test's", "adam_answer", (), """
            def fresh(p):
                return np.zeros(np.shape(p))

            v = {"d" + k: fresh(p) for k, p in parameters.items()}
            s = {"d" + k: fresh(p) for k, p in parameters.items()}
            return v, s
            """),
        Mistake("AdamW in place", "adamw_answer", (), """
            for k, p in parameters.items():
                g = grads["d" + k]
                v["d" + k] *= beta1
                v["d" + k] += (1 - beta1) * g
                s["d" + k] *= beta2
                s["d" + k] += (1 - beta2) * g * g
                step = (v["d" + k] / (1 - beta1**t)) / (np.sqrt(s["d" + k] / (1 - beta2**t))
                                                         + epsilon)
                if k.startswith("W"):
                    step = step + weight_decay * p
                p -= learning_rate * step
            return parameters, v, s
            """),
    ],
}


# A hook that records and prints the text of every cell that runs after it.
ECHO_EVERY_CELL = """
_seen = []


def _echo(result):
    _seen.append(result.info.raw_cell)
    print(result.info.raw_cell)


get_ipython().events.register("post_run_cell", _echo)
"""


def alternative_groups(alternatives: list[Mistake]) -> list[list[Mistake]]:
    """The alternatives in as few submissions as can hold them: one per answer region each."""
    groups: list[list[Mistake]] = []
    for alt in alternatives:
        group = next((g for g in groups if all((m.cell, m.region) != (alt.cell, alt.region)
                                                for m in g)), None)
        if group is None:
            groups.append(group := [])
        group.append(alt)
    return groups


# Wrong answers no catalogued mistake explains: the class report must count them as such
UNCATALOGUED = {"ch1_perceptron": [
    Mistake("relu as the absolute value", "relu_answer", ("relu_tests",),
            "return np.abs(np.asarray(z, dtype=float))"),
    Mistake("leaky relu with alpha on the positive side", "leaky_relu_answer",
            ("leaky_relu_tests",), """
            z = np.asarray(z, dtype=float)
            return np.where(z > 0, alpha * z, z)
            """),
]}
GRADED_BY_COURSE: dict[str, object] = {}  # assignment -> the course dir `course grade` graded


def _tamper_cell():
    return nbformat.v4.new_code_cell(TAMPER)


def own_tests_cells(nb) -> dict[str, set[str]]:
    """Each answer cell's own tests cells: the graded cells between it and the next answer."""
    own: dict[str, set[str]] = {}
    current = None
    for cell in nb.cells:
        if is_answer(cell):
            current = own.setdefault(grade_id(cell), set())
        elif is_tests(cell) and current is not None:
            current.add(grade_id(cell))
    return own


@functools.cache
def mistake_groups(name: str) -> tuple[tuple[Mistake, ...], ...]:
    """The catalogued mistakes packed into few submissions (``mistakes00``, ``mistakes01``...),
    first fit in catalogue order, so that each still loses exactly its own points. Two
    mistakes share a submission only if they are in different answer cells (two wrong
    regions of one cell can interact), fail disjoint tests cells, and neither fails a tests
    cell of the other's answer cell. A mistake can change what another cell's tests see only
    through the functions its cell defines, and then it is declared to fail those tests
    (``Mistake.fails`` names every tests cell it fails): so the group must fail
    exactly the union of its members' ``fails``, and the diagnosis must name each member in
    each of its cells, the earlier members being ``prior`` for the later ones, as for a real
    student with several mistakes."""
    own = own_tests_cells(read(notebook_path(ROOT, "source", name)))

    def apart(a: Mistake, b: Mistake) -> bool:
        return (a.cell != b.cell and not set(a.fails) & set(b.fails)
                and not set(a.fails) & own[b.cell] and not set(b.fails) & own[a.cell])

    groups: list[list[Mistake]] = []
    for mistake in mistakes(name):
        group = next((g for g in groups if all(apart(mistake, m) for m in g)), None)
        if group is None:
            groups.append(group := [])
        group.append(mistake)
    return tuple(tuple(g) for g in groups)


def mistake_students(name: str) -> list[str]:
    return [f"mistakes{i:02d}" for i in range(len(mistake_groups(name)))]


def nbgrader_sample(name: str) -> set[str]:
    """The groups of mistakes plain ``nbgrader autograde`` grades as well (it grades every
    other submission): for each exercise, the first group with a mistake in it. First fit puts
    the first mistake of every answer cell in ``mistakes00``, so that is usually all: the
    mistakes the sample held when each was a submission of its own. ``course grade`` grades
    every submission; the two must agree on these. (nbgrader runs one kernel after another,
    without the fork server, at about twice the cost per notebook.)"""
    first: dict[str, str] = {}
    for student, group in zip(mistake_students(name), mistake_groups(name), strict=True):
        for mistake in group:
            first.setdefault(mistake.cell, student)
    return set(first.values())


@pytest.fixture(scope="module", params=[pytest.param(a, marks=pytest.mark.xdist_group(a))
                                        for a in ASSIGNMENTS])
def graded(request, tmp_path_factory):
    """Solved, blank, alternatives, leaker, tampering and the catalogued mistakes, a few to a
    submission (``mistake_groups``), graded by ``course grade`` (sandbox, parallel workers,
    diagnosis: all of them) and by plain ``nbgrader autograde`` (all but the groups of
    mistakes, and ``nbgrader_sample`` of those). One submission per mistake was 161 notebooks;
    the groups are 45. Returns (name, the nbgrader course, the source, the scores ``course
    grade`` gave, those nbgrader gave)."""
    name = request.param
    course = workspace.make_course_dir(tmp_path_factory.mktemp(name), [name])
    release = read(workspace.generate(course, name))
    source = read(notebook_path(ROOT, "source", name))
    workspace.submit(course, name, "solved", fill_answers(release, source))
    workspace.submit(course, name, "blank", release)
    for student, group in zip(mistake_students(name), mistake_groups(name), strict=True):
        workspace.submit(course, name, student, fill_answers(release, source, group))
    for i, group in enumerate(alternative_groups(ALTERNATIVES.get(name, []))):
        workspace.submit(course, name, f"alternative{i}", fill_answers(release, source, group))
    for i, mistake in enumerate(UNCATALOGUED.get(name, [])):
        workspace.submit(course, name, f"uncatalogued{i}", fill_answers(release, source, [mistake]))
    leaker = fill_answers(release, source)
    leaker.cells.insert(2, nbformat.v4.new_code_cell(ECHO_EVERY_CELL))
    leaker.cells.append(nbformat.v4.new_code_cell('print("\\n".join(_seen))'))
    workspace.submit(course, name, "leaker", leaker)
    if name == "ch1_perceptron":  # a wrong sigmoid, then an attempt to patch utils
        tamper = fill_answers(release, source, by_name(name, "naive sigmoid overflows"))
        index = next(i for i, c in enumerate(tamper.cells)
                     if c.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid_answer")
        tamper.cells.insert(index + 1, _tamper_cell())
        workspace.submit(course, name, "tamper", tamper)

    ours = workspace.make_course_dir(tmp_path_factory.mktemp(f"{name}-ours"), [name])
    workspace.generate(ours, name)
    shutil.copytree(course / "submitted", ours / "submitted")
    proc = subprocess.run([sys.executable, "-m", "course", "--root", str(ours), "grade",
                           "--workers", "2", name], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    GRADED_BY_COURSE[name] = ours

    skipped = sorted(set(mistake_students(name)) - nbgrader_sample(name))
    excluded = [f"--CourseDirectory.student_id_exclude={','.join(skipped)}"] if skipped else []
    proc = workspace.nbgrader(course, "autograde", name, "--force", *excluded, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return name, course, source, workspace.scores(ours, name), workspace.scores(course, name)


def test_course_grade_gives_the_grades_nbgrader_autograde_gives(graded):
    """Every submission nbgrader graded (solved, blank, a group with a mistake in each
    exercise, the alternatives, the leaker...): ``course grade`` decides hidden cases in its
    workers, nbgrader in its own process; the grades are the same."""
    name, _, _, scores, by_nbgrader = graded
    assert set(by_nbgrader) == set(scores) - (set(mistake_students(name)) - nbgrader_sample(name))
    assert set(mistake_students(name)) <= set(scores)
    covered = {m.cell for student, group in zip(mistake_students(name), mistake_groups(name),
                                                strict=True)
               if student in by_nbgrader for m in group}
    assert covered == {m.cell for m in mistakes(name)}  # every exercise with a mistake
    for student, cells in by_nbgrader.items():
        assert scores[student] == cells, student


def test_solved_source_scores_full_marks(graded):
    name, _, source, scores, _ = graded
    lost = {g: s for g, s in scores["solved"].items() if s[0] != s[1]}
    assert not lost, f"{name}: the solution loses points in {lost}"
    assert set(scores["solved"]) == set(points_by_tests_cell(source))


def test_correct_answers_written_differently_score_full_marks(graded):
    name, _, source, scores, _ = graded
    assert ALTERNATIVES.get(name), f"write alternative correct answers for {name}"
    students = [s for s in scores if s.startswith("alternative")]
    assert len(students) == len(alternative_groups(ALTERNATIVES[name]))
    lost = {(student, g): s for student in students
            for g, s in scores[student].items() if s[0] != s[1]}
    assert not lost, f"{name}: a correct answer written differently loses {lost}"


def test_blank_release_scores_zero(graded):
    _, _, source, scores, _ = graded
    assert set(scores["blank"]) == set(points_by_tests_cell(source))
    assert {g: s for g, s in scores["blank"].items() if s[0] != 0} == {}


def test_run_all_goes_on_past_every_cell_a_blank_notebook_fails(graded):
    """JupyterLab's Run All stops at a failing cell unless it carries the raises-exception
    tag: in the blank release every cell that fails (an exercise, its tests, a demonstration
    built on it) must carry it, so the figures and widgets after it still run."""
    name, course, _, _, _ = graded
    executed = read(course / "autograded" / "blank" / name / f"{name}.ipynb")
    untagged = [i for i, c in enumerate(executed.cells) if c.cell_type == "code"
                and any(o.output_type == "error" for o in c.get("outputs", []))
                and RUN_ON_TAG not in c.metadata.get("tags", [])]
    assert untagged == [], f"{name}: cells {untagged} fail when blank and stop Run All"


def test_each_mistake_loses_exactly_its_own_points(graded):
    """A submission holding a group of mistakes fails exactly the tests cells they name, all
    of their points, and keeps every other point."""
    name, _, source, scores, _ = graded
    points = points_by_tests_cell(source)
    for student, group in zip(mistake_students(name), mistake_groups(name), strict=True):
        got = scores[student]
        names = [m.name for m in group]
        fails = {g for m in group for g in m.fails}
        failed = {g for g, (s, m) in got.items() if s < m}
        assert failed == fails, f"{student} {names}: failed {sorted(failed)}, not {sorted(fails)}"
        assert sum(s for s, _ in got.values()) == sum(points.values()) - sum(
            points[g] for g in fails), f"{student} {names}"


def test_mistake_groups_hold_each_mistake_once_in_cells_apart():
    """The grouping itself: every catalogued mistake in exactly one group, no two members in
    one answer cell or failing one tests cell; every mistake fails tests cells that exist."""
    for name in ASSIGNMENTS:
        groups = mistake_groups(name)
        assert sorted(m.name for g in groups for m in g) == sorted(m.name for m in mistakes(name))
        tests = set(points_by_tests_cell(read(notebook_path(ROOT, "source", name))))
        for group in groups:
            assert len({m.cell for m in group}) == len(group), (name, group)
            fails = [g for m in group for g in m.fails]
            assert len(set(fails)) == len(fails) and set(fails) <= tests, (name, fails)


def test_each_mistake_is_diagnosed_and_the_report_counts_it(graded):
    """The verdict step names every catalogued mistake in the cells it fails (by its outputs on
    the hidden cases), names nothing where a student lost nothing, and the class report counts
    each mistake once and the uncatalogued ones as unexplained."""
    name, _, _, scores, _ = graded
    course = Course(GRADED_BY_COURSE[name])
    for student, group in zip(mistake_students(name), mistake_groups(name), strict=True):
        found = misconceptions.diagnoses(course, name, student)
        for mistake in group:
            for gid in mistake.fails:
                assert mistake.name in found.get(gid, []), (student, mistake.name, gid, found)
    for student in [s for s in scores if s == "solved" or s.startswith("alternative")]:
        assert misconceptions.diagnoses(course, name, student) == {}, student
    table = misconceptions.class_misconceptions(course, name, scores)
    for mistake in mistakes(name):
        counted = {label: n for e in table.values() for label, n in e.mistakes.items()
                   if mistake.name in label.split("; ")}
        assert sum(counted.values()) >= len(mistake.fails), (mistake.name, counted)
    for i, mistake in enumerate(UNCATALOGUED.get(name, [])):
        student = f"uncatalogued{i}"
        failed = {g for g, (s, m) in scores[student].items() if s < m}
        assert failed == set(mistake.fails), (mistake.name, failed)
        assert misconceptions.diagnoses(course, name, student) == {g: [] for g in failed}
        assert student in table[mistake.fails[0]].students[misconceptions.UNEXPLAINED]
    if name in UNCATALOGUED:
        section = "\n".join(misconceptions.markdown(table))
        assert "match no catalogued mistake" in section
    # the student reads the diagnosis in the feedback, in one sentence
    first = mistake_groups(name)[0][0]
    page = course.feedback_page(name, mistake_students(name)[0]).read_text()
    assert f"common mistake: {first.name}" in unescape(re.sub(r"<[^>]+>", "", page))


def test_patching_utils_does_not_change_the_grade(graded):
    """The tamper submission is "naive sigmoid overflows" plus a cell that patches ``utils``:
    it scores no more than that mistake alone, which is full marks less the points of the
    tests it names (what ``test_each_mistake_loses_exactly_its_own_points`` proves of its
    group, so no lone submission is graded for it)."""
    name, _, source, scores, _ = graded
    if name != "ch1_perceptron":
        pytest.skip("tampering scenario written for chapter 1")
    failed = {g for g, (s, m) in scores["tamper"].items() if s < m}
    assert "sigmoid_tests" in failed  # the wrong sigmoid still fails its literal values
    total = sum(s for s, _ in scores["tamper"].values())
    points = points_by_tests_cell(source)
    (alone,) = by_name(name, "naive sigmoid overflows")
    assert total <= sum(points.values()) - sum(points[g] for g in alone.fails)


def test_feedback_hides_hidden_tests(graded):
    """The feedback of a solved notebook, and of one whose hook echoes every executed cell
    (into the tests cells' outputs, and all at once in a cell at the end), holds no line
    that only the hidden tests contain, nor the call the kernel ran in their place; the
    kernel itself never saw them."""
    name, course, source, _, _ = graded
    hidden_only = hidden_only_lines(source)
    assert hidden_only
    for student in ("solved", "leaker"):
        workspace.nbgrader(course, "generate_feedback", name, "--student", student, "--force")
        page = (course / "feedback" / student / name / f"{name}.html").read_text()
        html = unescape(re.sub(r"<[^>]+>", "", page))  # the text a student reads
        assert PASSED_MESSAGE in html and "BEGIN HIDDEN TESTS" not in html
        assert not [line for line in hidden_only if line in html], student
        assert KERNEL_CASES_CALL not in html, student  # nor the cases' inputs
    executed = read(course / "autograded" / "leaker" / name / f"{name}.ipynb")
    echoed = "".join(o.get("text", "") for o in executed.cells[-1].get("outputs", []))
    # the kernel saw every cell it ran: the calls of the hidden cases, never the hidden tests
    assert KERNEL_CASES_CALL in echoed, "the echo must be real for this test"
    assert not [line for line in hidden_only if line in echoed]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_in_sync_metadata_valid_and_leak_free(name):
    assert run_checks(Course(ROOT), [name], log=lambda *_: None) == []


def test_checks_can_fail():
    name = ASSIGNMENTS[0]
    source = read(notebook_path(ROOT, "source", name))
    leaky = read(notebook_path(ROOT, "release", name))
    solved = fill_answers(leaky, source)
    assert check_leaks(source, solved, name), "a solved notebook must count as a leak"
    broken = read(notebook_path(ROOT, "source", name))
    tests_cell = next(c for c in broken.cells if c.metadata.get("nbgrader", {}).get("points"))
    tests_cell.source += "\n0.5"
    tests_cell.outputs = [nbformat.v4.new_output("stream", text="x")]
    problems = check_metadata(broken, name)
    assert any("partial credit" in p for p in problems)
    tests_cell.source = "z = np.ones(3)\nfor k in range(2):\n    pass\n" + tests_cell.source
    problems = check_metadata(broken, name)
    assert any("binds the global name(s) k, z" in p for p in problems), problems
    assert any("stored outputs" in p for p in problems)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_runs_clean_in_a_fresh_kernel(name, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = read(notebook_path(ROOT, "source", name))
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"cell {i}: {out.get('evalue')}"
            assert out.get("name") != "stderr", f"cell {i} wrote to stderr: {out.get('text')}"
    widgets = [o for c in nb.cells for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    if name.startswith("ch"):  # every chapter has a widget; the case study has plots instead
        assert widgets, "the widget cell should display a widget outside nbgrader"
    assert os.environ.get("NBGRADER_EXECUTION") is None
