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
  (``KernelGroup``, under the folders ``--cgroups`` hands over; ``course.cgroups``): memory
  (its tmpfs files included), processes and one core's share for all it starts, and its CPU
  time counted across them (the server ends it past ``--cpu``). RLIMIT_CPU and RLIMIT_AS are
  set in each kernel as well (a fork starts at zero CPU).
* **Report**: the kernel's guard writes its record to a pipe the server reads; the server's
  reply to the kernel command (exit, CPU time, whether a limit ended it, the guard's record)
  is written outside the sandbox by ``forkclient.py``.

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
import stat
import sys
import threading
import time

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x20000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_MOVE, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8192, 4096, 16384, 1 << 18)
PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
# beyond the notebook's own memory limit: the address space a kernel's threads reserve
# (stacks; MALLOC_ARENA_MAX=2), and the memory the kernel itself uses (its share of the
# preloaded pages it writes to, its sockets), charged to its control group
THREADS_MB, KERNEL_MB = 64, 256
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


class KernelGroup:
    """One kernel's control group in each hierarchy the server was handed (``--cgroups``:
    {controller: an open directory descriptor}, see ``course.cgroups``): its memory (tmpfs
    files included), process count and CPU share are capped, and its CPU time is counted
    across every process it starts. Empty (no descriptors): nothing is done, and ``usage``
    is None."""

    def __init__(self, dirs: dict[str, int], name: str, opts):
        self.dirs, self.name = dirs, name
        for fd in dirs.values():
            os.mkdir(name, dir_fd=fd)
        memory = str((opts.mem_mb + KERNEL_MB) * 2**20)
        limits = {"memory": [("memory.limit_in_bytes", memory),
                             ("memory.memsw.limit_in_bytes", memory)],
                  "pids": [("pids.max", str(opts.pids))],
                  "cpu": [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "100000")],
                  "v2": [("memory.max", memory), ("memory.swap.max", "0"),
                         ("pids.max", str(opts.pids)), ("cpu.max", "100000 100000")]}
        for controller, fd in dirs.items():
            for file, value in limits.get(controller, []):
                try:
                    self._write(fd, file, value)
                except OSError:  # no swap accounting: memory.memsw / memory.swap absent
                    if "sw" not in file:
                        raise

    def _write(self, fd: int, file: str, value: str) -> None:
        handle = os.open(f"{self.name}/{file}", os.O_WRONLY, dir_fd=fd)
        try:
            os.write(handle, value.encode())
        finally:
            os.close(handle)

    def _read(self, controller: str, file: str) -> str:
        handle = os.open(f"{self.name}/{file}", os.O_RDONLY, dir_fd=self.dirs[controller])
        try:
            return os.read(handle, 65536).decode()
        finally:
            os.close(handle)

    def join(self) -> None:
        """Move the calling process (and so all it will start) into the group."""
        for fd in self.dirs.values():
            self._write(fd, "cgroup.procs", "0")

    def usage(self) -> float | None:
        """CPU seconds used by every process of the group so far."""
        if "cpuacct" in self.dirs:
            return int(self._read("cpuacct", "cpuacct.usage")) / 1e9
        if "v2" in self.dirs:
            for line in self._read("v2", "cpu.stat").splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
        return None

    def oom_kills(self) -> int:
        """How many of the group's processes the memory limit killed."""
        key = {"memory": "memory.oom_control", "v2": "memory.events"}
        for controller, file in key.items():
            if controller in self.dirs:
                for line in self._read(controller, file).splitlines():
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        return 0

    def remove(self) -> None:
        """Remove the group once its processes are gone (they may take a moment to leave)."""
        for fd in self.dirs.values():
            for _ in range(100):
                try:
                    os.rmdir(self.name, dir_fd=fd)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


# where the sandbox shows the worker's autograded/ and runtime folders (course.sandbox)
INSIDE_AUTOGRADED, INSIDE_RUNTIME = "/grading/autograded", "/grading/runtime"


def _inside(path: str, real: str, inside: str) -> str:
    """A path below ``real`` (as the worker sees it) as the sandbox shows it."""
    return inside + path[len(real):] if path == real or path.startswith(real + "/") else path


def _python_prefixes() -> list[str]:
    """The Python environment's folders that a fresh ``/tmp`` would hide (a virtual
    environment made under ``/tmp``): they are mounted again on top of it."""
    found = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(p for p in found if p == "/tmp" or p.startswith("/tmp/"))


def _fresh_tmp(mem_mb: int) -> None:
    """A private, size-limited ``/tmp``, with the Python environment in it kept."""
    kept = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in _python_prefixes()]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={mem_mb}m")
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def _copy_regular(src: str, dst: str) -> None:
    """Copy the folders and regular files under ``src`` into ``dst``; follow no link."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for name in dirnames:
            os.makedirs(os.path.join(dst, rel, name), exist_ok=True)
        for name in filenames:
            source = os.path.join(dirpath, name)
            try:
                fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a link: never followed
            with os.fdopen(fd, "rb") as fin:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue  # a FIFO or a device
                with open(os.path.join(dst, rel, name), "wb") as fout:
                    while chunk := fin.read(1 << 20):
                        fout.write(chunk)


def _private_folder(allowed: str, folder: str, mem_mb: int) -> None:
    """Hide everything under ``allowed`` (every student's folder) and show the kernel a
    copy of its own submission's folder in a size-limited tmpfs: what the kernel writes
    there stays in memory (counted by its limits) and is gone with it, so nothing it
    leaves (a link, a FIFO, gigabytes) ever reaches the worker that writes the executed
    notebook into the real folder."""
    staging = "/tmp/.submission"
    os.makedirs(staging)
    _mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0755,size={mem_mb}m")
    _copy_regular(folder, staging)
    _mount("tmpfs", allowed, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.makedirs(folder)
    _mount(staging, folder, None, MS_MOVE)
    os.rmdir(staging)


def _hide_processes() -> None:
    """Cover ``/proc/<pid>`` of every process now running in the sandbox (the server, the
    intermediate and this one) with an empty, unreadable tmpfs: the kernel, started after,
    finds no other process's root, environment, memory or file descriptors. (A new
    ``/proc`` is refused in this namespace: bwrap's ``/proc`` has locked sub-mounts.)"""
    for name in os.listdir("/proc"):
        if name.isdigit():
            _mount("tmpfs", f"/proc/{name}", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "mode=000,size=4k")


def _isolate(allowed: str, folder: str, mem_mb: int) -> None:
    """Inside the new mount and PID namespaces, as their process 1: see the docstring."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _fresh_tmp(mem_mb)
    _private_folder(allowed, folder, mem_mb)
    _hide_processes()
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
    os.environ.pop("COURSE_KERNEL_LOG", None)  # the guard reports to the server's pipe
    os.environ["COURSE_GUARD_FD"] = str(request["guard_fd"])
    resource.setrlimit(resource.RLIMIT_CPU, (opts.cpu, opts.cpu + 5))
    # address space: the preloaded modules (shared with the server), the kernel's threads'
    # stacks and the memory limit, so that one runaway allocation raises MemoryError in its
    # cell before the control group's limit is reached; that one caps the memory all the
    # notebook's processes really use, its files in /tmp and its folder included
    with open("/proc/self/statm") as fh:
        preloaded = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = preloaded + (opts.mem_mb + THREADS_MB) * 1024 * 1024
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
        _map_paths(request, opts)
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


MAX_GUARD_BYTES = 1 << 18  # what a kernel's guard may report (a kernel can write there too)


def _read_some(fd: int, got: bytearray) -> bool:
    """Append what the pipe ``fd`` holds to ``got`` (up to the cap); False at its end."""
    chunk = os.read(fd, 65536)
    if len(got) < MAX_GUARD_BYTES:
        got += chunk[:MAX_GUARD_BYTES - len(got)]
    return bool(chunk)


def _run_one(conn: socket.socket, request: dict, opts, listener: socket.socket,
             number: int) -> dict:
    """Run one kernel until the client asks for its end (closes its side), goes away, or
    the kernel ends; end it, wait until all it started is gone; the report for the client:
    its exit code, the CPU time of all its processes, whether the CPU or memory limit
    ended it, and what its guard reported."""
    group = KernelGroup(opts.cgroups, f"k{number}", opts)
    stop_read, stop = os.pipe()
    guard_read, guard = os.pipe()
    closing = [listener.fileno(), conn.fileno(), stop, guard_read, *opts.cgroups.values()]
    pid = _spawn(request, opts, {"stop": stop_read, "guard": guard, "close": closing}, group)
    os.close(stop_read)
    os.close(guard)
    pidfd = os.pidfd_open(pid)
    report, reported, watching = {"cpu_limit": False}, bytearray(), [conn, pidfd, guard_read]
    try:
        while True:
            ready, _, _ = select.select(watching, [], [], 0.1 if opts.cgroups else None)
            if guard_read in ready and not _read_some(guard_read, reported):
                watching.remove(guard_read)
            used = group.usage()
            if used is not None and used > opts.cpu:
                report["cpu_limit"] = True  # across every process it started
                break
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
