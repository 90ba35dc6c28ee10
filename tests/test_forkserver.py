"""The fork server: one kernel per submission, forked from pre-imported modules, with nothing of
one student's run left for the next (files, processes, threads, module state, IPC), nothing of
another student visible, no privileges, and the same limits as before."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from course import pool, sandbox

pytestmark = pytest.mark.xdist_group("forkserver")


@contextlib.contextmanager
def fork_server(tmp: Path, isolate: bool, **limits):
    """A shard laid out as a grading worker lays it out, with its fork server running."""
    import utils

    shard = tmp / ("isolated" if isolate else "plain")
    shutil.copytree(Path(utils.__file__).parent, shard / "lib" / "utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    pool.prepare_kernel(shard)
    opts = pool.Options(sandbox=isolate, **limits)
    server = pool.start_fork_server(shard, opts)
    try:
        yield shard
    finally:
        server.kill()
        server.wait()


def run(shard: Path, student: str, *cells: str, timeout: int = 60) -> list[str]:
    """Execute ``cells`` in a fresh kernel for ``student``; the text each cell printed."""
    folder = shard / "autograded" / student / "a1"
    folder.mkdir(parents=True, exist_ok=True)
    km = AsyncKernelManager(transport="ipc", ip=str(pool.runtime_dir(shard) / "k"))
    km._kernel_spec = KernelSpec(argv=pool.kernel_argv(shard), display_name="grading",
                                 language="python", interrupt_mode="message")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    try:
        NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:  # as nbgrader does: the client only shuts down kernels it started itself
        run_sync(km.shutdown_kernel)()
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
                    for p in os.listdir('/proc') if p.isdigit()),
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
        # the sandbox's init, the server, the kernel's intermediate, its namespace's init and
        # the kernel: alice's thread and daemon process ended with her kernel's namespace
        assert seen["procs"] == sorted([shutil.which("bwrap")] + [sys.executable] * 4), \
            seen["procs"]
        assert seen["students"] == ["bob"]  # alice's folder is not there
        assert seen["cap"] == "0000000000000000" and seen["nnp"] == "1"
        # ... and alice's daemon did not survive on the host either
        assert not [p for p in Path("/proc").glob("[0-9]*/cmdline")
                    if b"987.654" in _read(p)]
        assert (shard / "autograded" / "alice" / "a1" / "mine.txt").read_text() == \
            "alice was here"


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
    # the workers' nbgrader configuration picks ReadyClient, and its wait_for_ready is its
    # own (AsyncKernelClient binds the base class's at class creation: an override of
    # _async_wait_for_ready alone would be silently ignored)
    from course import gradebook
    from course.notebooks import course_root
    from course.readyclient import ReadyClient

    shutil.copy(course_root() / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    cfg = gradebook.config(tmp_path, "execute")
    assert cfg.AsyncKernelManager.client_factory == "course.readyclient.ReadyClient"
    assert ReadyClient.wait_for_ready is ReadyClient._async_wait_for_ready
    km = AsyncKernelManager(kernel_name="python3", client_factory=ReadyClient)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    NotebookClient(nb, km=km, timeout=60).execute()
    assert nb.cells[0].outputs[0]["text"] == "42\n"
