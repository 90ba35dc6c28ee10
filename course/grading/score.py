"""Stage 3 of a grading run: score each executed notebook into the gradebook, one writer.

``Scorer`` runs the rest of nbgrader's Autograde pipeline (``passes``, "score" phase) on a
notebook a worker executed, so the scores come from nbgrader's own ``SaveAutoGrades``
exactly as a sequential ``nbgrader autograde`` would give them, one submission at a time
(the sqlite gradebook is not safe for concurrent writers); with ``feedback`` it writes the
submission's feedback page right after. ``read_scores`` reads the totals back.
Imports ``course.coursedir``, ``course.gradebook``, ``course.grading.execute.sandbox``,
``course.grading.execute.sandbox.bwrap``, ``course.grading.feedback.generate``,
``course.grading.passes``, ``course.grading.submission``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
from pathlib import Path

from ..coursedir import Course
from ..gradebook import results
from . import passes
from .execute.sandbox import bwrap
from .feedback.generate import feedback_one
from .submission import Submission, fail, reason_from_log

STAGING = ".course-executed"

# ------------------------------------------------------------------------------ scoring
class Scorer:
    """The single writer: scores executed notebooks into the gradebook with nbgrader (the
    rest of its Autograde pipeline: ``passes.autograde``), one at a time, as they come;
    with ``feedback``, also writes each one's feedback page right after (``fed``)."""

    def __init__(self, course: Course, feedback: bool = False):
        self.course, self.feedback, self.fed = course, feedback, set()
        self.staging = course.root / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.redirect_stdout(io.StringIO()):
            self.api = passes.api(course, "score", submitted=STAGING)

    def __call__(self, sub: Submission, folder: Path) -> None:
        target = self.staging / sub.student / sub.assignment
        shutil.rmtree(target, ignore_errors=True)
        try:  # the worker did; nothing is followed out of the folder
            bwrap.tidy_kernel_folder(folder)
        except ValueError as exc:
            fail(sub, str(exc))
            return
        shutil.copytree(folder, target, symlinks=True)
        stamp = _small_regular_file(Path(sub.folder) / "timestamp.txt")
        if stamp is not None:  # the copy kept the submitted file's mode (read-only, maybe)
            target.chmod(target.stat().st_mode | 0o700)
            (target / "timestamp.txt").unlink(missing_ok=True)
            (target / "timestamp.txt").write_bytes(stamp)
        with contextlib.redirect_stdout(io.StringIO()):
            result = passes.autograde(self.api, sub.assignment, sub.student)
        if result["success"]:
            sub.status = "graded"
            if self.feedback:
                if not feedback_one(self.course, sub.assignment, sub.student):
                    sub.notes.append("feedback could not be generated")
                self.fed.add(sub.key)
        else:
            fail(sub, "scoring failed: " + reason_from_log(result.get("log", "")))

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _small_regular_file(path: Path, limit: int = 4096) -> bytes | None:
    """The contents of a regular file of at most ``limit`` bytes, or None: a link, a FIFO
    or anything larger is not read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        return fh.read() if stat.S_ISREG(info.st_mode) and info.st_size <= limit else None


def score(course: Course, subs: list[Submission], executed: dict[str, Path]) -> None:
    """Score every executed submission not scored yet (``Scorer``)."""
    scorer = Scorer(course)
    try:
        for sub in subs:
            if sub.key in executed and sub.status == "pending":
                scorer(sub, executed[sub.key])
    finally:
        scorer.close()


def read_scores(course: Course, subs: list[Submission]) -> None:
    """Each submission's total from the gradebook (0 when it has none)."""
    for name in sorted({s.assignment for s in subs}):
        found = results(course.db_url, name)
        for sub in subs:
            if sub.assignment == name:
                result = found.get(sub.student)
                sub.score = result.score if result else 0.0
                sub.max_score = result.max_score if result else None
