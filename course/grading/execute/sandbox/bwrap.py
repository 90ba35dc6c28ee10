"""The bubblewrap sandbox that a grading worker's kernels run in (used by ``course grade``).

A grading worker starts one fork server (``forkserver.py``) per shard with
``server_argv``: ``bwrap`` runs it in a sandbox where

* the file system holds only the operating system (``/usr``, ``/etc``), the Python
  environment, the course's ``utils`` and kernel modules (read-only, at ``/opt/grading``),
  the kernels' socket directory and the worker's ``autograded/`` folder. The instructor's
  ``source/``, the gradebook, ``release/``, ``feedback/``, the real ``submitted/`` folders,
  other workers and the course repository do not exist;
* there is no network (``--unshare-net``: kernels talk to nbgrader over ``ipc://`` sockets
  in the bind-mounted socket directory), its own PID, IPC and UTS namespaces, and its user
  namespace maps a single user, in which no new user namespace can be made;
* it dies with the worker (``--die-with-parent``), so ``course grade``'s wall-time cap
  still ends everything in it;
* nothing of the grading machine's environment is inside: bwrap is started with an empty
  environment (its own process would show it in ``/proc``), and it runs no init process of
  its own (``--as-pid-1``): the fork server is the sandbox's process 1.

The server keeps its capabilities inside that user namespace for one purpose: each
kernel it forks makes its own mount, PID and IPC namespaces, sees only its own
submission's folder and a fresh ``/tmp``, and then drops every capability before running
a line of student code (``forkserver.py`` says how, and why it is safe).

A sandboxed kernel writes only to a private in-memory copy of its folder. Without the
sandbox it writes to the folder itself, so what a kernel leaves there is untrusted:
``tidy_kernel_folder`` removes every link and special file from it before the worker writes
the executed notebook there or anything is copied out of it.

Only the standard library is used here. ``probe()`` tells ``course grade`` whether the
sandbox can start on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

INSIDE_LIB = "/opt/grading"  # where the course's utils and kernel modules appear
# where the worker's autograded/ and the kernels' socket folder appear (not under /tmp,
# which every kernel gets fresh)
INSIDE_AUTOGRADED, INSIDE_RUNTIME = "/grading/autograded", "/grading/runtime"
# copied next to utils (shard.prepare_kernel): the server and the kernel's own modules
KERNEL_FILES = ("forkserver.py", "grading_kernel.py", "isolation.py", "cgroups.py",
                "kernel_guard.py")
# what a submission's folder may hold once its kernel has run (files and folders, bytes)
MAX_LEFT_ENTRIES, MAX_LEFT_MB = 1000, 200


def tidy_kernel_folder(folder: Path) -> None:
    """Remove what a kernel may have left in its submission's folder that a grading step
    outside the sandbox would follow out of it, at any depth and without following any:
    symbolic links (a notebook "saved" through a link to another student's submission, a
    course file or ``/dev/zero``) and special files (a FIFO blocks a copy). Call it once
    the kernel has ended (``readyclient.ReadyKernelManager``). Raises ValueError
    when the folder then holds more than ``MAX_LEFT_ENTRIES`` entries or ``MAX_LEFT_MB``
    MB: the submission fails rather than the class's grading."""
    entries, size, stack = 0, 0, [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as found:
            for entry in found:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    size += entry.stat(follow_symlinks=False).st_size
                else:
                    os.unlink(entry.path)
                    continue
                entries += 1
        if entries > MAX_LEFT_ENTRIES or size > MAX_LEFT_MB * 2**20:
            raise ValueError(f"the notebook left more than {MAX_LEFT_ENTRIES} files or "
                             f"{MAX_LEFT_MB} MB in its folder")


def _system_mounts() -> list[str]:
    """The operating system, read-only; /bin, /lib... are symlinks into /usr on Debian."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _python_mounts() -> list[str]:
    """The Python environment (interpreter and site-packages), read-only."""
    args: list[str] = []
    for prefix in sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}):
        if not prefix.startswith(("/usr/", "/etc/")) and prefix != "/usr":
            args += ["--ro-bind", prefix, prefix]
    return args


def server_argv(lib: str, allowed: str, runtime: str, command: list[str],
                env: dict[str, str] | None = None) -> list[str]:
    """The bwrap command line that runs ``command`` (the fork server) with ``allowed`` (the
    worker's ``autograded/``) as its only writable folder and working directory, at
    ``INSIDE_AUTOGRADED``, ``lib`` at ``INSIDE_LIB`` and ``runtime`` (the kernels'
    sockets) at ``INSIDE_RUNTIME``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed")
    argv = [bwrap, "--unshare-all", "--unshare-user", "--uid", "0", "--gid", "0",
            "--disable-userns", "--cap-add", "ALL", "--die-with-parent",
            "--as-pid-1",  # no bwrap process inside: the fork server is process 1
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",  # before the binds below
            *_system_mounts(), *_python_mounts(),
            "--ro-bind", lib, INSIDE_LIB,
            "--bind", runtime, INSIDE_RUNTIME,
            "--bind", allowed, INSIDE_AUTOGRADED, "--clearenv"]
    inside_env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
                  "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONPATH": INSIDE_LIB,
                  "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
                  "OMP_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                  "MALLOC_ARENA_MAX": "2", **(env or {})}
    for key, value in inside_env.items():
        argv += ["--setenv", key, value]
    return [*argv, "--chdir", INSIDE_AUTOGRADED, "--", *command]


# In the sandbox, as the fork server will: make the namespaces a kernel gets, mount its
# fresh /tmp (the Python environment kept, even when it lives under /tmp), import numpy.
_PROBE = """
import ctypes, os, sys
import isolation
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x00020000 | 0x20000000 | 0x08000000) != 0:
    sys.exit('cannot make mount/PID namespaces: ' + os.strerror(ctypes.get_errno()))
pid = os.fork()
if pid == 0:
    try:
        isolation._mount(None, '/', None, isolation.MS_REC | isolation.MS_PRIVATE)
        isolation._fresh_tmp(64)
    except OSError as exc:
        print('cannot mount a private /tmp in a kernel namespace:', exc, file=sys.stderr)
        os._exit(3)
    try:
        import numpy  # noqa: F401
    except ImportError as exc:
        print('a kernel cannot import numpy:', exc, file=sys.stderr)
        os._exit(4)
    os._exit(0)
_, status = os.waitpid(pid, 0)
if status:
    sys.exit(1)
print(os.path.exists(sys.argv[1]))
"""


def probe() -> str | None:
    """None if the grading sandbox (a fork server's namespaces) can start here, else why."""
    with tempfile.TemporaryDirectory(prefix="course-sandbox-probe-") as tmp:
        lib, folder = Path(tmp) / "lib", Path(tmp) / "folder"
        lib.mkdir()
        folder.mkdir()
        shutil.copy2(Path(__file__).with_name("isolation.py"), lib / "isolation.py")
        try:
            argv = server_argv(str(lib), str(folder), str(lib),
                               [sys.executable, "-c", _PROBE, f"{tmp}/lib"])
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={})
        except (FileNotFoundError, OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode != 0 or proc.stdout.split() != ["False"]:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return lines[-1] if lines else f"bwrap exited with {proc.returncode}"
    return None
