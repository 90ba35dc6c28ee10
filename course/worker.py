"""A grading worker: executes submissions with nbgrader in its own scratch course.

    python -m course.worker SHARD_DIR ASSIGNMENT:STUDENT [ASSIGNMENT:STUDENT ...]

The shard directory holds a copy of the course config and sources and its own sqlite
gradebook (made here by ``generate_assignment``); nbgrader's Autograde runs here without
its scoring steps. What counts is the executed notebook under ``SHARD_DIR/autograded/``,
which ``course grade`` scores into the real gradebook with a single writer. One JSON line
per submission is printed as soon as it is done, so the parent can show progress and
notice a hang.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

from course import gradebook
from course.kernel_guard import read_log
from course.snapshot import Snapshot, files_under


def _snapshot(shard: str) -> Snapshot:
    """What every submission in this shard is graded with: config, sources, utils, db."""
    root = Path(shard)
    files = files_under(root, ["nbgrader_config.py", "gradebook.db", "source", "lib"])
    return Snapshot(root, files)  # kept in memory: a submission cannot reach the copy


def main(argv: list[str]) -> int:
    shard, tasks = argv[0], [t.split(":", 1) for t in argv[1:]]
    os.chdir(shard)
    # execute only: the scores that count are saved by course grade's single writer
    api = gradebook.api(Path(shard), "execute",
                        db_url="sqlite:///" + os.path.join(shard, "gradebook.db"),
                        kernel_ipc=os.environ.get("COURSE_KERNEL_IPC"))
    with contextlib.redirect_stdout(io.StringIO()):  # keep stdout for our JSON lines
        for assignment in sorted({a for a, _ in tasks}):
            made = api.generate_assignment(assignment, force=True)
            if not made["success"]:
                why = (made.get("error") or made.get("log") or "").strip().splitlines()[-1:]
                raise SystemExit(f"could not generate {assignment} in {shard}: {''.join(why)}")
    pristine = _snapshot(shard)
    logs = Path(os.environ.get("JUPYTER_RUNTIME_DIR", Path(shard) / ".rt"))  # kernel-writable
    logs.mkdir(exist_ok=True)
    for assignment, student in tasks:
        start = time.perf_counter()
        pristine.restore()  # each submission is graded with untouched files and gradebook
        log_path = logs / f"{assignment}--{student}.jsonl"
        log_path.unlink(missing_ok=True)
        os.environ["COURSE_KERNEL_LOG"] = str(log_path)  # the grading kernel inherits it
        with contextlib.redirect_stdout(io.StringIO()):
            result = api.autograde(assignment, student, force=True, create=True)
        flags = read_log(str(log_path))
        notes = []
        if pristine.restore(skip=["gradebook.db"]):  # the gradebook changes by design
            notes.append("changed the grading files of its scratch course (restored)")
        log = result.get("log", "") + result.get("error", "")
        print(json.dumps({"assignment": assignment, "student": student, "notes": notes,
                          "flags": flags,
                          "success": bool(result["success"]), "log": log[-3000:],
                          "seconds": round(time.perf_counter() - start, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
