"""Multilayer perceptrons: the course unit's 4-2-1 worked example and a general MLP.

Conventions: examples are rows. A dense layer computes Z = A_prev @ W + b with W of
shape (n_in, n_out), so W[i, j] is the weight from unit i to unit j (the slides'
w_ij) and b[j] is the slides' bias theta_j.

The worked example's rule, for a sigmoid network and one training vector:

    forward   I_j = sum_i O_i w_ij + theta_j,        O_j = 1 / (1 + e^(-I_j))
    output    Error_k = O_k (1 - O_k) (t - O_k)
    hidden    Error_j = O_j (1 - O_j) sum_k Error_k w_jk
    update    w_ij += alpha Error_j O_i,             theta_j += alpha Error_j

Error_k is minus the derivative of E = 1/2 (t - O_k)^2 with respect to I_k, so the
rule is exactly gradient descent on that squared error with learning rate alpha.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace

import numpy as np

from . import init as _init
from . import losses as _losses
from ._checks import as_float_array, check_int, check_number
from .activations import get_activation, sigmoid

__all__ = ["WorkedExample", "WORKED_EXAMPLE", "SLIDE_VALUES", "WorkedIteration",
           "worked_example_iteration", "worked_example_iterations", "worked_example_run",
           "SlideComparison", "slide_comparison",
           "init_parameters", "dense_forward", "dense_backward", "forward", "backward",
           "LOSSES"]


def _frozen(values) -> np.ndarray:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class WorkedExample:
    """The 4-2-1 network of the worked example.

    ``W_hidden[i - 1, j - 5]`` is w_ij (input i = 1..4 to hidden unit j = 5, 6),
    ``W_out[j - 5, 0]`` is w_j7, ``b_hidden`` = (theta5, theta6), ``b_out`` = (theta7,).
    """

    x: np.ndarray
    t: float
    W_hidden: np.ndarray
    b_hidden: np.ndarray
    W_out: np.ndarray
    b_out: np.ndarray
    lr: float

    def weight(self, name: str) -> float:
        """A parameter by its slide name: 'w15', ..., 'w67', 'theta5', 'theta6', 'theta7'."""
        if name.startswith("theta"):
            j = int(name[5:])
            return float(self.b_hidden[j - 5] if j in (5, 6) else self.b_out[0])
        i, j = int(name[1]), int(name[2])
        return float(self.W_hidden[i - 1, j - 5] if j in (5, 6) else self.W_out[i - 5, 0])


WORKED_EXAMPLE = WorkedExample(
    x=_frozen([1, 1, 0, 1]),
    t=1.0,
    W_hidden=_frozen([[0.3, 0.1], [-0.2, 0.4], [0.2, -0.3], [0.1, 0.4]]),
    b_hidden=_frozen([0.2, 0.1]),
    W_out=_frozen([[-0.3], [0.2]]),
    b_out=_frozen([-0.3]),
    lr=0.8,
)

PARAMETER_NAMES = ("w15", "w16", "w25", "w26", "w35", "w36", "w45", "w46", "w57", "w67",
                   "theta5", "theta6", "theta7")

#: The numbers as printed on the slides (strings keep their printed precision).
#: Iteration 1 computes I6 with w15 = 0.3 instead of w16 = 0.1; the second forward
#: pass repeats the slip (with the updated w15 = 0.292) and prints I7 = -0.326 while
#: using I7 = -0.1034 for O7.
SLIDE_VALUES = {
    1: {"I5": "0.4", "O5": "0.599", "I6": "1.2", "O6": "0.769", "I7": "-0.326", "O7": "0.419",
        "error": "0.581", "Error7": "0.141", "Error6": "0.005", "Error5": "-0.0101",
        "w15": "0.292", "w16": "0.104", "w25": "-0.208", "w26": "0.404", "w35": "0.2",
        "w36": "-0.3", "w45": "0.092", "w46": "0.404", "w57": "-0.232", "w67": "0.287",
        "theta5": "0.192", "theta6": "0.104", "theta7": "-0.187"},
    2: {"I5": "0.368", "O5": "0.591", "I6": "1.204", "O6": "0.7692", "I7": "-0.326",
        "O7": "0.474", "error": "0.526"},
}


@dataclass
class WorkedIteration:
    """Every intermediate of one iteration: ``rows`` of (name, formula, value).

    ``values`` maps names (I5, O5, ..., Error5, w15 (new), ..., theta7) to numbers;
    ``after`` is the network with the updated weights.
    """

    rows: list = field(default_factory=list)
    after: WorkedExample | None = None

    @property
    def values(self) -> dict[str, float]:
        return {name: value for name, _, value in self.rows}

    def __str__(self) -> str:
        width = max(len(f) for _, f, _ in self.rows)
        lines = [f"{'quantity':<9} {'formula':<{width}}  value"]
        lines += [f"{n:<9} {f:<{width}}  {v: .4f}" for n, f, v in self.rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><td>{html.escape(n)}</td><td><code>{html.escape(f)}</code></td>"
                       f"<td style='text-align:right'>{v:.4f}</td></tr>" for n, f, v in self.rows)
        return ("<table><thead><tr><th>quantity</th><th>formula</th><th>value</th></tr>"
                f"</thead><tbody>{body}</tbody></table>")


def worked_example_iteration(example: WorkedExample = WORKED_EXAMPLE,
                             lr: float | None = None) -> WorkedIteration:
    """One forward pass, backward pass and update of the 4-2-1 network, every number kept."""
    lr = example.lr if lr is None else check_number(lr, "lr", low=0.0, low_inclusive=False)
    x, t = example.x, example.t
    I_h = x @ example.W_hidden + example.b_hidden
    O_h = sigmoid(I_h)
    I_o = O_h @ example.W_out + example.b_out
    O_o = sigmoid(I_o)
    err_o = O_o * (1 - O_o) * (t - O_o)
    err_h = O_h * (1 - O_h) * (example.W_out @ err_o)
    W_hidden = example.W_hidden + lr * np.outer(x, err_h)
    b_hidden = example.b_hidden + lr * err_h
    W_out = example.W_out + lr * np.outer(O_h, err_o)
    b_out = example.b_out + lr * err_o
    after = replace(example, W_hidden=_frozen(W_hidden), b_hidden=_frozen(b_hidden),
                    W_out=_frozen(W_out), b_out=_frozen(b_out))
    rows = [
        ("I5", "sum_i x_i w_i5 + theta5", I_h[0]), ("O5", "1 / (1 + e^-I5)", O_h[0]),
        ("I6", "sum_i x_i w_i6 + theta6", I_h[1]), ("O6", "1 / (1 + e^-I6)", O_h[1]),
        ("I7", "O5 w57 + O6 w67 + theta7", I_o[0]), ("O7", "1 / (1 + e^-I7)", O_o[0]),
        ("error", "t - O7", t - O_o[0]),
        ("Error7", "O7 (1 - O7) (t - O7)", err_o[0]),
        ("Error6", "O6 (1 - O6) Error7 w67", err_h[1]),
        ("Error5", "O5 (1 - O5) Error7 w57", err_h[0]),
    ]
    for name in PARAMETER_NAMES:
        if name.startswith("theta"):
            formula = f"{name} + lr Error{name[5:]}"
        else:
            source = f"x{name[1]}" if name[2] in "56" else f"O{name[1]}"
            formula = f"{name} + lr Error{name[2]} {source}"
        rows.append((name, formula, after.weight(name)))
    return WorkedIteration([(n, f, float(v)) for n, f, v in rows], after)


def worked_example_iterations(iterations: int = 10, lr: float | None = None,
                              example: WorkedExample = WORKED_EXAMPLE) -> list[WorkedIteration]:
    """``iterations`` consecutive iterations, each starting from the previous one's result."""
    iterations = check_int(iterations, "iterations", low=1)
    steps = [worked_example_iteration(example, lr)]
    for _ in range(iterations - 1):
        steps.append(worked_example_iteration(steps[-1].after, lr))
    return steps


def worked_example_run(iterations: int = 10, lr: float | None = None,
                       example: WorkedExample = WORKED_EXAMPLE) -> dict:
    """Repeat the iteration: the error t - O7 before each update and the weights after.

    Returns ``{"error": (iterations + 1,), "weights": (iterations + 1, 13), "names",
    "steps"}``: row 0 of weights is the starting network, the columns follow
    ``PARAMETER_NAMES``, and the last error is measured after the final update.
    """
    steps = worked_example_iterations(iterations + 1, lr, example)
    weights = [[example.weight(n) for n in PARAMETER_NAMES]]
    weights += [[step.after.weight(n) for n in PARAMETER_NAMES] for step in steps[:-1]]
    return {"error": np.array([step.values["error"] for step in steps]),
            "weights": np.array(weights), "names": PARAMETER_NAMES, "steps": steps[:-1]}


class SlideComparison(list):
    """Rows (iteration, quantity, slide, exact, differs) that render as a highlighted table."""

    def __str__(self) -> str:
        lines = [f"{'pass':<5}{'quantity':<9}{'slide':>9}{'exact':>10}"]
        lines += [f"{it:<5}{name:<9}{slide:>9}{exact:>10.4f}{'   <-- differs' if d else ''}"
                  for it, name, slide, exact, d in self]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for it, name, slide, exact, differs in self:
            style = " style='background:#fbe3e3;font-weight:bold'" if differs else ""
            rows.append(f"<tr{style}><td>{it}</td><td>{html.escape(name)}</td><td>{slide}</td>"
                        f"<td>{exact:.4f}</td><td>{'differs' if differs else ''}</td></tr>")
        return ("<table><thead><tr><th>forward pass</th><th>quantity</th><th>slide</th>"
                "<th>exact</th><th></th></tr></thead><tbody>" + "".join(rows) +
                "</tbody></table>")


def slide_comparison() -> SlideComparison:
    """(iteration, quantity, slide value, exact value, differs) for every printed number.

    A value differs when the exact one, rounded to the slide's printed decimals, is not
    the printed number.
    """
    first = worked_example_iteration()
    second = worked_example_iteration(first.after)
    exact = {1: first.values, 2: second.values}
    rows = []
    for it, printed in SLIDE_VALUES.items():
        for name, text in printed.items():
            decimals = len(text.split(".")[1]) if "." in text else 0
            value = exact[it][name]
            rows.append((it, name, text, value, round(value, decimals) != float(text)))
    return SlideComparison(rows)


# ----------------------------------------------------------------------------- general MLP

LOSSES = {"bce": (_losses.bce, _losses.bce_grad), "mse": (_losses.mse, _losses.mse_grad),
          "half_sse": (_losses.half_sse, _losses.half_sse_grad)}
_INITS = {"uniform": _init.uniform, "xavier": _init.xavier_uniform,
          "xavier_normal": _init.xavier_normal, "he": _init.he_normal,
          "he_uniform": _init.he_uniform}


def init_parameters(layer_dims, method: str = "xavier", seed=0) -> dict:
    """Parameters {"W1", "b1", ..., "WL", "bL"} for layer sizes (n_0, n_1, ..., n_L).

    ``W{l}`` has shape (n_{l-1}, n_l). ``method``: "uniform" (weights and biases in
    [-0.5, 0.5], as the course unit does), "xavier" (uniform, Var = 2 / (n_in + n_out)),
    "xavier_normal", "he" (normal, Var = 2 / n_in) or "he_uniform"; biases start at 0
    except for "uniform".
    """
    dims = [check_int(d, "layer size", low=1) for d in layer_dims]
    if len(dims) < 2:
        raise ValueError("layer_dims needs the input size and at least one layer size")
    if method not in _INITS:
        raise ValueError(f"unknown init method {method!r}; choose one of {', '.join(_INITS)}")
    rng = np.random.default_rng(seed)
    params = {}
    for l, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
        params[f"W{l}"] = _INITS[method](n_in, n_out, rng)
        params[f"b{l}"] = (rng.uniform(-0.5, 0.5, n_out) if method == "uniform"
                           else np.zeros(n_out))
    return params


def _activation_pair(name: str, alpha: float = 0.01):
    f, df = get_activation(name)
    if name == "leaky_relu":
        return (lambda z: f(z, alpha)), (lambda z: df(z, alpha))
    return f, df


def dense_forward(A_prev, W, b, activation: str = "sigmoid"):
    """Z = A_prev @ W + b and A = f(Z). Returns ``(A, cache)``."""
    A_prev = as_float_array(A_prev, "A_prev", ndim=2)
    W = as_float_array(W, "W", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    if A_prev.shape[1] != W.shape[0]:
        raise ValueError(f"A_prev has {A_prev.shape[1]} columns but W has {W.shape[0]} rows: "
                         "W must have shape (n_in, n_out)")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b has shape {b.shape}, expected ({W.shape[1]},)")
    f, _ = _activation_pair(activation)
    Z = A_prev @ W + b
    return np.asarray(f(Z)), (A_prev, W, b, Z, activation)


def dense_backward(dA, cache):
    """Given dJ/dA of a dense layer, return (dA_prev, dW, db).

    dZ = dA * f'(Z), dW = A_prev^T dZ, db = sum_rows dZ, dA_prev = dZ W^T.
    """
    A_prev, W, _, Z, activation = cache
    _, df = _activation_pair(activation)
    dZ = dA * df(Z)
    return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)


def _activations(activations, L: int) -> list[str]:
    names = [activations] * L if isinstance(activations, str) else list(activations)
    if len(names) != L:
        raise ValueError(f"give one activation per layer: {L} layers, {len(names)} activations")
    return names


def _n_layers(parameters: dict) -> int:
    L = len([k for k in parameters if k.startswith("W")])
    if L == 0 or any(f"W{l}" not in parameters or f"b{l}" not in parameters
                     for l in range(1, L + 1)):
        raise ValueError("parameters must hold W1, b1, ..., WL, bL")
    return L


def forward(X, parameters: dict, activations):
    """Forward pass through every layer. Returns ``(AL, caches)``, one cache per layer."""
    L = _n_layers(parameters)
    names = _activations(activations, L)
    A = as_float_array(X, "X", ndim=2)
    caches = []
    for l in range(1, L + 1):
        A, cache = dense_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], names[l - 1])
        caches.append(cache)
    return A, caches


def backward(AL, Y, caches, loss: str = "bce") -> dict:
    """Gradients {"dW1", "db1", ...} of ``loss`` (mean over the m rows) by backpropagation.

    With a sigmoid output and "bce", dZ_L = (A_L - Y) / m is used directly: the
    sigmoid's derivative cancels against the loss's denominators.
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    AL = as_float_array(AL, "AL", ndim=2)
    Y = as_float_array(Y, "Y", ndim=(1, 2))
    if Y.ndim == 1 and AL.shape[1] == 1:
        Y = Y[:, None]  # a label vector for a single output unit
    if Y.shape != AL.shape:
        raise ValueError(f"Y has shape {Y.shape} but AL has shape {AL.shape}")
    grads = {}
    L = len(caches)
    A_prev, W, _, _, activation = caches[-1]
    if loss == "bce" and activation == "sigmoid":
        dZ = (AL - Y) / AL.shape[0]
        dA, grads[f"dW{L}"], grads[f"db{L}"] = dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)
    else:
        dA = LOSSES[loss][1](AL, Y)
        dA, grads[f"dW{L}"], grads[f"db{L}"] = dense_backward(dA, caches[-1])
    for l in range(L - 1, 0, -1):
        dA, grads[f"dW{l}"], grads[f"db{l}"] = dense_backward(dA, caches[l - 1])
    return grads
