"""nbgrader's configuration, its API and the gradebook, in one place.

Everything that builds an nbgrader application or reads scores goes through here:
the course's ``nbgrader_config.py`` (``config``), the API for a course directory with
the preprocessors of one phase (``api``: everything, execute only, or score only), the
gradebook URL (``db_url``) and the scores of an assignment (``results``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import SAWarning

PHASES = ("all", "execute", "score")


def config(root: Path, phase: str = "all", submitted: str | None = None,
           db_url: str | None = None, kernel_ipc: str | None = None):
    """The course's nbgrader configuration for ``root``, set up for one grading phase.

    ``phase``: "all" (nbgrader's defaults), "execute" (run the notebook, save no grades:
    the grading workers) or "score" (save the grades of an already executed notebook:
    the single writer). ``submitted`` replaces the submitted/ folder name and ``db_url``
    the gradebook. ``kernel_ipc`` (a path prefix) makes kernels talk over ``ipc://``
    sockets instead of TCP: a sandboxed kernel has no network (``course.sandbox``).
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )
    from traitlets.config.loader import PyFileConfigLoader

    from course.feedback import SanitizeOutputs
    from course.readyclient import ReadyExecute

    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if phase != "all":
        # validate the notebook once, after the last preprocessor, not after each of them
        # (nbconvert's option; about 2 ms a validation, nine preprocessors in a worker)
        cfg.Exporter.optimistic_validation = True
    cfg.CourseDirectory.root = str(root)
    if submitted:
        cfg.CourseDirectory.submitted_directory = submitted
    if db_url:
        cfg.CourseDirectory.db_url = db_url
    if kernel_ipc:
        cfg.KernelManager.transport = "ipc"
        cfg.KernelManager.ip = kernel_ipc
    if phase == "execute":
        # the outputs are in once the last cell has run: end the kernel's client at once (the
        # fork server then ends the kernel) instead of asking it to shut down and polling
        cfg.Execute.shutdown_kernel = "immediate"
        # CheckCellMetadata ran in the sanitize pass; nothing after it touches a cell's
        # nbgrader metadata (a kernel adds outputs, ClearMetadata keeps nbgrader's), so its
        # second run at the end of nbgrader's pipeline is left out (10-30 ms of jsonschema)
        # ReadyExecute: nbgrader's Execute on kernels that start and end without idle waits
        cfg.Autograde.autograde_preprocessors = [ReadyExecute, IgnorePattern,
                                                 ClearMetadataPreprocessor, LimitOutput]
    elif phase == "score":
        # nbgrader's pipeline goes on where the worker's stopped. The worker's nbgrader
        # sanitized the notebook before it ran (DeduplicateIds, OverwriteKernelspec,
        # OverwriteCells, CheckCellMetadata), then ran IgnorePattern, ClearMetadata and
        # LimitOutput on the executed notebook: each leaves its own output as it is, and a
        # kernel cannot change a cell's metadata, so doing them again here would change
        # nothing (``autograde`` skips the sanitize pass itself). SanitizeOutputs strips
        # active content from the outputs here, in the process that saves the notebook
        # formgrader shows, wherever it was executed (nbgrader_config.py runs it at the
        # same place of nbgrader's own pipeline)
        cfg.Autograde.sanitize_preprocessors = []
        cfg.Autograde.autograde_preprocessors = [SanitizeOutputs, SaveAutoGrades,
                                                 AssignLatePenalties]
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


def api(root: Path, phase: str = "all", **kwargs):
    """nbgrader's Python API for the course directory ``root`` (see ``config``), its
    gradebooks on shared engines (``share_engines``), cell metadata checked with
    validators made once (``check_metadata_quickly``)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    share_engines()
    check_metadata_quickly()
    cfg = config(root, phase, **kwargs)
    with contextlib.redirect_stdout(io.StringIO()):
        nb_api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
    nb_api.course_phase = phase  # for ``autograde``
    return nb_api


def autograde(nb_api, assignment: str, student: str) -> dict:
    """``nb_api.autograde(assignment, student)`` with the passes the phase of ``nb_api``
    needs (``api(root, phase)``): nbgrader's Autograde reads and writes each notebook
    twice, to sanitize it and then to execute and score it.

    * execute phase (the workers): both passes as one, on the notebook in memory, which
      nbgrader would write to autograded/ and read back in between. The kernel runs in
      autograded/<student>/<assignment>, where nbgrader's second pass would read it.
    * score phase (the single writer): the second pass alone; the first ran in the worker.
    * all: nbgrader's own.
    """
    from nbgrader.utils import capture_log, temp_attrs

    converter = _converters().get(getattr(nb_api, "course_phase", "all"))
    if converter is None:
        return nb_api.autograde(assignment, student, force=True, create=True)
    with temp_attrs(nb_api.coursedir, assignment_id=assignment, student_id=student):
        app = converter(coursedir=nb_api.coursedir, parent=nb_api)
        app.force = app.create_student = True
        return capture_log(app)


@functools.cache
def _converters() -> dict:
    import nbformat
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import BaseConverter
    from nbgrader.utils import setenv

    from course import sandbox

    class OnePassAutograde(Autograde):
        def convert_single_notebook(self, notebook_filename: str) -> None:
            self.exporter._preprocessors = []
            for preprocessor in [*self.sanitize_preprocessors, *self.autograde_preprocessors]:
                self.exporter.register_preprocessor(preprocessor)
            resources = self.init_single_notebook_resources(notebook_filename)
            ids = resources["nbgrader"]
            folder = self._format_dest(ids["assignment"], ids["student"])
            os.makedirs(folder, exist_ok=True)
            resources["metadata"] = {"name": ids["notebook"], "path": folder}
            with open(notebook_filename, encoding="utf-8") as f:
                nb = nbformat.read(f, as_version=4)
            with setenv(NBGRADER_EXECUTION="autograde"):
                output, resources = self.exporter.from_notebook_node(nb, resources=resources)
            # the kernel has ended (ReadyExecute): nothing it left may redirect the write
            sandbox.tidy_kernel_folder(Path(folder))
            self.write_single_notebook(output, resources)

    class ExecutedAutograde(Autograde):
        def convert_single_notebook(self, notebook_filename: str) -> None:
            # read from the submitted folder (the first pass's input), written to autograded/
            self.exporter._preprocessors = []
            for preprocessor in self.autograde_preprocessors:
                self.exporter.register_preprocessor(preprocessor)
            BaseConverter.convert_single_notebook(self, notebook_filename)

    return {"execute": OnePassAutograde, "score": ExecutedAutograde}


def db_url(root: Path) -> str:
    """The gradebook URL the course's configuration gives for ``root``."""
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=config(root)).db_url


@dataclass
class Result:
    """One student's autograded submission of one assignment."""

    score: float
    max_score: float
    cells: dict = field(default_factory=dict)  # tests grade_id -> (score, max)


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
            found[student.id] = Result(float(submission.score), float(submission.max_score),
                                       cells)
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
