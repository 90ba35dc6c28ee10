"""Stage 2 of a grading run: execute each submission's notebook with nbgrader, sandboxed.

Two executors implement ``Executor``: ``local.LocalPool`` (worker processes on this
machine, forked from the grading process) and ``dask.DaskExecutor`` (a Dask cluster:
``course grade --scheduler``). Each hands a submission to a ``worker`` process in a scratch
course (``shard``) whose kernels are forked, one per submission, by a fork server in the
sandbox (``sandbox/``: the files that run there or next to it, standard library only);
``readyclient`` makes those kernels start and end without idle waits. What the executors
have in common is here: the interface, and ``take_result`` for a worker's report.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from ...coursedir import Course
from ..submission import Options, Submission, fail, reason_from_log, retry

Done = Callable[[Submission, Path], None]


class Executor(ABC):
    """Runs the notebooks of a course's submissions for the assignments ``names``.

    ``start()`` may be called early (before the submissions are checked) to overlap the
    workers' start-up with that; ``run`` executes and calls ``done(sub, folder)`` for each
    executed notebook as it comes in; ``close()`` ends what is left. ``tmp`` is a scratch
    folder the executor may use until ``close``."""

    def __init__(self, course: Course, names: list[str], opts: Options, tmp: Path):
        self.course, self.names, self.opts, self.tmp = course, sorted(names), opts, tmp

    def start(self, count: int) -> None:  # noqa: B027 -- optional: nothing to start early
        """Start ``count`` workers now, before ``run`` (where that saves time)."""

    @abstractmethod
    def run(self, subs: list[Submission], bar, done: Done | None = None) -> dict[str, Path]:
        """Execute ``subs``; {key: folder of the executed notebook} of the successes."""

    def close(self) -> None:  # noqa: B027 -- optional
        """End the workers that are left."""


def again(sub: Submission, result: dict) -> bool:
    """True if a worker's report on ``sub`` says the machinery stopped it (the kernel did
    not start, a cell hit its wall-time backstop without reaching its CPU limit) and it may
    be graded again (``submission.retry``: noted in its run record)."""
    return (sub.status != "failed" and not result.get("success")
            and bool(result.get("retry")) and retry(sub, result.get("reason", "")))


def take_result(sub: Submission, result: dict, folder: Path | None,
                executed: dict[str, Path], done: Done | None) -> None:
    """What an executor does with a worker's report on ``sub`` (``folder``: where its
    executed notebook is, None if there is none)."""
    sub.seconds = result.get("seconds", 0.0)
    sub.flags += result.get("flags", [])  # what the scan and the kernel's guard saw
    if result.get("success") and folder is not None:
        executed[sub.key] = folder
        sub.notes += result.get("notes", [])
        if done:
            done(sub, folder)
    else:
        reason = result.get("reason") or reason_from_log(result.get("log", ""))
        fail(sub, f"{reason} ({sub.attempts} attempts)" if result.get("retry") else reason)


def tick(bar, subs: list[Submission]) -> None:
    """One more submission done: the progress bar, with the failures so far."""
    bar.update(1)
    bar.set_postfix(failures=sum(s.status == "failed" for s in subs))
