"""The execute phase on a Dask cluster: ``course grade --scheduler tcp://HOST:PORT``.

Each submission is one Dask task. The task carries the submission's files (its notebook's
JSON, not a path on a shared disk) and a reference to the course's grading files
(``shard.course_files``: config, sources, ``utils``, the gradebook's copy), one task whose
result every worker fetches once. On a
Dask worker the task hands the submission to a long-lived grading process
(``worker.py`` reading tasks from stdin) in a scratch course, with the same sandboxed,
limited fork-server kernels as ``course grade`` on one machine, and returns the executed
notebook and its run record. ``course grade`` keeps everything that writes: the single
gradebook writer, feedback and ``grades.csv``.

A Dask worker that dies mid-run loses nothing: the scheduler gives its tasks to another
worker (Dask's own retry of tasks on lost workers). A submission over the wall-time cap
fails alone: its grading process is killed and started again for the next task.
Imports ``course.coursedir``, ``course.grading.execute.sandbox``,
``course.grading.execute.sandbox.bwrap``, ``course.grading.execute.shard``,
``course.grading.submission``, ``course.notebooks`` and distributed.
"""

from __future__ import annotations

import hashlib
import json
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from ...coursedir import Course
from ...notebooks import CourseError
from ..submission import Options, Submission, fail, submission_files
from . import Executor, again, take_result, tick
from .sandbox import bwrap
from .shard import course_files, kill_group, make_shard, place_submission

_LOCAL = threading.local()  # one grading process per Dask worker thread, kept between tasks


class _RemoteGrader:
    """A scratch course and its ``worker.py`` process on a Dask worker."""

    def __init__(self, files: dict[str, bytes], opts: Options):
        self.tmp = tempfile.TemporaryDirectory(prefix="course-dask-")
        self.shard = Path(self.tmp.name) / "shard"
        self.opts = opts
        self.env = make_shard(self.shard, files, opts)
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "course.grading.execute.worker", str(self.shard)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.shard / "worker.log", "a"),  # noqa: SIM115
            text=True, env=self.env, start_new_session=True)

    def kill(self) -> None:
        kill_group(self.proc)
        self.proc = None

    def grade(self, sub: Submission, files: dict[str, bytes]) -> dict:
        """Execute one submission; its run record, with the executed notebook's JSON."""
        place_submission(self.shard, sub, files)
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(f"{sub.assignment}:{sub.student}\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + self.opts.cap + 60  # + the worker's first start
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if ready:
                line = self.proc.stdout.readline()
                break
        if not line:
            self.kill()  # over the cap, or crashed: the next task starts a new one
            why = (f"took longer than the {self.opts.cap:g} s cap" if not ready
                   else "its grading process crashed")
            return {"success": False, "reason": why}
        result = json.loads(line)
        executed = self.shard / "autograded" / sub.student / sub.assignment
        notebook = executed / f"{sub.assignment}.ipynb"
        if result["success"] and notebook.exists():
            result["notebook"] = notebook.read_text()
        return result


def _files(files: dict[str, bytes]) -> dict[str, bytes]:
    return files


def execute_task(files: dict[str, bytes], opts: dict, sub: dict, sub_files: dict) -> dict:
    """The Dask task: grade one submission on this worker (see the module docstring)."""
    key = hashlib.sha256(json.dumps(sorted((k, hashlib.sha256(v).hexdigest())
                                           for k, v in files.items())).encode()
                         + json.dumps(opts, sort_keys=True).encode()).hexdigest()
    graders = getattr(_LOCAL, "graders", None)
    if graders is None:
        graders = _LOCAL.graders = {}
    if key not in graders:
        graders[key] = _RemoteGrader(files, Options(**opts))
    return graders[key].grade(Submission(**sub), sub_files)


class DaskExecutor(Executor):
    """Submissions as Dask tasks on the cluster at ``scheduler`` (see the module)."""

    def __init__(self, course: Course, names: list[str], opts: Options, tmp: Path,
                 scheduler: str):
        super().__init__(course, names, opts, tmp)
        self.scheduler = scheduler

    def run(self, subs: list[Submission], bar, done=None) -> dict[str, Path]:
        """Returns {key: local folder of the executed notebook} for the successes, calling
        ``done(sub, folder)`` on each as it comes in."""
        from distributed import Client, as_completed

        executed: dict[str, Path] = {}
        with Client(self.scheduler, timeout=30) as client:
            if self.opts.sandbox:
                problems = {w: why for w, why in client.run(bwrap.probe).items() if why}
                if problems:
                    worker, why = next(iter(problems.items()))
                    raise CourseError(f"the grading sandbox cannot start on Dask worker "
                                      f"{worker} ({why}); install bubblewrap there, or pass "
                                      "--unsafe-no-sandbox")
            # the course's files as a task of their own, not scattered data: if a worker
            # that holds them dies, the scheduler can make them again, where a scattered
            # copy would be lost with every task that needs it
            files = client.submit(_files, course_files(self.course, self.names), pure=False)
            futures = {}

            def submit(sub: Submission):
                record = {k: v for k, v in asdict(sub).items()
                          if k in ("assignment", "student", "folder", "notebook")}
                future = client.submit(execute_task, files, asdict(self.opts), record,
                                       submission_files(sub), pure=False,
                                       key=f"grade-{sub.key}-{sub.digest}-{sub.attempts}")
                futures[future] = sub
                return future

            for sub in subs:
                submit(sub)
            finished = as_completed(list(futures))
            for future in finished:
                sub = futures.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 -- e.g. KilledWorker after many deaths
                    fail(sub, f"the Dask cluster could not run it ({type(exc).__name__})")
                else:
                    if again(sub, result):  # the machinery stopped it: once more
                        finished.add(submit(sub))
                        continue
                    folder = None
                    if result.get("notebook") is not None:
                        folder = self.tmp / "dask" / sub.student / sub.assignment
                        folder.mkdir(parents=True, exist_ok=True)
                        (folder / f"{sub.assignment}.ipynb").write_text(result["notebook"])
                    take_result(sub, result, folder, executed, done)
                tick(bar, subs)
        return executed
