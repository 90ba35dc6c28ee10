"""``course grade``: grade a whole class with nbgrader, in parallel, safely.

The stages, one module (or package) each, in the order a run goes through them:

1. ``discover``: find every submission and check it before anything runs it (missing,
   renamed, corrupt, oversized, another assignment's notebook; links never followed) and
   scan it for delegation and tampering (``scan``).
2. ``execute``: run the notebooks with nbgrader's Autograde in N worker processes
   (``execute.local``) or on a Dask cluster (``execute.dask``), each kernel forked in the
   sandbox (``execute.sandbox``) under limits for the whole submission. The local workers
   are started before stage 1, so that their kernel servers' imports overlap it.
3. ``score``: each executed notebook scored into the real gradebook as it comes in, with
   one writer (the rest of nbgrader's pipeline, ``passes``), then its feedback page.
4. ``feedback``: the pages not made yet, in parallel.
5. ``export``: ``grades.csv``; and ``reports/grade_run.json`` for ``course report``.

Course files are fingerprinted before the parallel phase and restored afterwards if any
submission managed to change them (``snapshot``; without the sandbox, scoring waits for it).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from .. import workspace
from ..coursedir import Course
from ..gradebook import add_students, has_notebooks
from ..notebooks import CourseError
from .discover import discover
from .execute import Executor
from .execute.local import LocalPool
from .execute.sandbox import bwrap
from .export import export
from .feedback.generate import feedback_pages
from .score import STAGING, Scorer, read_scores, score
from .snapshot import SKIP_DIRS, Snapshot, files_under
from .submission import Options, Submission

__all__ = ["Options", "Submission", "grade", "RUN_RECORD"]

RUN_RECORD = Path("reports") / "grade_run.json"
MANIFEST = Path("autograded") / ".course-grade.json"


def grade(course: Course, names: list[str], opts: Options, log=print) -> list[Submission]:
    """Grade every submission of the assignments ``names``; the submissions, as graded."""
    with warnings.catch_warnings():  # nbgrader's API sets off harmless SQLAlchemy warnings
        warnings.simplefilter("ignore", SAWarning)
        return _grade(course, names, opts, log)


def _grade(course: Course, names: list[str], opts: Options, log) -> list[Submission]:
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp_name:
        executor = _executor(course, names, opts, Path(tmp_name))
        try:
            subs, manifest, phases, scorer = _execute(course, names, opts, log, executor)
        finally:
            executor.close()  # the workers that got no work (the rest have ended)
    add_students(course.db_url, sorted({s.student for s in subs}))
    read_scores(course, subs)
    clock = time.perf_counter()
    feedback_pages(course, [s for s in subs if not scorer or s.key not in scorer.fed],
                   opts.workers)
    phases["feedback"] = time.perf_counter() - clock
    clock = time.perf_counter()
    export(course)
    phases["export"] = time.perf_counter() - clock
    log("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items() if v >= 0.05))
    _write_records(course, subs, manifest)
    _print_summary(subs, log)
    return subs


def _executor(course: Course, names: list[str], opts: Options, tmp: Path) -> Executor:
    """The run's executor. Local workers are started at once, before the submissions are
    checked and scanned: their kernel servers' imports (about 2 s) overlap that work; only
    with something submitted and where the sandbox can start (else ``_execute`` says why)."""
    if opts.scheduler:
        from .execute.dask import DaskExecutor

        return DaskExecutor(course, names, opts, tmp, opts.scheduler)
    pool = LocalPool(course, names, opts, tmp)
    folders = sum(p.is_dir() for name in names for p in course.submitted.glob(f"*/{name}"))
    if folders and not (opts.sandbox and bwrap.probe()):
        _ensure_generated(course, names)  # the workers copy the gradebook
        pool.start(min(opts.workers, folders))
    return pool


def _execute(course: Course, names: list[str], opts: Options, log, executor: Executor):
    """Check and scan every submission, then execute (and score) the ones to grade."""
    subs = discover(course, names)
    if not subs:
        raise CourseError(f"nothing to grade: no submitted/<student>/<assignment>/ folders for "
                          f"{', '.join(names)} under {course.root}")
    manifest = _load_json(course.root / MANIFEST)
    for sub in subs:
        done = manifest.get(sub.key)
        if (not opts.force and sub.status == "pending" and done and done["digest"] == sub.digest
                and (done["status"] == "failed"
                     or (course.autograded / sub.student / sub.assignment).exists())):
            sub.status = "skipped"
            sub.reason = "unchanged since the last run" + (
                f" (which failed: {done['reason']})" if done["status"] == "failed" else "")
    todo = [s for s in subs if s.status == "pending"]
    started = getattr(executor, "workers", None)
    if todo and opts.sandbox and not opts.scheduler and not started:  # Dask: probed there
        why = bwrap.probe()
        if why:
            raise CourseError(
                f"the grading sandbox cannot start here ({why}). Install bubblewrap "
                "(apt-get install bubblewrap) on a kernel with user namespaces, or pass "
                "--unsafe-no-sandbox to grade with kernels that can read the course's files.")
    elif todo and not opts.sandbox:
        log("warning: grading WITHOUT the sandbox (--unsafe-no-sandbox): a submission can "
            "read source/, the gradebook and other students' work")
    log(f"{len(subs)} submissions: {len(todo)} to grade, "
        f"{sum(s.status == 'skipped' for s in subs)} unchanged, "
        f"{sum(s.status == 'failed' for s in subs)} not gradable; "
        + (f"Dask cluster {opts.scheduler}" if opts.scheduler else f"{opts.workers} workers"))
    snap = Snapshot(course.root, _watched(course, opts), executor.tmp / "backup")
    _ensure_generated(course, names)
    executed = {}
    clock = time.perf_counter()
    # In the sandbox no submission can reach the course's files, so each one is scored
    # as soon as it is executed; without it, scoring waits for the files' check below.
    scorer = Scorer(course, feedback=True) if opts.sandbox else None
    if todo:
        with tqdm(total=len(todo), desc="grading", unit="submission") as bar:
            executed = executor.run(todo, bar, scorer)
    if scorer:
        scorer.close()
    phases = {"execute, score" + (" and feedback" if scorer else ""):
              time.perf_counter() - clock}
    restored = _restore(course, snap, opts)
    if restored:
        log("course files changed during grading and were restored: " + ", ".join(restored))
    clock = time.perf_counter()
    score(course, todo, executed)
    if not opts.sandbox:
        phases["score (one writer)"] = time.perf_counter() - clock
    return subs, manifest, phases, scorer


def _watched(course: Course, opts: Options) -> list[Path]:
    """The course files a submission must not change. In the sandbox the gradebook is
    scored during the run, so it changes by design (and no kernel can reach it)."""
    files = files_under(course.root, skip=SKIP_DIRS | {STAGING})
    return [p for p in files if not (opts.sandbox and p == course.root / "gradebook.db")]


def _restore(course: Course, snap: Snapshot, opts: Options) -> list[str]:
    """Undo what submissions did to the course files; planted files in source/ or release/
    are removed (nbgrader would copy them into everyone's feedback)."""
    changed = snap.restore()
    notes = []
    for rel in snap.new_files(_watched(course, opts)):
        planted = rel.startswith(("source/", "release/"))
        if planted:
            (course.root / rel).unlink()
        notes.append(f"{rel} (new file{', removed' if planted else ''})")
    return changed + notes


def _ensure_generated(course: Course, names: list[str]) -> None:
    """Every assignment must be in the gradebook with its cells (nbgrader needs them)."""
    for name in names:
        if not has_notebooks(course.db_url, name):
            workspace.generate(course.root, name)


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` all at once: a run killed meanwhile leaves the old file
    or the new one, never half of one."""
    path.parent.mkdir(exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    with open(scratch, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(scratch, path)


def _write_records(course: Course, subs: list[Submission], manifest: dict) -> None:
    """The run record (``course report``), then the manifest (what a re-run may skip): the
    manifest is the run's last write, so a run killed at any point before it leaves
    every submission of this run to be graded again, and one killed after it has nothing
    left to do. Both are replaced atomically."""
    record = _load_json(course.root / RUN_RECORD)
    record.update({s.key: asdict(s) for s in subs if s.status != "skipped"})
    _write_atomically(course.root / RUN_RECORD, json.dumps(record, indent=1))
    for sub in subs:
        if sub.status in ("graded", "failed"):
            manifest[sub.key] = {"digest": sub.digest, "status": sub.status,
                                 "reason": sub.reason}
    _write_atomically(course.root / MANIFEST, json.dumps(manifest, indent=1))


def _print_summary(subs: list[Submission], log) -> None:
    log(f"\n{'assignment':<16}{'student':<14}{'score':>9}  status")
    for s in subs:
        total = f"{s.score:g}/{s.max_score:g}" if s.max_score else f"{s.score or 0:g}"
        extra = f" -- {s.reason}" if s.reason else ""
        log(f"{s.assignment:<16}{s.student:<14}{total:>9}  {s.status}{extra}")
        for note in s.notes:
            log(f"{'':<30}note: {note}")
        for flag in s.flags:
            log(f"{'':<30}flag: {flag}")
    failed = sum(s.status == "failed" for s in subs)
    log(f"\ngraded {sum(s.status == 'graded' for s in subs)}, unchanged "
        f"{sum(s.status == 'skipped' for s in subs)}, failed {failed}, flagged "
        f"{sum(bool(s.flags) for s in subs)}; grades.csv and feedback/ updated")
