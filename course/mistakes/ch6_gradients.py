"""Plausible wrong answers for ch6_gradients: Chapter 6 (vanishing and exploding gradients).
Imports ``course.mistakes`` (``Mistake``) only.
"""

from . import Mistake


def _norms(dz: str, norm_of: str) -> str:
    """The plain stack's measurement with one line swapped."""
    return f"""
        f, df = utils.get_activation(activation)
        A = np.asarray(X, dtype=float)
        cache = []
        for W in weights:
            Z = A @ W
            cache.append((A, W, Z))
            A = f(Z)
        dA = np.full(A.shape, 1.0 / X.shape[0])
        norms = []
        for A_prev, W, Z in reversed(cache):
            dZ = {dz}
            norms.append(float(np.linalg.norm({norm_of})))
            dA = dZ @ W.T
        return norms[::-1]
    """


def _clip(norm_line: str, factor: str, result: str) -> str:
    return f"""
        {norm_line}
        factor = {factor}
        {result}
    """


def _normal(std: str) -> str:
    return f"return np.random.default_rng(seed).normal(0.0, {std}, size=(n_in, n_out))"


_NORM = "norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))"

MISTAKES = [
    Mistake(
        "Xavier with the handbook's 2 / sqrt(n_in + n_out)", 'init_answer',
        fails=('xavier_normal_tests',),
        code=_normal("np.sqrt(2.0 / np.sqrt(n_in + n_out))")),
    Mistake(
        'Xavier normal given the variance instead of the std', 'init_answer',
        fails=('xavier_normal_tests',),
        code=_normal("2.0 / (n_in + n_out)")),
    Mistake(
        "He with Xavier's variance", 'init_answer', fails=('he_normal_tests',), region=1,
        code=_normal("np.sqrt(2.0 / (n_in + n_out))")),
    Mistake(
        'He with n_out in place of n_in', 'init_answer', fails=('he_normal_tests',), region=1,
        code=_normal("np.sqrt(2.0 / n_out)")),
    Mistake(
        'He normal ignores the seed (an unseeded generator)', 'init_answer',
        fails=('he_normal_tests',), region=1,
        code="return np.random.default_rng().normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))"),
    Mistake(
        'He normal ignores the seed (a fixed seed)', 'init_answer',
        fails=('he_normal_tests',), region=1,
        code="return np.random.default_rng(0).normal(0.0, np.sqrt(2 / n_in), size=(n_in, n_out))"),
    Mistake(
        'Xavier uniform ignores the seed (an unseeded generator)', 'init_answer',
        fails=('xavier_uniform_tests',), region=2,
        code="""
            a = np.sqrt(6.0 / (n_in + n_out))
            return np.random.default_rng().uniform(-a, a, size=(n_in, n_out))
        """),
    Mistake(
        'Xavier uniform ignores the seed (a fixed seed)', 'init_answer',
        fails=('xavier_uniform_tests',), region=2,
        code="""
            a = np.sqrt(6.0 / (n_in + n_out))
            return np.random.default_rng(42).uniform(-a, a, size=(n_in, n_out))
        """),
    Mistake(
        "Xavier uniform with the normal's std as its limit", 'init_answer',
        fails=('xavier_uniform_tests',), region=2,
        code="""
            a = np.sqrt(2.0 / (n_in + n_out))
            return np.random.default_rng(seed).uniform(-a, a, size=(n_in, n_out))
        """),
    Mistake(
        'per-layer norms of dA instead of dW', 'gradient_norms_answer',
        fails=('gradient_norms_tests',), code=_norms("dA * df(Z)", "dA")),
    Mistake(
        'per-layer norms without the activation derivative', 'gradient_norms_answer',
        fails=('gradient_norms_tests',), code=_norms("dA", "A_prev.T @ dZ")),
    Mistake(
        'residual backward without the identity path', 'residual_answer',
        fails=('residual_backward_tests',), region=1,
        code="""
            x, W, Z, activation = cache
            dZ = dy * utils.get_activation(activation)[1](Z)
            return dZ @ W.T, x.T @ dZ
        """),
    Mistake(
        'each array clipped by its own norm', 'clipping_answer',
        fails=('clip_by_global_norm_tests',),
        code=_clip(_NORM, "None",
                   "return {k: g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-300))"
                   " for k, g in grads.items()}, norm")),
    Mistake(
        'clipping also scales up below the threshold', 'clipping_answer',
        fails=('clip_by_global_norm_tests',),
        code=_clip(_NORM, "max_norm / norm",
                   "return {k: g * factor for k, g in grads.items()}, norm")),
    Mistake(
        'norm reported after clipping', 'clipping_answer', fails=('clip_by_global_norm_tests',),
        code=_clip(_NORM, "max_norm / norm if norm > max_norm else 1.0",
                   "return {k: g * factor for k, g in grads.items()}, min(norm, max_norm)")),
    Mistake(
        "clipping changes the caller's arrays", 'clipping_answer',
        fails=('clip_by_global_norm_tests',),
        code=_clip(_NORM, "max_norm / norm if norm > max_norm else 1.0", """
        for g in grads.values():
            g *= factor
        return grads, norm""")),
    Mistake(
        "clipping returns the caller's dict below the threshold", 'clipping_answer',
        fails=('clip_by_global_norm_tests',),
        code=_clip(_NORM, "max_norm / norm if norm > max_norm else 1.0", """
        if factor == 1.0:
            return grads, norm
        return {k: g * factor for k, g in grads.items()}, norm""")),
    Mistake(
        "clipping returns the caller's arrays below the threshold", 'clipping_answer',
        fails=('clip_by_global_norm_tests',),
        code=_clip(_NORM, "max_norm / norm if norm > max_norm else 1.0",
                   "return {k: g if factor == 1 else g * factor for k, g in grads.items()}, norm")),
    Mistake(
        'clip by value only from above', 'clipping_answer', fails=('clip_by_value_tests',),
        region=1, code="return {k: np.minimum(g, clip_value) for k, g in grads.items()}"),
    Mistake(
        'Q3 takes the smallest subnormal, not half of it, as the underflow threshold',
        'check_yourself_answer', fails=('q3_tests',),
        code='Q1 = "c"; Q2 = 30.96; Q3 = 64; Q4 = 1.84'),
    Mistake(
        'Q4 drops the identity path (the handbook slip)', 'check_yourself_answer',
        fails=('q4_tests',), code='Q1 = "c"; Q2 = 30.96; Q3 = 32; Q4 = 0.84'),
    Mistake(
        'Q2 gives the clipped vector\'s angle, not the turn', 'check_yourself_answer',
        fails=('q2_tests',), code='Q1 = "c"; Q2 = 45.0; Q3 = 32; Q4 = 1.84'),
]
