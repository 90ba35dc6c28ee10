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


def _api(shard: str):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=shard).load_config()
    config.CourseDirectory.root = shard
    config.CourseDirectory.db_url = "sqlite:///" + os.path.join(shard, "gradebook.db")
    # execute only: the scores that count are saved by course grade's single writer, which
    # runs SaveAutoGrades and AssignLatePenalties on the executed notebook
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import CheckCellMetadata, Execute, IgnorePattern, LimitOutput

    config.Autograde.autograde_preprocessors = [Execute, IgnorePattern,
                                                ClearMetadataPreprocessor, LimitOutput,
                                                CheckCellMetadata]
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir, config=config)


def _grading_files(shard: str) -> dict[str, bytes]:
    """What every submission in this shard is graded with: config, sources, utils, db."""
    files = {}
    for top in ("nbgrader_config.py", "gradebook.db", "source", "lib"):
        path = os.path.join(shard, top)
        paths = [path] if os.path.isfile(path) else [
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs
            if "__pycache__" not in d]
        for p in paths:
            with open(p, "rb") as fh:
                files[p] = fh.read()
    return files


def _restore(pristine: dict[str, bytes]) -> bool:
    """Rewrite any grading file that differs from its pristine bytes; True if one did."""
    changed = False
    for path, data in pristine.items():
        try:
            with open(path, "rb") as fh:
                same = fh.read() == data
        except OSError:
            same = False
        if not same:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
            changed = True
    return changed


def main(argv: list[str]) -> int:
    shard, tasks = argv[0], [t.split(":", 1) for t in argv[1:]]
    os.chdir(shard)
    with contextlib.redirect_stdout(io.StringIO()):  # keep stdout for our JSON lines
        api = _api(shard)
        for assignment in sorted({a for a, _ in tasks}):
            if not api.generate_assignment(assignment, force=True)["success"]:
                raise SystemExit(f"could not generate {assignment} in {shard}")
    pristine = _grading_files(shard)
    database = os.path.join(shard, "gradebook.db")
    watched = {p: data for p, data in pristine.items() if p != database}
    for assignment, student in tasks:
        start = time.perf_counter()
        _restore(pristine)  # each submission is graded with untouched files and gradebook
        with contextlib.redirect_stdout(io.StringIO()):
            result = api.autograde(assignment, student, force=True, create=True)
        notes = []
        if _restore(watched):  # the gradebook changes by design: grades were saved
            notes.append("changed the grading files of its scratch course (restored)")
        log = result.get("log", "") + result.get("error", "")
        print(json.dumps({"assignment": assignment, "student": student, "notes": notes,
                          "success": bool(result["success"]), "log": log[-3000:],
                          "seconds": round(time.perf_counter() - start, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
