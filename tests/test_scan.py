"""The anti-cheat scan of ``course grade``: what it flags, and what it leaves alone."""

from __future__ import annotations

import nbformat
import pytest

from course.grading.scan import TRANSFORM_CELL_CHARS, scan_notebook
from course.mistakes import mistakes
from course.notebooks import assignments, course_root, fill_answers, notebook_path, read

ROOT = course_root()
SOURCE = read(notebook_path(ROOT, "source", "ch1_perceptron"))


def flags_of(*cells: str) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    return [str(f) for f in scan_notebook(nb, SOURCE)]


@pytest.mark.parametrize("code, expected", [
    ("def sigmoid(z):\n    return utils.sigmoid(z)", "sigmoid uses utils.sigmoid"),
    ("def sigmoid(z):\n    return utils.activations.sigmoid(z)",
     "sigmoid uses utils.activations.sigmoid"),
    ("import utils.activations as ua\ndef relu(z):\n    return ua.relu(z)",
     "relu uses utils.activations.relu"),
    ("from utils import activations as act\ndef tanh(z):\n    return act.tanh(z) * 1.0",
     "tanh uses utils.activations.tanh"),
    ("sigmoid = utils.activations.sigmoid", "sigmoid is an alias of utils.activations.sigmoid"),
    ("from utils.activations import softmax", "imports softmax from utils.activations"),
])
def test_delegation_is_flagged(code, expected):
    found = flags_of(code)
    assert any(f.startswith("delegation") and expected in f for f in found), found


@pytest.mark.parametrize("code, expected", [
    ("import numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None",
     "assigns to numpy.testing.assert_allclose"),
    ("import builtins\nbuiltins.abs = lambda x: x", "assigns to builtins.abs"),
    ("utils.grading.assert_close = print", "assigns to utils.grading.assert_close"),
    ("import utils.grading as g\ng.assert_close = print", "assigns to g.assert_close"),
    ("assert_close = lambda *a, **k: None", "rebinds the test helper assert_close"),
    ("setattr(utils, 'sigmoid', abs)", "setattr on utils"),
    ("import importlib\nimportlib.reload(utils)", "calls importlib.reload"),
    ("del np.testing.assert_allclose", "deletes np.testing.assert_allclose"),
])
def test_tampering_is_flagged(code, expected):
    found = flags_of(code)
    assert any(f.startswith("tampering") and expected in f for f in found), found


@pytest.mark.parametrize("code, expected", [
    ("def two_layer_forward(X, params):\n    A2, caches = utils.mlp.forward(X, params, 'sigmoid')\n"
     "    return A2, {}", "two_layer_forward uses utils.mlp.forward"),
    ("from utils.mlp import backward as bw\n"
     "def two_layer_backward(params, cache, X, Y):\n    return bw(cache['A2'], Y, [], 'bce')",
     "two_layer_backward uses utils.mlp.backward"),
])
def test_delegation_to_any_reference_the_tests_name_is_flagged(code, expected):
    source = read(notebook_path(ROOT, "source", "ch3_backprop"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    found = [str(f) for f in scan_notebook(nb, source)]
    assert any(f.startswith("delegation") and expected in f for f in found), found
    # utils.sigmoid is allowed in the same exercise
    allowed = "def two_layer_forward(X, params):\n    return utils.sigmoid(X), {}"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(allowed)])
    assert scan_notebook(nb, source) == []


@pytest.mark.parametrize("code, expected", [
    ("get_ipython().input_transformers_post.append(lambda lines: [])", "calls get_ipython()"),
    ("shell = __import__('IPython').get_ipython()", "calls __import__()"),
    ("exec('import o' + 's')", "calls exec()"),
    ("getattr(np, 'lo' + 'ad')('answers.npy')", "getattr with a computed attribute name"),
    ("import sys\nsys.settrace(None)", "imports sys"),
    ("from importlib import import_module as im\nim('subprocess')", "imports importlib"),
    ("path = utils.__file__", "reads the attribute __file__"),
    ("g = sigmoid.__globals__", "reads the attribute __globals__"),
    ("from pathlib import Path\nPath('..').glob('*')", "imports pathlib"),
    ("answers = open('/tmp/answers.txt').read()", "calls open()"),
    ("!cat ../../source/ch1_perceptron/ch1_perceptron.ipynb", "shell escape '!cat'"),
    ("%run ../source/solutions.py", "magic or shell escape '%run'"),
    ("x = __builtins__", "uses __builtins__"),
    # the ways to IPython's shell without the word get_ipython
    ("exit._ip.run_cell('utils.grading.assert_close = print')", "reads the attribute _ip"),
    ("shell = quit._ip", "reads the attribute _ip"),
    ("shell = getattr(exit, '_ip')", "reads the attribute _ip (with getattr)"),
    ("__builtins__['open']('answers.txt')", "uses __builtins__"),
    ("ipython = sys.modules['IPython']", "reads sys.modules"),
    ("core = np.sys.modules.get('IPython.core')", "names 'IPython.core' in a string"),
    ("shell = globals()['get_ipython']()", "names 'get_ipython' in a string"),
    ("shell = vars()['get_ipython']()", "calls vars()"),
    ("g = get_ipython", "uses get_ipython"),
    ("from IPython import get_ipython as g", "imports IPython"),
    ("import __main__", "imports __main__"),
    ("tests = In[3]", "reads IPython's history In"),
    ("shown = Out", "reads IPython's history Out"),
    ("tests = _i3 + _ih[2]", "reads IPython's history _i3"),
    ("tests = globals().get('_ih')", "names '_ih' in a string"),
    ("g = sigmoid.__globals__['__builtins__']", "names '__builtins__' in a string"),
    # IPython syntax: each magic once, as written
    ("_ = %time 0", "magic or shell escape '%time'"),  # timing is fine, not as a value
    ("files = !ls ../source", "shell escape '!ls'"),
    ("utils.sigmoid??", "magic or shell escape 'utils.sigmoid??'"),
    ("%load_ext autoreload", "magic or shell escape '%load_ext'"),
    ("%time import sys", "imports sys"),  # the code a permitted magic runs is scanned
])
def test_suspicious_code_is_flagged_with_its_line(code, expected):
    found = flags_of("a = 1\n" + code)  # the attack on line 2 of its cell
    hits = [f for f in found if f.startswith("suspicious") and expected in f]
    assert hits and "line 2" in hits[0], found


def test_handed_out_cells_are_not_scanned_but_edited_ones_are():
    handed_out = next(c for c in SOURCE.cells if c.cell_type == "code"
                      and not c.metadata.get("nbgrader", {}).get("solution")
                      and "plt." in c.source)  # a handed-out demo cell
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(handed_out.source)])
    assert scan_notebook(nb, SOURCE) == []
    nb.cells[0].source += "\nimport os"
    assert [str(f) for f in scan_notebook(nb, SOURCE)][-1].startswith("suspicious (cell 1")


def test_an_alias_imported_in_another_cell_is_followed():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import utils.activations as ua"),
        nbformat.v4.new_code_cell("def relu(z):\n    return ua.relu(z)")])
    assert [str(f) for f in scan_notebook(nb, SOURCE)] == [
        "delegation (cell 2, line 2): relu uses utils.activations.relu"]


@pytest.mark.parametrize("code", [
    "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))",
    "z = np.linspace(-5, 5, 11)\nutils.plots.plot_activations(['relu'])",
    "def relu(z):\n    out = np.maximum(z, 0.0)\n    return out",
    "x = utils.sigmoid(np.zeros(3))  # using the reference outside a graded function is fine",
    "%matplotlib inline\nresult = relu(np.ones(2))",
    "\n%matplotlib inline",
    "%time relu(np.ones(2))",
    "%timeit -n 10 -r 3 relu(np.ones(2))",
    "%%time\nfor _ in range(3):\n    relu(np.ones(2))",
    "%%timeit -n1 z = np.ones(2)\nrelu(z)",
    "ip = '127.0.0.1'\nexit = ip.split('.')\nprint(exit, len(exit))",  # names, not the shell
    "def f(In, Out):\n    return In @ Out",
    "label = 'In' if ip else 'Out'\nprint(f'{label}: {history}')",
    "for _i in range(3):\n    print(_i)",
    's = "%d items" % 3\nt = """\n%time is no magic in a string\n!nor this\n"""',
    "x = np.ones(3)\n...\n",
])
def test_honest_code_is_not_flagged(code):
    assert flags_of(code) == []


def test_a_magic_does_not_hide_the_rest_of_its_cell():
    """``_ = %time 0`` is no Python: the whole cell used to go unread. IPython's own transform
    reads it as the kernel does, and the magic is flagged once, as written."""
    assert flags_of("_ = %time 0\nutils.grading.assert_close = print\nimport os") == [
        "tampering (cell 1, line 2): assigns to utils.grading.assert_close",
        "suspicious (cell 1, line 1): uses the IPython magic or shell escape '%time'",
        "suspicious (cell 1, line 3): imports os"]
    # on the student's lines: after blank lines, a magic's continuation lines, a %% cell
    assert flags_of("\n\n%time relu(1) + \\\n    relu(2)\nnp.testing.assert_allclose = print") == [
        "tampering (cell 1, line 5): assigns to np.testing.assert_allclose"]
    assert flags_of("%%time\nx = relu(1)\nutils.sigmoid = abs\ny = get_ipython()") == [
        "tampering (cell 1, line 3): assigns to utils.sigmoid",
        "suspicious (cell 1, line 4): calls get_ipython()"]
    # the Python a magic runs is read where it runs: in the graded function
    assert flags_of("def sigmoid(z):\n    %time a = utils.sigmoid(z)\n    return a") == [
        "delegation (cell 1, line 2): sigmoid uses utils.sigmoid"]
    assert flags_of("def sigmoid(z):\n    a = %time utils.sigmoid(z)\n    return a") == [
        "delegation (cell 1, line 2): sigmoid uses utils.sigmoid",
        "suspicious (cell 1, line 2): uses the IPython magic or shell escape '%time'"]
    assert flags_of("%time utils.grading.assert_close = print  # get_ipython()") == [
        "tampering (cell 1, line 1): assigns to utils.grading.assert_close"]
    assert flags_of("%%capture out\nimport socket") == [
        "suspicious (cell 1, line 1): uses the IPython magic or shell escape '%%capture'",
        "suspicious (cell 1, line 2): imports socket"]
    assert flags_of("%%bash\ncat ../source/*/*.ipynb") == [
        "suspicious (cell 1, line 1): uses the IPython magic or shell escape '%%bash'"]


def test_a_one_line_cell_that_ipython_runs_as_a_magic_is_flagged():
    # automagic: a one-line cell "history" runs %history (every earlier cell's source)
    assert flags_of("history") == [
        "suspicious (cell 1, line 1): uses the IPython magic or shell escape 'history' "
        "(a one-line cell: IPython runs it as %history)"]
    assert flags_of("\nls ../source")[0].startswith(
        "suspicious (cell 1, line 2): uses the IPython magic or shell escape 'ls'")
    # ... unless the notebook binds the name, or the magic is a permitted one
    assert flags_of("history = [0.5, 0.25]", "history") == []
    assert flags_of("matplotlib inline") == flags_of("time relu(np.ones(2))") == []


@pytest.mark.parametrize("code, line, error", [
    ("def sigmoid(z:\n    return z", 1, "'(' was never closed"),
    ("a = 1\nb = a +\nc = 2", 2, "invalid syntax"),
    ("%time relu(1) +", 1, "invalid syntax (in %time)"),
    pytest.param("a" + "()" * 50_000, 1, "nested too deeply", id="a()()...()"),
])
def test_a_cell_that_does_not_parse_is_flagged(code, line, error):
    """The kernel runs none of such a cell, but the scan does not pass it by unread either."""
    assert flags_of("x = 1", code) == [
        f"suspicious (cell 2, line {line}): cell 2 does not parse as Python: {error}"]


def test_ipython_syntax_in_too_much_code_is_flagged_not_read():
    """IPython reads a cell token by token, slowly: no notebook holds up the scan of a class."""
    big = "%time 0\n" + "x = [" + "1, " * (TRANSFORM_CELL_CHARS // 3) + "]"
    found = flags_of("import utils", big)
    assert len(found) == 1 and \
        "(cell 2, line 1): cell 2 holds IPython syntax in more code than the scan reads" \
        in found[0], found
    # several cells may each be under the limit: past the notebook's budget, none is read
    found = flags_of(*[big[: TRANSFORM_CELL_CHARS - 10] + "]"] * 6)
    assert [f.split(" holds")[0] for f in found] == [
        "suspicious (cell 5, line 1): cell 5", "suspicious (cell 6, line 1): cell 6"], found


@pytest.mark.parametrize("name", assignments(ROOT))
def test_solutions_and_releases_carry_no_flags(name):
    source = read(notebook_path(ROOT, "source", name))
    release = read(notebook_path(ROOT, "release", name))
    assert scan_notebook(source, source) == []
    assert scan_notebook(release, source) == []
    assert scan_notebook(fill_answers(release, source), source) == []  # a solved submission
    for mistake in mistakes(name):  # plausible wrong answers are honest ones
        found = scan_notebook(fill_answers(release, source, [mistake]), source)
        assert all(f.kind == "delegation" for f in found), (mistake.name, found)


def test_locked_test_cells_are_not_scanned():
    # the tests cells themselves call utils.grading helpers: they must never raise a flag
    tests = [c for c in SOURCE.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
             and not c.metadata.nbgrader.get("solution")]
    assert tests
    assert scan_notebook(nbformat.v4.new_notebook(cells=tests), SOURCE) == []


# ---------------------------------------------------------------- copies of the reference
def _pasted(qualname: str, renames: dict[str, str]) -> str:
    """The body of a reference function of the full edition, renamed and reformatted as a
    student hiding a paste would do it."""
    import importlib
    import inspect
    import re
    import textwrap

    from course.grading.scan.copies import body_text

    module, name = qualname.rsplit(".", 1)
    text = body_text(inspect.getsource(getattr(importlib.import_module(module), name)))
    for old, new in renames.items():
        text = re.sub(rf"\b{old}\b", new, text)
    text = text.replace(", ", ",").replace(" = ", "=")  # layout changed too
    return textwrap.indent(text, "    ")


@pytest.mark.parametrize("assignment, cell, qualname, renames", [
    ("ch5_regularization", "dropout_answer", "utils.regularization.dropout_forward",
     {"A": "activations", "keep": "kept", "mask": "m"}),
    ("ch7_rnn_lstm", "lstm_step_answer", "utils.rnn_cells.lstm_step_backward",
     {"cache": "saved", "dc": "grad_c", "da": "grad_a"}),
])
def test_a_pasted_copy_of_the_reference_is_flagged(assignment, cell, qualname, renames):
    from course.mistakes import Mistake

    release = read(notebook_path(ROOT, "release", assignment))
    source = read(notebook_path(ROOT, "source", assignment))
    region = 1 if qualname.endswith("lstm_step_backward") else 0
    pasted = fill_answers(release, source, [Mistake("pasted", cell, (),
                                                    _pasted(qualname, renames), region)])
    found = [str(f) for f in scan_notebook(pasted, source, assignment)]
    copied = [f for f in found if f.startswith("copied")]
    assert len(copied) == 1 and qualname in copied[0] and "copied from the reference" in \
        copied[0], found


@pytest.mark.parametrize("assignment", assignments(ROOT))
def test_the_courses_own_solutions_are_not_flagged_as_copies(assignment):
    release = read(notebook_path(ROOT, "release", assignment))
    source = read(notebook_path(ROOT, "source", assignment))
    solved = fill_answers(release, source)
    found = [str(f) for f in scan_notebook(solved, source, assignment)]
    assert not [f for f in found if f.startswith("copied")], found
