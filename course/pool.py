"""The grading workers: N processes that execute submissions with nbgrader, in parallel.

Each worker (``course.worker``) gets its own scratch course (a "shard": the config, the
sources, a private copy of ``utils``, its share of the submissions) and a kernel spec
whose kernels are limited in CPU time and memory (``course.limited_kernel``). Workers
print one JSON line per submission; this module reads them, shows progress, enforces
the per-submission wall-time cap (a loop of sleeps escapes the CPU limit) by killing
and restarting a worker on the rest of its queue, and never lets one submission's
failure cost another.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import utils

from . import sandbox, workspace


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
    sandbox: bool = True  # each kernel in bubblewrap (course.sandbox); off only on request


def fail(sub: Submission, reason: str) -> Submission:
    """Mark a submission as not gradable, with the reason the instructor will read."""
    sub.status, sub.reason = "failed", reason
    return sub


def kernel_argv(shard: Path, opts: Options) -> list[str]:
    """The shard's kernel command: the limited kernel, inside the sandbox unless told not to."""
    limits = ["--cpu", str(opts.kernel_cpu), "--mem-mb", str(opts.kernel_mem_mb),
              "-f", "{connection_file}"]
    here = Path(__file__).parent  # run by path: no install needed
    if opts.sandbox:
        argv = [sys.executable, str(here / "sandbox.py"), "--lib", str(shard / "lib"),
                "--allowed", str(shard / "autograded"), "--runtime", str(runtime_dir(shard)),
                *limits]
    else:
        argv = [sys.executable, str(here / "limited_kernel.py"), *limits]
    return argv


def _kernel_dir(shard: Path, opts: Options) -> Path:
    spec = shard / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": kernel_argv(shard, opts), "display_name": "Python 3 (grading, limited)",
         "language": "python"}))
    return shard / "jupyter"


def runtime_dir(shard: Path) -> Path:
    """Connection file and ipc:// sockets of the shard's kernels (bound into the sandbox)."""
    return shard / ".rt"


def prepare_kernel(shard: Path) -> None:
    """The kernel's own modules in ``shard/lib`` and its runtime folder (for kernel_argv)."""
    (shard / "lib").mkdir(parents=True, exist_ok=True)
    for name in sandbox.KERNEL_FILES:
        shutil.copy2(Path(__file__).with_name(name), shard / "lib" / name)
    runtime_dir(shard).mkdir(exist_ok=True)


def _prepare_shard(root: Path, shard: Path, subs: list[Submission]) -> None:
    workspace.make_course_dir(shard, sorted({s.assignment for s in subs}), root)
    # a private copy of utils, found before the installed one (PYTHONPATH): what one
    # submission does to it is undone before the next (course.worker). The kernel's own
    # modules go next to it: the sandbox shows this folder, not the course package.
    shutil.copytree(Path(utils.__file__).parent, shard / "lib" / "utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    prepare_kernel(shard)
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

    def last_error(self) -> str:
        """The last line the worker wrote to its log, for the instructor ("" if none)."""
        try:
            lines = (self.shard / "worker.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f" ({lines[-1].strip()[:200]})" if lines else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def reason_from_log(log: str) -> str:
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
    executed: dict[str, Path] = {}
    lines: queue.Queue = queue.Queue()
    workers = []
    n = max(1, min(opts.workers, len(subs)))
    for i in range(n):
        share = subs[i::n]
        shard = tmp / f"shard{i}"
        _prepare_shard(root, shard, share)
        worker_env = dict(env, PYTHONPATH=os.pathsep.join(
            [str(shard / "lib"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            JUPYTER_PATH=str(_kernel_dir(shard, opts)),
            JUPYTER_RUNTIME_DIR=str(runtime_dir(shard)))
        if opts.sandbox:  # no network inside: kernel sockets are files in the runtime dir
            worker_env["COURSE_KERNEL_IPC"] = str(runtime_dir(shard) / "k")
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
                _give_up(worker, "its grading process crashed" + worker.last_error(), bar, subs)
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
        sub.flags += result.get("flags", [])  # hooks the grading kernel had to undo
        folder = worker.shard / "autograded" / sub.student / sub.assignment
        if result["success"] and (folder / f"{sub.assignment}.ipynb").exists():
            executed[sub.key] = folder
            sub.notes += result.get("notes", [])
        else:
            fail(sub, reason_from_log(result.get("log", "")))
        _tick(bar, subs)
        if not worker.pending:
            live.discard(worker)
    return executed


def _give_up(worker: _Worker, reason: str, bar, subs) -> None:
    fail(worker.pending.pop(0), reason)
    _tick(bar, subs)


def _tick(bar, subs) -> None:
    bar.update(1)
    bar.set_postfix(failures=sum(s.status == "failed" for s in subs))
