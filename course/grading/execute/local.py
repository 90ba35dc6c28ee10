"""The local executor: N worker processes on this machine, in parallel (``LocalPool``).

Each worker (``worker.py``, forked from the grading process: no interpreter start-up) gets
its own scratch course (``shard.py``) and is handed one submission at a time as it reports
the last. This module reads their JSON lines, shows progress, enforces the per-submission
wall-time cap (a loop of sleeps escapes the CPU limit) by killing and restarting a worker on
the rest of its queue, and never lets one submission's failure cost another.
Imports ``course.grading.execute.shard``, ``course.grading.execute.worker``,
``course.grading.submission``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path

from ..submission import Submission, fail, load_factor, retry, submission_files
from . import Executor, again, take_result, tick
from .shard import course_files, kill_group, make_shard, place_submission


class _Forked:
    """A worker process forked from this one (nbgrader already imported: a worker costs
    no interpreter start-up), in its own session; its stdin and stdout are pipes to us."""

    def __init__(self, argv: list[str], env: dict, log: Path):
        read, write = os.pipe()  # its JSON lines to us
        task_read, task_write = os.pipe()  # tasks to it, one per line
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the worker
            code = 1
            try:
                os.setsid()
                # if course grade ends (Ctrl-C, killed), so does the worker, and with it
                # its kernel server and kernels
                ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
                if os.getppid() != parent:
                    os._exit(1)
                os.close(read)
                os.close(task_write)
                os.dup2(task_read, 0)
                os.dup2(write, 1)
                os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND), 2)
                sys.stdin = open(0)  # noqa: SIM115
                sys.stdout = open(1, "w", buffering=1)  # noqa: SIM115
                sys.stderr = open(2, "w", buffering=1)  # noqa: SIM115
                os.environ.clear()
                os.environ.update(env)
                from . import worker

                code = worker.main(argv)
            except BaseException:  # noqa: BLE001 -- into the worker's log, for last_error
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                os._exit(code)
        os.close(write)
        os.close(task_read)
        self.stdout = open(read)  # noqa: SIM115 -- closed by the pump at EOF
        self.stdin = open(task_write, "w", buffering=1)  # noqa: SIM115 -- closed by _Worker
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


class _Worker:
    """One worker process and the submissions handed to it that it has not reported yet
    (``pending``, in order: the first is the one it is grading)."""

    def __init__(self, number: int, shard: Path, env: dict, lines: queue.Queue):
        self.number, self.shard, self.env, self.lines = number, shard, env, lines
        self.pending: list[Submission] = []
        self.proc: _Forked | None = None
        self.last = time.monotonic()
        self.killed = False  # by us, for going over the cap

    def start(self) -> None:
        self.killed = False
        if self.proc:
            self.proc.wait()  # reaped: no zombie
        self.proc = _Forked([str(self.shard)], self.env, self.shard / "worker.log")
        self.last = time.monotonic()
        proc = self.proc
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def send(self, sub: Submission) -> None:
        """Hand one more submission to the worker (its files go to its shard first)."""
        place_submission(self.shard, sub, submission_files(sub))
        self.pending.append(sub)
        with contextlib.suppress(OSError):  # a worker that died is seen by its pump
            self.proc.stdin.write(f"{sub.assignment}:{sub.student}\n")
        if len(self.pending) == 1:
            self.last = time.monotonic()  # its clock starts now

    def finish(self) -> None:
        """No more work: the worker ends once it has reported what it has."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def _pump(self, proc) -> None:
        with proc.stdout:
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
        kill_group(self.proc)


class LocalPool(Executor):
    """Worker processes on this machine (see the module docstring)."""

    workers: list[_Worker] | None = None

    def start(self, count: int) -> None:
        """Lay out ``count`` shards and start a worker on each; they wait for work while
        their kernel servers import what every kernel needs."""
        lines: queue.Queue = queue.Queue()
        files = course_files(self.course, self.names)
        self.workers = []
        for i in range(max(1, count)):
            shard = self.tmp / f"shard{i}"
            self.workers.append(_Worker(i, shard, make_shard(shard, files, self.opts), lines))
            self.workers[-1].start()  # at once: its server starts while the next is made

    def close(self) -> None:
        for w in self.workers or []:
            w.kill()

    def run(self, subs: list[Submission], bar, done=None) -> dict[str, Path]:
        """Work is handed out as it is done, not split in advance: a worker gets its next
        submission when it reports one, so a worker that drew the slow notebooks does not
        keep the others waiting at the end. Each has one more submission queued (while
        there are enough left) so that it never waits for this process between two."""
        if self.workers is None:
            self.start(min(self.opts.workers, len(subs)))
        executed: dict[str, Path] = {}
        todo, workers, cap = deque(subs), self.workers, self.opts.cap
        lines, n = workers[0].lines, len(workers)

        def top_up(worker: _Worker) -> None:
            ahead = 2 if len(todo) >= n else 1
            while todo and len(worker.pending) < ahead:
                worker.send(todo.popleft())
            if not worker.pending:
                worker.finish()

        for worker in workers:
            top_up(worker)
        by_key = {s.key: s for s in subs}
        live = set(workers)
        while live:
            stretched = cap * load_factor()  # a busy machine is slower, not the notebook
            for w in list(live):  # checked on every turn: busy workers must not starve it
                if w.pending and time.monotonic() - w.last > stretched:
                    _give_up(w, f"took longer than the wall-time cap ({cap:g} s, times the "
                             "machine's load per core)", bar, subs, todo)
                    w.kill()  # its pump then reports the exit, which restarts it on the rest
                    w.killed, w.last = True, time.monotonic()
            try:
                worker, proc, line = lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if proc is not worker.proc:
                continue  # a line from a process we already replaced
            if line is None:  # the worker exited
                if worker.pending and not worker.killed:  # it crashed on the one it graded
                    _give_up(worker, "its grading process crashed" + worker.last_error(),
                             bar, subs, todo)
                todo.extendleft(reversed(worker.pending))  # the rest go back, in order
                worker.pending.clear()
                if todo:
                    worker.start()
                    top_up(worker)
                else:
                    live.discard(worker)
                continue
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            sub = by_key[f"{result['assignment']}/{result['student']}"]
            if sub in worker.pending:
                worker.pending.remove(sub)
            worker.last = time.monotonic()  # the next one's clock starts now
            retried = again(sub, result)  # the machinery stopped it: back in the queue
            if retried:
                todo.append(sub)
            top_up(worker)  # before the scoring below: the worker goes on meanwhile
            if sub.status == "failed" or retried:
                continue  # its result came in just after it was given up, or it goes again
            sub.worker = worker.number
            folder = worker.shard / "autograded" / sub.student / sub.assignment
            take_result(sub, result, folder if (folder / f"{sub.assignment}.ipynb").exists()
                        else None, executed, done)
            tick(bar, subs)
        for w in workers:  # each ends on its own once its stdin is closed
            if w.proc:
                w.proc.wait()
        self.workers = []
        return executed


def _give_up(worker: _Worker, reason: str, bar, subs, todo: deque) -> None:
    """The worker's current submission was stopped by the machinery (a crash) or by the wall
    cap (a busy machine, or a sleeping notebook): graded again later, up to
    ``submission.RETRIES`` times, then failed."""
    sub = worker.pending.pop(0)
    if retry(sub, reason):
        todo.append(sub)
        return
    fail(sub, f"{reason} ({sub.attempts} attempts)")
    tick(bar, subs)
