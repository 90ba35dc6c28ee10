"""Editions of ``utils``: the full one, and student editions that hold no open exercise's answer.

The full edition is the ``utils`` folder of this repository: what instructors, self-learners and
the trusted verdict step use. A *student edition* is built from it for a course in progress
(``python -m course edition --released ch1_perceptron ch2_mlp``): every function or class that
answers an exercise of an assignment not yet released is *withheld*. Its code is replaced by a
stub with the same signature that raises ``utils.NotReleasedError`` ("... is the answer to an
exercise of ch4_optimizers ..."), so nothing of it can be displayed (``??``,
``inspect.getsource``, the installed files, ``dis``) or called under any route: a registry, a
dict, a default argument or the training loop all reach the stub.

``WITHHELD`` lists, per assignment, the graded functions *and* everything else in ``utils`` that
computes one of their answers (the training loop's layer code, the 2-D optimizer paths, group
norm, which is layer norm for one group, ...). Withholding whole definitions keeps the rule
simple: there is no list of forbidden routes, only code that is not there.

The grading kernel of assignment A imports ``edition_for(A)``: the assignments released before A
in course order, so handing an exercise of A to ``utils`` fails because its answer is absent
(for the assignments in ``GRADED_ON_EDITION``: those whose notebook runs on that edition).

Standard library only; it imports nothing of the course (``shard``, the command line, the tests
and ``course.as_student`` use it).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

ORDER = ("ch1_perceptron", "ch2_mlp", "ch3_backprop", "ch4_optimizers", "ch5_regularization",
         "ch6_gradients", "ch7_rnn_lstm", "case_study_keras")

# assignment -> {module of utils: top-level functions and classes withheld until its release}
WITHHELD: dict[str, dict[str, tuple[str, ...]]] = {
    "ch1_perceptron": {
        "activations": ("threshold", "bipolar_step", "sigmoid", "sigmoid_grad", "tanh",
                        "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad",
                        "softmax", "softmax_grad"),
        "perceptron": ("train_perceptron", "perceptron_predict"),
    },
    "ch2_mlp": {
        "mlp": ("dense_forward", "forward"),
        "training": ("forward",),  # the training loop's own layer code
        "worked_example": ("worked_example_iteration",),
    },
    "ch3_backprop": {
        "losses": ("bce", "bce_grad"),
        "mlp": ("dense_backward", "backward"),
        "training": ("backward",),
        "gradcheck": ("numerical_gradient", "relative_error", "gradient_check"),
        "graph": ("backpropagate",),  # Value builds the graph; the backward pass is withheld
    },
    "ch4_optimizers": {
        "optim": ("_zeros_like", "update_parameters_with_gd", "random_mini_batches",
                  "initialize_velocity",
                  "update_parameters_with_momentum", "initialize_adagrad",
                  "update_parameters_with_adagrad", "initialize_rmsprop",
                  "update_parameters_with_rmsprop", "initialize_adam", "_adam_moments",
                  "update_parameters_with_adam", "update_parameters_with_adamw"),
    },
    "ch5_regularization": {
        "regularization": ("l2_penalty", "l2_grad", "l1_penalty", "l1_grad",
                           "elastic_net_penalty", "elastic_net_grad", "dropout_forward",
                           "dropout_backward", "early_stopping"),
        "normalization": ("batchnorm_forward", "batchnorm_backward", "layernorm_forward",
                          "layernorm_backward", "groupnorm_forward", "instancenorm_forward"),
        "augmentation": ("translate",),  # _warp takes a 2 x 2 matrix: it cannot shift
    },
    "ch6_gradients": {
        # stack_statistics stays: it is built on the exercises' functions (stubs here)
        "gradients": ("gradient_norms_per_layer", "residual_forward", "residual_backward",
                      "clip_by_global_norm", "clip_by_value"),
        "init": ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal"),
    },
    "ch7_rnn_lstm": {
        "rnn_cells": ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                      "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"),
    },
    "case_study_keras": {
        # dense_model stays: it builds a model; loading weights goes through to_keras_weights
        "frameworks": ("to_keras_weights",),
    },
}


# assignments whose grading kernel imports the edition without their references. An assignment
# joins once its notebook runs top to bottom on that edition: its demos, widgets and visible
# tests must then use no reference of its own exercises (docs/instructor_guide.md says how).
# The others are graded on the full edition, with ``check_not_delegated`` as their guard.
# ``COURSE_GRADE_ON_EDITION="ch1_perceptron ..."`` in the grading process adds assignments.
GRADED_ON_EDITION: frozenset[str] = frozenset(ORDER)  # every assignment, since issue 29


def utils_root() -> Path:
    """The full edition: the folder of the ``utils`` package this process imports."""
    return Path(importlib.util.find_spec("utils").origin).parent


def check_assignments(names) -> list[str]:
    """``names`` in course order; ValueError naming any that is not an assignment."""
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        raise ValueError(f"not an assignment: {', '.join(unknown)}; the assignments are "
                         f"{', '.join(ORDER)}")
    return [a for a in ORDER if a in set(names)]


def released_before(assignment: str) -> list[str]:
    """The assignments released while ``assignment`` is open: those before it in course order
    (all of them for an assignment outside the course's chapters: an instructor's own, whose
    answers are not in utils)."""
    return list(ORDER[:ORDER.index(assignment)] if assignment in ORDER else ORDER)


def withheld(released) -> dict[str, dict[str, str]]:
    """{module: {name: assignment}} of what an edition with ``released`` withholds."""
    released = set(check_assignments(released))
    out: dict[str, dict[str, str]] = {}
    for assignment, modules in WITHHELD.items():
        if assignment in released:
            continue
        for module, names in modules.items():
            for name in names:
                out.setdefault(module, {})[name] = assignment
    return out


def _forward(args: ast.arguments) -> str:
    """The call that passes a signature's arguments on unchanged: ``a, b, *rest, k=k, **kw``."""
    parts = [a.arg for a in args.posonlyargs + args.args]
    parts += [f"*{args.vararg.arg}"] if args.vararg else []
    parts += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
    parts += [f"**{args.kwarg.arg}"] if args.kwarg else []
    return ", ".join(parts)


def _stub(node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, assignment: str) -> str:
    """The text that replaces a withheld definition: same signature, a one-line summary, and
    a body that calls the student's own function given to ``utils.use`` (``_edition.
    stand_in``), or raises ``NotReleasedError`` when there is none."""
    doc = (ast.get_docstring(node) or "").strip()
    summary = (doc.splitlines()[0] if doc else qualname).replace('"', "'").rstrip("\\")
    note = (f'r"""{summary}\n\n    Withheld in this edition of utils: it answers an exercise '
            f'of {assignment}.\n    """')  # raw: a summary's backslashes stay as written
    call = f"_stand_in({qualname!r}, {assignment!r})"
    keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return (f"{keyword} {node.name}({ast.unparse(node.args)}){returns}:\n    {note}\n"
            f"    return {call}({_forward(node.args)})\n")


def strip_module(source: str, names: dict[str, str], module: str) -> str:
    """``source`` with each top-level function in ``names`` ({name: assignment}) replaced by
    a stub; every other line is kept as it is. ValueError if a name is not defined there."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
            found[node.name] = node
    missing = sorted(set(names) - set(found))
    if missing:
        raise ValueError(f"utils.{module} defines no {', '.join(missing)} (editions.WITHHELD "
                         "is out of date)")
    for node in sorted(found.values(), key=lambda n: n.lineno, reverse=True):
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        stub = _stub(node, f"utils.{module}.{node.name}", names[node.name])
        lines[start:node.end_lineno] = [stub]
    text = "".join(lines).rstrip("\n") + "\n"
    dots = "." * (module.count(".") + 1)  # utils.widgets.rnn imports from ..
    return text + f"\nfrom {dots}_edition import stand_in as _stand_in  # noqa: E402\n"




def build(released, target: Path, source: Path | None = None) -> Path:
    """Write the edition of ``utils`` with ``released`` (assignment names) to ``target/utils``
    and return that folder. ``source`` is the full edition (default: ``utils_root()``)."""
    released = check_assignments(released)
    source = source or utils_root()
    plan = withheld(released)
    out = Path(target) / "utils"
    if out.exists():
        shutil.rmtree(out)
    skip = {"__pycache__", ".ipynb_checkpoints"}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if skip & set(rel.parts) or not path.is_file() or path.suffix in (".pyc", ".pyo"):
            continue
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        module = ".".join(rel.with_suffix("").parts)
        if path.suffix == ".py" and module in plan:
            dest.write_text(strip_module(path.read_text(), plan[module], module))
        else:
            shutil.copyfile(path, dest)
    flat = {f"utils.{m}.{n}": a for m, names in plan.items() for n, a in names.items()}
    lines = (source / "_edition.py").read_text().splitlines(keepends=True)
    first = next(k for k, line in enumerate(lines) if line.startswith("RELEASED = "))
    last = next(k for k, line in enumerate(lines) if line.startswith("WITHHELD"))
    lines[first:last + 1] = [f"RELEASED = {released!r}\n", f"WITHHELD = {flat!r}\n"]
    (out / "_edition.py").write_text("".join(lines))  # which edition this is
    return out


def edition_key(released, source: Path | None = None) -> str:
    """A digest of the full edition's files and ``released``: the cache key of an edition."""
    source = source or utils_root()
    digest = hashlib.sha256(repr(check_assignments(released)).encode())
    digest.update(Path(__file__).read_bytes())
    for path in sorted(source.rglob("*")):  # the code and its data (a recording, say)
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cached(released, source: Path | None = None) -> Path:
    """The folder holding an edition's ``utils`` (built once per version of the full edition,
    in ``$XDG_CACHE_HOME/dl-course/editions``): put it first on ``sys.path``."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dl-course"
    folder = base / "editions" / edition_key(released, source)
    if not (folder / "utils" / "_edition.py").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent))
        build(released, scratch, source)
        try:
            scratch.rename(folder)
        except OSError:  # another process built it first
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


def edition_for(assignment: str, source: Path | None = None,
                gated: frozenset[str] | None = None) -> Path:
    """The folder of the edition a grading kernel of ``assignment`` imports: without its own
    references and later ones' when it is in ``gated`` (``GRADED_ON_EDITION``), else the full
    edition."""
    if gated is None:
        gated = GRADED_ON_EDITION | set(filter(None, os.environ.get(
            "COURSE_GRADE_ON_EDITION", "").replace(",", " ").split()))
    return cached(released_before(assignment) if assignment in gated else ORDER, source)


def wheel(released, out_dir: Path, version: str = "1.0") -> Path:
    """Write an installable wheel of the edition (``pip install <wheel>``) to ``out_dir``.

    A wheel is a zip archive laid out as PEP 427 says: the package, and a ``dist-info``
    folder with its metadata and a RECORD of every file's SHA-256. Written here with the
    standard library: no build tool, no network."""
    released = check_assignments(released)
    label = ".".join(a.split("_")[0] for a in released) or "none"
    name, full_version = "dl_fundamentals_utils", f"{version}+released.{label}"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}-{full_version}-py3-none-any.whl"
    info = f"{name}-{full_version}.dist-info"
    meta = {
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: dl-fundamentals-utils\nVersion: {full_version}\n"
            "Summary: Deep Learning Fundamentals: the student edition of utils (released: "
            f"{', '.join(released) or 'none'})\nRequires-Python: >=3.11\n"
            "Requires-Dist: numpy\nRequires-Dist: matplotlib\nRequires-Dist: ipywidgets\n"),
        f"{info}/WHEEL": ("Wheel-Version: 1.0\nGenerator: course.editions\n"
                          "Root-Is-Purelib: true\nTag: py3-none-any\n"),
        f"{info}/top_level.txt": "utils\n",
    }
    with tempfile.TemporaryDirectory() as tmp:
        package = build(released, Path(tmp))
        files = {f"utils/{p.relative_to(package).as_posix()}": p.read_bytes()
                 for p in sorted(package.rglob("*")) if p.is_file()}
    files.update({k: v.encode() for k, v in meta.items()})
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0)), data,
                             zipfile.ZIP_DEFLATED)
    return target
