"""The grading kernel restores IPython's hooks before every cell and records what it undid.

Each attack below is written the way a student would hide it in an answer cell; the cell
after it is a stand-in for a tests cell that must fail. ``EFFECTIVE`` ones make that cell
pass on an ordinary kernel (a test proves it); the others are undone and recorded too."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course.grading.execute.sandbox.kernel_guard import read_log

LAUNCHER = (Path(__file__).resolve().parent.parent / "course" / "grading" / "execute" / "sandbox"
            / "limited_kernel.py")

ATTACKS = {
    "input transformer": """
get_ipython().input_transformers_post.append(
    lambda lines: ['pass\\n'] if any('_tests' in line for line in lines) else lines)""",
    "cleanup transformer": "get_ipython().input_transformers_cleanup.insert(0, lambda lines: [])",
    "AST transformer": """
import ast as _a
class _Blank(_a.NodeTransformer):
    def visit_Module(self, node):
        return _a.Module(body=[], type_ignores=[])
get_ipython().ast_transformers.append(_Blank())""",
    "custom exception handler": "get_ipython().set_custom_exc((BaseException,), "
                                "lambda *args, **kwargs: None)",
    "pre_run_cell callback": """
def _arm(info):
    if '_tests' in info.raw_cell:
        get_ipython().input_transformers_post.append(lambda lines: [])
get_ipython().events.register('pre_run_cell', _arm)""",
    "silenced tracebacks": "get_ipython().showtraceback = lambda *args, **kwargs: None",
    "trace function": """
import sys as _s
def _tracer(frame, event, arg):
    if frame.f_code.co_name == '_tests':
        raise SystemExit  # silently end the tests
    return _tracer
_s.settrace(_tracer)""",
    "rebound builtin": "import builtins as _b\n_b.AssertionError = type('Quiet', (Exception,), {})",
    "replaced run_cell": """
_shell = get_ipython()
type(_shell).run_cell = lambda self, *a, **k: None""",
}
EFFECTIVE = ["input transformer", "cleanup transformer", "AST transformer",
             "custom exception handler", "silenced tracebacks"]
TESTS_CELL = "def _tests():\n    assert 1 == 2, 'the test must fail'\n\n\n_tests()"


@pytest.fixture(scope="module")
def kernel_spec(tmp_path_factory):
    spec = tmp_path_factory.mktemp("jupyter") / "kernels" / "guarded"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(LAUNCHER), "--cpu", "60", "--mem-mb", "2048",
                 "-f", "{connection_file}"],
        "display_name": "guarded", "language": "python"}))
    return spec.parent.parent


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_each_attack_is_undone_before_the_next_cell_and_recorded(attack, kernel_spec, tmp_path,
                                                                 monkeypatch):
    log = tmp_path / "kernel.jsonl"
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_spec))
    monkeypatch.setenv("COURSE_KERNEL_LOG", str(log))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell(ATTACKS[attack]),
                                         nbformat.v4.new_code_cell(TESTS_CELL)])
    NotebookClient(nb, timeout=30, kernel_name="guarded", allow_errors=True).execute()
    errors = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "AssertionError", (attack, nb.cells[2].outputs)
    flags = read_log(str(log))
    assert flags and all(f.startswith("tampering (kernel, before cell 3)") for f in flags), flags


def test_an_honest_notebook_leaves_no_record(kernel_spec, tmp_path, monkeypatch):
    log = tmp_path / "kernel.jsonl"
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_spec))
    monkeypatch.setenv("COURSE_KERNEL_LOG", str(log))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nimport utils"),
        nbformat.v4.new_code_cell("fig, ax = plt.subplots()\nax.plot([1, 2])\nutils.sigmoid(0.0)"),
        nbformat.v4.new_code_cell("%matplotlib inline\nplt.figure()"),
        nbformat.v4.new_code_cell("print(utils.widgets.activation_explorer())")])
    NotebookClient(nb, timeout=30, kernel_name="guarded").execute()
    assert not log.exists() or read_log(str(log)) == []


@pytest.mark.parametrize("attack", EFFECTIVE)
def test_the_effective_attacks_do_defeat_an_ordinary_kernel(attack, monkeypatch):
    monkeypatch.delenv("COURSE_KERNEL_LOG", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(ATTACKS[attack]),
                                         nbformat.v4.new_code_cell(TESTS_CELL)])
    NotebookClient(nb, timeout=30, kernel_name="python3", allow_errors=True).execute()
    assert not [o for o in nb.cells[1].outputs if o.output_type == "error"], attack


SWITCH_OFF = {
    "its pipe closed": "import os\nos.close(int(os.environ['COURSE_GUARD_FD']))",
    "its method replaced": "type(get_ipython().kernel)._guard = lambda self: None",
}


@pytest.mark.parametrize("how", list(SWITCH_OFF))
def test_a_guard_switched_off_is_flagged_and_its_record_kept(how, tmp_path):
    """In a real grading kernel (fork server, sandbox), the guard reports each cell to the
    server's pipe: a notebook that stops it cannot take back what was sent (the record is
    written outside the sandbox, by the kernel command), and its silence is flagged."""
    from course.grading.execute import shard as shard_
    from course.grading.execute.sandbox import bwrap as sandbox
    from course.grading.execute.worker import kernel_verdict
    from course.grading.submission import Options
    from tests.test_forkserver import fork_server, grading_kernel

    if sandbox.probe():
        pytest.skip(sandbox.probe())
    cells = ["get_ipython().showtraceback = lambda *a, **k: None", SWITCH_OFF[how],
             "x = 1", "y = 2"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with fork_server(tmp_path, True) as shard:
        report = shard_.report_path(shard)  # written by the kernel command, outside
        km = grading_kernel(shard)
        path = shard / "autograded" / "mallory" / "a1"
        path.mkdir(parents=True)
        try:
            NotebookClient(nb, km=km, timeout=60, allow_errors=True,
                           resources={"metadata": {"path": str(path)}}).execute()
        finally:
            from jupyter_core.utils import run_sync

            run_sync(km.shutdown_kernel)(now=True)
    nbformat.write(nb, str(tmp_path / "executed.ipynb"))
    flags, reason = kernel_verdict(report, tmp_path / "executed.ipynb", Options())
    assert reason == ""
    # undone before cell 2, reported before it was switched off: kept
    assert "tampering (kernel, before cell 2): the shell's showtraceback was replaced" in flags
    assert "tampering (kernel): its guard reported 2 of the 4 cells run (it was switched off)" \
        in flags, flags
