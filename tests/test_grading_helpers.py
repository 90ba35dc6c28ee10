import numpy as np
import pytest

import utils
from utils import grading as G


def test_assert_close_messages_teach():
    G.assert_close([1.0, 2.0], [1.0, 2.0 + 1e-9], "x")
    with pytest.raises(AssertionError, match=r"dZ2 has shape \(1, 4\), expected \(4, 1\)\n"
                                             r"Hint: did you transpose\?"):
        G.assert_close(np.zeros((1, 4)), np.zeros((4, 1)), "dZ2", hint="did you transpose?")
    with pytest.raises(AssertionError, match=r"sigmoid\(z\) is wrong at index 1 \(input 0\): "
                                             r"expected 0.5, got 0.6 \(1 of 3 entries are off\)"):
        G.assert_close([0.1, 0.6, 0.9], [0.1, 0.5, 0.9], "sigmoid(z)", at=[-2.0, 0.0, 2.0])
    with pytest.raises(AssertionError, match="is None: did you forget to `return`"):
        G.assert_close(None, 1.0, "w")
    with pytest.raises(AssertionError, match="got NaN"):
        G.assert_close([np.nan], [1.0], "p")
    with pytest.raises(AssertionError, match="should be a number"):
        G.assert_close("abc", 1.0, "b")


def test_assert_equal_and_choice():
    G.assert_equal(np.array([1, 0]), [1, 0], "y")
    G.assert_equal("b", "b", "Q1")
    with pytest.raises(AssertionError, match="Q1 is 'a', expected 'b'"):
        G.assert_equal("a", "b", "Q1")
    with pytest.raises(AssertionError, match="epochs is wrong"):
        G.assert_equal(9, 10, "epochs")
    with pytest.raises(AssertionError, match="must be one of"):
        G.assert_choice("e", {"a", "b"}, "Q2")
    # an unanswered question (the handed-out `...`) gets told so, not "got Ellipsis"
    with pytest.raises(AssertionError, match=r"Q2 is not answered yet: replace the `...` with "
                                             r"one of \['a', 'b'\]"):
        G.assert_choice(..., {"a", "b"}, "Q2")
    with pytest.raises(AssertionError, match="Q3 is not answered yet"):
        G.assert_close(..., 0.25, "Q3")


def test_assert_no_float_errors():
    naive = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    with pytest.raises(AssertionError, match="floating-point problem.*overflow"):
        G.assert_no_float_errors(naive, np.array([-1000.0]), name="sigmoid")
    out = G.assert_no_float_errors(utils.sigmoid, np.array([-1000.0, 1000.0]))
    assert out.tolist() == [0.0, 1.0]


def _own_sigmoid(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _via_module(z):
    return utils.sigmoid(z)


def _via_submodule(z):
    return utils.activations.sigmoid(z)


def _via_get_activation(z):
    return utils.get_activation("sigmoid")[0](z)


def test_check_not_delegated_catches_every_route():
    z = np.array([0.5])
    G.check_not_delegated(_own_sigmoid, utils.sigmoid, z)
    for fn in (_via_module, _via_submodule, _via_get_activation):
        with pytest.raises(AssertionError, match="calls sigmoid from the course's reference"):
            G.check_not_delegated(fn, [utils.sigmoid], z)
    with pytest.raises(AssertionError, match="is the reference sigmoid itself"):
        G.check_not_delegated(utils.sigmoid, [utils.sigmoid], z)
    from_import = {}
    exec("from utils import sigmoid as s\ndef f(z):\n    return s(z)", from_import)
    with pytest.raises(AssertionError):
        G.check_not_delegated(from_import["f"], [utils.sigmoid], z)


def test_check_not_delegated_numpy_and_restores_everything():
    before = (np.tanh, utils.tanh, utils.activations.tanh)
    with pytest.raises(AssertionError, match="calls tanh"):
        G.check_not_delegated(lambda z: np.tanh(z), [utils.tanh, np.tanh], np.array([0.1]))
    assert (np.tanh, utils.tanh, utils.activations.tanh) == before
    # a failing student function is graded by the other tests, not here
    G.check_not_delegated(lambda z: 1 / 0, [utils.tanh], 0.0)
    assert np.tanh(0.5) == pytest.approx(0.46211715726)


def test_grading_module_is_read_only():
    with pytest.raises(AttributeError, match="read-only"):
        G.assert_close = lambda *args, **kwargs: None
    with pytest.raises(AttributeError, match="read-only"):
        del G.check_not_delegated
    G.assert_close(1.0, 1.0, "x")


def test_what_a_hidden_test_calls_in_the_kernel_is_read_only_too():
    """A reviewer replaced utils.observe.run in two tests cells (then rewrote their reports
    from a later cell, which the grading executors no longer allow): the modules a hidden
    test runs with refuse the swap."""
    from utils import blocks, observe, plain

    for module, name in ((observe, "run"), (blocks, "Block"), (plain, "encode")):
        with pytest.raises(AttributeError, match=f"utils.{module.__name__[6:]} is read-only"):
            setattr(module, name, lambda *args, **kwargs: None)
        with pytest.raises(AttributeError, match="read-only: cannot delete"):
            delattr(module, name)
    assert callable(observe.run) and plain.decode(plain.encode([1.5]))[0] == 1.5


def test_assert_equal_on_lists_of_names():
    G.assert_equal(["dW1", "db1"], ["dW1", "db1"], "keys")
    with pytest.raises(AssertionError, match=r"keys is \['W1', 'b1'\], expected \['dW1', 'db1'\]"):
        G.assert_equal(["W1", "b1"], ["dW1", "db1"], "keys")


def test_a_failed_check_shows_the_cells_frames_and_the_message_not_the_helpers():
    """In a real kernel: the traceback of a failed check ends at the tests cell (no frame of
    utils/grading.py), while an error in the student's own code keeps the student's frame."""
    import re

    import nbformat
    from nbclient import NotebookClient

    failing = ("import numpy as np\nfrom utils.grading import assert_close\n"
               "def _tests():\n    assert_close(np.ones(3), np.zeros(3), 'a1', hint='h')\n"
               "_tests()")
    broken = ("def answer(z):\n    return z.nothing\n"
              "def _tests():\n    assert_close(answer(np.ones(2)), 1.0, 'answer')\n_tests()")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(failing),
                                         nbformat.v4.new_code_cell(broken)])
    NotebookClient(nb, allow_errors=True, kernel_name="python3", timeout=60).execute()
    first, second = (re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(c.outputs[-1]["traceback"]))
                     for c in nb.cells)
    assert "grading.py" not in first and "raise CheckFailed" not in first
    assert "in _tests()" in first
    assert first.rstrip().endswith("CheckFailed: a1 is wrong at index 0: expected 0, got 1 "
                                   "(3 of 3 entries are off)\nHint: h")
    assert "in answer(z)" in second and "return z.nothing" in second  # the student's frame
    assert "AttributeError" in second
