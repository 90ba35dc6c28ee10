"""Plausible wrong answers for ch4_optimizers: Chapter 4 (optimizers).
Imports ``course.mistakes`` (``Mistake``) only.
"""

import textwrap
from string import Template

from . import Mistake

# Adam written out the way a student would; each Adam/AdamW mistake swaps one line.
_ADAM = Template("""
    $before
    v = {k: beta1 * v[k] + (1 - beta1) * grads[k] for k in v}
    s = {k: beta2 * s[k] + (1 - beta2) * grads[k] ** 2 for k in s}
    new = {}
    for k, p in parameters.items():
        v_hat = $v_hat
        s_hat = $s_hat
        step = $step
        $decay
        new[k] = p - learning_rate * step
    return new, v, s
""")
_CORRECT = {"v_hat": 'v["d" + k] / (1 - beta1**t)', "s_hat": 's["d" + k] / (1 - beta2**t)',
            "step": "v_hat / (np.sqrt(s_hat) + epsilon)", "decay": "# no weight decay",
            "before": ""}


def _adam(**wrong: str) -> str:
    """Adam (no weight decay) with the given lines replaced, dedented."""
    return textwrap.dedent(_ADAM.substitute({**_CORRECT, **wrong}))


MISTAKES = [
    Mistake(
        'gradient ascent (+ instead of -)', 'gd_answer', fails=('gd_tests',),
        code="""
            return {k: v + learning_rate * grads["d" + k] for k, v in parameters.items()}
        """),
    Mistake(
        'last smaller batch dropped', 'mini_batches_answer', fails=('mini_batches_tests',),
        code="""
            m = X.shape[0]
            order = np.random.default_rng(seed).permutation(m)
            X, Y = X[order], Y[order]
            return [(X[i:i + mini_batch_size], Y[i:i + mini_batch_size])
                    for i in range(0, m - mini_batch_size + 1, mini_batch_size)]
        """),
    Mistake(
        'X and Y shuffled separately', 'mini_batches_answer', fails=('mini_batches_tests',),
        code="""
            m = X.shape[0]
            rng = np.random.default_rng(seed)
            X, Y = X[rng.permutation(m)], Y[rng.permutation(m)]
            return [(X[i:i + mini_batch_size], Y[i:i + mini_batch_size])
                    for i in range(0, m, mini_batch_size)]
        """),
    Mistake(
        'velocity keyed like the parameters', 'momentum_answer',
        fails=('initialize_velocity_tests',),
        code="""
            return {k: np.zeros_like(v, dtype=float) for k, v in parameters.items()}
        """),
    Mistake(
        'momentum without the (1 - beta) factor', 'momentum_answer', fails=('momentum_tests',),
        region=1,
        code="""
            v = {k: beta * v[k] + grads[k] for k in v}
            return {k: p - learning_rate * v["d" + k] for k, p in parameters.items()}, v
        """),
    Mistake(
        'Adagrad keeps only the last squared gradient', 'adaptive_answer', fails=('adagrad_tests',),
        code="""
            s = {k: grads[k] ** 2 for k in s}
            return {k: p - learning_rate * grads["d" + k] / (np.sqrt(s["d" + k]) + epsilon)
                    for k, p in parameters.items()}, s
        """),
    Mistake(
        'Adagrad with epsilon inside the root', 'adaptive_answer', fails=('adagrad_tests',),
        code="""
            s = {k: s[k] + grads[k] ** 2 for k in s}
            return {k: p - learning_rate * grads["d" + k] / np.sqrt(s["d" + k] + epsilon)
                    for k, p in parameters.items()}, s
        """),
    Mistake(
        'RMSProp with epsilon inside the root', 'adaptive_answer', fails=('rmsprop_tests',),
        region=1,
        code="""
            s = {k: beta * s[k] + (1 - beta) * grads[k] ** 2 for k in s}
            return {k: p - learning_rate * grads["d" + k] / np.sqrt(s["d" + k] + epsilon)
                    for k, p in parameters.items()}, s
        """),
    Mistake(
        'v and s are the same dictionary', 'adam_answer', fails=('initialize_adam_tests',),
        code="""
            v = {"d" + k: np.zeros_like(p, dtype=float) for k, p in parameters.items()}
            return v, v
        """),
    Mistake(
        'Adam without bias correction', 'adam_answer', fails=('adam_tests',), region=1,
        code=_adam(v_hat='v["d" + k]', s_hat='s["d" + k]')),
    Mistake(
        'Adam with epsilon inside the root', 'adam_answer', fails=('adam_tests',), region=1,
        code=_adam(step="v_hat / np.sqrt(s_hat + epsilon)")),
    Mistake(
        "Adam in Kingma and Ba's efficient form (epsilon on the uncorrected root)", 'adam_answer',
        fails=('adam_tests',), region=1,
        code=_adam(v_hat='v["d" + k] * np.sqrt(1 - beta2**t) / (1 - beta1**t)',
                   s_hat='s["d" + k]')),
    Mistake(
        'AdamW decays the biases too', 'adamw_answer', fails=('adamw_tests',),
        code=_adam(decay="step = step + weight_decay * p")),
    Mistake(
        'AdamW decays a copy taken at the first call', 'adamw_answer', fails=('adamw_tests',),
        code=_adam(before="""
    if not hasattr(update_parameters_with_adamw, 'w0'):
        update_parameters_with_adamw.w0 = {k: p.copy() for k, p in parameters.items()}
    w0 = update_parameters_with_adamw.w0""",
                   decay="step = step + weight_decay * w0[k] * k.startswith('W')")),
    Mistake(
        'AdamW decay inside the adaptive step (L2 in the gradient)', 'adamw_answer',
        fails=('adamw_tests',),
        code=_adam(before="""
    grads = {k: g + weight_decay * parameters[k[1:]] * k.startswith('dW')
             for k, g in grads.items()}""")),
    Mistake(
        'Q1 copied from J = theta^2', 'check_yourself_answer', fails=('q1_tests',),
        code='Q1 = 1.0; Q2 = 16; Q3 = 2.0; Q4 = 0.0005'),
    Mistake(
        'Q1 with 1 / curvature instead of 2 / curvature', 'check_yourself_answer',
        fails=('q1_tests',), code='Q1 = 0.125; Q2 = 16; Q3 = 2.0; Q4 = 0.0005'),
    Mistake(
        'Q2 drops the last batch', 'check_yourself_answer', fails=('q2_tests',),
        code='Q1 = 0.25; Q2 = 15; Q3 = 2.0; Q4 = 0.0005'),
    Mistake(
        'Q3 without the square root', 'check_yourself_answer', fails=('q3_tests',),
        code='Q1 = 0.25; Q2 = 16; Q3 = 20.0; Q4 = 0.0005'),
    Mistake(
        'Q3 with the default betas', 'check_yourself_answer', fails=('q3_tests',),
        code='Q1 = 0.25; Q2 = 16; Q3 = 3.1623; Q4 = 0.0005'),
    Mistake(
        "Q4 forgets Adam's division", 'check_yourself_answer', fails=('q4_tests',),
        code='Q1 = 0.25; Q2 = 16; Q3 = 2.0; Q4 = 0.002'),
    Mistake(
        'Q4 divides by s_hat, not its root', 'check_yourself_answer', fails=('q4_tests',),
        code='Q1 = 0.25; Q2 = 16; Q3 = 2.0; Q4 = 0.000125'),
]
