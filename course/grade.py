"""``course grade``: grade a whole class with nbgrader, in parallel, safely.

1. Check every submission before running it (missing, renamed, corrupt, oversized,
   another assignment's notebook) and scan it for delegation and tampering.
2. Execute the submissions with nbgrader's Autograde in N worker processes, each in
   its own scratch course (``course.worker``), kernels limited in CPU time and memory
   (``course.limited_kernel``); a submission that takes longer than the wall-time cap
   (a loop of sleeps escapes the CPU limit) fails, and its worker is killed and
   restarted on the rest of its queue.
3. Score the executed notebooks into the real gradebook with one writer: nbgrader's
   Autograde again, minus ``ClearOutput`` and ``Execute``, so the scores come from
   nbgrader's own ``SaveAutoGrades`` exactly as a sequential ``nbgrader autograde``
   would give them.
4. Generate feedback (hidden tests hidden, see ``course.feedback``), export
   ``grades.csv`` and write ``reports/grade_run.json`` for ``course report``.

Course files are fingerprinted before the parallel phase and restored afterwards if
any submission managed to change them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

import utils

from . import workspace
from .notebooks import CourseError, grade_id, notebook_path, read
from .scan import scan_notebook

MAX_NOTEBOOK_MB = 20
RUN_RECORD = Path("reports") / "grade_run.json"
_ALL_IDS: dict[str, set] = {}  # grade_ids of every assignment, to recognise a wrong notebook
MANIFEST = Path("autograded") / ".course-grade.json"
STAGING = ".course-executed"
_SNAPSHOT_SKIP = {".git", "autograded", "feedback", "reports", "demo_course", STAGING,
                  "__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}


@dataclass
class Submission:
    assignment: str
    student: str
    folder: str
    notebook: str | None = None
    status: str = "pending"  # pending, graded, failed, skipped
    reason: str = ""
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    digest: str = ""
    seconds: float = 0.0
    score: float | None = None
    max_score: float | None = None

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student}"


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    force: bool = False
    kernel_cpu: int = 60  # CPU seconds per notebook run: caps infinite loops
    kernel_mem_mb: int = 2048
    cap: float = 90.0  # wall seconds one submission may take (a solved one takes ~3 s)


# ------------------------------------------------------------------------------ discovery
def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def discover(root: Path, names: list[str]) -> list[Submission]:
    """Every submitted/<student>/<assignment>/ folder, checked and scanned."""
    base = root / "submitted"
    if not base.is_dir():
        return []
    sources = {n: read(notebook_path(root, "source", n)) for n in names}
    _ALL_IDS.clear()
    _ALL_IDS.update({p.parent.name: {grade_id(c) for c in read(p).cells} - {None}
                     for p in (root / "source").glob("*/*.ipynb") if p.stem == p.parent.name})
    found = []
    for student_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        for name in names:
            folder = student_dir / name
            if folder.is_dir():
                found.append(_inspect(Submission(name, student_dir.name, str(folder)),
                                      sources[name]))
    return found


def _inspect(sub: Submission, source) -> Submission:
    folder = Path(sub.folder)
    sub.digest = _digest(folder)
    path = folder / f"{sub.assignment}.ipynb"
    if not path.exists():
        others = sorted(folder.glob("*.ipynb"))
        if len(others) != 1:
            return _fail(sub, f"no {path.name} in the submission"
                         + (f" (found {len(others)} notebooks)" if others else ""))
        sub.notes.append(f"notebook was renamed to {others[0].name}; graded as {path.name}")
        path = others[0]
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_NOTEBOOK_MB:
        return _fail(sub, f"notebook is {size_mb:.0f} MB (limit {MAX_NOTEBOOK_MB} MB)")
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # noqa: BLE001 -- any parse failure is the student's file
        return _fail(sub, f"not a valid notebook file ({type(exc).__name__}: {str(exc)[:80]})")
    sub.notebook = str(path)
    ids = {grade_id(c) for c in nb.cells} - {None}
    expected = {grade_id(c) for c in source.cells} - {None}
    if ids and len(expected & ids) < 0.5 * len(expected):  # most of its cells are foreign
        others = {n: len(v & ids) for n, v in _ALL_IDS.items() if n != sub.assignment}
        owner = max(others, key=others.get, default=None)
        hint = f" (it looks like {owner})" if owner and others[owner] > len(expected & ids) else ""
        return _fail(sub, f"this is not the notebook of this assignment{hint}")
    sub.flags = [str(f) for f in scan_notebook(nb, source)]
    return sub


def _fail(sub: Submission, reason: str) -> Submission:
    sub.status, sub.reason = "failed", reason
    return sub


# ------------------------------------------------------------------------------ snapshots
def _course_files(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SNAPSHOT_SKIP and not d.endswith(
            ".egg-info")]
        files += [Path(dirpath) / f for f in filenames if f != "gradebook.db-journal"]
    return files


def snapshot(root: Path, backup: Path) -> dict[str, str]:
    """Hash and back up every course file (sources, releases, submissions, config, db)."""
    hashes = {}
    for path in _course_files(root):
        rel = path.relative_to(root).as_posix()
        hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        target = backup / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return hashes


def restore_changes(root: Path, backup: Path, hashes: dict[str, str]) -> list[str]:
    """Put back any course file changed or deleted since ``snapshot``; list them."""
    changed = []
    for rel, digest in hashes.items():
        path = root / rel
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup / rel, path)
            changed.append(rel)
    new = sorted(p.relative_to(root).as_posix() for p in _course_files(root)
                 if p.relative_to(root).as_posix() not in hashes)
    for rel in new:  # nbgrader would copy a planted file in source/ into everyone's feedback
        if rel.startswith(("source/", "release/")):
            (root / rel).unlink()
    return changed + [f"{rel} (new file" + (", removed)" if rel.startswith(("source/", "release/"))
                                            else ")") for rel in new]


# ------------------------------------------------------------------------------ parallel phase
def _kernel_dir(tmp: Path, opts: Options) -> Path:
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    wrapper = Path(__file__).with_name("limited_kernel.py")  # by path: no install needed
    argv = [sys.executable, str(wrapper), "--cpu", str(opts.kernel_cpu),
            "--mem-mb", str(opts.kernel_mem_mb), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "Python 3 (grading, limited)", "language": "python"}))
    return tmp / "jupyter"


def _prepare_shard(root: Path, shard: Path, subs: list[Submission]) -> None:
    workspace.make_course_dir(shard, sorted({s.assignment for s in subs}), root)
    # a private copy of utils, found before the installed one (PYTHONPATH): what one
    # submission does to it is undone before the next (course.worker)
    shutil.copytree(Path(utils.__file__).parent, shard / "lib" / "utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for sub in subs:
        target = shard / "submitted" / sub.student / sub.assignment
        shutil.copytree(sub.folder, target)
        wanted = target / f"{sub.assignment}.ipynb"
        if not wanted.exists() and sub.notebook:
            (target / Path(sub.notebook).name).rename(wanted)


class _Worker:
    def __init__(self, shard: Path, tasks: list[Submission], env: dict, lines: queue.Queue):
        self.shard, self.pending, self.env, self.lines = shard, list(tasks), env, lines
        self.proc: subprocess.Popen | None = None
        self.last = time.monotonic()
        self.killed = False  # by us, for going over the cap

    def start(self) -> None:
        self.killed = False
        args = [f"{s.assignment}:{s.student}" for s in self.pending]
        log = open(self.shard / "worker.log", "a")  # noqa: SIM115 -- closed with the process
        self.proc = subprocess.Popen([sys.executable, "-m", "course.worker", str(self.shard),
                                      *args], stdout=subprocess.PIPE, stderr=log, text=True,
                                     env=self.env, start_new_session=True)
        self.last = time.monotonic()
        proc = self.proc
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc) -> None:
        for line in proc.stdout:
            self.lines.put((self, proc, line))
        self.lines.put((self, proc, None))

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _reason(log: str) -> str:
    text = log.lower()
    if "deadkernel" in text or "kernel died" in text:
        return "the kernel died (os._exit, a crash, or the CPU-time cap for the notebook)"
    if "unresponsive" in text:
        return "the kernel stopped responding"
    for line in reversed(log.splitlines()):
        if "error" in line.lower():
            return line.strip()[:160]
    return "nbgrader could not grade this submission"


def execute_parallel(root: Path, subs: list[Submission], opts: Options, tmp: Path,
                     bar) -> dict[str, Path]:
    """Run the submissions in worker shards; return {key: executed folder} of successes."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = str(_kernel_dir(tmp, opts))
    executed: dict[str, Path] = {}
    lines: queue.Queue = queue.Queue()
    workers = []
    n = max(1, min(opts.workers, len(subs)))
    for i in range(n):
        share = subs[i::n]
        shard = tmp / f"shard{i}"
        _prepare_shard(root, shard, share)
        worker_env = dict(env, PYTHONPATH=os.pathsep.join(
            [str(shard / "lib"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        workers.append(_Worker(shard, share, worker_env, lines))
    by_key = {s.key: s for s in subs}
    for w in workers:
        w.start()
    live = set(workers)
    while live:
        for w in list(live):  # checked on every turn: busy workers must not starve it
            if w.pending and time.monotonic() - w.last > opts.cap:
                _give_up(w, f"took longer than the {opts.cap:g} s cap", bar, subs)
                w.kill()  # its pump then reports the exit, which restarts it on the rest
                w.killed, w.last = True, time.monotonic()
        try:
            worker, proc, line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if proc is not worker.proc:
            continue  # a line from a process we already replaced
        if line is None:  # the worker exited
            if worker.pending and not worker.killed:  # it crashed on the one it was grading
                _give_up(worker, "its grading process crashed", bar, subs)
            if worker.pending:
                worker.start()
            else:
                live.discard(worker)
            continue
        worker.last = time.monotonic()
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            continue
        sub = by_key[f"{result['assignment']}/{result['student']}"]
        if sub.status == "failed":
            continue  # its result came in just after it was given up
        if worker.pending and worker.pending[0] is sub:
            worker.pending.pop(0)
        sub.seconds = result.get("seconds", 0.0)
        folder = worker.shard / "autograded" / sub.student / sub.assignment
        if result["success"] and (folder / f"{sub.assignment}.ipynb").exists():
            executed[sub.key] = folder
            sub.notes += result.get("notes", [])
        else:
            _fail(sub, _reason(result.get("log", "")))
        _tick(bar, subs)
        if not worker.pending:
            live.discard(worker)
    return executed


def _give_up(worker: _Worker, reason: str, bar, subs) -> None:
    _fail(worker.pending.pop(0), reason)
    _tick(bar, subs)


def _tick(bar, subs) -> None:
    bar.update(1)
    bar.set_postfix(failures=sum(s.status == "failed" for s in subs))


# ------------------------------------------------------------------------------ scoring
def _api(root: Path, score_only: bool):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
        SaveAutoGrades,
    )
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    if score_only:
        config.CourseDirectory.submitted_directory = STAGING
        config.Autograde.sanitize_preprocessors = [DeduplicateIds, OverwriteKernelspec,
                                                   OverwriteCells, CheckCellMetadata]
        config.Autograde.autograde_preprocessors = [IgnorePattern, ClearMetadataPreprocessor,
                                                    LimitOutput, SaveAutoGrades,
                                                    AssignLatePenalties, CheckCellMetadata]
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def score(root: Path, subs: list[Submission], executed: dict[str, Path]) -> None:
    """Single writer: score executed notebooks into the gradebook with nbgrader."""
    staging = root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    for sub in subs:
        if sub.key in executed:
            target = staging / sub.student / sub.assignment
            shutil.copytree(executed[sub.key], target)
            stamp = Path(sub.folder) / "timestamp.txt"
            if stamp.exists():
                shutil.copy2(stamp, target / "timestamp.txt")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            api = _api(root, score_only=True)
            for sub in subs:
                if sub.key not in executed:
                    continue
                result = api.autograde(sub.assignment, sub.student, force=True, create=True)
                if result["success"]:
                    sub.status = "graded"
                else:
                    _fail(sub, "scoring failed: " + _reason(result.get("log", "")))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _roll_call(root: Path, subs: list[Submission]) -> None:
    """Students whose submission could not be graded still appear (with 0) in the export."""
    from nbgrader.api import Gradebook

    with Gradebook(_db_url(root)) as gb:
        for sub in subs:
            gb.update_or_create_student(sub.student)


def _db_url(root: Path) -> str:
    with contextlib.redirect_stdout(io.StringIO()):
        return _api(root, score_only=False).coursedir.db_url


def read_scores(root: Path, subs: list[Submission]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(root)) as gb:
        for sub in subs:
            try:
                submission = gb.find_submission(sub.assignment, sub.student)
            except MissingEntry:
                sub.score, sub.max_score = 0.0, None
                continue
            sub.score, sub.max_score = float(submission.score), float(submission.max_score)


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
    log(f"{len(subs)} submissions: {len(todo)} to grade, "
        f"{sum(s.status == 'skipped' for s in subs)} unchanged, "
        f"{sum(s.status == 'failed' for s in subs)} not gradable; {opts.workers} workers")
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp_name:
        tmp = Path(tmp_name)
        hashes = snapshot(root, tmp / "backup")
        _ensure_generated(root, names)
        executed = {}
        clock = time.perf_counter()
        if todo:
            with tqdm(total=len(todo), desc="grading", unit="submission") as bar:
                executed = execute_parallel(root, todo, opts, tmp, bar)
        phases = {"execute (parallel)": time.perf_counter() - clock}
        restored = restore_changes(root, tmp / "backup", hashes)
        if restored:
            log("course files changed during grading and were restored: " + ", ".join(restored))
        clock = time.perf_counter()
        score(root, todo, executed)
        phases["score (one writer)"] = time.perf_counter() - clock
    _roll_call(root, subs)
    read_scores(root, subs)
    clock = time.perf_counter()
    _feedback(root, subs, opts.workers)
    phases["feedback"] = time.perf_counter() - clock
    clock = time.perf_counter()
    workspace.nbgrader(root, "export", "--to", "grades.csv")
    phases["export"] = time.perf_counter() - clock
    log("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))
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


def _ensure_generated(root: Path, names: list[str]) -> None:
    """Every assignment must be in the gradebook with its cells (nbgrader needs them)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(root)) as gb:
        missing = []
        for name in names:
            try:
                if not gb.find_assignment(name).notebooks:
                    missing.append(name)
            except MissingEntry:
                missing.append(name)
    for name in missing:
        workspace.generate(root, name)


_FEEDBACK_API = None  # one nbgrader API per feedback process, made on its first task


def _feedback_one(root: str, assignment: str, student: str) -> bool:
    global _FEEDBACK_API
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        if _FEEDBACK_API is None:
            _FEEDBACK_API = _api(Path(root), score_only=False)
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
