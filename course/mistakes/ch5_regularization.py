"""Plausible wrong answers for ch5_regularization: Chapter 5 (regularization).
Imports ``course.mistakes`` (``Mistake``) only.
"""

import textwrap
from string import Template

from . import Mistake

# Batch norm forward written out; each forward mistake swaps one line.
_BATCHNORM = Template("""
    x = np.asarray(x, dtype=float)
    D = x.shape[1]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(D))
    running_var = bn_param.get("running_var", np.ones(D))
    if $use_batch:
        mu, var = x.mean(axis=0), x.var(axis=0, ddof=$ddof)
        bn_param["running_mean"] = $running_mean
        bn_param["running_var"] = $running_var
    else:
        mu, var = running_mean, running_var
    std = np.sqrt(var + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std,
                                  "mode": bn_param["mode"]}
""")
_RIGHT = {"use_batch": 'bn_param["mode"] == "train"', "ddof": "0",
          "running_mean": "momentum * running_mean + (1 - momentum) * mu",
          "running_var": "momentum * running_var + (1 - momentum) * var"}


def _batchnorm(**wrong: str) -> str:
    return textwrap.dedent(_BATCHNORM.substitute({**_RIGHT, **wrong}))


def _dropout(keep: str, scale: str) -> str:
    return f"""
        A = np.asarray(A, dtype=float)
        if not training:
            return A.copy(), {{"mask": np.ones(A.shape, dtype=bool), "p": p, "training": False}}
        mask = np.random.default_rng(seed).random(A.shape) {keep}
        return A * mask{scale}, {{"mask": mask, "p": p, "training": True}}
    """


def _early(better: str, late: str = "") -> str:
    return f"""
        best, best_epoch, waited = np.inf, 0, 0
        for epoch, loss in enumerate(val_losses):
            if loss {better} best:
                best, best_epoch, waited = loss, epoch, 0
            else:
                waited += 1
                if waited == patience{late}:
                    return best_epoch, epoch
        return best_epoch, len(val_losses) - 1
    """


MISTAKES = [
    Mistake(
        'L2 penalty on the biases too', 'penalties_answer', fails=('l2_penalty_tests',),
        code="return float(lambd * sum(np.sum(W**2) for W in parameters.values()))"),
    Mistake(
        'L2 gradient without its 2', 'penalties_answer', fails=('l2_grad_tests',), region=1,
        code='return {"d" + k: lambd * W for k, W in parameters.items() if k.startswith("W")}'),
    Mistake(
        'L2 gradient scales the weights in place', 'penalties_answer', fails=('l2_grad_tests',),
        region=1,
        code="""
            grads = {}
            for k, W in parameters.items():
                if k.startswith("W"):
                    W *= 2 * lambd
                    grads["d" + k] = W
            return grads
        """),
    Mistake(
        'L1 gradient for the biases too', 'l1_answer', fails=('l1_grad_tests',), region=1,
        code='return {"d" + k: lambd * np.sign(W) for k, W in parameters.items()}'),
    Mistake(
        'elastic net with the ratio on the wrong term', 'l1_answer', fails=('elastic_net_tests',),
        region=2,
        code="""
            weights = [W for k, W in parameters.items() if k.startswith("W")]
            l1 = sum(np.sum(np.abs(W)) for W in weights)
            l2 = sum(np.sum(W**2) for W in weights)
            return float(lambd * ((1 - l1_ratio) * l1 + l1_ratio * l2))
        """),
    Mistake(
        'dropout scaled by p', 'dropout_answer', fails=('dropout_forward_tests',),
        code=_dropout(">= p", " / p")),
    Mistake(
        'dropout not scaled at all', 'dropout_answer', fails=('dropout_forward_tests',),
        code=_dropout(">= p", "")),
    Mistake(
        'dropout keeps a unit with probability p', 'dropout_answer',
        fails=('dropout_forward_tests',), code=_dropout("< p", " / p")),
    Mistake(
        'dropout backward without the rescaling', 'dropout_answer',
        fails=('dropout_backward_tests',), region=1,
        code="""
            if not cache["training"]:
                return np.asarray(dout, dtype=float)
            return dout * cache["mask"]
        """),
    Mistake(
        'batch norm with the unbiased variance', 'batchnorm_answer',
        fails=('batchnorm_forward_tests',), code=_batchnorm(ddof="1")),
    Mistake(
        'batch norm uses the batch statistics at test time', 'batchnorm_answer',
        fails=('batchnorm_forward_tests',), code=_batchnorm(use_batch="True")),
    Mistake(
        'running averages with the weights swapped', 'batchnorm_answer',
        fails=('batchnorm_forward_tests',),
        code=_batchnorm(running_mean="(1 - momentum) * running_mean + momentum * mu",
                        running_var="(1 - momentum) * running_var + momentum * var")),
    Mistake(
        'batch norm never updates the running variance', 'batchnorm_answer',
        fails=('batchnorm_forward_tests',), code=_batchnorm(running_var="running_var")),
    Mistake(
        'batch norm ignores bn_param["momentum"]', 'batchnorm_answer',
        fails=('batchnorm_forward_tests',),
        code=_batchnorm(running_mean="0.9 * running_mean + 0.1 * mu",
                        running_var="0.9 * running_var + 0.1 * var")),
    Mistake(
        'batch norm updates the running statistics in test mode too', 'batchnorm_answer',
        fails=('batchnorm_forward_tests',),
        code="""
            x = np.asarray(x, dtype=float)
            D = x.shape[1]
            eps = bn_param.get("eps", 1e-5)
            momentum = bn_param.get("momentum", 0.9)
            running_mean = bn_param.get("running_mean", np.zeros(D))
            running_var = bn_param.get("running_var", np.ones(D))
            batch_mean, batch_var = x.mean(axis=0), x.var(axis=0)
            bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * batch_mean
            bn_param["running_var"] = momentum * running_var + (1 - momentum) * batch_var
            if bn_param["mode"] == "train":
                mu, var = batch_mean, batch_var
            else:
                mu, var = running_mean, running_var
            std = np.sqrt(var + eps)
            x_hat = (x - mu) / std
            return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std,
                                          "mode": bn_param["mode"]}
        """),
    Mistake(
        'batch norm backward without the mean terms', 'batchnorm_answer',
        fails=('batchnorm_backward_tests',), region=1,
        code="""
            g = dout * cache["gamma"]
            return g / cache["std"], (dout * cache["x_hat"]).sum(axis=0), dout.sum(axis=0)
        """),
    Mistake(
        'layer norm over the batch axis', 'layernorm_answer', fails=('layernorm_forward_tests',),
        code="""
            x = np.asarray(x, dtype=float)
            std = np.sqrt(x.var(axis=0, keepdims=True) + eps)
            x_hat = (x - x.mean(axis=0, keepdims=True)) / std
            return gamma * x_hat + beta, {"x_hat": x_hat, "gamma": gamma, "std": std}
        """),
    Mistake(
        'layer norm backward with the means over the rows', 'layernorm_answer',
        fails=('layernorm_backward_tests',), region=1,
        code="""
            x_hat, std = cache["x_hat"], cache["std"]
            g = dout * cache["gamma"]
            dx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / std
            return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
        """),
    Mistake(
        'translation that wraps around', 'translate_answer', fails=('translate_tests',),
        code="return np.roll(np.roll(np.asarray(image, dtype=float), dy, axis=0), dx, axis=1)"),
    Mistake(
        'translation that breaks for shifts larger than the image', 'translate_answer',
        fails=('translate_tests',),
        code="""
            image = np.asarray(image, dtype=float)
            H, W = image.shape
            out = np.zeros_like(image)
            out[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \\
                image[max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
            return out
        """),
    Mistake(
        'early stopping resets its patience on beating the previous epoch',
        'early_stopping_answer', fails=('early_stopping_tests',),
        code="""
            best, best_epoch, waited, previous = np.inf, 0, 0, np.inf
            for epoch, loss in enumerate(val_losses):
                if loss < best:
                    best, best_epoch = loss, epoch
                if loss < previous:
                    waited = 0
                else:
                    waited += 1
                    if waited == patience:
                        return best_epoch, epoch
                previous = loss
            return best_epoch, len(val_losses) - 1
        """),
    Mistake(
        'early stopping one epoch late', 'early_stopping_answer',
        fails=('early_stopping_tests',), code=_early("<", " + 1")),
    Mistake(
        'early stopping counts a tie as an improvement', 'early_stopping_answer',
        fails=('early_stopping_tests',), code=_early("<=")),
    Mistake(
        'Q1 takes the 2**10 thinned networks as equally likely', 'check_yourself_answer',
        fails=('q1_tests',), code='Q1 = 1 / 2**10; Q2 = "b"; Q3 = 0.542; Q4 = "a"'),
    Mistake(
        'Q1 keeps a unit with probability p', 'check_yourself_answer', fails=('q1_tests',),
        code='Q1 = 0.2**10; Q2 = "b"; Q3 = 0.542; Q4 = "a"'),
    Mistake(
        'Q2 normalizes the single example over its features (layer norm)',
        'check_yourself_answer', fails=('q2_tests',),
        code='Q1 = 0.8**10; Q2 = "c"; Q3 = 0.542; Q4 = "a"'),
    Mistake(
        'Q2 forgets eps: a zero variance gives NaN', 'check_yourself_answer',
        fails=('q2_tests',), code='Q1 = 0.8**10; Q2 = "d"; Q3 = 0.542; Q4 = "a"'),
    Mistake(
        'Q3 subtracts the batch mean at test time', 'check_yourself_answer', fails=('q3_tests',),
        code='Q1 = 0.8**10; Q2 = "b"; Q3 = 2; Q4 = "a"'),
    Mistake(
        'Q3 with the momentum on the new batch mean', 'check_yourself_answer',
        fails=('q3_tests',), code='Q1 = 0.8**10; Q2 = "b"; Q3 = 2 * (1 - 0.1**3); Q4 = "a"'),
    Mistake(
        'Q4 measures bias against 0 %, not the 14 % floor', 'check_yourself_answer',
        fails=('q4_tests',), code='Q1 = 0.8**10; Q2 = "b"; Q3 = 0.542; Q4 = "c"'),
]
