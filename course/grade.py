"""``course grade``: grade a whole class with nbgrader, in parallel, safely.

1. Check every submission before running it (missing, renamed, corrupt, oversized,
   another assignment's notebook) and scan it for delegation and tampering.
2. Execute the submissions with nbgrader's Autograde in N worker processes, each in
   its own scratch course (``course.worker``), kernels forked by a sandboxed fork server
   and limited in CPU time and memory (``course.forkserver``); a submission that takes
   longer than the wall-time cap (a loop of sleeps escapes the CPU limit) fails, and its
   worker is killed and restarted on the rest of its queue. The workers are started
   before step 1, so that their kernel servers' imports overlap it; each gets its next
   submission when it reports one. With ``--scheduler`` this phase runs on a Dask
   cluster instead (``course.distributed``).
3. Score each executed notebook into the real gradebook as it comes in, with one writer:
   the rest of nbgrader's Autograde pipeline (``gradebook.autograde``), so the scores
   come from nbgrader's own ``SaveAutoGrades`` exactly as a sequential ``nbgrader
   autograde`` would give them; then its feedback page (hidden tests hidden, see
   ``course.feedback``).
4. Export ``grades.csv`` and write ``reports/grade_run.json`` for ``course report``.

Course files are fingerprinted before the parallel phase and restored afterwards if
any submission managed to change them (without the sandbox, scoring waits for that).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import shutil
import stat
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import nbformat
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from . import gradebook, sandbox, workspace
from .notebooks import CourseError, grade_id, notebook_path, read
from .pool import (
    Options,
    Submission,
    execute_parallel,
    fail,
    read_folder,
    reason_from_log,
    start_workers,
    stop_workers,
)
from .scan import scan_notebook
from .snapshot import SKIP_DIRS, Snapshot, files_under

__all__ = ["Options", "Submission", "grade", "discover", "RUN_RECORD"]

MAX_NOTEBOOK_MB = 20
RUN_RECORD = Path("reports") / "grade_run.json"
_ALL_IDS: dict[str, set] = {}  # grade_ids of every assignment, to recognise a wrong notebook
MANIFEST = Path("autograded") / ".course-grade.json"
STAGING = ".course-executed"


# ------------------------------------------------------------------------------ discovery
def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel, data in sorted(files.items()):
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def discover(root: Path, names: list[str]) -> list[Submission]:
    """Every submitted/<student>/<assignment>/ folder, checked and scanned. A student's
    folder or submission folder that is a link is not followed: that submission fails."""
    base = root / "submitted"
    if not base.is_dir():
        return []
    sources = {n: read(notebook_path(root, "source", n)) for n in names}
    _ALL_IDS.clear()
    _ALL_IDS.update({p.parent.name: {grade_id(c) for c in read(p).cells} - {None}
                     for p in (root / "source").glob("*/*.ipynb") if p.stem == p.parent.name})
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
    sub.flags = [str(f) for f in scan_notebook(nb, source)]
    return sub


# ------------------------------------------------------------------------------ scoring
class Scorer:
    """The single writer: scores executed notebooks into the gradebook with nbgrader (the
    rest of its Autograde pipeline: ``gradebook.autograde``), one at a time, as they come;
    with ``feedback``, also writes each one's feedback page right after (``fed``)."""

    def __init__(self, root: Path, feedback: bool = False):
        self.root, self.feedback, self.fed = root, feedback, set()
        self.staging = root / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)
        with contextlib.redirect_stdout(io.StringIO()):
            self.api = gradebook.api(root, "score", submitted=STAGING)

    def __call__(self, sub: Submission, folder: Path) -> None:
        target = self.staging / sub.student / sub.assignment
        shutil.rmtree(target, ignore_errors=True)
        try:  # the worker did; nothing is followed out of the folder
            sandbox.tidy_kernel_folder(folder)
        except ValueError as exc:
            fail(sub, str(exc))
            return
        shutil.copytree(folder, target, symlinks=True)
        stamp = _small_regular_file(Path(sub.folder) / "timestamp.txt")
        if stamp is not None:
            (target / "timestamp.txt").write_bytes(stamp)
        with contextlib.redirect_stdout(io.StringIO()):
            result = gradebook.autograde(self.api, sub.assignment, sub.student)
        if result["success"]:
            sub.status = "graded"
            if self.feedback:
                if not _feedback_one(str(self.root), sub.assignment, sub.student):
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


def score(root: Path, subs: list[Submission], executed: dict[str, Path]) -> None:
    """Score every executed submission not scored yet (``Scorer``)."""
    scorer = Scorer(root)
    try:
        for sub in subs:
            if sub.key in executed and sub.status == "pending":
                scorer(sub, executed[sub.key])
    finally:
        scorer.close()


def export(root: Path) -> None:
    """``nbgrader export`` in this process: grades.csv, with the plugin the course's
    configuration names (nbgrader's CSV exporter by default)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    from traitlets.utils.importstring import import_item

    cfg = gradebook.config(root)
    plugin = cfg.ExportApp.get("plugin_class", CsvExportPlugin)
    plugin = import_item(plugin) if isinstance(plugin, str) else plugin
    with contextlib.redirect_stdout(io.StringIO()), Gradebook(gradebook.db_url(root)) as gb:
        plugin(config=cfg, to=str(root / "grades.csv")).export(gb)


def read_scores(url: str, subs: list[Submission]) -> None:
    """Each submission's total from the gradebook (0 when it has none)."""
    for name in sorted({s.assignment for s in subs}):
        found = gradebook.results(url, name)
        for sub in subs:
            if sub.assignment == name:
                result = found.get(sub.student)
                sub.score = result.score if result else 0.0
                sub.max_score = result.max_score if result else None


# ------------------------------------------------------------------------------ the command
def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def grade(root: Path, names: list[str], opts: Options, log=print) -> list[Submission]:
    with warnings.catch_warnings():  # nbgrader's API sets off harmless SQLAlchemy warnings
        warnings.simplefilter("ignore", SAWarning)
        return _grade(root, names, opts, log)


def _grade(root: Path, names: list[str], opts: Options, log) -> list[Submission]:
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp_name:
        tmp = Path(tmp_name)
        workers = _start_early(root, names, opts, tmp)
        try:
            subs, manifest, phases, scorer = _execute(root, names, opts, log, tmp, workers)
        finally:
            if workers:
                stop_workers(workers)  # the ones that got no work (the rest have ended)
    url = gradebook.db_url(root)
    gradebook.add_students(url, sorted({s.student for s in subs}))
    read_scores(url, subs)
    clock = time.perf_counter()
    _feedback(root, [s for s in subs if not scorer or s.key not in scorer.fed], opts.workers)
    phases["feedback"] = time.perf_counter() - clock
    clock = time.perf_counter()
    export(root)
    phases["export"] = time.perf_counter() - clock
    log("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items() if v >= 0.05))
    for sub in subs:
        if sub.status in ("graded", "failed"):
            manifest[sub.key] = {"digest": sub.digest, "status": sub.status,
                                 "reason": sub.reason}
    (root / MANIFEST).parent.mkdir(exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))
    record = _load_json(root / RUN_RECORD)
    record.update({s.key: asdict(s) for s in subs if s.status != "skipped"})
    (root / RUN_RECORD).parent.mkdir(exist_ok=True)
    (root / RUN_RECORD).write_text(json.dumps(record, indent=1))
    _print_summary(subs, log)
    return subs


def _start_early(root: Path, names: list[str], opts: Options, tmp: Path):
    """Start the grading workers before the submissions are checked and scanned: their
    kernel servers' imports (about 2 s) then overlap that work. Only on this machine, with
    something submitted, and where the sandbox can start (else ``_execute`` says why)."""
    folders = sum(p.is_dir() for name in names for p in (root / "submitted").glob(f"*/{name}"))
    if opts.scheduler or not folders or (opts.sandbox and sandbox.probe()):
        return None
    _ensure_generated(root, names, gradebook.db_url(root))  # the workers copy the gradebook
    return start_workers(root, names, opts, tmp, min(opts.workers, folders))


def _execute(root: Path, names: list[str], opts: Options, log, tmp: Path, workers):
    """Check and scan every submission, then execute (and score) the ones to grade."""
    subs = discover(root, names)
    if not subs:
        raise CourseError(f"nothing to grade: no submitted/<student>/<assignment>/ folders for "
                          f"{', '.join(names)} under {root}")
    manifest = _load_json(root / MANIFEST)
    for sub in subs:
        done = manifest.get(sub.key)
        if (not opts.force and sub.status == "pending" and done and done["digest"] == sub.digest
                and (done["status"] == "failed"
                     or (root / "autograded" / sub.student / sub.assignment).exists())):
            sub.status = "skipped"
            sub.reason = "unchanged since the last run" + (
                f" (which failed: {done['reason']})" if done["status"] == "failed" else "")
    todo = [s for s in subs if s.status == "pending"]
    if todo and opts.sandbox and not opts.scheduler and not workers:  # Dask: probed there
        why = sandbox.probe()
        if why:
            raise CourseError(
                f"the grading sandbox cannot start here ({why}). Install bubblewrap "
                "(apt-get install bubblewrap) on a kernel with user namespaces, or pass "
                "--unsafe-no-sandbox to grade with kernels that can read the course's files.")
    elif todo and not opts.sandbox:
        log("warning: grading WITHOUT the sandbox (--unsafe-no-sandbox): a submission can "
            "read source/, the gradebook and other students' work")
    url = gradebook.db_url(root)
    log(f"{len(subs)} submissions: {len(todo)} to grade, "
        f"{sum(s.status == 'skipped' for s in subs)} unchanged, "
        f"{sum(s.status == 'failed' for s in subs)} not gradable; "
        + (f"Dask cluster {opts.scheduler}" if opts.scheduler else f"{opts.workers} workers"))
    snap = Snapshot(root, _watched(root, opts), tmp / "backup")
    _ensure_generated(root, names, url)
    executed = {}
    clock = time.perf_counter()
    # In the sandbox no submission can reach the course's files, so each one is scored
    # as soon as it is executed; without it, scoring waits for the files' check below.
    scorer = Scorer(root, feedback=True) if opts.sandbox else None
    if todo:
        with tqdm(total=len(todo), desc="grading", unit="submission") as bar:
            if opts.scheduler:
                from .distributed import execute_on_dask

                executed = execute_on_dask(root, todo, opts, tmp, bar, opts.scheduler, scorer)
            else:
                executed = execute_parallel(root, todo, opts, tmp, bar, scorer, workers)
    if scorer:
        scorer.close()
    phases = {"execute, score" + (" and feedback" if scorer else ""):
              time.perf_counter() - clock}
    restored = _restore(root, snap, opts)
    if restored:
        log("course files changed during grading and were restored: " + ", ".join(restored))
    clock = time.perf_counter()
    score(root, todo, executed)
    if not opts.sandbox:
        phases["score (one writer)"] = time.perf_counter() - clock
    return subs, manifest, phases, scorer


def _watched(root: Path, opts: Options) -> list[Path]:
    """The course files a submission must not change. In the sandbox the gradebook is
    scored during the run, so it changes by design (and no kernel can reach it)."""
    files = files_under(root, skip=SKIP_DIRS | {STAGING})
    return [p for p in files if not (opts.sandbox and p == root / "gradebook.db")]


def _restore(root: Path, snap: Snapshot, opts: Options) -> list[str]:
    """Undo what submissions did to the course files; planted files in source/ or release/
    are removed (nbgrader would copy them into everyone's feedback)."""
    changed = snap.restore()
    notes = []
    for rel in snap.new_files(_watched(root, opts)):
        planted = rel.startswith(("source/", "release/"))
        if planted:
            (root / rel).unlink()
        notes.append(f"{rel} (new file{', removed' if planted else ''})")
    return changed + notes


def _ensure_generated(root: Path, names: list[str], url: str) -> None:
    """Every assignment must be in the gradebook with its cells (nbgrader needs them)."""
    for name in names:
        if not gradebook.has_notebooks(url, name):
            workspace.generate(root, name)


_FEEDBACK_API = None  # one nbgrader API per feedback process, made on its first task


def _feedback_one(root: str, assignment: str, student: str) -> bool:
    global _FEEDBACK_API
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        if _FEEDBACK_API is None:
            _FEEDBACK_API = gradebook.api(Path(root))
        return bool(_FEEDBACK_API.generate_feedback(assignment, student, force=True)["success"])


def _feedback(root: Path, subs: list[Submission], workers: int) -> None:
    """nbgrader's generate_feedback for what was graded now (or has no feedback yet).

    Feedback only reads the gradebook, so it runs in ``workers`` processes at once.
    """
    def missing(sub: Submission) -> bool:
        page = root / "feedback" / sub.student / sub.assignment / f"{sub.assignment}.html"
        return not page.exists()

    todo = [s for s in subs if s.status == "graded" or (s.status == "skipped" and missing(s))]
    if not todo:
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(workers, len(todo))),
                             mp_context=context) as pool, \
            tqdm(total=len(todo), desc="feedback", unit="submission") as bar:
        futures = {pool.submit(_feedback_one, str(root), s.assignment, s.student): s
                   for s in todo}
        for future in as_completed(futures):
            try:
                ok = future.result()
            except Exception:  # noqa: BLE001 -- a lost feedback page is noted, not fatal
                ok = False
            if not ok:
                futures[future].notes.append("feedback could not be generated")
            bar.update(1)


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
