"""Control groups for grading kernels: limits that hold for a submission as a whole.

A process's own limits (RLIMIT_CPU, RLIMIT_AS) hold per process, so a notebook that forks
64 busy children, or fills a ``/tmp`` in memory, escapes them. A control group counts every
process a submission starts: its CPU time (and its share of the machine), its memory (page
cache and tmpfs files included) and the number of its processes and threads.

``course grade`` and each Dask worker make one folder per fork server, always a *child of
their own cgroup* in each hierarchy they can write (they never change a parent's settings):

* cgroup v1 (separate ``cpu``, ``cpuacct``, ``memory`` and ``pids`` hierarchies, as on this
  machine): ``<mount>/<controller>/<own path>/course-<pid>-<n>/``;
* cgroup v2 (one unified hierarchy): ``<own path>/course-<pid>-<n>/``, used only when the
  controllers are enabled for our children (``cgroup.subtree_control``).

The folders are handed to the fork server as open directory descriptors (it runs in a
sandbox that does not show ``/sys``); the server makes one sub-group per kernel
(``forkserver.KernelGroup``: its limits, accounting and removal) and moves the kernel's
first process into it before any student code runs. Only the standard library is used
here. ``available()`` says what the machine offers; without it, the fork server falls back
to per-process limits and size-limited tmpfs mounts (``docs/deployment.md``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import time
from pathlib import Path

V1_ROOT, V2_ROOT = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup")
CONTROLLERS = ("cpu", "cpuacct", "memory", "pids")  # v1 names; v2 has cpu, memory, pids
_count = itertools.count()
# the memory the kernel itself uses beyond the notebook's own limit (its share of the
# preloaded pages it writes to, its sockets), charged to its control group
KERNEL_MB = 256


def _own_paths() -> dict[str, str]:
    """{hierarchy: this process's cgroup path} from /proc/self/cgroup ("" = v2)."""
    found = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as fh:
        for line in fh:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                found[name] = path
    return found


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _v1_parents() -> dict[str, Path]:
    own = _own_paths()
    parents = {}
    for name in CONTROLLERS:
        if name not in own:
            continue
        for mount in (V1_ROOT / name, V1_ROOT / "cpu,cpuacct"):
            candidate = mount / own[name].lstrip("/")
            if (mount / "cgroup.procs").exists() and _writable(candidate):
                parents[name] = candidate
                break
    return parents


def _v2_parent() -> Path | None:
    own = _own_paths().get("")
    if own is None or not (V2_ROOT / "cgroup.controllers").exists():
        return None
    parent = V2_ROOT / own.lstrip("/")
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return None
    if {"cpu", "memory", "pids"} <= set(enabled) and _writable(parent):
        return parent
    return None


def available() -> dict[str, Path]:
    """{controller: the folder our children go in}: every v1 controller we can write, or
    the unified hierarchy (key ``"v2"``) when it delegates cpu, memory and pids to us;
    {} when neither (the fallback limits apply)."""
    parents = _v1_parents()
    if {"cpuacct", "memory", "pids"} <= set(parents):
        return parents
    v2 = _v2_parent()
    return {"v2": v2} if v2 else {}


def _remove_tree(path: Path) -> None:
    """Remove an (empty of processes) cgroup folder and its sub-groups, deepest first."""
    if not path.is_dir():
        return
    for child in sorted((p for p in path.iterdir() if p.is_dir()), reverse=True):
        _remove_tree(child)
    with contextlib.suppress(OSError):
        path.rmdir()


def _sweep(parent: Path) -> None:
    """Remove folders left by grading processes that are gone (killed outright)."""
    for left in parent.glob("course-*-*"):
        try:
            pid = int(left.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            _remove_tree(left)


class ServerGroups:
    """One fork server's cgroup folders (one per hierarchy), made under ours; ``fds()``
    opens them for the server; ``remove()`` takes them away once it has ended."""

    def __init__(self):
        self.paths: dict[str, Path] = {}
        name = f"course-{os.getpid()}-{next(_count)}"
        for controller, parent in available().items():
            _sweep(parent)
            path = parent / name
            try:
                path.mkdir()
            except OSError:
                continue
            self.paths[controller] = path
            if controller == "v2":  # kernels' groups below get the three controllers
                with contextlib.suppress(OSError):
                    (path / "cgroup.subtree_control").write_text("+cpu +memory +pids")
        if self.paths.keys() != available().keys():  # all or nothing
            self.remove()

    def fds(self) -> dict[str, int]:
        """{controller: an open O_DIRECTORY descriptor} to pass to the fork server."""
        return {c: os.open(p, os.O_RDONLY | os.O_DIRECTORY) for c, p in self.paths.items()}

    def remove(self) -> None:
        for path in self.paths.values():
            _remove_tree(path)
        self.paths = {}


class KernelGroup:
    """One kernel's control group in each hierarchy the server was handed (``--cgroups``:
    {controller: an open directory descriptor}, see ``ServerGroups``): its memory (tmpfs
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

    def interrupt(self, keep: int) -> None:
        """SIGINT to every process of the group but ``keep`` (the kernel's intermediate; the
        namespace's process 1 ignores it): the kernel's running cell stops as with Ctrl-C."""
        controller = next(iter(self.dirs))
        for pid in {int(p) for p in self._read(controller, "cgroup.procs").split()} - {keep, 0}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)

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


class CellClock:
    """Which cell a kernel runs, from its guard's records as they arrive (one JSON line per
    cell it starts: ``kernel_guard``), and its group's CPU time when that cell began: the
    fork server's clock for the CPU limit of one cell."""

    def __init__(self):
        self.pending, self.number, self.line, self.start = b"", 0, "", 0.0

    def feed(self, chunk: bytes, used: float | None) -> None:
        lines = (self.pending + chunk).split(b"\n")
        self.pending = lines.pop()[-4096:]
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "undone" not in record and "cell" in record:
                self.number, self.line = record["cell"], str(record.get("line", ""))[:80]
                self.start = used or 0.0

    def over(self, used: float, limit: float) -> dict | None:
        """The cell that has used more than ``limit`` CPU seconds since it began, if any."""
        cpu = round(used - self.start, 1)
        return {"cell": self.number, "line": self.line, "cpu": cpu} if cpu > limit else None
