"""A grading worker's scratch course (a "shard") and its fork server.

A shard holds the course's config, the sources, a copy of the gradebook, a private copy of
``utils`` (``lib/``, with the sandbox's own modules next to it), the submissions handed to
the worker, and a kernel spec whose kernels are forked by the shard's fork server
(``sandbox/forkserver.py``), in the sandbox, each in control groups of its own
(``sandbox/cgroups.py``). Used by both executors (``local``, ``dask``) and the worker.
Imports ``course.editions``, ``course.coursedir``, ``course.grading.execute.sandbox``,
``course.grading.execute.sandbox.bwrap``, ``course.grading.execute.sandbox.cgroups``,
``course.grading.submission``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from ... import editions
from ...coursedir import Course
from ..submission import Options, Submission
from .sandbox import bwrap, cgroups

SANDBOX = Path(__file__).with_name("sandbox")


def kernel_argv(shard: Path) -> list[str]:
    """The shard's kernel command: a client of the shard's fork server (``forkserver.py``)."""
    client = SANDBOX / "forkclient.py"  # run by path: stdlib only, fast
    return [sys.executable, "-I", "-S", str(client), "--socket", str(control_socket(shard)),
            "--report", str(report_path(shard)), "-f", "{connection_file}"]


def control_socket(shard: Path) -> Path:
    """Where the fork server listens: outside everything a kernel can see."""
    return shard / ".ctl" / "fork.sock"


def report_path(shard: Path) -> Path:
    """Where the kernel command appends the fork server's report on each kernel: next to
    the control socket, outside everything a kernel can see."""
    return shard / ".ctl" / "kernel-report.jsonl"


def kernel_ipc(shard: Path, opts: Options) -> str | None:
    """The ``ipc://`` path prefix of the shard's kernels' sockets (no network inside the
    sandbox), or None for TCP."""
    return str(runtime_dir(shard) / "k") if opts.sandbox else None


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
    (``sandbox/cgroups.py``; removed by ``end_fork_server``)."""
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
            "--cell-cpu", str(opts.cell_cpu),
            "--mem-mb", str(opts.kernel_mem_mb), "--pids", str(opts.kernel_pids),
            "--cgroups", json.dumps(dirs)]
    if opts.sandbox:
        command = bwrap.server_argv(str(shard / "lib"), str(allowed), str(runtime_dir(shard)),
                                      [sys.executable, f"{bwrap.INSIDE_LIB}/forkserver.py",
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
    for name in bwrap.KERNEL_FILES:
        shutil.copy2(SANDBOX / name, shard / "lib" / name)
    runtime_dir(shard).mkdir(exist_ok=True)


def course_files(course: Course, names: list[str]) -> dict[str, bytes]:
    """What a shard grades with, as {relative path: contents}: the nbgrader config, the
    assignments' source folders, the course's full ``utils`` (``trusted/utils``: the
    worker's, for the verdicts), each assignment's student edition of it
    (``lib/editions/<assignment>/utils``: its kernels', ``course.editions``), and a copy
    of the gradebook when it is a SQLite file, so that workers need not generate the
    assignments again. A Dask task carries this instead of a path on a shared disk."""
    skip = {".ipynb_checkpoints", "__pycache__"}
    files = {"nbgrader_config.py": (course.root / "nbgrader_config.py").read_bytes()}
    url = course.db_url
    if url.startswith("sqlite:///") and Path(url[len("sqlite:///"):]).is_file():
        files["gradebook.db"] = Path(url[len("sqlite:///"):]).read_bytes()
    trees = [(course.source / name, f"source/{name}") for name in names]
    full = editions.utils_root()
    trees.append((full, "trusted/utils"))  # the verdict step's, never shown to a kernel
    for name in names:  # what each assignment's kernels import (grading_kernel.edition)
        trees.append((editions.edition_for(name, full) / "utils", f"lib/editions/{name}/utils"))
    for top, prefix in trees:
        for path in sorted(top.rglob("*")):
            if path.is_file() and not skip & set(path.relative_to(top).parts):
                files[f"{prefix}/{path.relative_to(top).as_posix()}"] = path.read_bytes()
    return files


def make_shard(shard: Path, files: dict[str, bytes], opts: Options,
               env: dict | None = None) -> dict:
    """Lay out a scratch course for one worker and return the worker's environment.

    ``files`` (``course_files``) gives the config, the sources, a private copy of the full
    utils in ``trusted/`` (found first by the worker: PYTHONPATH) and the kernels' editions
    in ``lib/editions/``; the kernel's own modules go in ``lib/`` too: the sandbox shows that
    folder, not ``trusted/`` nor the course package.
    """
    for rel, data in files.items():
        path = shard / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    prepare_kernel(shard)
    (shard / "options.json").write_text(json.dumps(asdict(opts)))
    env = dict(os.environ if env is None else env)
    # jupyter_client finds the kernel spec and writes connection files where these say
    return dict(env, PYTHONPATH=os.pathsep.join(
        [str(shard / "trusted"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        JUPYTER_PATH=str(_kernel_dir(shard)), JUPYTER_RUNTIME_DIR=str(runtime_dir(shard)))


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


def kill_group(proc) -> None:
    """End a worker and everything in its session (its kernel server and kernels)."""
    if proc and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
