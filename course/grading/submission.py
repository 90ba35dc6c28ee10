"""A submission and the options of a grading run: what every stage of ``course grade`` passes on.

``Submission`` is one ``submitted/<student>/<assignment>/`` folder and everything the run
learns of it (status, reason, notes, flags, score); ``Options`` are the run's settings;
``read_folder`` is the one way anything outside the sandbox reads a submission's files (no
link followed, no special file opened). Standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Submission:
    assignment: str
    student: str
    folder: str
    notebook: str | None = None
    status: str = "pending"  # pending, graded, failed, skipped
    reason: str = ""
    notes: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    digest: str = ""
    seconds: float = 0.0
    worker: int | None = None  # which of course grade's workers executed it
    attempts: int = 0  # gradings stopped by the machinery, not by the submission (retried)
    score: float | None = None
    max_score: float | None = None

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student}"


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    force: bool = False
    kernel_cpu: int = 60  # CPU seconds per notebook run: caps infinite loops
    cell_cpu: float = 15.0  # CPU seconds of one cell (the kernel and all it started)
    kernel_mem_mb: int = 2048  # memory of all a notebook's processes, its /tmp included
    kernel_pids: int = 128  # processes and threads of one notebook (where cgroups exist)
    cap: float = 300.0  # wall seconds one submission may take: a backstop (5 x kernel_cpu)
    sandbox: bool = True  # each kernel in bubblewrap (execute/sandbox); off only on request
    scheduler: str | None = None  # a Dask scheduler's address: execute there (distributed.py)


#: Wall time is a backstop, this many times the CPU limit it stands behind, and times the
#: machine's load per core (``load_factor``): a loaded machine slows a kernel down, it does
#: not make it use more CPU.
WALL_FACTOR = 5


def load_factor() -> float:
    """How much slower a busy process runs here now: the load average (last minute) per
    core, at least 1. Wall-time backstops are stretched by it."""
    return max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))
#: Times a submission is graded again when the machinery, not the submission, stopped it.
RETRIES = 1


def retry(sub: Submission, why: str) -> bool:
    """Note that grading ``sub`` was stopped by ``why`` (the machine, not the student); True
    if it may be graded again, False once it has had its ``RETRIES``."""
    sub.attempts += 1
    if sub.attempts > RETRIES:
        return False
    sub.notes.append(f"graded again (attempt {sub.attempts + 1}): {why}")
    return True


def fail(sub: Submission, reason: str) -> Submission:
    """Mark a submission as not gradable, with the reason the instructor will read."""
    sub.status, sub.reason = "failed", reason
    return sub


#: Lines of nbgrader's log that say nothing an instructor can act on.
_UNHELPFUL = ("see the above traceback", "see the the above traceback", "nbgraderexception",
              "traceback (most recent call last)")


def reason_from_log(log: str) -> str:
    """What an instructor can act on, from nbgrader's log of a failed grading: the kernel's
    death, a cell's timeout, or else the last error line that names something (never
    "Please see the above traceback")."""
    text = log.lower()
    if "deadkernel" in text or "kernel died" in text:
        return "the kernel died (os._exit, a crash, or the CPU-time cap for the notebook)"
    if "unresponsive" in text:
        return "the kernel stopped responding"
    if "celltimeouterror" in text or "cell execution timed out" in text:
        return "a cell ran past its wall-time backstop"
    for line in reversed(log.splitlines()):
        low = line.lower()
        if "error" in low and not any(u in low for u in _UNHELPFUL):
            return line.strip()[:160]
    return "nbgrader could not grade this submission (no error in its log)"


MAX_SUBMISSION_MB = 100  # all the files of one submission folder


def read_folder(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    """The regular files under a submission's folder, as {relative path: contents}, and
    what was left out: every symbolic link (never followed: a link to the gradebook,
    another student's work or ``/proc/self/mem`` brings nothing in) and every special file
    (a FIFO, a device). Raises ValueError over ``MAX_SUBMISSION_MB``, and OSError when the
    folder cannot be read: that submission fails, not the class's run."""
    files, left_out, total, stack = {}, [], 0, [""]
    while stack:
        rel = stack.pop()
        with os.scandir(folder / rel if rel else folder) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_symlink():
                    left_out.append(f"{name} (a link)")
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(name)
                elif not entry.is_file(follow_symlinks=False):
                    left_out.append(f"{name} (not a regular file)")
                else:
                    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                    with os.fdopen(fd, "rb") as fh:
                        total += os.fstat(fd).st_size
                        if total > MAX_SUBMISSION_MB * 2**20:
                            raise ValueError(f"the submission's files add up to more than "
                                             f"{MAX_SUBMISSION_MB} MB")
                        files[name] = fh.read()
    return dict(sorted(files.items())), sorted(left_out)


def submission_files(sub: Submission) -> dict[str, bytes]:
    """Everything in a submission's folder that is graded, as {relative path: contents}
    (``read_folder``: no link is followed)."""
    return read_folder(Path(sub.folder))[0]
