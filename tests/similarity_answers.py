"""Ten students' correct answers to ch1_perceptron, written independently in different styles
(vectorised, loops, helper functions, in place, pure Python, other names), and one
near-copy of student 3: for ``tests/test_similarity.py``.

``STYLES[(cell, region)]`` lists the ten students' code for one solution region; short
exercises have fewer natural ways to be written, so there ``PICK`` says which student
wrote which of them (students coincide there, as they do in a real class).
"""

THRESHOLD_UNIT = [
    """
    return (np.dot(X, w) >= T).astype(int)
    """,
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        total = 0.0
        for x_i, w_i in zip(X, w):
            total += x_i * w_i
        return int(total - T >= 0)
    out = []
    for row in X:
        total = 0.0
        for x_i, w_i in zip(row, w):
            total += x_i * w_i
        out.append(1 if total - T >= 0 else 0)
    return np.array(out, dtype=int)
    """,
    """
    def net_input(samples, weights):
        return np.matmul(samples, weights)

    return np.where(net_input(np.asarray(X, float), np.asarray(w, float)) - T >= 0, 1, 0)
    """,
    """
    activation = np.einsum("...i,i->...", np.asarray(X, dtype=np.float64),
                           np.asarray(w, dtype=np.float64))
    return np.greater_equal(activation, T).astype(np.int64)
    """,
    """
    z = np.array(X) @ np.array(w)
    return np.heaviside(z - T, 1).astype(int)
    """,
    """
    single = np.ndim(X) == 1
    rows = np.atleast_2d(X)
    y = np.array([int(sum(a * b for a, b in zip(row, w)) >= T) for row in rows])
    return y[0] if single else y
    """,
    """
    s = np.sum(np.asarray(X) * np.asarray(w), axis=-1)
    return (s - T >= 0) * 1
    """,
    """
    net = np.tensordot(X, w, axes=([-1], [0])) - T
    return np.sign(np.sign(net) + 1).astype(int)
    """,
    """
    X_arr = np.array(X, dtype=float, ndmin=2)
    result = (X_arr.dot(w) >= T).astype(int)
    return result[0] if np.ndim(X) == 1 else result
    """,
    """
    net = np.inner(X, w) - T
    return (~(net < 0)).astype(int)
    """,
]

BIPOLAR_STEP = [
    """
    y = np.asarray(y_in, dtype=float)
    return (y > theta).astype(int) - (y < -theta).astype(int)
    """,
    """
    def one(v):
        if v > theta:
            return 1
        if v < -theta:
            return -1
        return 0

    return np.vectorize(one, otypes=[int])(y_in)
    """,
    """
    values = np.asarray(y_in)
    out = np.zeros(values.shape, dtype=int)
    out[values > theta] = 1
    out[values < -theta] = -1
    return out
    """,
    """
    y_in = np.asarray(y_in)
    return np.select([y_in > theta, y_in < -theta], [1, -1], 0)
    """,
    """
    y = np.asarray(y_in, dtype=float)
    return (np.heaviside(y - theta, 0) - np.heaviside(-y - theta, 0)).astype(int)
    """,
    """
    y = np.asarray(y_in, dtype=float)
    return np.piecewise(y, [y > theta, y < -theta], [1, -1, 0]).astype(int)
    """,
    """
    arr = np.asarray(y_in, dtype=float)
    flat = [1 if v > theta else (-1 if v < -theta else 0) for v in arr.ravel()]
    return np.array(flat, dtype=int).reshape(arr.shape)
    """,
    """
    y = np.asarray(y_in)
    upper = np.greater(y, theta)
    lower = np.less(y, -theta)
    return np.int_(upper) - np.int_(lower)
    """,
    """
    y = np.asarray(y_in, dtype=float)
    result = np.where(y < -theta, -1, 0)
    result = np.where(y > theta, 1, result)
    return result
    """,
    """
    sign = np.sign(np.asarray(y_in, dtype=float))
    magnitude = np.abs(y_in) > theta
    return (sign * magnitude).astype(int)
    """,
]

PERCEPTRON = [
    """
    X = np.asarray(X, dtype=float)
    w, b = np.zeros(X.shape[1]), 0.0
    for epoch in range(1, max_epochs + 1):
        errors = 0
        for x, target in zip(X, t):
            if bipolar_step(x @ w + b, theta) != target:
                w += alpha * target * x
                b += alpha * target
                errors += 1
        if errors == 0:
            break
    return w, b, epoch
    """,
    """
    X = np.array(X, dtype=float)
    n_samples, n_features = X.shape
    weights = np.zeros(n_features)
    bias = 0.0
    epoch = 0
    converged = False
    while not converged and epoch < max_epochs:
        epoch += 1
        converged = True
        for i in range(n_samples):
            y_in = bias + np.dot(X[i], weights)
            y = bipolar_step(y_in, theta)
            if y != t[i]:
                weights = weights + alpha * t[i] * X[i]
                bias = bias + alpha * t[i]
                converged = False
    return weights, bias, epoch
    """,
    """
    def predict(x, w, b):
        return bipolar_step(b + np.dot(x, w), theta)

    def update(x, target, w, b):
        return w + alpha * target * x, b + alpha * target

    data = np.asarray(X, dtype=float)
    w, b = np.zeros(data.shape[1]), 0.0
    n = 0
    for n in range(1, max_epochs + 1):
        mistakes = 0
        for x, target in zip(data, t):
            if predict(x, w, b) != target:
                w, b = update(x, target, w, b)
                mistakes += 1
        if not mistakes:
            break
    return w, b, n
    """,
    """
    # bias folded into the weights as w[0], with a column of ones in front of X
    Xa = np.hstack([np.ones((len(X), 1)), np.asarray(X, dtype=float)])
    wa = np.zeros(Xa.shape[1])
    epochs_run = 0
    for epochs_run in range(1, max_epochs + 1):
        stable = True
        for xa, ta in zip(Xa, np.asarray(t, dtype=float)):
            if bipolar_step(xa @ wa, theta) != ta:
                wa += alpha * ta * xa
                stable = False
        if stable:
            break
    return wa[1:], float(wa[0]), epochs_run
    """,
    """
    X = np.asarray(X, float)
    t = np.asarray(t, float)
    w = np.zeros(X.shape[1])
    b = 0.0
    for count in range(max_epochs):
        updated = []
        for k in range(len(X)):
            out = bipolar_step(np.sum(X[k] * w) + b, theta)
            if out != t[k]:
                w = w + alpha * t[k] * X[k]
                b += alpha * t[k]
                updated.append(k)
        if len(updated) == 0:
            break
    return w, b, count + 1
    """,
    """
    import itertools

    inputs = np.asarray(X, dtype=float)
    targets = np.asarray(t, dtype=float)
    weight_vector = np.zeros(inputs.shape[1])
    bias_term = 0.0
    for epoch_number in itertools.count(1):
        any_update = False
        for sample, desired in zip(inputs, targets):
            response = bipolar_step(bias_term + sample.dot(weight_vector), theta)
            if response == desired:
                continue
            weight_vector = weight_vector + alpha * desired * sample
            bias_term = bias_term + alpha * desired
            any_update = True
        if not any_update or epoch_number == max_epochs:
            return weight_vector, bias_term, epoch_number
    """,
    """
    X = np.asarray(X, dtype=float)
    state = {"w": np.zeros(X.shape[1]), "b": 0.0}

    def run_epoch():
        changes = 0
        for row, label in zip(X, t):
            guess = bipolar_step(state["b"] + row @ state["w"], theta)
            if guess != label:
                state["w"] = state["w"] + alpha * label * row
                state["b"] = state["b"] + alpha * label
                changes += 1
        return changes

    epochs = 1
    while run_epoch() > 0 and epochs < max_epochs:
        epochs += 1
    return state["w"], state["b"], epochs
    """,
    """
    rows = [list(map(float, r)) for r in X]
    w = [0.0] * len(rows[0])
    b = 0.0
    epochs = 0
    while epochs < max_epochs:
        epochs += 1
        changed = False
        for r, target in zip(rows, t):
            y_in = b + sum(wi * xi for wi, xi in zip(w, r))
            if bipolar_step(y_in, theta) != target:
                w = [wi + alpha * target * xi for wi, xi in zip(w, r)]
                b += alpha * target
                changed = True
        if not changed:
            break
    return np.array(w), b, epochs
    """,
    """
    X = np.asarray(X, dtype=float)
    t = np.asarray(t, dtype=float)
    w = np.zeros(X.shape[1])
    b = 0.0
    for e in range(1, max_epochs + 1):
        n_wrong = 0
        for j, x in enumerate(X):
            wrong = float(bipolar_step(x.dot(w) + b, theta) != t[j])
            w = w + wrong * alpha * t[j] * x
            b = b + wrong * alpha * t[j]
            n_wrong += int(wrong)
        if n_wrong == 0:
            return w, b, e
    return w, b, max_epochs
    """,
    """
    X = np.asarray(X, dtype=float)
    params = np.zeros(X.shape[1] + 1)  # the last entry is the bias
    done = 0
    for done in range(1, max_epochs + 1):
        fixes = 0
        for x_row, t_row in zip(X, t):
            net = np.dot(params[:-1], x_row) + params[-1]
            if bipolar_step(net, theta) != t_row:
                np.add(params, alpha * t_row * np.append(x_row, 1.0), out=params)
                fixes += 1
        if fixes == 0:
            break
    return params[:-1], params[-1], done
    """,
]

PERCEPTRON_MULTI = [
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    W = np.zeros((X.shape[1], T.shape[1]))
    b = np.zeros(T.shape[1])
    for epoch in range(1, max_epochs + 1):
        errors = 0
        for x, target in zip(X, T):
            miss = bipolar_step(x @ W + b, theta) != target
            W[:, miss] += alpha * np.outer(x, target[miss])
            b[miss] += alpha * target[miss]
            errors += miss.sum()
        if errors == 0:
            break
    return W, b, epoch
    """,
    """
    X = np.array(X, dtype=float)
    T = np.array(T, dtype=float)
    n, k = X.shape[1], T.shape[1]
    W = np.zeros((n, k))
    b = np.zeros(k)
    epoch = 0
    converged = False
    while not converged and epoch < max_epochs:
        epoch += 1
        converged = True
        for i in range(X.shape[0]):
            for j in range(k):
                y_j = bipolar_step(X[i] @ W[:, j] + b[j], theta)
                if y_j != T[i, j]:
                    W[:, j] = W[:, j] + alpha * T[i, j] * X[i]
                    b[j] = b[j] + alpha * T[i, j]
                    converged = False
    return W, b, epoch
    """,
    """
    # every output unit learns on its own: reuse the single-unit rule, one column at a time
    columns = [perceptron_rule(X, column, alpha, theta, max_epochs)
               for column in np.asarray(T, dtype=float).T]
    W = np.column_stack([w for w, _, _ in columns])
    b = np.array([bias for _, bias, _ in columns])
    return W, b, max(e for _, _, e in columns)
    """,
    """
    # biases as the last row of an augmented weight matrix
    Xa = np.column_stack([np.asarray(X, dtype=float), np.ones(len(X))])
    T = np.asarray(T, dtype=float)
    Wa = np.zeros((Xa.shape[1], T.shape[1]))
    epochs_run = 0
    for epochs_run in range(1, max_epochs + 1):
        stable = True
        for xa, ta in zip(Xa, T):
            delta = (bipolar_step(xa @ Wa, theta) != ta) * alpha * ta
            if delta.any():
                Wa += np.outer(xa, delta)
                stable = False
        if stable:
            break
    return Wa[:-1], Wa[-1], epochs_run
    """,
    """
    X = np.asarray(X, float)
    T = np.asarray(T, float)
    W = np.zeros((X.shape[1], T.shape[1]))
    b = np.zeros(T.shape[1])
    for count in range(max_epochs):
        updated = 0
        for k in range(len(X)):
            out = bipolar_step(np.dot(X[k], W) + b, theta)
            for j in np.flatnonzero(out != T[k]):
                W[:, j] += alpha * T[k, j] * X[k]
                b[j] += alpha * T[k, j]
                updated += 1
        if updated == 0:
            break
    return W, b, count + 1
    """,
    """
    import itertools

    inputs = np.asarray(X, dtype=float)
    targets = np.asarray(T, dtype=float)
    weight_matrix = np.zeros((inputs.shape[1], targets.shape[1]))
    biases = np.zeros(targets.shape[1])
    for epoch_number in itertools.count(1):
        any_update = False
        for sample, desired in zip(inputs, targets):
            response = bipolar_step(sample.dot(weight_matrix) + biases, theta)
            correction = np.where(response == desired, 0.0, alpha * desired)
            if np.count_nonzero(correction):
                weight_matrix = weight_matrix + sample[:, None] * correction[None, :]
                biases = biases + correction
                any_update = True
        if not any_update or epoch_number == max_epochs:
            return weight_matrix, biases, epoch_number
    """,
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    state = {"W": np.zeros((X.shape[1], T.shape[1])), "b": np.zeros(T.shape[1])}

    def run_epoch():
        changes = 0
        for row, labels in zip(X, T):
            guess = bipolar_step(row @ state["W"] + state["b"], theta)
            for j in range(len(labels)):
                if guess[j] != labels[j]:
                    state["W"][:, j] += alpha * labels[j] * row
                    state["b"][j] += alpha * labels[j]
                    changes += 1
        return changes

    epochs = 1
    while run_epoch() > 0 and epochs < max_epochs:
        epochs += 1
    return state["W"], state["b"], epochs
    """,
    """
    rows = [[float(v) for v in r] for r in X]
    targets = [[float(v) for v in r] for r in T]
    n, k = len(rows[0]), len(targets[0])
    W = [[0.0] * k for _ in range(n)]
    b = [0.0] * k
    epochs = 0
    while epochs < max_epochs:
        epochs += 1
        changed = False
        for r, tr in zip(rows, targets):
            nets = [b[j] + sum(W[i][j] * r[i] for i in range(n)) for j in range(k)]
            ys = [bipolar_step(v, theta) for v in nets]
            for j in range(k):
                if ys[j] != tr[j]:
                    for i in range(n):
                        W[i][j] += alpha * tr[j] * r[i]
                    b[j] += alpha * tr[j]
                    changed = True
        if not changed:
            break
    return np.array(W), np.array(b), epochs
    """,
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    W = np.zeros((X.shape[1], T.shape[1]))
    b = np.zeros(T.shape[1])
    for e in range(1, max_epochs + 1):
        n_wrong = 0
        for j, x in enumerate(X):
            wrong = (bipolar_step(x.dot(W) + b, theta) != T[j]).astype(float)
            W = W + alpha * np.outer(x, wrong * T[j])
            b = b + alpha * wrong * T[j]
            n_wrong += int(wrong.sum())
        if n_wrong == 0:
            return W, b, e
    return W, b, max_epochs
    """,
    """
    X = np.asarray(X, dtype=float)
    T = np.asarray(T, dtype=float)
    params = np.zeros((X.shape[1] + 1, T.shape[1]))  # the last row holds the biases
    done = 0
    for done in range(1, max_epochs + 1):
        fixes = 0
        for x_row, t_row in zip(X, T):
            net = x_row @ params[:-1] + params[-1]
            fix = np.where(bipolar_step(net, theta) != t_row, alpha * t_row, 0.0)
            np.add(params, np.outer(np.append(x_row, 1.0), fix), out=params)
            fixes += np.count_nonzero(fix)
        if fixes == 0:
            break
    return params[:-1], params[-1], done
    """,
]

SIGMOID = [
    """
    z = np.asarray(z, dtype=float)
    return np.exp(-np.logaddexp(0.0, -z))
    """,
    """
    import math

    def one(v):
        if v >= 0:
            return 1.0 / (1.0 + math.exp(-v))
        e = math.exp(v)
        return e / (1.0 + e)

    arr = np.asarray(z, dtype=float)
    return np.array([one(v) for v in arr.ravel()]).reshape(arr.shape)
    """,
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))
    """,
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out
    """,
    """
    z = np.clip(np.asarray(z, dtype=float), -500, 500)
    return 1.0 / (1.0 + np.exp(-z))
    """,
    """
    a = np.exp(-np.abs(z))
    return np.where(np.asarray(z) >= 0, 1, a) / (1 + a)
    """,
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
    """,
    """
    return np.vectorize(lambda v: 1 / (1 + np.exp(-v)) if v >= 0 else np.exp(v) / (1 + np.exp(v)),
                        otypes=[float])(z)
    """,
    """
    z = np.asarray(z, dtype=float)
    neg = z < 0
    ez = np.exp(np.where(neg, z, -z))
    return np.where(neg, ez, 1.0) / (1.0 + ez)
    """,
    """
    z = np.asarray(z, dtype=float)
    return 1.0 / (1.0 + np.exp(-np.maximum(z, -700)))
    """,
]

SIGMOID_GRAD = [
    "s = sigmoid(z)\nreturn s - s ** 2",
    "value = sigmoid(z)\nreturn value * (1 - value)",
    "return sigmoid(z) * sigmoid(-np.asarray(z, dtype=float))",
    "s = sigmoid(z)\nout = s.copy()\nout *= 1.0 - s\nreturn out",
    "sig = sigmoid(z)\nreturn sig * (1.0 - sig)",
    "z = np.asarray(z, dtype=float)\nreturn np.exp(-np.logaddexp(0, -z) - np.logaddexp(0, z))",
    "s = sigmoid(z)\nreturn np.multiply(s, np.subtract(1.0, s))",
    "y = sigmoid(z)\nreturn y * (1 - y)",
    "e = np.exp(-np.abs(np.asarray(z, dtype=float)))\nreturn e / (1.0 + e) ** 2",
    "p = sigmoid(z)\nq = 1.0 - p\nreturn p * q",
]

SOFTMAX = [
    """
    z = np.asarray(z, dtype=float)
    shifted = z - np.max(z, axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / np.sum(exps, axis=-1, keepdims=True)
    """,
    """
    import math

    z = np.asarray(z, dtype=float)
    flat = z.reshape(-1, z.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        m = max(row)
        exps = [math.exp(v - m) for v in row]
        total = sum(exps)
        out[i] = [e / total for e in exps]
    return out.reshape(z.shape)
    """,
    """
    def logsumexp(a):
        peak = a.max(axis=-1, keepdims=True)
        return peak + np.log(np.exp(a - peak).sum(axis=-1, keepdims=True))

    z = np.asarray(z, dtype=float)
    return np.exp(z - logsumexp(z))
    """,
    """
    out = np.array(z, dtype=float)
    out -= out.max(axis=-1, keepdims=True)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out
    """,
    """
    def row_softmax(v):
        e = np.exp(v - v.max())
        return e / e.sum()

    return np.apply_along_axis(row_softmax, -1, np.asarray(z, dtype=float))
    """,
    """
    z = np.asarray(z, dtype=float)
    z = z - z.max(-1)[..., None]
    num = np.exp(z)
    den = num.sum(-1)[..., None]
    return num / den
    """,
    """
    exp_scores = np.exp(np.subtract(z, np.amax(z, axis=-1, keepdims=True)))
    return np.divide(exp_scores, np.sum(exp_scores, axis=-1, keepdims=True))
    """,
    """
    arr = np.asarray(z, dtype=float)
    rows = arr.reshape(-1, arr.shape[-1])
    result = np.array([np.exp(r - r.max()) / np.exp(r - r.max()).sum() for r in rows])
    return result.reshape(arr.shape)
    """,
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e * (1.0 / np.einsum("...i->...", e))[..., np.newaxis]
    """,
    """
    z = np.asarray(z, dtype=float)
    log_p = z - z.max(axis=-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=-1, keepdims=True))
    return np.exp(log_p)
    """,
]

# short exercises: a few natural ways each, PICK[cell][student] says whose is whose
GATES = [
    """
    GATE_PARAMS = {
        "NOR": (np.array([-1.0, -1.0]), -0.5),
        "AND_NOT": (np.array([1.0, -1.0]), 0.5),
    }
    """,
    'GATE_PARAMS = {"NOR": (np.array([-2.0, -2.0]), -1.0), '
    '"AND_NOT": (np.array([2.0, -2.0]), 1.0)}',
    'GATE_PARAMS["NOR"] = (np.array([-1.0, -1.0]), -0.5)\n'
    'GATE_PARAMS["AND_NOT"] = (np.array([1.0, -2.0]), 1.0)',
    """
    w_nor, T_nor = np.array([-1, -1]), 0
    w_and_not, T_and_not = np.array([1, -1]), 1
    GATE_PARAMS = {"NOR": (w_nor, T_nor), "AND_NOT": (w_and_not, T_and_not)}
    """,
    'GATE_PARAMS.update(NOR=(np.array([-0.5, -0.5]), -0.25), '
    'AND_NOT=(np.array([0.5, -0.5]), 0.25))',
]
TANH = [
    "z = np.asarray(z, dtype=float)\ne = np.exp(-2.0 * np.abs(z))\n"
    "return np.sign(z) * (1.0 - e) / (1.0 + e)",
    "return 2.0 * sigmoid(2.0 * np.asarray(z, dtype=float)) - 1.0",
    "a = np.abs(np.asarray(z, dtype=float))\nr = (1 - np.exp(-2 * a)) / (1 + np.exp(-2 * a))\n"
    "return np.where(np.asarray(z) < 0, -r, r)",
    "z = np.clip(np.asarray(z, dtype=float), -350, 350)\nep, em = np.exp(z), np.exp(-z)\n"
    "return (ep - em) / (ep + em)",
    """
    import math

    arr = np.asarray(z, dtype=float)
    out = np.empty_like(arr)
    for i, v in np.ndenumerate(arr):
        e = math.exp(-2 * abs(v))
        out[i] = math.copysign((1 - e) / (1 + e), v)
    return out
    """,
]
TANH_GRAD = ["t = tanh(z)\nreturn 1.0 - t * t", "return 1 - tanh(z) ** 2",
             "th = tanh(z)\nreturn (1 - th) * (1 + th)", "return 1.0 - np.square(tanh(z))",
             "y = tanh(z)\nreturn 1 - y**2"]
RELU = ["return np.maximum(z, 0)",
        "z = np.asarray(z, dtype=float)\nreturn np.where(z > 0, z, 0.0)",
        "return np.clip(z, 0, None)",
        "z = np.array(z, dtype=float)\nz[z < 0] = 0.0\nreturn z",
        "z = np.asarray(z, dtype=float)\nreturn z * (z > 0)"]
RELU_GRAD = ["return (np.asarray(z) > 0).astype(float)",
             "return np.where(np.asarray(z) > 0, 1.0, 0.0)",
             "return np.heaviside(z, 0.0)",
             "g = np.zeros(np.shape(z))\ng[np.asarray(z) > 0] = 1.0\nreturn g",
             "return np.greater(z, 0) * 1.0"]
LEAKY = ["z = np.asarray(z, dtype=float)\nreturn np.where(z > 0, z, alpha * z)",
         "return np.maximum(z, alpha * np.asarray(z))",
         "z = np.array(z, dtype=float)\nz[z <= 0] *= alpha\nreturn z",
         "z = np.asarray(z, dtype=float)\nreturn relu(z) - alpha * relu(-z)",
         "z = np.asarray(z, dtype=float)\nreturn z * np.where(z > 0, 1.0, alpha)"]
LEAKY_GRAD = ["z = np.asarray(z, dtype=float)\nreturn np.where(z > 0, 1.0, alpha)",
              "g = np.full(np.shape(z), alpha)\ng[np.asarray(z) > 0] = 1.0\nreturn g",
              "return alpha + (1.0 - alpha) * (np.asarray(z) > 0)",
              "return np.select([np.asarray(z) > 0], [1.0], default=alpha)",
              "z = np.asarray(z, dtype=float)\nreturn (z > 0) + alpha * (z <= 0)"]
QUIZ = ['Q1 = "b"\nQ2 = 0.25\nQ3 = "b"\nQ4 = "b"',
        'Q1, Q2, Q3, Q4 = "b", 0.25, "b", "b"',
        "Q1 = 'b'  # two lines can separate the classes\nQ2 = 1 / 4\nQ3 = 'b'\nQ4 = 'b'",
        'Q1 = "b"\nQ2 = 0.5 * (1 - 0.5)\nQ3 = "b"\nQ4 = "b"']

STYLES = {
    ("threshold_unit_answer", 0): THRESHOLD_UNIT,
    ("bipolar_step_answer", 0): BIPOLAR_STEP,
    ("train_perceptron_answer", 0): PERCEPTRON,
    ("train_perceptron_multi_answer", 0): PERCEPTRON_MULTI,
    ("sigmoid_answer", 0): SIGMOID,
    ("sigmoid_answer", 1): SIGMOID_GRAD,
    ("softmax_answer", 0): SOFTMAX,
}
PICK = {
    ("gate_params_answer", 0): (GATES, [0, 1, 2, 0, 3, 4, 1, 0, 2, 3]),
    ("tanh_answer", 0): (TANH, [0, 1, 2, 3, 4, 0, 2, 1, 0, 3]),
    ("tanh_answer", 1): (TANH_GRAD, [1, 0, 2, 3, 4, 1, 0, 4, 2, 1]),
    ("relu_answer", 0): (RELU, [0, 0, 1, 1, 2, 3, 0, 4, 1, 2]),
    ("relu_answer", 1): (RELU_GRAD, [0, 1, 2, 3, 4, 0, 1, 0, 2, 1]),
    ("leaky_relu_answer", 0): (LEAKY, [1, 2, 0, 3, 4, 0, 1, 2, 3, 0]),
    ("leaky_relu_answer", 1): (LEAKY_GRAD, [0, 1, 2, 3, 4, 2, 0, 1, 0, 4]),
    ("check_yourself_answer", 0): (QUIZ, [0, 1, 2, 3, 0, 0, 1, 0, 2, 0]),
}


def student_answers(i: int) -> dict[tuple[str, int], str]:
    """Student ``i``'s (0-9) code for every solution region of ch1_perceptron."""
    code = {key: styles[i] for key, styles in STYLES.items()}
    code.update({key: options[picks[i]] for key, (options, picks) in PICK.items()})
    return code


# Student 3's answers, copied: names changed, comments rewritten, independent lines reordered.
COPIED_FROM = 3
COPY = {
    ("threshold_unit_answer", 0): """
    weighted = np.einsum("...i,i->...", np.asarray(X, dtype=np.float64),
                         np.asarray(w, dtype=np.float64))  # weighted sum per sample
    return np.greater_equal(weighted, T).astype(np.int64)
    """,
    ("bipolar_step_answer", 0): """
    v = np.asarray(y_in)
    return np.select([v > theta, v < -theta], [1, -1], 0)
    """,
    ("train_perceptron_answer", 0): """
    # put a column of 1s first so that the bias is weight 0
    targets = np.asarray(t, dtype=float)
    aug = np.hstack([np.ones((len(X), 1)), np.asarray(X, dtype=float)])
    weights = np.zeros(aug.shape[1])
    n_epochs = 0
    for n_epochs in range(1, max_epochs + 1):
        no_change = True
        for row, target in zip(aug, targets):
            if bipolar_step(row @ weights, theta) != target:
                weights += alpha * target * row
                no_change = False
        if no_change:
            break
    return weights[1:], float(weights[0]), n_epochs
    """,
    ("train_perceptron_multi_answer", 0): """
    T = np.asarray(T, dtype=float)
    # append a 1 to every sample: the matrix's last row is then the bias
    aug = np.column_stack([np.asarray(X, dtype=float), np.ones(len(X))])
    weights = np.zeros((aug.shape[1], T.shape[1]))
    n_epochs = 0
    for n_epochs in range(1, max_epochs + 1):
        no_change = True
        for row, target in zip(aug, T):
            change = (bipolar_step(row @ weights, theta) != target) * alpha * target
            if change.any():
                weights += np.outer(row, change)
                no_change = False
        if no_change:
            break
    return weights[:-1], weights[-1], n_epochs
    """,
    ("sigmoid_answer", 0): """
    x = np.asarray(z, dtype=float)
    result = np.empty_like(x)
    positive = x >= 0
    e_neg = np.exp(x[~positive])  # safe: only the negative entries
    result[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    result[~positive] = e_neg / (1.0 + e_neg)
    return result
    """,
    ("sigmoid_answer", 1): "sg = sigmoid(z)\nres = sg.copy()\nres *= 1.0 - sg\nreturn res",
    ("softmax_answer", 0): """
    res = np.array(z, dtype=float)
    res -= res.max(axis=-1, keepdims=True)  # for stability
    np.exp(res, out=res)
    res /= res.sum(axis=-1, keepdims=True)
    return res
    """,
}


def copier_answers() -> dict[tuple[str, int], str]:
    """The near-copy: student ``COPIED_FROM``'s answers, the long ones disguised."""
    return {**student_answers(COPIED_FROM), **COPY}
