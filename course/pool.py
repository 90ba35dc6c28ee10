"""The grading workers: N processes that execute submissions with nbgrader, in parallel.

Each worker (``course.worker``, forked from this process) gets its own scratch course (a
"shard": the config, the sources, a copy of the gradebook, a private copy of ``utils``, its
share of the submissions) and a kernel spec whose kernels are forked by the shard's fork
server, limited in CPU time and memory (``course.forkserver``). Workers
print one JSON line per submission; this module reads them, shows progress, enforces
the per-submission wall-time cap (a loop of sleeps escapes the CPU limit) by killing
and restarting a worker on the rest of its queue, and never lets one submission's
failure cost another.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import cgroups, gradebook, sandbox


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
    worker: int | None = None  # which of course grade's workers executed it
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
    kernel_mem_mb: int = 2048  # memory of all a notebook's processes, its /tmp included
    kernel_pids: int = 128  # processes and threads of one notebook (where cgroups exist)
    cap: float = 90.0  # wall seconds one submission may take (a solved one takes ~3 s)
    sandbox: bool = True  # each kernel in bubblewrap (course.sandbox); off only on request
    scheduler: str | None = None  # a Dask scheduler's address: execute there (distributed.py)


def fail(sub: Submission, reason: str) -> Submission:
    """Mark a submission as not gradable, with the reason the instructor will read."""
    sub.status, sub.reason = "failed", reason
    return sub


def kernel_argv(shard: Path) -> list[str]:
    """The shard's kernel command: a client of the shard's fork server (``forkserver.py``)."""
    client = Path(__file__).with_name("forkclient.py")  # run by path: stdlib only, fast
    return [sys.executable, "-I", "-S", str(client), "--socket", str(control_socket(shard)),
            "-f", "{connection_file}"]


def control_socket(shard: Path) -> Path:
    """Where the fork server listens: outside everything a kernel can see."""
    return shard / ".ctl" / "fork.sock"


def _kernel_dir(shard: Path) -> Path:
    spec = shard / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": kernel_argv(shard), "display_name": "Python 3 (grading, limited)",
         "language": "python", "interrupt_mode": "message"}))
    return shard / "jupyter"


def start_fork_server(shard: Path, opts: Options) -> subprocess.Popen:
    """Start the shard's fork server (in the sandbox unless ``opts.sandbox`` is off); it
    listens on ``control_socket(shard)``, made here and handed over as a file descriptor,
    and puts each kernel in a control group of its own under the folders of ``groups``
    (``course.cgroups``; removed by ``end_fork_server``)."""
    path = control_socket(shard)
    path.parent.mkdir(exist_ok=True)
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(8)
    groups = cgroups.ServerGroups()
    dirs = groups.fds()
    fds = [listener.fileno(), *dirs.values()]
    allowed = shard / "autograded"
    allowed.mkdir(exist_ok=True)
    args = ["--fd", str(listener.fileno()), "--allowed", str(allowed),
            "--runtime", str(runtime_dir(shard)), "--cpu", str(opts.kernel_cpu),
            "--mem-mb", str(opts.kernel_mem_mb), "--pids", str(opts.kernel_pids),
            "--cgroups", json.dumps(dirs)]
    if opts.sandbox:
        command = sandbox.server_argv(str(shard / "lib"), str(allowed), str(runtime_dir(shard)),
                                      [sys.executable, f"{sandbox.INSIDE_LIB}/forkserver.py",
                                       *args, "--isolate"])
        env = {}  # bwrap itself sees nothing of the grading machine's environment
    else:
        command = [sys.executable, str(shard / "lib" / "forkserver.py"), *args]
        env = dict(os.environ, PYTHONPATH=str(shard / "lib"), OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
                   MALLOC_ARENA_MAX="2")
    try:
        # its output (and its kernels' banners) goes to the worker's log, never to stdout,
        # which carries the worker's JSON lines
        server = subprocess.Popen(command, pass_fds=fds, env=env, cwd=allowed,
                                  stdout=sys.stderr.fileno())
    except BaseException:
        groups.remove()
        raise
    finally:
        listener.close()  # the server holds it now
        for fd in dirs.values():
            os.close(fd)
    server.course_groups = groups
    return server


def end_fork_server(server: subprocess.Popen) -> None:
    """Kill a fork server (and with it any kernel it runs) and remove its control groups."""
    if server.poll() is None:
        server.kill()
    server.wait()
    groups = getattr(server, "course_groups", None)
    if groups:
        groups.remove()


def runtime_dir(shard: Path) -> Path:
    """Connection file and ipc:// sockets of the shard's kernels (bound into the sandbox)."""
    return shard / ".rt"


def prepare_kernel(shard: Path) -> None:
    """The kernel's own modules in ``shard/lib`` and its runtime folder (for kernel_argv)."""
    (shard / "lib").mkdir(parents=True, exist_ok=True)
    for name in sandbox.KERNEL_FILES:
        shutil.copy2(Path(__file__).with_name(name), shard / "lib" / name)
    runtime_dir(shard).mkdir(exist_ok=True)


def course_files(root: Path, names: list[str], url: str | None = None) -> dict[str, bytes]:
    """What a shard grades with, as {relative path: contents}: the nbgrader config, the
    assignments' source folders and the course's ``utils`` (for ``lib/utils``), and a copy
    of the gradebook when it is a SQLite file (``url``), so that workers need not generate
    the assignments again. A Dask task carries this instead of a path on a shared disk."""
    skip = {".ipynb_checkpoints", "__pycache__"}
    files = {"nbgrader_config.py": (root / "nbgrader_config.py").read_bytes()}
    if url and url.startswith("sqlite:///") and Path(url[len("sqlite:///"):]).is_file():
        files["gradebook.db"] = Path(url[len("sqlite:///"):]).read_bytes()
    trees = [(root / "source" / name, f"source/{name}") for name in names]
    trees.append((Path(importlib.util.find_spec("utils").origin).parent, "lib/utils"))
    for top, prefix in trees:
        for path in sorted(top.rglob("*")):
            if path.is_file() and not skip & set(path.relative_to(top).parts):
                files[f"{prefix}/{path.relative_to(top).as_posix()}"] = path.read_bytes()
    return files


def make_shard(shard: Path, files: dict[str, bytes], opts: Options,
               env: dict | None = None) -> dict:
    """Lay out a scratch course for one worker and return the worker's environment.

    ``files`` (``course_files``) gives the config, the sources and a private copy of
    utils in ``lib/`` (found first: PYTHONPATH); the kernel's own modules go next to it:
    the sandbox shows that folder, not the course package.
    """
    for rel, data in files.items():
        path = shard / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    prepare_kernel(shard)
    (shard / "options.json").write_text(json.dumps(asdict(opts)))
    env = dict(os.environ if env is None else env)
    worker_env = dict(env, PYTHONPATH=os.pathsep.join(
        [str(shard / "lib"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        JUPYTER_PATH=str(_kernel_dir(shard)), JUPYTER_RUNTIME_DIR=str(runtime_dir(shard)))
    if opts.sandbox:  # no network inside: kernel sockets are files in the runtime dir
        worker_env["COURSE_KERNEL_IPC"] = str(runtime_dir(shard) / "k")
    return worker_env


def place_submission(shard: Path, sub: Submission, files: dict[str, bytes]) -> None:
    """A submission's files in ``shard/submitted/<student>/<assignment>/``, its notebook
    under the assignment's name (a renamed notebook is graded as the expected one)."""
    target = shard / "submitted" / sub.student / sub.assignment
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for rel, data in files.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    wanted = target / f"{sub.assignment}.ipynb"
    if not wanted.exists() and sub.notebook:
        (target / Path(sub.notebook).name).rename(wanted)


MAX_SUBMISSION_MB = 100  # all the files of one submission folder


def read_folder(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    """The regular files under a submission's folder, as {relative path: contents}, and
    what was left out: every symbolic link (never followed: a link to the gradebook,
    another student's work or ``/proc/self/mem`` brings nothing in) and every special file
    (a FIFO, a device). Raises ValueError over ``MAX_SUBMISSION_MB``, and OSError when the
    folder cannot be read: that submission fails, not the class's run."""
    files, left_out, total, stack = {}, [], 0, [""]
    while stack:
        rel = stack.pop()
        with os.scandir(folder / rel if rel else folder) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_symlink():
                    left_out.append(f"{name} (a link)")
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(name)
                elif not entry.is_file(follow_symlinks=False):
                    left_out.append(f"{name} (not a regular file)")
                else:
                    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with os.fdopen(fd, "rb") as fh:
                        total += os.fstat(fd).st_size
                        if total > MAX_SUBMISSION_MB * 2**20:
                            raise ValueError(f"the submission's files add up to more than "
                                             f"{MAX_SUBMISSION_MB} MB")
                        files[name] = fh.read()
    return dict(sorted(files.items())), sorted(left_out)


def submission_files(sub: Submission) -> dict[str, bytes]:
    """Everything in a submission's folder that is graded, as {relative path: contents}
    (``read_folder``: no link is followed)."""
    return read_folder(Path(sub.folder))[0]


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


def kill_group(proc) -> None:
    """End a worker and everything in its session (its kernel server and kernels)."""
    if proc and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


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


def start_workers(root: Path, names: list[str], opts: Options, tmp: Path,
                  count: int | None = None) -> list[_Worker]:
    """Lay out ``count`` (``opts.workers``) shards under ``tmp`` for the assignments
    ``names`` and start a worker on each; they wait for work (``execute_parallel``) while
    their kernel servers import what every kernel needs."""
    lines: queue.Queue = queue.Queue()
    files = course_files(root, sorted(names), gradebook.db_url(root))
    workers = []
    for i in range(max(1, count or opts.workers)):
        shard = tmp / f"shard{i}"
        workers.append(_Worker(i, shard, make_shard(shard, files, opts), lines))
        workers[-1].start()  # at once: its kernel server starts while the next shard is made
    return workers


def stop_workers(workers: list[_Worker]) -> None:
    """End workers that will get no (more) work."""
    for w in workers:
        w.kill()


def execute_parallel(root: Path, subs: list[Submission], opts: Options, tmp: Path,
                     bar, done=None, workers: list[_Worker] | None = None) -> dict[str, Path]:
    """Run the submissions in worker shards; return {key: executed folder} of successes.
    ``done(sub, folder)``, if given, is called for each success as soon as it comes in.
    ``workers`` are ones ``start_workers`` started already (for every assignment of
    ``subs``); without, they are started here.

    Work is handed out as it is done, not split in advance: a worker gets its next
    submission when it reports one, so a worker that drew the slow notebooks does not
    keep the others waiting at the end. Each has one more submission queued (while there
    are enough left) so that it never waits for this process between two.
    """
    executed: dict[str, Path] = {}
    todo = deque(subs)
    if workers is None:
        workers = start_workers(root, sorted({s.assignment for s in subs}), opts, tmp,
                                min(opts.workers, len(subs)))
    lines = workers[0].lines
    n = len(workers)

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
            todo.extendleft(reversed(worker.pending))  # the rest go back, in their order
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
        top_up(worker)  # before the scoring below: the worker goes on meanwhile
        if sub.status == "failed":
            continue  # its result came in just after it was given up
        sub.seconds, sub.worker = result.get("seconds", 0.0), worker.number
        sub.flags += result.get("flags", [])  # hooks the grading kernel had to undo
        folder = worker.shard / "autograded" / sub.student / sub.assignment
        if result["success"] and (folder / f"{sub.assignment}.ipynb").exists():
            executed[sub.key] = folder
            sub.notes += result.get("notes", [])
            if done:
                done(sub, folder)
        else:
            fail(sub, result.get("reason") or reason_from_log(result.get("log", "")))
        _tick(bar, subs)
    for w in workers:  # each ends on its own once its stdin is closed
        if w.proc:
            w.proc.wait()
    return executed


def _give_up(worker: _Worker, reason: str, bar, subs) -> None:
    fail(worker.pending.pop(0), reason)
    _tick(bar, subs)


def _tick(bar, subs) -> None:
    bar.update(1)
    bar.set_postfix(failures=sum(s.status == "failed" for s in subs))
