"""The fork server: one kernel per submission, forked from pre-imported modules, with nothing of
one student's run left for the next (files, processes, threads, module state, IPC), nothing of
another student visible, no privileges, and the same limits as before."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from course.grading.execute import shard as pool
from course.grading.execute.readyclient import ReadyKernelManager
from course.grading.execute.sandbox import bwrap as sandbox
from course.grading.submission import Options

pytestmark = pytest.mark.xdist_group("forkserver")


@contextlib.contextmanager
def fork_server(tmp: Path, isolate: bool, **limits):
    """A shard laid out as a grading worker lays it out, with its fork server running."""
    import utils

    shard = tmp / ("isolated" if isolate else "plain")
    shutil.copytree(Path(utils.__file__).parent, shard / "lib" / "utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    pool.prepare_kernel(shard)
    opts = Options(sandbox=isolate, **limits)
    server = pool.start_fork_server(shard, opts)
    try:
        yield shard
    finally:
        pool.end_fork_server(server)


def folder(shard: Path, student: str) -> Path:
    """The student's submission folder, where the kernel runs."""
    path = shard / "autograded" / student / "a1"
    path.mkdir(parents=True, exist_ok=True)
    return path


def grading_kernel(shard: Path) -> ReadyKernelManager:
    """A kernel manager for the shard's fork server, as the workers' nbgrader makes it."""
    km = ReadyKernelManager(transport="ipc", ip=str(pool.runtime_dir(shard) / "k"))
    km._kernel_spec = KernelSpec(argv=pool.kernel_argv(shard), display_name="grading",
                                 language="python", interrupt_mode="message")
    return km


def run(shard: Path, student: str, *cells: str, timeout: int = 60) -> list[str]:
    """Execute ``cells`` in a fresh kernel for ``student``; the text each cell printed."""
    km = grading_kernel(shard)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    try:
        NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                       resources={"metadata": {"path": str(folder(shard, student))}}).execute()
    finally:  # as the workers' nbgrader does (Execute.shutdown_kernel = "immediate")
        run_sync(km.shutdown_kernel)(now=True)
    texts = []
    for cell in nb.cells:
        text = ""
        for out in cell.outputs:
            text += out.get("text", "") + "".join(out.get("data", {}).get("text/plain", ""))
            if out.output_type == "error":
                text += f"{out.ename}: {out.evalue}"
        texts.append(text.strip())
    return texts


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended while we looked
        return b""


needs_sandbox = pytest.mark.skipif(sandbox.probe() is not None,
                                   reason=f"no sandbox here: {sandbox.probe()}")

LEAVE_BEHIND = r"""
import os, subprocess, threading, time, sys
import numpy, utils
open('/tmp/left-by-alice', 'w').write('answers')
open('mine.txt', 'w').write('alice was here')
utils.LEFT_BY_ALICE = True
numpy.LEFT_BY_ALICE = True
threading.Thread(target=time.sleep, args=(600,), daemon=False).start()
# a daemon process in its own session, which would outlive the kernel without a PID namespace
subprocess.Popen(['sleep', '987.654'], start_new_session=True)
print('done')
"""

LOOK_AROUND = r"""
import os, sys, numpy, utils, pathlib
seen = {
    'tmp': sorted(os.listdir('/tmp')),
    'utils': hasattr(utils, 'LEFT_BY_ALICE') or hasattr(numpy, 'LEFT_BY_ALICE'),
    'procs': sorted(open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ').split(' ')[0]
                    for p in os.listdir('/proc')
                    if p.isdigit() and os.access(f'/proc/{p}', os.R_OK)),
    'students': sorted(os.listdir(pathlib.Path.cwd().parent.parent)),
    'cap': [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0],
    'nnp': [l.split()[1] for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0],
}
print(seen)
"""


@needs_sandbox
def test_nothing_of_one_student_reaches_the_next(tmp_path):
    with fork_server(tmp_path, isolate=True) as shard:
        assert run(shard, "alice", LEAVE_BEHIND)[0] == "done"
        seen = eval(run(shard, "bob", LOOK_AROUND)[0])  # noqa: S307 -- our own dict
        assert seen["utils"] is False  # module state: a fresh fork of the server
        assert set(seen["tmp"]) <= {".ipython", "kernel.json", "matplotlib"}  # a fresh /tmp
        # the kernel alone (the server, the kernel's intermediate and its namespace's init
        # are hidden): alice's thread and daemon process ended with her kernel's namespace
        assert seen["procs"] == [sys.executable], seen["procs"]
        assert seen["students"] == ["bob"]  # alice's folder is not there
        assert seen["cap"] == "0000000000000000" and seen["nnp"] == "1"
        # ... and alice's daemon did not survive on the host either
        assert not [p for p in Path("/proc").glob("[0-9]*/cmdline")
                    if b"987.654" in _read(p)]
        # what a kernel writes in its folder stays in its private copy, gone with it
        assert not (shard / "autograded" / "alice" / "a1" / "mine.txt").exists()


@needs_sandbox
def test_a_kernel_cannot_undo_its_isolation(tmp_path):
    with fork_server(tmp_path, isolate=True) as shard:
        run(shard, "alice", "open('mine.txt', 'w').write('x')")
        out = run(shard, "bob",
                  "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True)\n"
                  "top = os.path.dirname(os.path.dirname(os.getcwd())).encode()\n"
                  "print(libc.umount2(top, 2), ctypes.get_errno())",
                  "import subprocess\n"  # a new user namespace, to be root again in it
                  "print(subprocess.run(['unshare', '--user', '--map-root-user', 'true'], "
                  "capture_output=True).returncode)",
                  "import os; os.setuid(65534)")
        assert out[0] == "-1 1" and out[1] != "0"  # EPERM; no new user namespace
        assert out[2].startswith(("PermissionError", "OSError"))  # no other user to become
        assert not os.path.exists(shard / "autograded" / "bob" / "a1" / "alice")


@needs_sandbox
def test_limits_apply_to_every_forked_kernel(tmp_path):
    with fork_server(tmp_path, isolate=True, kernel_cpu=2, kernel_mem_mb=1024) as shard:
        out = run(shard, "alice", "import numpy\ntry:\n    numpy.ones(400_000_000)\n"
                  "except MemoryError:\n    print('MemoryError')")
        assert out == ["MemoryError"]
        start = time.monotonic()
        with pytest.raises(Exception, match="(?i)dead|died"):
            run(shard, "bob", "while True:\n    pass", timeout=30)
        assert time.monotonic() - start < 20  # the CPU cap (2 s), not the cell timeout
        assert run(shard, "carol", "print(1 + 1)") == ["2"]  # the server lives on


def test_without_isolation_kernels_are_still_fresh_forks(tmp_path):
    with fork_server(tmp_path, isolate=False) as shard:
        assert run(shard, "alice", "import utils; utils.LEFT_BY_ALICE = 1; print('ok')") == ["ok"]
        assert run(shard, "bob", "import utils; print(hasattr(utils, 'LEFT_BY_ALICE'))") == \
            ["False"]


KILL_THE_SERVER = r"""
import os, signal
tried = []
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    try:
        cmd = open(f'/proc/{pid}/cmdline', 'rb').read()
    except OSError:
        continue
    if b'forkserver.py' in cmd or b'bwrap' in cmd:
        try:
            os.kill(int(pid), signal.SIGKILL)
            tried.append('killed?')
        except OSError as exc:
            tried.append(type(exc).__name__)
print(sorted(set(tried)))
"""


@needs_sandbox
def test_a_kernel_cannot_end_the_server_for_the_next_student(tmp_path):
    """The server's processes are listed in /proc but out of a kernel's PID namespace: their
    numbers name other processes there (or none), so a kill misses them. (Here one of
    those numbers is the kernel's own: mallory may end her own kernel, nobody else's.)"""
    with fork_server(tmp_path, isolate=True) as shard:
        with contextlib.suppress(Exception):
            run(shard, "mallory", KILL_THE_SERVER)
        assert run(shard, "bob", "print(6 * 7)") == ["42"]


def test_grading_kernels_are_ready_at_their_first_idle_status(tmp_path):
    # the workers' nbgrader executes with ReadyExecute, whose kernels are managed by
    # ReadyKernelManager with ReadyClient clients; ReadyClient's wait_for_ready is its own
    # (AsyncKernelClient binds the base class's at class creation: an override of
    # _async_wait_for_ready alone would be silently ignored)
    import zmq
    from nbgrader.preprocessors import Execute

    from course.coursedir import Course
    from course.grading import passes
    from course.grading.execute.readyclient import ReadyClient, ReadyExecute
    from course.grading.verdicts import DecideCases, ServeCases
    from course.notebooks import course_root

    shutil.copy(course_root() / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    cfg = passes.config(Course(tmp_path), "execute")
    # hidden cases served before the kernel runs and decided after it, in the worker
    assert cfg.Autograde.autograde_preprocessors[:3] == [ServeCases, ReadyExecute, DecideCases]
    execute = ReadyExecute(config=cfg)
    assert isinstance(execute, Execute) and execute.kernel_manager_class is ReadyKernelManager
    assert execute.timeout == Execute(config=cfg).timeout  # Execute's settings still apply
    assert ReadyClient.wait_for_ready is ReadyClient._async_wait_for_ready
    km = ReadyKernelManager(kernel_name="python3")
    assert km.client_factory is ReadyClient
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    client = NotebookClient(nb, km=km, timeout=60)
    with client.setup_kernel():
        # a kernel not listening yet is tried again every 10 ms, not 100
        assert client.kc.shell_channel.socket.getsockopt(zmq.RECONNECT_IVL) == 10
        client.execute()
        # closing the control socket does not wait 100 ms for an unread interrupt request
        km._connect_control_socket()
        assert km._control_socket.getsockopt(zmq.LINGER) == 0
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    run_sync(km.shutdown_kernel)(now=True)
    assert not run_sync(km.is_alive)()


BEAT = r"""
import os, time
if os.fork() == 0:  # a process of the submission that goes on after the cell, writing
    os.setsid()
    while True:
        with open('/grading/runtime/beat.txt', 'a') as f:  # (its own folder is a copy)
            f.write('.')
        time.sleep(0.002)
time.sleep(0.1)
print('beating')
"""


def _server_pid(shard: Path) -> int:
    """The shard's fork server: not bwrap, which runs it, nor the forks it made."""
    mine = f"--allowed\0{shard / 'autograded'}\0".encode()
    found = {}
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"forkserver.py" in cmdline and mine in cmdline \
                and not cmdline.split(b"\0")[0].endswith(b"bwrap"):
            found[int(entry)] = parent
    (server,) = [pid for pid, parent in found.items() if parent not in found]
    return server


@needs_sandbox
def test_a_kernel_and_all_it_started_are_gone_when_its_end_returns(tmp_path):
    """The worker moves on to the next student right after ending a kernel: nothing of the
    submission may still run by then (its CPU time, its control group, the runtime folder
    of the sockets, where it could still write). Here
    the fork server is held up (SIGSTOP) for 0.5 s as the kernel is ended: the end waits
    for it, and after it nothing writes any more. (Killing the kernel command outright
    returned at once, with the submission's process still writing.)"""
    with fork_server(tmp_path, isolate=True) as shard:
        km = grading_kernel(shard)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(BEAT)])
        beat = pool.runtime_dir(shard) / "beat.txt"  # the one place a kernel writes through
        NotebookClient(nb, km=km, timeout=60,
                       resources={"metadata": {"path": str(folder(shard, "mallory"))}}).execute()
        assert nb.cells[0].outputs[0]["text"] == "beating\n"
        server = _server_pid(shard)
        os.kill(server, signal.SIGSTOP)
        resume = threading.Timer(0.5, os.kill, (server, signal.SIGCONT))
        resume.start()
        try:
            start = time.perf_counter()
            run_sync(km.shutdown_kernel)(now=True)
            took = time.perf_counter() - start
        finally:
            resume.join()
        size = beat.stat().st_size
        time.sleep(0.3)
        assert beat.stat().st_size == size > 0
        assert took >= 0.45  # it waited for the server
        assert run(shard, "bob", "print(6 * 7)") == ["42"]  # and the server goes on


def test_what_a_kernel_leaves_is_tidied_before_anything_reads_it(tmp_path, monkeypatch):
    outside = tmp_path / "outside.txt"
    outside.write_text("the instructor's")
    folder = tmp_path / "autograded" / "mallory" / "a1"
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "a1.ipynb").symlink_to(outside)
    (folder / "deep" / "er" / "root").symlink_to("/")
    (folder / "zeros").symlink_to("/dev/zero")
    os.mkfifo(folder / "trap")
    (folder / "plot.png").write_bytes(b"\x89PNG")
    (folder / "deep" / "notes.txt").write_text("mine")
    sandbox.tidy_kernel_folder(folder)
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) == [
        "deep", "deep/er", "deep/notes.txt", "plot.png"]
    assert outside.read_text() == "the instructor's"  # unlinked, not followed
    monkeypatch.setattr(sandbox, "MAX_LEFT_ENTRIES", 3)
    with pytest.raises(ValueError, match="left more than 3 files"):
        sandbox.tidy_kernel_folder(folder)
    monkeypatch.setattr(sandbox, "MAX_LEFT_ENTRIES", 1000)
    (folder / "big.bin").write_bytes(b"\0" * (sandbox.MAX_LEFT_MB * 2**20 + 1))
    with pytest.raises(ValueError, match=f"or {sandbox.MAX_LEFT_MB} MB"):
        sandbox.tidy_kernel_folder(folder)


@needs_sandbox
def test_a_kernel_that_does_not_end_when_asked_is_not_graded(tmp_path, monkeypatch):
    """If the fork server cannot confirm the end (here: held up past the timeout), ending
    the kernel raises, so nbgrader fails the submission instead of writing its notebook."""
    from course.grading.execute import readyclient

    monkeypatch.setattr(readyclient, "END_TIMEOUT_S", 0.5)
    with fork_server(tmp_path, isolate=True) as shard:
        km = grading_kernel(shard)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
        NotebookClient(nb, km=km, timeout=60,
                       resources={"metadata": {"path": str(folder(shard, "mallory"))}}).execute()
        server = _server_pid(shard)
        os.kill(server, signal.SIGSTOP)
        try:
            with pytest.raises(RuntimeError, match=readyclient.NOT_ENDED):
                run_sync(km.shutdown_kernel)(now=True)
        finally:
            os.kill(server, signal.SIGCONT)
        assert not run_sync(km.is_alive)()  # its command was killed all the same
