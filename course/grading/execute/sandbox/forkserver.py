"""A kernel fork server: the grading kernel's imports paid once per worker, not per student.

    python forkserver.py --fd FD --allowed SHARD/autograded --runtime DIR --cpu S --cell-cpu S
                         --mem-mb MB
        [--isolate]

Started by a grading worker (``worker.py``), inside the bubblewrap sandbox when grading
is sandboxed (``bwrap.server_argv``). It imports ipykernel, IPython, numpy,
matplotlib (Agg) and the shard's ``utils`` once, then waits on a listening socket it
inherited (file descriptor FD: the socket's path is outside the sandbox, so no kernel can
reach it). For each request of ``forkclient.py`` -- the kernel command nbgrader starts --
it forks a fresh kernel for one submission and reports its exit to the client.

What one submission gets, and why nothing of another student reaches it (``--isolate``):

* **Module state**: every kernel is a fork of the server, which never runs student code:
  each starts from the same pristine imports, and what a kernel changes dies with it.
* **Processes and threads**: the kernel runs in its own PID namespace, whose process 1 (a
  few lines here that only wait) dies with the server's intermediate process
  (``PR_SET_PDEATHSIG``). When the kernel ends, or the server ends it, Linux kills
  everything in that namespace, daemons included.
* **Files**: a fresh ``/tmp`` (the Python environment mounted again in it when it lives
  there); the worker's ``autograded/`` folder is hidden under an empty tmpfs, and this
  submission's folder is a private copy in a size-limited tmpfs: what the kernel writes there
  never reaches the real folder (the executed notebook of earlier students stays out of
  sight, and nothing a kernel leaves is met by the worker); System V IPC is its own namespace.
* **Other processes**: the server and the kernel's intermediate and init processes are
  non-dumpable, and their ``/proc/<pid>`` folders are covered by an empty, unreadable tmpfs
  before the kernel starts: no other process's root, environment, memory or descriptors.
* **Privileges**: after those mounts process 1 drops every capability (bounding set
  included) and sets ``no_new_privs`` before it forks the kernel; the sandbox forbids new
  user namespaces, so the mounts cannot be undone.
* **Limits**: each kernel's intermediate process joins a control group of its own
  (``KernelGroup``, under the folders ``--cgroups`` hands over; ``cgroups.py``): memory
  (its tmpfs files included), processes and one core's share for all it starts, and its CPU
  time counted across them: past ``--cell-cpu`` in one cell (its guard's records say when
  each cell begins) the server interrupts the cell, as Ctrl-C would, and ends the kernel if
  the cell goes on to twice that; past ``--cpu`` in all it ends the kernel. RLIMIT_CPU and
  RLIMIT_AS are set in each kernel as well (a fork starts at zero CPU).
* **Report**: the kernel's guard writes its record to a pipe the server reads; the server's
  reply to the kernel command (exit, CPU time, whether a limit ended it, the guard's record)
  is written outside the sandbox by ``forkclient.py``.

Without ``--isolate`` (``--unsafe-no-sandbox``) a kernel is still a fresh fork with its
limits, but shares ``/tmp`` and the process table with the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import sys
import threading

# run by path in the sandbox (or from a shard's lib/): its neighbours are top-level modules
from cgroups import CellClock, KernelGroup
from grading_kernel import INSIDE_AUTOGRADED, map_paths, preload, start_kernel
from isolation import (
    CLONE_NEWIPC,
    CLONE_NEWNS,
    CLONE_NEWPID,
    PR_SET_DUMPABLE,
    PR_SET_PDEATHSIG,
    _check,
    _isolate,
    _libc,
)

MAX_GUARD_BYTES = 1 << 18  # what a kernel's guard may report (a kernel can write there too)


def _wait_or_end(child: int, stop: int, end) -> int:
    """Wait for ``child`` to exit; if the server closes ``stop`` first, ``end()`` it and
    wait for that. Its exit code."""
    pidfd = os.pidfd_open(child)
    ready, _, _ = select.select([stop, pidfd], [], [])
    if pidfd not in ready:
        end()
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def _run_kernel_and_wait(request: dict, opts, stop: int | None) -> None:
    """Fork the kernel, wait for it, exit with its code (never returns). As process 1 of
    the kernel's PID namespace (``stop`` None) it also reaps every orphan until the kernel
    ends; the kernel itself must not be process 1, which ignores the signals it has no
    handler for. Without a namespace (``stop``: the server's pipe) it ends the kernel's
    process group when the server closes that pipe."""
    kernel = os.fork()
    if kernel == 0:
        try:
            if stop is not None:
                os.close(stop)
            start_kernel(request, opts)
        except BaseException as exc:  # noqa: BLE001 -- report it, never return to the loop
            print(f"fork server: kernel setup failed: {exc!r}", file=sys.stderr, flush=True)
        os._exit(70)
    if stop is not None:
        os._exit(_wait_or_end(kernel, stop, lambda: os.killpg(kernel, signal.SIGKILL)) & 0xFF)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _spawn(request: dict, opts, keep: dict, group: KernelGroup) -> int:
    """Fork the intermediate process: it joins the kernel's control group; with
    ``--isolate`` it then makes the namespaces, whose process 1 sets up the mounts, drops
    every privilege and runs the kernel as its child.

    ``keep``: the descriptors of the request the intermediate keeps ("stop": the read end
    of a pipe; "guard": the write end of the kernel guard's pipe); every other descriptor
    of the server's ("close": the listening socket, the client's connection, the pipes'
    other ends, the control-group folders) is closed first, so no kernel holds one.

    The intermediate ends the kernel when the server closes ``stop``, and exits only once
    it is gone: with ``--isolate`` it kills process 1, and Linux reports process 1 dead
    only after every process of its namespace has been killed and reaped. So once the
    server has reaped the intermediate, nothing of the submission runs any more."""
    pid = os.fork()
    if pid:
        return pid
    try:
        group.join()
        for fd in keep["close"]:
            os.close(fd)
        stop = keep["stop"]
        request["guard_fd"] = keep["guard"]
        if not opts.isolate:
            _run_kernel_and_wait(request, opts, stop=stop)
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
        map_paths(request, opts)
        init = os.fork()
        if init == 0:
            try:
                os.close(stop)
                _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                _isolate(INSIDE_AUTOGRADED, request["cwd"], opts.mem_mb)
            except BaseException as exc:  # noqa: BLE001
                print(f"fork server: isolation failed: {exc!r}", file=sys.stderr, flush=True)
                os._exit(72)
            _run_kernel_and_wait(request, opts, stop=None)
        os._exit(_wait_or_end(init, stop, lambda: os.kill(init, signal.SIGKILL)) & 0xFF)
    except BaseException as exc:  # noqa: BLE001
        print(f"fork server: {exc!r}", file=sys.stderr, flush=True)
        os._exit(71)


def _read_request(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the client went away before its request")
        data += chunk
    return json.loads(data)


def _read_some(fd: int, got: bytearray) -> bytes:
    """Append what the pipe ``fd`` holds to ``got`` (up to the cap) and return it (b"" at
    its end)."""
    chunk = os.read(fd, 65536)
    if len(got) < MAX_GUARD_BYTES:
        got += chunk[:MAX_GUARD_BYTES - len(got)]
    return chunk


def _run_one(conn: socket.socket, request: dict, opts, listener: socket.socket,
             number: int) -> dict:
    """Run one kernel until the client asks for its end (closes its side), goes away, or
    the kernel ends; end it, wait until all it started is gone; the report for the client:
    its exit code, the CPU time of all its processes, whether the CPU or memory limit
    ended it (the notebook's, or one cell's: ``cell_cpu_limit`` names the cell), and what
    its guard reported."""
    group = KernelGroup(opts.cgroups, f"k{number}", opts)
    stop_read, stop = os.pipe()
    guard_read, guard = os.pipe()
    closing = [listener.fileno(), conn.fileno(), stop, guard_read, *opts.cgroups.values()]
    pid = _spawn(request, opts, {"stop": stop_read, "guard": guard, "close": closing}, group)
    os.close(stop_read)
    os.close(guard)
    pidfd = os.pidfd_open(pid)
    report, reported, watching = {"cpu_limit": False}, bytearray(), [conn, pidfd, guard_read]
    cells = CellClock()
    try:
        while True:
            ready, _, _ = select.select(watching, [], [], 0.1 if opts.cgroups else None)
            used = group.usage()
            if guard_read in ready:
                chunk = _read_some(guard_read, reported)
                if not chunk:
                    watching.remove(guard_read)
                cells.feed(chunk, used)
            if used is not None and used > opts.cpu:
                report["cpu_limit"] = True  # across every process it started
                break
            if used is not None and (cell := cells.over(used, opts.cell_cpu)):
                if cell["cpu"] > 2 * opts.cell_cpu:  # the interrupt did not stop it
                    report["cell_cpu_limit"] = cell
                    break
                if cell["cell"] not in [c["cell"] for c in report.setdefault("interrupted", [])]:
                    report["interrupted"].append(cell)  # one cell, across every process
                    group.interrupt(pid)
            if conn in ready or pidfd in ready:
                break
        os.close(stop)
        stop = None
        _, status = os.waitpid(pid, 0)  # the kernel and all it started are gone
        report["exit"] = os.waitstatus_to_exitcode(status)
        while guard_read in watching and _read_some(guard_read, reported):
            pass
        report["guard"] = reported.decode(errors="replace")
        report["cpu"] = group.usage()
        report["oom_kills"] = group.oom_kills() if opts.cgroups else 0
        report["last_cell"] = {"cell": cells.number, "line": cells.line}
    finally:
        os.close(pidfd)
        os.close(guard_read)
        if stop is not None:
            os.close(stop)
        group.remove()
    return report


def serve(listener: socket.socket, opts) -> None:
    """One kernel at a time (a worker grades one submission at a time)."""
    allowed = os.path.realpath(opts.allowed)
    number = 0
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                request = _read_request(conn)
                folder = os.path.realpath(request["cwd"])
                if os.path.commonpath([folder, allowed]) != allowed or folder == allowed:
                    raise ValueError(f"refusing {folder}: not a submission folder under "
                                     f"{allowed}")
                request["cwd"] = folder
            except (OSError, ValueError, KeyError) as exc:
                conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
                continue
            number += 1
            try:
                report = _run_one(conn, request, opts, listener, number)
            except OSError as exc:  # a control group that cannot be made, a fork refused
                report = {"error": f"cannot start the kernel: {exc}"}
            try:
                conn.sendall(json.dumps(report).encode() + b"\n")
            except OSError:
                pass


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--allowed", required=True)
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--cell-cpu", type=float, default=15.0)
    parser.add_argument("--mem-mb", type=int, required=True)
    parser.add_argument("--pids", type=int, default=128)
    parser.add_argument("--cgroups", default="{}", help="JSON: {controller: directory fd}")
    parser.add_argument("--isolate", action="store_true")
    opts = parser.parse_args(argv)
    opts.cgroups = {name: int(fd) for name, fd in json.loads(opts.cgroups).items()}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are messages to the kernel
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # ends with its worker
    listener = socket.socket(fileno=opts.fd)
    preload()
    if threading.active_count() != 1:  # forking a process with threads is not safe
        raise SystemExit(f"fork server: {threading.active_count()} threads after the imports")
    serve(listener, opts)


if __name__ == "__main__":
    main(sys.argv[1:])
