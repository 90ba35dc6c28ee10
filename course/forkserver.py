"""A kernel fork server: the grading kernel's imports paid once per worker, not per student.

    python forkserver.py --fd FD --allowed SHARD/autograded --runtime DIR --cpu S --mem-mb MB
        [--isolate]

Started by a grading worker (``course.worker``), inside the bubblewrap sandbox when grading
is sandboxed (``course.sandbox.server_argv``). It imports ipykernel, IPython, numpy,
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
* **Files**: a fresh ``/tmp``; the worker's ``autograded/`` folder is hidden
  under an empty tmpfs, with only this submission's folder mounted back (the executed
  notebooks of earlier students stay out of sight); System V IPC is its own namespace.
* **Privileges**: after those mounts process 1 drops every capability (bounding set
  included) and sets ``no_new_privs`` before it forks the kernel; the sandbox forbids new
  user namespaces, so the mounts cannot be undone.
* **Limits**: RLIMIT_CPU and RLIMIT_AS are set in each kernel (a fork starts at zero CPU).

Without ``--isolate`` (``--unsafe-no-sandbox``) a kernel is still a fresh fork with its
limits, but shares ``/tmp`` and the process table with the worker.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import threading

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x20000000, 0x08000000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _bytes(value) -> bytes | None:
    return None if value is None else str(value).encode()


def _mount(source, target, fstype, flags, data=None) -> None:
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags),
                       _bytes(data)), f"mount {target}")


def preload() -> None:
    """What every grading kernel imports, imported once here (before any fork)."""
    import ipykernel.debugger  # noqa: F401 -- (and debugpy, when it is installed)
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import IPython.core.debugger  # noqa: F401 -- imported by every kernel's start-up
    import matplotlib
    import matplotlib_inline.backend_inline  # noqa: F401

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    from kernel_guard import GradingKernel  # noqa: F401

    import utils  # noqa: F401 -- the shard's read-only copy
    import utils.widgets  # noqa: F401 -- every notebook's setup cell uses it (and ipywidgets)


def _only(parent: str, keep: str) -> None:
    """Hide everything under ``parent`` except ``keep`` (a folder below it)."""
    staging = "/tmp/.keep"
    os.makedirs(staging)
    _mount(keep, staging, None, MS_BIND | MS_REC)
    _mount("tmpfs", parent, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.makedirs(keep)
    _mount(staging, keep, None, MS_BIND | MS_REC)
    _check(_libc.umount2(staging.encode(), MNT_DETACH), "umount staging")
    os.rmdir(staging)


def _drop_privileges() -> None:
    for cap in range(64):  # the bounding set first (needs CAP_SETPCAP, dropped last)
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (x2): all empty
    number = SYS_CAPSET.get(os.uname().machine)
    if number is None:
        raise OSError(f"no capset syscall number for {os.uname().machine}")
    _check(_libc.syscall(number, header, data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


# where the sandbox shows the worker's autograded/ and runtime folders (course.sandbox)
INSIDE_AUTOGRADED, INSIDE_RUNTIME = "/grading/autograded", "/grading/runtime"


def _inside(path: str, real: str, inside: str) -> str:
    """A path below ``real`` (as the worker sees it) as the sandbox shows it."""
    return inside + path[len(real):] if path == real or path.startswith(real + "/") else path


def _isolate(allowed: str, folder: str) -> None:
    """Inside the new mount and PID namespaces, as their process 1: see the docstring."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # /proc stays the sandbox's (a new one is refused under --disable-userns): it shows the
    # server and this kernel's processes, and nothing of earlier kernels, which are gone
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    _only(allowed, folder)
    _drop_privileges()


def _map_paths(request: dict, opts) -> None:
    """Rewrite the request's paths (folder, sockets, log) as the sandbox shows them."""
    runtime = os.path.realpath(opts.runtime)
    request["cwd"] = _inside(request["cwd"], os.path.realpath(opts.allowed), INSIDE_AUTOGRADED)
    info = json.loads(request["connection"])
    if info.get("transport") == "ipc":
        info["ip"] = _inside(info["ip"], runtime, INSIDE_RUNTIME)
    request["connection"] = json.dumps(info)
    if request.get("log"):
        request["log"] = _inside(request["log"], runtime, INSIDE_RUNTIME)


def _kernel(request: dict, opts) -> None:
    """Run one submission's kernel in this process (never returns)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setsid()  # its own process group: an interrupt (killpg) reaches the kernel alone
    os.makedirs("/tmp/matplotlib", exist_ok=True)
    connection = request["connection_file"]
    if opts.isolate:  # jupyter_client may have written it anywhere: a private copy
        connection = "/tmp/kernel.json"
        with open(connection, "w") as f:
            f.write(request["connection"])
    os.chdir(request["cwd"])
    os.environ.update({"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib"})
    os.environ.pop("COURSE_KERNEL_LOG", None)
    if request.get("log"):
        os.environ["COURSE_KERNEL_LOG"] = request["log"]
    resource.setrlimit(resource.RLIMIT_CPU, (opts.cpu, opts.cpu + 5))
    limit = opts.mem_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # no history database: nothing to write at exit, nothing for the next kernel to read
    sys.argv = ["ipykernel_launcher", "-f", connection, "--HistoryManager.enabled=False"]
    from ipykernel.kernelapp import IPKernelApp
    from kernel_guard import GradingKernel

    IPKernelApp.launch_instance(kernel_class=GradingKernel)
    os._exit(0)


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
            _kernel(request, opts)
        except BaseException as exc:  # noqa: BLE001 -- report it, never return to the loop
            print(f"fork server: kernel setup failed: {exc!r}", file=sys.stderr, flush=True)
        os._exit(70)
    if stop is not None:
        os._exit(_wait_or_end(kernel, stop, lambda: os.killpg(kernel, signal.SIGKILL)) & 0xFF)
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _spawn(request: dict, opts, listener: socket.socket, conn: socket.socket,
           stop: int, server_end: int) -> int:
    """Fork the intermediate process: with ``--isolate`` it makes the namespaces, whose
    process 1 sets up the mounts, drops every privilege and runs the kernel as its child.

    The intermediate ends the kernel when the server closes ``stop`` (the read end of a
    pipe), and exits only once it is gone: with ``--isolate`` it kills process 1, and
    Linux reports process 1 dead only after every process of its namespace has been
    killed and reaped. So once the server has reaped the intermediate, nothing of the
    submission runs any more: no late write can reach its folder after the worker has
    moved on to write the executed notebook there. (``server_end``: the pipe's write end,
    which only the server may hold.)"""
    pid = os.fork()
    if pid:
        return pid
    try:
        listener.close()
        conn.close()
        os.close(server_end)
        if not opts.isolate:
            _run_kernel_and_wait(request, opts, stop=stop)
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
        _map_paths(request, opts)
        init = os.fork()
        if init == 0:
            try:
                os.close(stop)
                _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                _isolate(INSIDE_AUTOGRADED, request["cwd"])
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


def serve(listener: socket.socket, opts) -> None:
    """One kernel at a time (a worker grades one submission at a time)."""
    allowed = os.path.realpath(opts.allowed)
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
            stop_read, stop = os.pipe()
            pid = _spawn(request, opts, listener, conn, stop_read, stop)
            os.close(stop_read)
            pidfd = os.pidfd_open(pid)
            try:
                # the client asks for the kernel's end by closing its side of the socket
                # (or goes away): closing ``stop`` makes the intermediate end the kernel
                select.select([conn, pidfd], [], [])
                os.close(stop)
                stop = None
                _, status = os.waitpid(pid, 0)  # the kernel and all it started are gone
                code = os.waitstatus_to_exitcode(status)
                try:
                    conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
                except OSError:
                    pass
            finally:
                os.close(pidfd)
                if stop is not None:
                    os.close(stop)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--allowed", required=True)
    parser.add_argument("--runtime", required=True)
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--mem-mb", type=int, required=True)
    parser.add_argument("--isolate", action="store_true")
    opts = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are messages to the kernel
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # ends with its worker
    listener = socket.socket(fileno=opts.fd)
    preload()
    if threading.active_count() != 1:  # forking a process with threads is not safe
        raise SystemExit(f"fork server: {threading.active_count()} threads after the imports")
    serve(listener, opts)


if __name__ == "__main__":
    main(sys.argv[1:])
