"""Start a grading kernel inside a bubblewrap sandbox (used by ``course grade``).

    python sandbox.py --lib SHARD/lib --allowed SHARD/autograded --runtime DIR \\
        --cpu SECONDS --mem-mb MB -f CONNECTION_FILE

This file is a kernel spec's launcher: jupyter_client starts it in the folder of the
notebook being graded (``SHARD/autograded/<student>/<assignment>``) and it replaces itself
with ``bwrap``, which starts the limited kernel (``limited_kernel.py``) in a sandbox where

* the file system holds only the operating system (``/usr``, ``/etc``), the Python
  environment, the course's ``utils`` and kernel modules (read-only, at ``/opt/grading``),
  the kernel's socket directory and **that submission's own folder** (the only writable
  place besides a private ``/tmp``). The instructor's ``source/``, the gradebook,
  ``release/``, ``feedback/``, other students and the course repository do not exist;
* there is no network (``--unshare-net``: the kernel talks to nbgrader over ``ipc://``
  sockets in the bind-mounted socket directory), its own PID, IPC and UTS namespaces, and
  the user is ``nobody`` (uid 65534) with no capabilities and no way to make a new user
  namespace;
* the CPU-time and memory limits of ``limited_kernel.py`` apply as before, and the
  sandbox dies with its launcher (``--die-with-parent``), so ``course grade``'s wall-time
  cap still ends it.

Only the standard library is used here: the file runs by path, before anything is set up.
``probe()`` tells ``course grade`` whether the sandbox can start on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

INSIDE_LIB = "/opt/grading"  # where the course's utils and kernel modules appear
KERNEL_FILES = ("limited_kernel.py", "kernel_guard.py")  # copied next to utils, see pool.py
NOBODY = "65534"


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


def bwrap_argv(lib: str, folder: str, runtime: str, command: list[str],
               env: dict[str, str] | None = None, files: tuple[str, ...] = ()) -> list[str]:
    """The bwrap command line that runs ``command`` with ``folder`` as its only writable
    folder (and working directory), ``lib`` at ``/opt/grading``, ``runtime`` for sockets
    and ``files`` (the connection file) read-only at their own paths."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed")
    argv = [bwrap, "--unshare-all", "--unshare-user", "--uid", NOBODY, "--gid", NOBODY,
            "--disable-userns", "--cap-drop", "ALL", "--die-with-parent",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",  # before the binds below
            *_system_mounts(), *_python_mounts(),
            "--ro-bind", lib, INSIDE_LIB,
            "--bind", runtime, runtime,
            "--bind", folder, folder]
    for path in files:
        argv += ["--ro-bind", path, path]
    argv += ["--clearenv"]
    inside_env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
                  "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONPATH": INSIDE_LIB,
                  "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    for key, value in inside_env.items():
        argv += ["--setenv", key, value]
    return [*argv, "--chdir", folder, "--", *command]


def probe() -> str | None:
    """None if a sandboxed Python can start and import numpy here, else why not."""
    with tempfile.TemporaryDirectory(prefix="course-sandbox-probe-") as tmp:
        lib, folder = Path(tmp) / "lib", Path(tmp) / "folder"
        lib.mkdir()
        folder.mkdir()
        try:
            argv = bwrap_argv(str(lib), str(folder), str(folder),
                              [sys.executable, "-c", "import numpy, os; "
                               "print(os.getuid(), os.path.exists('" + tmp + "/lib'))"])
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (FileNotFoundError, OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if proc.returncode != 0 or proc.stdout.split() != [NOBODY, "False"]:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return lines[-1] if lines else f"bwrap exited with {proc.returncode}"
    return None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    for name in ("--lib", "--allowed", "--runtime", "--cpu", "--mem-mb", "-f"):
        parser.add_argument(name, required=True)
    args, rest = parser.parse_known_args(argv)  # rest: nbgrader's options for the kernel
    folder = os.path.realpath(os.getcwd())
    allowed = os.path.realpath(args.allowed)
    if os.path.commonpath([folder, allowed]) != allowed or folder == allowed:
        raise SystemExit(f"refusing to sandbox {folder}: not a submission folder under {allowed}")
    env = {}
    log = os.environ.get("COURSE_KERNEL_LOG")
    if log:
        env["COURSE_KERNEL_LOG"] = log  # in the runtime folder, which the kernel can write
    command = [sys.executable, f"{INSIDE_LIB}/limited_kernel.py", "--cpu", args.cpu,
               "--mem-mb", args.mem_mb, "-f", args.f, *rest]
    connection = os.path.realpath(args.f)  # jupyter_client may write it anywhere (/tmp)
    full = bwrap_argv(args.lib, folder, args.runtime, command, env, files=(connection,))
    # An interrupt (a cell over its timeout) is SIGINT to the kernel's process group, bwrap
    # included: bwrap must ignore it, or it would die and take the kernel with it. The
    # kernel puts its own handler back (limited_kernel.py).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.execv(full[0], full)


if __name__ == "__main__":
    main(sys.argv[1:])
