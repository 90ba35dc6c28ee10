"""nbgrader's configuration, its API and the gradebook, in one place.

The course's ``nbgrader_config.py`` (``load_config``), nbgrader's API made fast for many
submissions (``make_api``: shared SQLAlchemy engines, cell metadata checked with validators
made once) and what the gradebook holds (``results``, ``add_students``, ``has_notebooks``).
``course.coursedir.Course`` is how the rest of the package reaches these; the grading
phases' pipelines are ``course.grading.passes``. Imports nbgrader and the standard library.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SAWarning


def load_config(root: Path):
    """The course's nbgrader configuration (``nbgrader_config.py`` in ``root``), root set."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    return cfg


_ENGINES: dict = {}  # (database URL, process id) -> the one SQLAlchemy Engine for it


def share_engines() -> None:
    """Make nbgrader's ``Gradebook`` reuse one SQLAlchemy engine per database and process.

    nbgrader opens a ``Gradebook`` about ten times for each submission it grades (each
    preprocessor and step its own), and each one creates an engine; an engine keeps the
    SQL it has compiled, so every query was compiled anew for every submission (about a
    quarter of scoring's time). ``Gradebook.close`` disposes of the engine's connection
    pool, which leaves the engine usable and its compiled statements kept. The key holds
    the process id: a forked process never uses its parent's engine.
    """
    import nbgrader.api

    if getattr(nbgrader.api.create_engine, "shared", False):
        return
    create = nbgrader.api.create_engine

    def create_engine(url, **kwargs):
        key = (str(url), os.getpid(), tuple(sorted(kwargs.items())))
        if key not in _ENGINES:
            _ENGINES[key] = create(url, **kwargs)
        return _ENGINES[key]

    create_engine.shared = True
    nbgrader.api.create_engine = create_engine


class _SchemaValidators:
    """Stands in for the ``jsonschema`` module in ``nbgrader.nbgraderformat.common``, whose
    only use of it is ``jsonschema.validate(metadata, schema)`` for every cell's nbgrader
    metadata. ``jsonschema.validate`` checks the schema itself again on every call: about
    20 ms a notebook, against 1.5 ms with one validator made (and its schema checked) once
    per schema. The error raised for bad metadata is the same (jsonschema's best match)."""

    def __init__(self):
        self._made: dict[str, object] = {}

    def validate(self, instance, schema) -> None:
        import jsonschema

        key = json.dumps(schema, sort_keys=True)
        if key not in self._made:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self._made[key] = cls(schema)
        error = jsonschema.exceptions.best_match(self._made[key].iter_errors(instance))
        if error is not None:
            raise error


def check_metadata_quickly() -> None:
    """Make nbgrader validate cell metadata with validators made once (``_SchemaValidators``)."""
    import nbgrader.nbgraderformat.common as common

    if not isinstance(common.jsonschema, _SchemaValidators):
        common.jsonschema = _SchemaValidators()


def make_api(cfg):
    """nbgrader's Python API for the configuration ``cfg``, its gradebooks on shared engines
    (``share_engines``), cell metadata checked with validators made once
    (``check_metadata_quickly``)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    share_engines()
    check_metadata_quickly()
    with contextlib.redirect_stdout(io.StringIO()):
        return NbGraderAPI(CourseDirectory(config=cfg), config=cfg)


@dataclass
class Result:
    """One student's autograded submission of one assignment."""

    score: float  # after the late penalty (course/grading/late.py), as grades.csv has it
    max_score: float
    cells: dict = field(default_factory=dict)  # tests grade_id -> (score, max), before it
    late_penalty: float = 0.0


def results(url: str, assignment: str) -> dict[str, Result]:
    """{student: Result} for every submission of ``assignment`` in the gradebook at ``url``."""
    from nbgrader.api import Gradebook, MissingEntry

    found: dict[str, Result] = {}
    with warnings.catch_warnings(), Gradebook(url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return found
        for student in gb.students:
            try:
                submission = gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            cells = {grade.name: (float(grade.score), float(grade.max_score))
                     for notebook in submission.notebooks for grade in notebook.grades
                     if grade.max_score > 0}
            penalty = float(submission.late_submission_penalty or 0.0)
            found[student.id] = Result(float(submission.score) - penalty,
                                       float(submission.max_score), cells, penalty)
    return found


def add_students(url: str, students) -> None:
    """Put students on the roll (with no submission they export as 0)."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        for student in students:
            gb.update_or_create_student(student)


def has_notebooks(url: str, assignment: str) -> bool:
    """True when the assignment and its cells are in the gradebook (generated)."""
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        try:
            return bool(gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            return False
