"""Student editions of utils (course/editions.py): built, installed, and holding no answer.

A student edition for "ch1-ch3 released" is built as a wheel, installed into a fresh virtual
environment, and inspected there: the code of every graded function of ch4-ch7 and of the
case study is absent from the installed files and from what ``inspect`` and ``dis`` show,
while ch1-ch3's references are there, unchanged. The delegation routes reviewers found (a
registry, a dict entry, the training loop's layer code, composing other withheld functions,
a default argument) all end at a stub in the edition a grading kernel of that assignment
imports.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

from course import editions
from course.as_student import run_as_student

ROOT = Path(__file__).resolve().parents[1]
EARLY = ["ch1_perceptron", "ch2_mlp", "ch3_backprop"]


def _withheld_bodies(released) -> dict[str, list[str]]:
    """{utils.module.name: the telling lines of its code in the full edition} for what an
    edition with ``released`` withholds: the lines of its body (docstring aside) that occur
    nowhere else in the full edition (a shape check every function makes tells nothing)."""
    plan = editions.withheld(released)
    elsewhere, bodies = set(), {}
    for path in sorted((ROOT / "utils").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT / "utils").with_suffix("").parts)
        lines = path.read_text().splitlines()
        spans = []
        for node in ast.parse(path.read_text()).body:
            if getattr(node, "name", None) in plan.get(module, {}):
                spans.append((node.lineno, node.end_lineno))
                body = node.body[1:] if ast.get_docstring(node) else node.body
                bodies[f"utils.{module}.{node.name}"] = [
                    line.strip() for line in lines[body[0].lineno - 1:node.end_lineno]
                    if len(line.strip()) >= 12 and not line.strip().startswith("#")]
        elsewhere |= {line.strip() for k, line in enumerate(lines, 1)
                      if not any(a <= k <= b for a, b in spans)}
    return {name: [ln for ln in found if ln not in elsewhere] for name, found in bodies.items()}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with the ch1-ch3 edition's wheel installed (the course's
    other dependencies come from the machine's site-packages), and its python."""
    tmp = tmp_path_factory.mktemp("edition")
    done = subprocess.run([sys.executable, "-m", "course", "edition", "--released", "ch1", "ch2",
                           "ch3", "--out", str(tmp / "dist")], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    wheels = list((tmp / "dist").glob("*.whl"))
    assert [w.name for w in wheels] == \
        ["dl_fundamentals_utils-1.0+released.ch1.ch2.ch3-py3-none-any.whl"], done.stdout
    venv.create(tmp / "venv", system_site_packages=True, with_pip=True)
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheels[0])], check=True, capture_output=True)
    return python


def _run(python, code: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the venv's own utils
    done = subprocess.run([str(python), "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd="/", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_installed_edition_holds_no_code_of_an_unreleased_chapter(installed):
    found = _run(installed, """
        import dis, inspect, io, json, pathlib, importlib
        import utils
        folder = pathlib.Path(utils.__file__).parent
        text = "\\n".join(p.read_text() for p in folder.rglob("*.py"))
        out = {"file": utils.__file__, "released": utils._edition.RELEASED, "text": text,
               "sources": {}, "dis": {}}
        for qualname in utils._edition.WITHHELD:
            module, name = qualname.rsplit(".", 1)
            obj = getattr(importlib.import_module(module), name)
            out["sources"][qualname] = inspect.getsource(obj)
            code = obj.__init__ if isinstance(obj, type) else obj
            buf = io.StringIO(); dis.dis(code, file=buf); out["dis"][qualname] = buf.getvalue()
        print(json.dumps(out))
    """)
    assert "/venv/" in found["file"], found["file"]  # the wheel's copy, not the repository's
    assert found["released"] == EARLY
    bodies = _withheld_bodies(EARLY)
    owner = {f"utils.{m}.{n}": a for m, names in editions.withheld(EARLY).items()
             for n, a in names.items()}
    assert set(found["sources"]) == set(bodies)
    assert "utils.optim.update_parameters_with_adam" in bodies  # ch4 ...
    assert "utils.rnn_cells.rnn_step_forward" in bodies  # ... to ch7
    assert "utils.frameworks.to_keras_weights" in bodies  # and the case study
    assert sum(map(len, bodies.values())) > 200  # lines to look for: most of the answers
    assert not any(name.startswith(("utils.activations.", "utils.mlp.", "utils.losses."))
                   for name in bodies)  # ch1-ch3's references stay
    installed_lines = {line.strip() for line in found["text"].splitlines()}
    for qualname, lines in bodies.items():
        leaked = [line for line in lines if line in installed_lines]
        assert not leaked, f"{qualname}: the installed files show {leaked}"
        tree = ast.parse(textwrap.dedent(found["sources"][qualname])).body[0]
        if isinstance(tree, ast.ClassDef):
            tree = tree.body[-1]
        body = tree.body[1:]  # after the docstring: it hands the call to stand_in, nothing else
        assert len(body) == 1 and isinstance(body[0], ast.Return), qualname
        call = body[0].value
        assert ast.unparse(call.func) == f"_stand_in({qualname!r}, {owner[qualname]!r})"
        assert all(isinstance(a, (ast.Name, ast.Starred)) for a in call.args)  # passed on as is
        assert all(isinstance(k.value, ast.Name) for k in call.keywords)
        assert "LOAD_GLOBAL" in found["dis"][qualname]
        assert "BINARY_OP" not in found["dis"][qualname]  # no arithmetic at all


def test_released_references_are_in_the_edition_unchanged(installed):
    found = _run(installed, """
        import inspect, json, utils
        print(json.dumps({n: inspect.getsource(getattr(utils.mlp, n))
                          for n in ("dense_forward", "backward", "init_parameters")}))
    """)
    import inspect

    import utils

    for name, text in found.items():
        if name == "init_parameters":
            continue  # released, but it draws with ch6's initialisers (which are stubs)
        assert text == inspect.getsource(getattr(utils.mlp, name))


# a route reviewers found to hand an exercise to utils, per assignment whose grading kernel
# imports the edition without its references: each must end at a stub
ROUTES = {
    "ch2_mlp": """
        X = np.ones((2, 3)); p = {"W1": np.ones((3, 2)), "b1": np.zeros(2)}
        attempt("training.forward", lambda: utils.training.forward(X, p, ["sigmoid"]))
        attempt("mlp.forward", lambda: utils.mlp.forward(X, p, ["sigmoid"]))
        attempt("worked example", lambda: utils.worked_example.worked_example_iterations(1))
    """,
    "ch3_backprop": """
        from utils.mlp import forward
        X, Y = np.ones((2, 3)), np.ones((2, 1))
        p = {"W1": np.ones((3, 1)), "b1": np.zeros(1)}
        A, caches = forward(X, p, ["sigmoid"])
        attempt("training.backward", lambda: utils.training.backward(A, Y, caches, "bce"))
        attempt("train", lambda: utils.training.train(X, Y, [3, 1], ["sigmoid"], "bce",
                                                      epochs=1))
        attempt("Value.backward", lambda: (utils.graph.Value(2.0) * 3).backward())
    """,
    "ch4_optimizers": """
        p, g = {"W1": np.ones((2, 2))}, {"dW1": np.ones((2, 2))}
        adam = utils.optim.get_optimizer("adam")
        attempt("get_optimizer('adam').step", lambda: adam.step(p, g, adam.init(p), 1, 0.1, {}))
        reg = utils.optim.OPTIMIZERS["momentum"]
        attempt("OPTIMIZERS['momentum']", lambda: reg.step(p, g, reg.init(p), 1, 0.1, {}))
        attempt("optimize_2d", lambda: utils.optim.optimize_2d("ravine", "gd", 0.1, 3))
    """,
    "ch5_regularization": """
        R, N = utils.regularization, utils.normalization
        p = {"W1": np.ones((2, 2)), "b1": np.zeros(2)}
        attempt("elastic net from l1 and l2",
                lambda: 0.5 * R.l1_penalty(p, 0.1) + 0.5 * R.l2_penalty(p, 0.1))
        x = np.arange(6.0).reshape(2, 3)
        attempt("layer norm as batch norm of x.T",
                lambda: N.batchnorm_forward(x.T, np.ones(2), np.zeros(2), {"mode": "train"}))
        attempt("group norm with one group",
                lambda: N.groupnorm_forward(x.reshape(2, 3, 1, 1), np.ones(3), np.zeros(3), 1))
        attempt("dropout", lambda: R.dropout_forward(x, 0.5, 0))
        attempt("translate", lambda: utils.augmentation.translate(np.eye(3), 1, 0))
    """,
    "ch6_gradients": """
        attempt("INITS['he']", lambda: utils.gradients.INITS["he"](3, 4, 0))
        attempt("init_parameters he", lambda: utils.mlp.init_parameters([3, 4], "he", 0))
        attempt("clip", lambda: utils.gradients.clip_by_value({"a": np.ones(2)}, 0.5))
    """,
    "ch7_rnn_lstm": """
        def rnn_forward(X, h0, Wx, Wh, b, _ref=utils.rnn_cells.rnn_forward):
            return _ref(X, h0, Wx, Wh, b)
        args = (np.ones((1, 2, 1)), np.zeros((1, 1)), np.ones((1, 1)), np.ones((1, 1)),
                np.zeros(1))
        attempt("default argument", lambda: rnn_forward(*args))
        attempt("sequence_forward", lambda: utils.rnn.sequence_forward(
            args[0], utils.rnn.init_rnn(1, 1, 1, seed=0), "rnn"))
        step = {"x_t": np.ones((1, 1)), "h_prev": np.zeros((1, 1)), "c_prev": np.zeros((1, 1)),
                "Wx": np.ones((1, 4)), "Wh": np.ones((1, 4)), "i": np.ones((1, 1)),
                "f": np.ones((1, 1)), "g": np.ones((1, 1)), "o": np.ones((1, 1)),
                "c_next": np.ones((1, 1)), "h_next": np.ones((1, 1))}
        attempt("lstm_backward", lambda: utils.rnn.lstm_backward(np.ones((1, 1, 1)), [step]))
        attempt("Cells().pair('lstm')", lambda: utils.rnn.Cells().pair("lstm")[1](
            np.ones((1, 1, 1)), [step]))
    """,
    "case_study_keras": """
        ex = utils.mlp.WORKED_EXAMPLE  # load_worked_example through the model builder
        attempt("dense_model with weights", lambda: utils.frameworks.dense_model(
            [4, 2, 1], "sigmoid", {"W1": ex.W_hidden, "b1": ex.b_hidden, "W2": ex.W_out,
                                   "b2": ex.b_out}))
    """,
}


@pytest.mark.parametrize("assignment", sorted(ROUTES))
def test_every_route_to_an_exercise_ends_at_a_stub_in_its_grading_edition(assignment):
    folder = editions.cached(editions.released_before(assignment))
    script = textwrap.dedent("""
        import json, numpy as np, utils
        from utils._edition import NotReleasedError
        results = {}
        def attempt(label, call):
            try:
                call()
                results[label] = "answered"
            except NotReleasedError as exc:
                results[label] = "withheld: " + str(exc).split(" is not in")[0]
            except Exception as exc:
                results[label] = f"other error: {type(exc).__name__}: {exc}"
    """) + textwrap.dedent(ROUTES[assignment]) + "\nprint(json.dumps(results))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd="/", env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin",
                                        "MPLBACKEND": "Agg", "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results and all(r.startswith("withheld: utils.") for r in results.values()), results


def test_a_grading_edition_holds_the_earlier_chapters_references():
    folder = editions.cached(editions.released_before("ch5_regularization"))
    done = subprocess.run([sys.executable, "-c", (
        "import utils, numpy as np; p = {'W1': np.ones((2, 2))}; g = {'dW1': np.ones((2, 2))};"
        "print(utils._edition.RELEASED, utils.optim.update_parameters_with_gd(p, g, 0.5)['W1'],"
        " utils.sigmoid(0.0))")], capture_output=True, text=True, cwd="/",
        env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("]")[0] + "]" == str(list(editions.ORDER[:4]))
    assert "[[0.5 0.5]\n [0.5 0.5]] 0.5" in done.stdout


def test_utils_use_makes_a_student_edition_run_on_the_students_own_functions():
    """A withheld function's stub calls the student's own function once it is handed over:
    the training loop, the 2-D paths and graph.Value's backward pass then run on it, mistakes
    and all. Where utils holds the reference it keeps its own; a bad hand-over says what is
    wrong."""
    folder = editions.cached(editions.released_before("ch3_backprop"))
    script = textwrap.dedent("""
        import json, numpy as np, utils
        out = {}
        try:
            utils.optim.optimize_2d("ravine", "gd", 0.1, steps=3)
        except utils.NotReleasedError as exc:
            out["before"] = str(exc)

        def update_parameters_with_gd(parameters, grads, learning_rate):  # a slip: adds
            return {k: v + learning_rate * grads["d" + k] for k, v in parameters.items()}

        out["plugged"] = utils.use(update_parameters_with_gd)
        out["path"] = utils.optim.optimize_2d("ravine", "gd", 0.01, steps=2)["path"].tolist()

        def backpropagate(root):  # a student's own backward pass, which forgets the graph
            root.grad = 1.0

        out["method"] = utils.use(backpropagate) == ["utils.graph.backpropagate"]
        Y = utils.graph.Value(3.0) * 2
        Y.backward()
        out["grad"] = [Y.grad, Y._parents[0].grad]
        out["released"] = utils.use(utils.sigmoid)  # ch1 is released: utils keeps its own
        out["keyword"] = utils.use(**{"optim.random_mini_batches": lambda X, Y, size, seed: []})
        for bad in ((3,), ()):
            try:
                utils.use(*bad, **({} if bad else {"optim.adam": 3}))
            except ValueError as exc:
                out.setdefault("bad", []).append(str(exc))
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(folder)}, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert "utils.use(update_parameters_with_gd)" in out["before"]
    assert out["plugged"] == ["utils.optim.update_parameters_with_gd"]
    # the ravine's gradient at (-8, 1) is (-0.8, 10): the slipped step climbs it
    assert out["path"][1] == pytest.approx([-8 - 0.01 * 0.8, 1 + 0.01 * 10])
    assert out["method"] and out["grad"] == [1.0, 0.0] and out["released"] == []
    assert out["keyword"] == ["utils.optim.random_mini_batches"]
    assert len(out["bad"]) == 2 and all("utils.use takes your functions" in m for m in out["bad"])


def test_the_edition_command_says_what_is_wrong():
    done = subprocess.run([sys.executable, "-m", "course", "edition", "--released", "ch9"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert "not an assignment: ch9" in done.stderr
    with pytest.raises(ValueError, match="defines no nothing_here"):
        editions.strip_module("def f():\n    return 1\n", {"nothing_here": "ch1_perceptron"},
                              "activations")


# ------------------------------------------- a grading kernel on the edition, for real
# Each route hands one exercise to utils: on the full edition it answers; in the grading kernel,
# on the edition without the assignment's references, it reaches a stub, so that exercise scores
# zero and every other one as in the solved notebook. No route is listed anywhere in the course.
ROUTES_GRADED = {
    "ch1_perceptron": {
        # sigmoid handed to the reference's own code in a new function object: no tripwire of
        # check_not_delegated sees a call of utils.sigmoid (a route a list of references misses)
        "copied_code": ("sigmoid_answer", 0, "sigmoid_tests", (
            "import types\n\n"
            "return types.FunctionType(utils.activations.sigmoid.__code__, "
            "vars(utils.activations))(z)")),
    },
    "ch5_regularization": {
        "elastic_net_from_utils": ("l1_answer", 2, "elastic_net_tests", (
            "R = utils.regularization\n"
            "return l1_ratio * R.l1_penalty(parameters, lambd) + (1 - l1_ratio) * "
            "R.l2_penalty(parameters, lambd)")),
        "layernorm_as_batchnorm_of_xT": ("layernorm_answer", 0, "layernorm_forward_tests", (
            "x = np.asarray(x, dtype=float)\n"
            "out, _ = utils.normalization.batchnorm_forward(\n"
            "    x.T, np.ones(len(x)), np.zeros(len(x)), {'mode': 'train', 'eps': eps})\n"
            "x_hat = out.T\n"
            "std = np.sqrt(x.var(axis=1, keepdims=True) + eps)\n"
            "return gamma * x_hat + beta, {'x_hat': x_hat, 'gamma': gamma, 'std': std}")),
        "dropout_default_argument": ("dropout_answer", 0, "dropout_forward_tests", (
            "def delegate(A, p, seed, training, _ref=utils.regularization.dropout_forward):\n"
            "    return _ref(A, p, seed, training)\n\n"
            "return delegate(A, p, seed, training)")),
        "l2_copied_code": ("penalties_answer", 0, "l2_penalty_tests", (
            "import types\n\n"
            "return types.FunctionType(utils.regularization.l2_penalty.__code__,\n"
            "                          vars(utils.regularization))(parameters, lambd)")),
    },
}


def _grade_class(dest: Path, assignment: str) -> dict:
    from course import workspace
    from course.mistakes import Mistake
    from course.notebooks import fill_answers, notebook_path, read

    env = {k: v for k, v in os.environ.items() if k != "COURSE_GRADE_ON_EDITION"}
    out = {}
    for grader in ("course grade", "nbgrader autograde"):
        course = dest / grader.split()[0]
        workspace.make_course_dir(course, [assignment])
        release = read(workspace.generate(course, assignment))
        source = read(notebook_path(ROOT, "source", assignment))
        workspace.submit(course, assignment, "solved", fill_answers(release, source))
        for student, (cell, region, _, code) in ROUTES_GRADED[assignment].items():
            workspace.submit(course, assignment, student, fill_answers(release, source, [
                Mistake(student, cell, (), code, region)]))
        if grader == "course grade":
            command = [sys.executable, "-m", "course", "--root", str(course), "grade",
                       "--workers", "2"]
        else:
            command = ["nbgrader", "autograde", assignment, "--force"]
        done = subprocess.run(command, capture_output=True, text=True, cwd=course, env=env,
                              timeout=1200)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        out[grader] = workspace.scores(course, assignment)
    return out


@pytest.fixture(scope="module", params=sorted(ROUTES_GRADED))
def graded(request, tmp_path_factory):
    return request.param, _grade_class(tmp_path_factory.mktemp("graded"), request.param)


def test_the_routes_answer_on_the_full_edition():
    """What the graded routes would get on the full edition: the reference's answers."""
    import types

    import numpy as np

    import utils

    z = np.array([-3.0, 0.0, 2.5])
    copied = types.FunctionType(utils.activations.sigmoid.__code__, vars(utils.activations))
    assert np.array_equal(copied(z), utils.sigmoid(z))
    R, x = utils.regularization, np.arange(6.0).reshape(2, 3)
    P = {"W1": x, "b1": np.ones(3)}
    assert 0.3 * R.l1_penalty(P, 0.1) + 0.7 * R.l2_penalty(P, 0.1) == pytest.approx(
        R.elastic_net_penalty(P, 0.1, 0.3))
    out, _ = utils.normalization.batchnorm_forward(x.T, np.ones(2), np.zeros(2), {"mode": "train"})
    assert np.allclose(out.T, utils.normalization.layernorm_forward(x, np.ones(3), np.zeros(3))[0])


@pytest.mark.parametrize("grader", ["course grade", "nbgrader autograde"])
def test_a_kernel_graded_on_its_edition_cannot_hand_an_exercise_to_utils(graded, grader):
    assignment, by_grader = graded
    scores = by_grader[grader]
    assert assignment in editions.GRADED_ON_EDITION
    solved = scores["solved"]
    assert sum(s for s, _ in solved.values()) == sum(m for _, m in solved.values())
    for student, (_, _, tests, _) in ROUTES_GRADED[assignment].items():
        assert scores[student][tests][0] == 0.0, (student, scores[student][tests])
        others = {k: v for k, v in scores[student].items() if k != tests}
        assert others == {k: v for k, v in solved.items() if k != tests}, student


# ------------------------------------- the release notebooks on the ch1-ch3 student edition
def _run_in(python: Path, nb, folder: Path, edition: Path | None = None) -> list[str]:
    """The errors of cells outside the exercises when ``nb`` runs in a kernel of ``python``
    (importing ``edition``, or else the utils ``python`` has installed)."""
    return [f"{where}: {message}" for where, exercise, message
            in run_as_student(nb, folder, edition=edition, python=str(python))[1]
            if not exercise]


@pytest.mark.parametrize("assignment", sorted(editions.GRADED_ON_EDITION))
def test_a_release_notebook_runs_on_its_students_edition(installed, assignment):
    """Blank as handed out and solved, every cell outside the exercises runs on the edition a
    student of the assignment has (the chapters before it released; for ch4, the ch1-ch3 wheel
    installed in a fresh virtual environment): a demo driven by an exercise not done yet says
    so instead."""
    from course.notebooks import fill_answers, notebook_path, read

    before = editions.released_before(assignment)
    python, edition = ((installed, None) if before == EARLY
                       else (Path(sys.executable), editions.cached(before)))
    release = read(notebook_path(ROOT, "release", assignment))
    solved = fill_answers(release, read(notebook_path(ROOT, "source", assignment)))
    folder = ROOT / "release" / assignment
    assert _run_in(python, release, folder, edition) == []
    assert _run_in(python, solved, folder, edition) == []
    said = "\n".join(o.get("text", "") for c in release.cells for o in c.get("outputs", []))
    assert "finish exercise" in said.lower() or "write yours and hand it to utils" in said
