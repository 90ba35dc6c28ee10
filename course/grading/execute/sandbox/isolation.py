"""What makes a kernel's namespaces a submission's own: mounts, hidden processes, no privileges.

Called by the fork server (``forkserver.py``) in each kernel's new mount and PID namespaces,
as their process 1, before the kernel is forked: a fresh size-limited ``/tmp`` (the Python
environment mounted again in it when it lives there), a private in-memory copy of the
submission's folder with every other student's hidden, the ``/proc`` folders of the
sandbox's other processes covered, then every capability dropped (``_isolate``). Also
``main``'s own ``PR_SET_DUMPABLE``. Standard library only (``ctypes`` for the system calls
Python has no wrapper for); run by path in the sandbox, next to ``forkserver.py``.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWIPC = 0x00020000, 0x20000000, 0x08000000

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_MOVE, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8192, 4096, 16384, 1 << 18)


PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 1, 24, 38

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
