"""Stage 1 of a grading run: find the submissions and check each before anything runs it.

Every ``submitted/<student>/<assignment>/`` folder becomes a ``Submission``. Its files are
read without following a link (``submission.read_folder``), fingerprinted (a re-run skips
an unchanged one), and checked: missing, renamed, corrupt, oversized, another assignment's
notebook; then scanned for delegation and tampering (``scan``). A folder that cannot be
graded fails with its reason; no submission can stop the others.
Imports ``course.coursedir``, ``course.grading.scan``, ``course.grading.submission``,
``course.notebooks`` and nbformat.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

from ..coursedir import Course
from ..notebooks import grade_id, read
from .scan import scan_notebook
from .submission import Submission, fail, read_folder

MAX_NOTEBOOK_MB = 20

_ALL_IDS: dict[str, set] = {}  # grade_ids of every assignment, to recognise a wrong notebook

# ------------------------------------------------------------------------------ discovery
def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel, data in sorted(files.items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def discover(course: Course, names: list[str]) -> list[Submission]:
    """Every submitted/<student>/<assignment>/ folder, checked and scanned. A student's
    folder or submission folder that is a link is not followed: that submission fails."""
    base = course.submitted
    if not base.is_dir():
        return []
    sources = {n: read(course.notebook("source", n)) for n in names}
    _ALL_IDS.clear()
    _ALL_IDS.update({p.parent.name: {grade_id(c) for c in read(p).cells} - {None}
                     for p in course.source.glob("*/*.ipynb") if p.stem == p.parent.name})
    found = []
    for student_dir in sorted(p for p in base.iterdir() if p.is_dir() or p.is_symlink()):
        for name in names:
            folder = student_dir / name
            if folder.is_symlink() or student_dir.is_symlink():
                if folder.is_dir():
                    found.append(fail(Submission(name, student_dir.name, str(folder)),
                                      "the submission folder is a link (not followed)"))
            elif folder.is_dir():
                found.append(_inspect(Submission(name, student_dir.name, str(folder)),
                                      sources[name]))
    return found


def _inspect(sub: Submission, source) -> Submission:
    folder = Path(sub.folder)
    try:
        files, left_out = read_folder(folder)
    except (OSError, ValueError) as exc:
        return fail(sub, f"its folder cannot be read ({exc})")
    sub.digest = _digest(files)
    if left_out:
        sub.notes.append("left out (links are never followed; special files are not "
                         "graded): " + ", ".join(left_out[:5])
                         + (f" and {len(left_out) - 5} more" if len(left_out) > 5 else ""))
    name = f"{sub.assignment}.ipynb"
    if name not in files:
        others = [rel for rel in files if rel.endswith(".ipynb") and "/" not in rel]
        if len(others) != 1:
            return fail(sub, f"no {name} in the submission"
                        + (f" (found {len(others)} notebooks)" if others else ""))
        sub.notes.append(f"notebook was renamed to {others[0]}; graded as {name}")
        name = others[0]
    size_mb = len(files[name]) / 2**20
    if size_mb > MAX_NOTEBOOK_MB:
        return fail(sub, f"notebook is {size_mb:.0f} MB (limit {MAX_NOTEBOOK_MB} MB)")
    try:
        nb = nbformat.reads(files[name].decode(), as_version=4)
    except Exception as exc:  # noqa: BLE001 -- any parse failure is the student's file
        return fail(sub, f"not a valid notebook file ({type(exc).__name__}: {str(exc)[:80]})")
    sub.notebook = str(folder / name)
    ids = {grade_id(c) for c in nb.cells} - {None}
    expected = {grade_id(c) for c in source.cells} - {None}
    if ids and len(expected & ids) < 0.5 * len(expected):  # most of its cells are foreign
        others = {n: len(v & ids) for n, v in _ALL_IDS.items() if n != sub.assignment}
        owner = max(others, key=others.get, default=None)
        hint = f" (it looks like {owner})" if owner and others[owner] > len(expected & ids) else ""
        return fail(sub, f"this is not the notebook of this assignment{hint}")
    sub.flags = [str(f) for f in scan_notebook(nb, source, sub.assignment)]
    return sub
