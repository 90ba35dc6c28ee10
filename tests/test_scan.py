"""The anti-cheat scan of ``course grade``: what it flags, and what it leaves alone."""

from __future__ import annotations

import nbformat
import pytest

from course.notebooks import assignments, course_root, notebook_path, read
from course.scan import scan_notebook

ROOT = course_root()
SOURCE = read(notebook_path(ROOT, "source", "ch1_perceptron"))


def flags_of(code: str) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
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
    "def sigmoid(z:\n    broken syntax is not a flag",
])
def test_honest_code_is_not_flagged(code):
    assert flags_of(code) == []


@pytest.mark.parametrize("name", assignments(ROOT))
def test_solutions_and_releases_carry_no_flags(name):
    source = read(notebook_path(ROOT, "source", name))
    assert scan_notebook(source, source) == []
    assert scan_notebook(read(notebook_path(ROOT, "release", name)), source) == []


def test_locked_test_cells_are_not_scanned():
    # the tests cells themselves call utils.grading helpers: they must never raise a flag
    tests = [c for c in SOURCE.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
             and not c.metadata.nbgrader.get("solution")]
    assert tests
    assert scan_notebook(nbformat.v4.new_notebook(cells=tests), SOURCE) == []
