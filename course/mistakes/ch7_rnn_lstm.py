"""Plausible wrong answers for ch7_rnn_lstm: Chapter 7 (RNN, BPTT, LSTM).
Imports ``course.mistakes`` (``Mistake``) only.
"""

import textwrap
from string import Template

from . import Mistake

_LSTM_STEP = Template("""
    H = h_prev.shape[1]
    a = x_t @ Wx + h_prev @ Wh + b
    i, f = utils.sigmoid(a[:, :H]), utils.sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, $g]), utils.sigmoid(a[:, $o])
    c_next = $c_next
    h_next = $h_next
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "Wx": Wx, "Wh": Wh,
             "i": i, "f": f, "g": g, "o": o, "c_next": c_next, "h_next": h_next}
    return h_next, c_next, cache
""")
_RIGHT = {"g": "2 * H:3 * H", "o": "3 * H:", "c_next": "f * c_prev + i * g",
          "h_next": "o * np.tanh(c_next)"}


def _lstm_step(**wrong: str) -> str:
    return textwrap.dedent(_LSTM_STEP.substitute({**_RIGHT, **wrong}))


def _rnn_step_backward(da: str, dh_prev: str) -> str:
    return f"""
        da = {da}
        return (da @ cache["Wx"].T, {dh_prev}, cache["x_t"].T @ da,
                cache["h_prev"].T @ da, da.sum(axis=0))
    """


def _bptt(upstream: str, accumulate: str) -> str:
    return f"""
        m, T, H = dH_all.shape
        n_x = cache[0]["x_t"].shape[1]
        dX = np.zeros((m, T, n_x))
        dWx, dWh, db = np.zeros((n_x, H)), np.zeros((H, H)), np.zeros(H)
        dh_prev = np.zeros((m, H))
        for t in reversed(range(T)):
            step = rnn_step_backward({upstream}, cache[t])
            dX[:, t], dh_prev, dWx_t, dWh_t, db_t = step
            dWx += dWx_t
            {accumulate}
            db += db_t
        return dX, dh_prev, dWx, dWh, db
    """


def _lstm_bptt(dh_next: str, dc_next: str, accumulate: str = "dWh += dWh_t") -> str:
    return f"""
        m, T, H = dH_all.shape
        n_x = cache[0]["x_t"].shape[1]
        dX = np.zeros((m, T, n_x))
        dWx, dWh, db = np.zeros((n_x, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
        dh_prev, dc_prev = np.zeros((m, H)), np.zeros((m, H))
        for t in reversed(range(T)):
            dX[:, t], dh_prev, dc_prev, dWx_t, dWh_t, db_t = lstm_step_backward(
                {dh_next}, {dc_next}, cache[t])
            dWx += dWx_t
            {accumulate}
            db += db_t
        return dX, dh_prev, dWx, dWh, db
    """


MISTAKES = [
    # the sequence exercises build on the student's own step: graded with a correct step in
    # its place (Case.builds_on), a slip here costs only this exercise
    Mistake(
        'RNN step forward without the bias', 'rnn_step_answer',
        fails=('rnn_step_forward_tests',),
        code="""
            h_next = np.tanh(x_t @ Wx + h_prev @ Wh)
            return h_next, {"x_t": x_t, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "h_next": h_next}
        """),
    Mistake(
        'RNN step backward without the tanh derivative', 'rnn_step_answer',
        fails=('rnn_step_backward_tests',), region=1,
        code=_rnn_step_backward("dh_next", 'da @ cache["Wh"].T')),
    Mistake(
        'dh_prev without Wh transposed', 'rnn_step_answer', fails=('rnn_step_backward_tests',),
        region=1, code=_rnn_step_backward('dh_next * (1 - cache["h_next"] ** 2)', "da")),
    Mistake(
        'RNN forward restarts from h0 at every step', 'rnn_answer', fails=('rnn_forward_tests',),
        code="""
            cache, states = [], []
            for t in range(X.shape[1]):
                h, step = rnn_step_forward(X[:, t], h0, Wx, Wh, b)
                cache.append(step)
                states.append(h)
            return np.stack(states, axis=1), cache
        """),
    Mistake(
        'BPTT keeps only the gradient of the last step', 'rnn_answer',
        fails=('rnn_backward_tests',), region=1,
        code=_bptt("(dH_all[:, t] if t == T - 1 else 0) + dh_prev", "dWh += dWh_t")),
    Mistake(
        'BPTT does not accumulate dWh over time', 'rnn_answer', fails=('rnn_backward_tests',),
        region=1, code=_bptt("dH_all[:, t] + dh_prev", "dWh = dWh_t")),
    Mistake(
        'LSTM gates in the order i, f, o, g', 'lstm_step_answer',
        fails=('lstm_step_forward_tests',), code=_lstm_step(g="3 * H:", o="2 * H:3 * H")),
    Mistake(
        'h_next without the tanh of the cell', 'lstm_step_answer',
        fails=('lstm_step_forward_tests',), code=_lstm_step(h_next="o * c_next")),
    Mistake(
        'cell state without the forget gate', 'lstm_step_answer',
        fails=('lstm_step_forward_tests',), code=_lstm_step(c_next="c_prev + i * g")),
    Mistake(
        'LSTM backward drops the path from h through tanh(c)', 'lstm_step_answer',
        fails=('lstm_step_backward_tests',), region=1,
        code="""
            i, f, g, o = cache["i"], cache["f"], cache["g"], cache["o"]
            tanh_c = np.tanh(cache["c_next"])
            dc = dc_next
            da = np.concatenate([dc * g * i * (1 - i), dc * cache["c_prev"] * f * (1 - f),
                                 dc * i * (1 - g**2), dh_next * tanh_c * o * (1 - o)], axis=1)
            return (da @ cache["Wx"].T, da @ cache["Wh"].T, dc * f, cache["x_t"].T @ da,
                    cache["h_prev"].T @ da, da.sum(axis=0))
        """),
    Mistake(
        'LSTM forward resets the cell state every step', 'lstm_forward_answer',
        fails=('lstm_forward_tests',),
        code="""
            h, cache, states = h0, [], []
            for t in range(X.shape[1]):
                h, c, step = lstm_step_forward(X[:, t], h, np.zeros_like(h0), Wx, Wh, b)
                cache.append(step)
                states.append(h)
            return np.stack(states, axis=1), cache
        """),
    Mistake(
        'RNN step forward caches h_next where h_prev belongs', 'rnn_step_answer',
        fails=('rnn_step_forward_tests',),
        code="""
            h_next = np.tanh(x_t @ Wx + h_prev @ Wh + b)
            return h_next, {"x_t": x_t, "h_prev": h_next, "Wx": Wx, "Wh": Wh, "h_next": h_next}
        """),
    Mistake(
        'LSTM step forward caches the input and forget gates swapped', 'lstm_step_answer',
        fails=('lstm_step_forward_tests',),
        code=_lstm_step().replace('"i": i, "f": f', '"i": f, "f": i')),
    Mistake(
        'LSTM step forward caches c_next as h_next', 'lstm_step_answer',
        fails=('lstm_step_forward_tests',),
        code=_lstm_step().replace('"h_next": h_next}', '"h_next": c_next}')),
    Mistake(
        'RNN forward lists the step caches newest first', 'rnn_answer',
        fails=('rnn_forward_tests',),
        code="""
            h, cache, states = h0, [], []
            for t in range(X.shape[1]):
                h, step = rnn_step_forward(X[:, t], h, Wx, Wh, b)
                cache.insert(0, step)
                states.append(h)
            return np.stack(states, axis=1), cache
        """),
    Mistake(
        'LSTM forward caches the last step for every step', 'lstm_forward_answer',
        fails=('lstm_forward_tests',),
        code="""
            h, c, states = h0, np.zeros_like(h0), []
            for t in range(X.shape[1]):
                h, c, step = lstm_step_forward(X[:, t], h, c, Wx, Wh, b)
                states.append(h)
            return np.stack(states, axis=1), [step] * X.shape[1]
        """),
    Mistake(
        'LSTM BPTT does not carry dc along the cell state', 'lstm_backward_answer',
        fails=('lstm_backward_tests',),
        code=_lstm_bptt("dH_all[:, t] + dh_prev", "np.zeros((m, H))")),
    Mistake(
        'LSTM BPTT does not add the carried dh to the loss gradient', 'lstm_backward_answer',
        fails=('lstm_backward_tests',), code=_lstm_bptt("dH_all[:, t]", "dc_prev")),
    Mistake(
        'LSTM BPTT keeps only the last step of dWh', 'lstm_backward_answer',
        fails=('lstm_backward_tests',),
        code=_lstm_bptt("dH_all[:, t] + dh_prev", "dc_prev", accumulate="dWh = dWh_t")),
    Mistake(
        'Q1 counts the parameters of one block', 'check_yourself_answer', fails=('q1_tests',),
        code='Q1 = 1248; Q2 = "b"; Q3 = "a"; Q4 = "d"'),
    Mistake(
        'Q1 counts two bias vectors, as PyTorch', 'check_yourself_answer', fails=('q1_tests',),
        code='Q1 = 5120; Q2 = "b"; Q3 = "a"; Q4 = "d"'),
    Mistake(
        'Q3: nothing of an LSTM can be computed ahead', 'check_yourself_answer',
        fails=('q3_tests',), code='Q1 = 4992; Q2 = "b"; Q3 = "d"; Q4 = "d"'),
    Mistake(
        'Q4: bias 3, which keeps half over 13 steps, not 20', 'check_yourself_answer',
        fails=('q4_tests',), code='Q1 = 4992; Q2 = "b"; Q3 = "a"; Q4 = "c"'),
]
