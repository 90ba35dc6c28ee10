"""The feedback pages of a grading run: nbgrader's ``generate_feedback``, in parallel.

Feedback only reads the gradebook, so pages are made in several processes at once; a page
that cannot be made is a note on its submission, never the end of the run. Imports
``course.coursedir``, ``course.grading.submission`` and sqlalchemy, tqdm.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from ...coursedir import Course
from ..submission import Submission

_API = None  # one nbgrader API per feedback process, made on its first task


def feedback_one(course: Course, assignment: str, student: str) -> bool:
    """The feedback page of one graded submission; False if nbgrader could not make it."""
    global _API
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        if _API is None:
            _API = course.api()
        return bool(_API.generate_feedback(assignment, student, force=True)["success"])


def feedback_pages(course: Course, subs: list[Submission], workers: int) -> None:
    """Pages for what was graded now (or has none yet), in ``workers`` processes."""
    todo = [s for s in subs if s.status == "graded" or (
        s.status == "skipped" and not course.feedback_page(s.assignment, s.student).exists())]
    if not todo:
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo))),
                             mp_context=context) as pool, \
            tqdm(total=len(todo), desc="feedback", unit="submission") as bar:
        futures = {pool.submit(feedback_one, course, s.assignment, s.student): s for s in todo}
        for future in as_completed(futures):
            try:
                ok = future.result()
            except Exception:  # noqa: BLE001 -- a lost feedback page is noted, not fatal
                ok = False
            if not ok:
                futures[future].notes.append("feedback could not be generated")
            bar.update(1)
