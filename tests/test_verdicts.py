"""Hidden tests decided outside the student's process (``course.grading.verdicts``).

Unit tests of the kernel's serializer (``utils.plain``), of the verdict on one case and of
the Autograde step that reads the kernel's reports; then a class of chapter 1 graded for
real, by ``course grade`` and by plain ``nbgrader autograde``: stub answers, the same stubs
with each of six attacks that earned full marks while hidden tests compared in the kernel,
and a kernel that skips every tests cell.
"""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from course import workspace
from course.grading.verdicts import Case, Result, decide, decide_here, hidden_test_problems
from course.grading.verdicts.preprocess import NO_DATA, CellCases, cell_cases, decide_cell
from course.mistakes import Mistake
from course.notebooks import course_root, fill_answers, grade_id, notebook_path, read
from utils import observe, plain
from utils.grading import CheckFailed

A = "ch1_perceptron"
ROOT = course_root()


# ---------------------------------------------------------------- the kernel's serializer
class Liar(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class Peek:
    """Hands out whatever a caller up the stack calls ``expected``."""

    def __array__(self, dtype=None, copy=None):
        frame = sys._getframe(1)
        while frame is not None:
            if "expected" in frame.f_locals:
                return np.asarray(frame.f_locals["expected"], dtype=dtype)
            frame = frame.f_back
        return np.zeros(1)


def roundtrip(value):
    return plain.decode(json.loads(json.dumps(plain.encode(value), allow_nan=False)))


def test_plain_values_cross_exactly():
    x = np.array([[0.1, -np.inf], [np.nan, 1e308]])
    back = roundtrip({"W": x, "n": np.int64(13), "f": np.float32(0.5), "t": (1, "b", None),
                      "ok": np.bool_(True), "huge": 10**20, "inf": float("inf")})
    assert np.array_equal(back["W"], x, equal_nan=True) and back["W"].dtype == np.float64
    assert back["n"] == 13 and type(back["n"]) is int and back["f"] == 0.5
    assert back["t"] == (1, "b", None) and back["ok"] is True and back["huge"] == 10**20
    assert back["inf"] == float("inf")
    ints = roundtrip(np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert ints.dtype == np.int64 and ints.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_objects_that_lie_cross_as_what_they_are():
    assert roundtrip(Liar("a")) == "a" and type(roundtrip(Liar("a"))) is str
    for liar in (Peek(), object(), {1: 2}, np.array([object()]), np.array([1j])):
        assert isinstance(roundtrip(liar), plain.Unreadable), liar
    nested = roundtrip([[[[[[[[[[[[1]]]]]]]]]]]])
    while isinstance(nested, list):
        nested = nested[0]
    assert isinstance(nested, plain.Unreadable)


# ---------------------------------------------------------------- the verdict on one case
def _fwd(x, w):
    return x @ w, {"x": x, "w": w}


def _bwd(dout, cache):
    return dout @ cache["w"].T, cache["x"].T @ dout


X, W, D = np.arange(6.0).reshape(2, 3), np.ones((3, 2)), np.ones((2, 2))
DRAWS = iter(range(10**6))  # a "random" function that ignores its seed


def _fails(case, namespace) -> str:
    with pytest.raises(CheckFailed) as info:
        decide_here([case], namespace)
    return str(info.value)


def test_a_correct_answer_passes_every_kind_of_check():
    def fresh_copy(d):
        return {k: v.copy() for k, v in d.items()}

    cases = [Case("fwd", X, W).then("bwd", D, Result(0)[1]).close((D @ W.T, X.T @ D)).unchanged(),
             Case("fwd", X, W).close((D @ W.T, X.T @ D), of=1, via=lambda c: _bwd(D, c),
                                     name="the backward on your cache"),
             Case("fwd", X, W).shape((2, 2), of=0),
             Case("copy", {"a": X}).fresh().equal({"a": X}),
             Case.var("Q").equal(13), Case.var("Q").close(13.0)]
    decide_here(cases, {"fwd": _fwd, "bwd": _bwd, "copy": fresh_copy, "Q": np.int64(13)})


@pytest.mark.parametrize("case, namespace, says", [
    (Case("f", X).close(X), {"f": lambda x: x + 1e-3}, "is wrong at index (0, 0)"),
    (Case("f", X).fresh(), {"f": lambda x: x}, "hands back one of its inputs"),
    (Case("f", {"a": X}).fresh(), {"f": lambda d: ({"a": d["a"]}, 1)},
     "part [0]['a'] of the result"),
    (Case("f", X.copy()).unchanged(), {"f": lambda x: x.__imul__(2)}, "changed its argument 1"),
    (Case("f", X).close(X), {"f": lambda x: Peek()}, "not a value the tests can read"),
    (Case.var("Q").equal("b"), {"Q": Liar("a")}, "Q is 'a', expected 'b'"),
    (Case.var("Q").equal("b"), {"Q": 2}, "should be a string"),
    (Case("f", 1.0).close(1.0), {"f": lambda x: np.exp(np.array(1000.0))}, "overflow"),
    (Case("f", 1.0).close(1.0), {"f": lambda x: None}, "is None"),
    (Case("f", 1.0).close(1.0), {}, "'f' is not defined"),
    (Case("f", 1.0).close(1.0), {"f": lambda x: 1 / 0}, "raised ZeroDivisionError"),
    (Case("fwd", X, W).then("bwd", D, Result(0)[2]).close(1), {"fwd": _fwd, "bwd": _bwd},
     "has no entry [2]"),
    (Case("fwd", X, W).close(1, of=1, via=lambda c: _bwd(D, c)), {"fwd": lambda x, w: (1, None)},
     "the course's code fails on it"),
    (Case("g", seed=1).then("g", seed=1).holds(lambda v: v[0] == v[1], "ignores its seed",
                                               call=None),
     {"g": lambda seed: next(DRAWS)}, "ignores its seed"),
])
def test_a_wrong_answer_fails_with_a_message_that_says_why(case, namespace, says):
    assert says in _fails(case, namespace)


class _Cells:
    """A reference module: ``run`` builds on ``step`` (looked up when called)."""

    @staticmethod
    def step(h, x):
        return np.tanh(h + x)

    @classmethod
    def run(cls, xs, h0=0.0):
        h, out = h0, []
        for x in xs:
            h = _Cells.step(h, x)
            out.append(h)
        return np.array(out)


def _notebook(code: str) -> dict:
    """A notebook's namespace: functions defined in it look their names up there."""
    namespace = {"np": np}
    exec(code, namespace)  # noqa: S102
    return namespace


LOOP = """
def run(xs, h0=0.0):
    h, out = h0, []
    for x in xs:
        h = step(h, x)
        out.append(h)
    return np.array(out)
"""


def test_a_later_exercise_builds_on_a_block_not_on_the_students_slip():
    xs = np.array([0.5, -1.0, 2.0])
    later = Case("run", xs).builds_on("step", _Cells, lambda: _Cells.run(xs)) \
        .close(_Cells.run(xs))
    earlier = Case("step", 0.1, 0.2).close(np.tanh(0.3))
    # a slip in the earlier exercise, a right loop on it: the loop keeps its points
    slip = _notebook("def step(h, x):\n    return np.tanh(h) + x\n" + LOOP)
    decide_here([later], slip)
    assert "step(0.1, 0.2) is wrong" in _fails(earlier, slip)  # the slip costs its own
    assert slip["step"](0.0, 1.0) == 1.0  # the student's own function is back after the case
    # a wrong loop on the block fails
    assert "is wrong" in _fails(later, _notebook(
        "def step(h, x):\n    return np.tanh(h + x)\n" + LOOP.replace("append(h)", "append(-h)")))
    # a call the reference does not make goes to the student's own function
    other = _notebook("def step(h, x):\n    return 0.0\n" + LOOP.replace("step(h, x)",
                                                                          "step(9.0, x)"))
    assert "is wrong" in _fails(later, other)
    # no function of their own, and calls the reference makes: the block answers alone
    decide_here([later], _notebook(LOOP))


def test_an_elementwise_block_answers_whatever_shape_the_student_calls_it_with():
    import utils

    z = np.array([[-2.0, 0.0], [3.0, 40.0]])
    case = Case("sigmoid_grad", z).builds_on(
        "sigmoid", utils.activations, lambda: utils.activations.sigmoid(z), elementwise=True
    ).close(utils.sigmoid_grad(z))
    wrong_sigmoid = "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"  # a sign slip
    for body in ("s = sigmoid(z)\n    return s * (1 - s)",  # the whole array at once
                 "return np.array([[sigmoid(v) * (1 - sigmoid(v)) for v in row] for row in z])",
                 "s = sigmoid(z.ravel()).reshape(z.shape)\n    return s * (1 - s)"):
        decide_here([case], _notebook(wrong_sigmoid + f"def sigmoid_grad(z):\n    {body}\n"))
    # an element the reference did not compute goes to the student's own (wrong) sigmoid
    other = "def sigmoid_grad(z):\n    return sigmoid(z) * sigmoid(-z)\n"
    assert "is wrong" in _fails(case, _notebook(wrong_sigmoid + other))


@pytest.mark.parametrize("report", [None, {}, {"calls": 3}, {"calls": [{"value": {"$nd": "x"}}]},
                                    {"calls": [{"value": {"$bad": 1}}]}, {"calls": ["x"]},
                                    {"calls": [{"raised": ["a"]}]}])
def test_a_malformed_report_fails_its_case_and_never_raises(report):
    message = decide(Case("f", 1.0).close(1.0).hint("h"), report)
    assert message  # a failure, not an exception


# ---------------------------------------------------------------- the step around Execute
def _served() -> CellCases:
    source = ("def _tests():\n    print('visible')\n    ### BEGIN HIDDEN TESTS\n"
              "    from course.grading.verdicts import Case, hidden\n"
              "    hidden(Case('f', 2.0).close(4.0), Case('f', 3.0).close(9.0))\n"
              "    ### END HIDDEN TESTS\n\n\n_tests()")
    return cell_cases("f_tests", source)


def _report(case, value, cell="f_tests"):
    data = {"cell": cell, "case": case, "calls": [{"value": value}]}
    return nbformat.v4.new_output("display_data", data={observe.MIME: data})


def test_the_kernel_gets_calls_and_inputs_only():
    served = _served()
    assert "4.0" not in served.kernel_source and "close" not in served.kernel_source
    assert "observe" in served.kernel_source and "print('visible')" in served.kernel_source
    # the hidden calls run after the tests function, also when a visible test failed (their
    # data names the mistake), but not after the cell was stopped at its CPU limit
    kernel = served.kernel_source.split("\n")
    assert kernel[kernel.index("try:"):kernel.index("try:") + 4] == [
        "try:", "    _tests()", "except KeyboardInterrupt:", "    raise"]
    assert sum("observe" in line for line in kernel) == 2  # on failure, and else
    assert "observe" not in served.kernel_source.split("_tests()")[0]


@pytest.mark.parametrize("outputs, failed", [
    ([_report(0, 4.0), _report(1, 9.0)], None),
    ([_report(0, 4.0), _report(1, 9.5)], "is wrong"),
    ([_report(0, 4.0)], NO_DATA),
    ([], NO_DATA),
    ([_report(0, 4.0), _report(0, 4.0), _report(1, 9.0)], "reported twice"),
    ([_report(0, 4.0), _report(1, 9.0), _report(2, 1.0)], "a case this cell does not have"),
    ([_report(0, 4.0), _report(1, 9.0, cell="g_tests")], "a case this cell does not have"),
    ([_report(0, 4.0), _report(1, 9.0),
      nbformat.v4.new_output("execute_result", data={"text/plain": "1.0"})], "partial credit"),
])
def test_the_verdict_is_written_into_the_tests_cell(outputs, failed):
    served = _served()
    cell = nbformat.v4.new_code_cell(served.kernel_source)
    cell.outputs = [nbformat.v4.new_output("stream", text="visible\n"), *outputs]
    decide_cell(cell, "f_tests", served)
    assert cell.source == served.source  # the source's text back, for formgrader and feedback
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert all(observe.MIME not in o.get("data", {}) for o in cell.outputs)
    assert all(o.output_type != "execute_result" for o in cell.outputs)
    if failed is None:
        assert errors == []
    else:
        assert len(errors) == 1 and failed in errors[0].evalue


def test_course_check_refuses_hidden_tests_that_compare_in_the_kernel():
    source = read(notebook_path(ROOT, "source", A))
    assert hidden_test_problems(source, A) == []
    cell = next(c for c in source.cells if grade_id(c) == "relu_tests")
    begin = cell.source.index("### BEGIN HIDDEN TESTS") + len("### BEGIN HIDDEN TESTS")
    for sneaked in ("assert relu(1.0) == 1.0", "assert_close(relu(1.0), 1.0, 'relu')",
                    "from utils.grading import assert_equal"):
        broken = nbformat.reads(nbformat.writes(source), as_version=4)
        target = next(c for c in broken.cells if grade_id(c) == "relu_tests")
        target.source = cell.source[:begin] + f"\n    {sneaked}" + cell.source[begin:]
        problems = hidden_test_problems(broken, A)
        assert any("compares in the kernel" in p for p in problems), sneaked
    empty = nbformat.reads(nbformat.writes(source), as_version=4)
    target = next(c for c in empty.cells if grade_id(c) == "relu_tests")
    target.source = "def _tests():\n    pass\n\n\n_tests()"
    assert any("exactly one hidden-tests region" in p for p in hidden_test_problems(empty, A))


# ---------------------------------------------------------------- a class, graded for real
def _stub(cell: str, code: str, region: int = 0) -> Mistake:
    return Mistake(f"stub {cell} {region}", cell, (), code, region)


ZEROS = "return np.zeros(np.shape({}))"
STUBS = [
    _stub("threshold_unit_answer", "return np.zeros(np.shape(X)[:-1], dtype=int)"),
    _stub("gate_params_answer", 'GATE_PARAMS = {"NOR": (np.zeros(2), 1.0), '
                                '"AND_NOT": (np.zeros(2), 1.0)}'),
    _stub("bipolar_step_answer", ZEROS.format("y_in")),
    _stub("train_perceptron_answer", "return np.zeros(np.shape(X)[1]), 0.0, 1"),
    _stub("train_perceptron_multi_answer",
          "return np.zeros((np.shape(X)[1], np.shape(T)[1])), np.zeros(np.shape(T)[1]), 1"),
    *[_stub(f"{f}_answer", ZEROS.format("z"), r) for f in ("sigmoid", "tanh", "relu",
                                                            "leaky_relu") for r in (0, 1)],
    _stub("softmax_answer", ZEROS.format("z")),
    _stub("check_yourself_answer", 'Q1, Q2, Q3, Q4 = "a", 0, "a", "a"'),
]
PEEKS = [_stub(m.cell, m.code if m.cell in ("gate_params_answer", "check_yourself_answer")
               else "return Peek()", m.region) for m in STUBS]
LIARS = [m for m in STUBS if m.cell != "check_yourself_answer"] + [
    _stub("check_yourself_answer", 'Q1, Q2, Q3, Q4 = Liar("a"), 0, Liar("a"), Liar("a")')]

PEEK = '''
import sys


class Peek:
    def __array__(self, dtype=None, copy=None):
        frame = sys._getframe(1)
        while frame is not None:
            for name in ("expected", "e", "want"):
                if name in frame.f_locals:
                    return np.asarray(frame.f_locals[name], dtype=dtype)
            frame = frame.f_back
        return np.zeros(1)
'''
LIAR = '''
class Liar(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__
'''
ATTACKS = {
    # rebinding what the tests compare with, through an alias of numpy
    "alias": "import numpy as xp\n"
             "xp.isclose = lambda a, b, *r, **k: xp.ones(xp.broadcast(xp.asarray(a), "
             "xp.asarray(b)).shape, dtype=bool)\n"
             "xp.allclose = xp.array_equal = lambda *a, **k: True",
    # the helpers replaced in the read-only module's own dictionary
    "helpers": "import utils.grading\nfor _k in list(vars(utils.grading)):\n"
               "    if _k.startswith('assert_') or _k == 'check_not_delegated':\n"
               "        vars(utils.grading)[_k] = lambda *a, **k: None\n"
               "del _k",
    # a whole fake utils.grading
    "modules": "import sys, types\n_fake = types.ModuleType('utils.grading')\n"
               "_fake.__getattr__ = lambda name: (lambda *a, **k: None)\n"
               "sys.modules['utils.grading'] = _fake",
    # a kernel that skips every tests cell
    "skipper": "_kernel = get_ipython().kernel\n_run = type(_kernel).do_execute\n\n\n"
               "async def _skip(self, code, *args, **kwargs):\n"
               "    return await _run(self, 'pass' if '_tests()' in code else code, *args, "
               "**kwargs)\n\n\n"
               "type(_kernel).do_execute = _skip\n_kernel.do_execute = _skip.__get__(_kernel)",
}


def _with_first(nb, code: str):
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(code))  # right after the setup cell
    return nb


def build_attacks(dest):
    workspace.make_course_dir(dest, [A])
    release = read(workspace.generate(dest, A))
    source = read(notebook_path(ROOT, "source", A))
    stubs = fill_answers(release, source, STUBS)
    subs = {"stubs": stubs, "solved": fill_answers(release, source),
            "numpy_numbers": fill_answers(release, source, [_stub(
                "check_yourself_answer", 'Q1, Q2, Q3, Q4 = "b", np.float64(0.25), np.str_("b"), '
                                         '"b"')]),
            "peek": _with_first(fill_answers(release, source, PEEKS), PEEK),
            "liar": _with_first(fill_answers(release, source, LIARS), LIAR)}
    for name, code in ATTACKS.items():
        subs[name] = _with_first(stubs, code)
    subs["skipper_solved"] = _with_first(fill_answers(release, source), ATTACKS["skipper"])
    for student, nb in subs.items():
        workspace.submit(dest, A, student, nb)
    return sorted(subs)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    ours, plain = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("plain")
    students = build_attacks(ours)
    build_attacks(plain)
    proc = subprocess.run([sys.executable, "-m", "course", "--root", str(ours), "grade",
                           "--workers", "2"], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert workspace.autograde(plain, A).returncode == 0
    return students, workspace.scores(ours, A), workspace.scores(plain, A)


def _total(cells) -> float:
    return sum(score for score, _ in cells.values())


@pytest.mark.parametrize("grader", ["course grade", "nbgrader autograde"])
def test_attacks_on_the_hidden_tests_earn_what_the_stubs_deserve(attacked, grader):
    _, ours, plain = attacked
    scores = ours if grader == "course grade" else plain
    full = _total({g: (m, m) for g, (_, m) in scores["solved"].items()})
    assert _total(scores["solved"]) == full and _total(scores["numpy_numbers"]) == full
    assert _total(scores["stubs"]) == 0.0
    for student in ("peek", "liar", *ATTACKS):
        assert scores[student] == scores["stubs"], student


def test_a_kernel_that_skips_the_tests_cells_scores_zero_for_them(attacked):
    _, ours, plain = attacked
    # solved answers, but no tests cell ran: no case reported, every one failed
    assert _total(plain["skipper_solved"]) == 0.0 and _total(ours["skipper_solved"]) == 0.0


def test_course_grade_and_nbgrader_autograde_give_identical_grades(attacked):
    students, ours, plain = attacked
    for student in students:
        assert ours[student] == plain[student], student
