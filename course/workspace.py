"""Driving nbgrader in a course directory: generate, submit, autograde, read scores.

Everything here shells out to ``python -m nbgrader`` (same interpreter), so the
course tooling stays glue: nbgrader does the executing and the scoring.
Imports ``course.gradebook``, ``course.notebooks`` and nbformat.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from . import gradebook
from .notebooks import CourseError, course_root, notebook_path, read


def nbgrader(course_dir: Path, *args: str, check: bool = True,
             timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run one nbgrader command with ``course_dir`` as working directory."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course_dir, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise CourseError(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return proc


def make_course_dir(dest: Path, assignments: list[str], root: Path | None = None) -> Path:
    """A scratch course directory: this course's config and the given source folders."""
    root = root or course_root()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    for name in assignments:
        target = dest / "source" / name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / "source" / name, target,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return dest


def generate(course_dir: Path, assignment: str) -> Path:
    """``nbgrader generate_assignment``: writes release/<assignment> and the gradebook rows."""
    nbgrader(course_dir, "generate_assignment", assignment, "--force")
    path = notebook_path(course_dir, "release", assignment)
    if not path.exists():
        raise CourseError(f"nbgrader did not write {path}")
    return path


def submit(course_dir: Path, assignment: str, student: str, nb=None, raw: str | None = None):
    """Place a submission where ``nbgrader autograde`` looks for it."""
    path = course_dir / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        path.write_text(raw)
    else:
        nbformat.write(nb, str(path))
    return path


def autograde(course_dir: Path, assignment: str, student: str | None = None,
              force: bool = True) -> subprocess.CompletedProcess:
    """``nbgrader autograde`` for one student or (``student=None``) for all submitted."""
    args = ["autograde", assignment]
    if student:
        args += ["--student", student]
    if force:
        args.append("--force")
    return nbgrader(course_dir, *args, check=False)


def scores(course_dir: Path, assignment: str,
           db_url: str | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """Autograded scores from the gradebook: {student: {tests grade_id: (score, max)}}."""
    url = db_url or f"sqlite:///{Path(course_dir) / 'gradebook.db'}"
    return {student: r.cells for student, r in gradebook.results(url, assignment).items()}


def release_notebook(root: Path, assignment: str):
    return read(notebook_path(root, "release", assignment))
