"""A real JupyterHub for the semester test (tests/test_hub.py), set up the way
docs/deployment.md §2 tells an administrator to, on 127.0.0.1, with ``deploy/``'s files.

``Hub`` creates real Linux users (private homes, PAM passwords), the exchange, the students'
Python environment with the student edition of ``utils``, the instructor's course folder,
starts ``jupyterhub`` (with configurable-http-proxy from npm) and stops it, then removes what
it made. ``run_as`` runs a command as one of its users, the way they would in a terminal.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COURSE_ID = "dl-fundamentals"
INSTRUCTOR = "teacher"
STUDENTS = ("alice", "bob", "carol")
PATH = "/usr/local/bin:/usr/bin:/bin"


def missing() -> str | None:
    """None if this machine can run the hub test, else why not."""
    if os.geteuid() != 0:
        return "the hub test creates Linux users: run it as root (CI does)"
    for tool in ("configurable-http-proxy", "useradd", "runuser", "chpasswd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (.ci/run installs it)"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "jupyterhub is not installed (requirements.txt)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _traversable(path: Path) -> list[tuple[Path, int]]:
    """Let every user reach ``path`` (the interpreter under /root, as pyenv installs it):
    each parent without o+x gets it; returns what to restore."""
    changed = []
    for parent in [*reversed(path.parents)]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            changed.append((parent, stat.S_IMODE(mode)))
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
    return changed


class Hub:
    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="dlf-hub-"))
        self.base.chmod(0o755)
        self.exchange = self.base / "exchange"
        self.jupyter = self.base / "jupyter"
        self.state = self.base / "state"
        self.student_env = self.base / "student-env"
        self.passwords = {u: secrets.token_urlsafe(12) for u in (INSTRUCTOR, *STUDENTS)}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.course = Path("/home") / INSTRUCTOR / COURSE_ID
        self.proc = None
        self._restore: list[tuple[Path, int]] = []

    # set-up, as docs/deployment.md §2 gives it -------------------------------------------
    def set_up(self) -> None:
        self._restore = _traversable(Path(sys.executable).resolve())
        for user in (INSTRUCTOR, *STUDENTS):  # left over from an interrupted run: gone
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            subprocess.run(["userdel", "-r", user], capture_output=True)
            subprocess.run(["useradd", "--create-home", "-K", "HOME_MODE=0700",
                            "--shell", "/bin/bash", user], check=True)
        subprocess.run(["chpasswd"], check=True, text=True,
                       input="".join(f"{u}:{p}\n" for u, p in self.passwords.items()))
        shutil.copytree(ROOT / "deploy" / "jupyter", self.jupyter)
        self.state.mkdir(mode=0o700)
        # the students' Python: the course's packages and the student edition of utils
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                        str(self.student_env)], check=True)
        wheels = self.base / "wheels"
        subprocess.run([sys.executable, "-m", "course", "edition", "--released",
                        "--out", str(wheels)], check=True, capture_output=True, cwd=ROOT)
        subprocess.run([str(self.student_env / "bin" / "python"), "-m", "pip", "install",
                        "--quiet", "--no-deps", "--disable-pip-version-check",
                        *map(str, wheels.glob("*.whl"))], check=True)
        # the exchange: everybody may create in it, nobody removes another's folder
        self.exchange.mkdir()
        self.exchange.chmod(0o1777)
        # the instructor's course folder: the repository's files (not what git ignores)
        files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        for name in files:
            if (ROOT / name).is_file():
                (self.course / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.course / name)
        subprocess.run(["chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", str(self.course)],
                       check=True)
        # the course's folders in the exchange, made by the instructor: inbound/ is
        # set-group-ID (submissions get the instructor's group) and sticky
        for sub, mode in (("", "755"), ("inbound", "3733"), ("outbound", "755"),
                          ("feedback", "711")):
            folder = self.exchange / COURSE_ID / sub
            self.run_as(INSTRUCTOR, ["mkdir", "-p", str(folder)])
            self.run_as(INSTRUCTOR, ["chmod", mode, str(folder)])

    def env(self, user: str) -> dict[str, str]:
        """The environment a user's terminal on the hub has (their server's)."""
        role = "instructor" if user == INSTRUCTOR else "student"
        env = {"HOME": f"/home/{user}", "USER": user, "LOGNAME": user, "PATH": PATH,
               "JUPYTER_CONFIG_PATH": f"{self.jupyter}/{role}:{self.jupyter}",
               "DLF_EXCHANGE": str(self.exchange),
               "LANG": "C.UTF-8"}
        if user == INSTRUCTOR:
            env.update(PYTHONPATH=str(self.course), DLF_COURSE_DIR=str(self.course),
                       PATH=f"{Path(sys.executable).parent}:{PATH}")
        else:
            env.update(PATH=f"{self.student_env / 'bin'}:{PATH}")
        return env

    def run_as(self, user: str, argv: list[str], check: bool = True, timeout: float = 600,
               cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
        cwd = cwd or (self.course if user == INSTRUCTOR else Path("/home") / user)
        proc = subprocess.run(["runuser", "-u", user, "--", "env", "-i",
                               *(f"{k}={v}" for k, v in self.env(user).items()), *argv],
                              cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{user}: {' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n"
                               f"{proc.stderr[-3000:]}")
        return proc

    # the hub ---------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> None:
        env = dict(os.environ, DLF_HUB_PORT=str(self.port), DLF_HUB_STATE=str(self.state),
                   DLF_HUB_API_PORT=str(_free_port()), DLF_PROXY_API_PORT=str(_free_port()),
                   DLF_JUPYTER=str(self.jupyter), DLF_STUDENT_ENV=str(self.student_env),
                   DLF_INSTRUCTORS=INSTRUCTOR, DLF_STUDENTS=",".join(STUDENTS),
                   DLF_EXCHANGE=str(self.exchange))
        self.log = open(self.base / "jupyterhub.log", "w")  # noqa: SIM115 -- closed in stop
        config = ROOT / "deploy" / "jupyterhub_config.py"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.state, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/hub/api/", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterHub did not start:\n" + self.log_text()) from None
                time.sleep(0.3)

    def log_text(self, tail: int = 4000) -> str:
        return (self.base / "jupyterhub.log").read_text()[-tail:]

    def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the hub stops the servers it started
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.log.close()
        for user in (INSTRUCTOR, *STUDENTS):
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)

    def tear_down(self) -> None:
        self.stop()
        for user in (INSTRUCTOR, *STUDENTS):
            subprocess.run(["userdel", "-r", user], capture_output=True)
        for path, mode in reversed(self._restore):
            path.chmod(mode)
        shutil.rmtree(self.base, ignore_errors=True)
