"""nbgrader's grading pipelines, one per phase of ``course grade``.

``config(course, phase)``: the course's configuration for "all" (nbgrader's own pipelines),
"execute" (a grading worker runs a notebook and saves no grade) or "score" (the single
writer saves the grades of a notebook executed elsewhere); ``api(course, phase)`` is
nbgrader's API on it, and ``autograde`` runs one submission through the passes its phase
needs. Imports ``course.gradebook``, ``course.coursedir`` and this package's
``execute.readyclient``, ``execute.sandbox.bwrap``, ``feedback`` and ``verdicts``.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

from ..coursedir import Course
from ..gradebook import make_api

PHASES = ("all", "execute", "score")


def config(course: Course, phase: str = "all", submitted: str | None = None,
           db_url: str | None = None, kernel_ipc: str | None = None,
           cell_wall: float | None = None):
    """The course's nbgrader configuration, set up for one grading phase.

    ``phase``: "all" (nbgrader's defaults), "execute" (run the notebook, save no grades:
    the grading workers) or "score" (save the grades of an already executed notebook:
    the single writer). ``submitted`` replaces the submitted/ folder name and ``db_url``
    the gradebook. ``kernel_ipc`` (a path prefix) makes kernels talk over ``ipc://``
    sockets instead of TCP: a sandboxed kernel has no network (``execute.sandbox.bwrap``).
    ``cell_wall`` (execute phase): a cell's wall-time backstop in seconds. Past it the
    notebook fails instead of the cell (no ``interrupt_on_timeout``): a worker cannot tell a
    busy machine from a student's sleep there, so it grades the submission again
    (``execute.worker``); what limits a cell is its CPU time (the fork server).
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from .execute.readyclient import ReadyExecute
    from .feedback import SanitizeOutputs
    from .verdicts import DecideCases, ServeCases

    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    cfg = copy.deepcopy(course.config)
    if phase != "all":
        # validate the notebook once, after the last preprocessor, not after each of them
        # (nbconvert's option; about 2 ms a validation, nine preprocessors in a worker)
        cfg.Exporter.optimistic_validation = True
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
        if cell_wall is not None:
            cfg.Execute.timeout = int(cell_wall)
            cfg.Execute.interrupt_on_timeout = False
        # CheckCellMetadata ran in the sanitize pass; nothing after it touches a cell's
        # nbgrader metadata (a kernel adds outputs, ClearMetadata keeps nbgrader's), so its
        # second run at the end of nbgrader's pipeline is left out (10-30 ms of jsonschema)
        # ReadyExecute: nbgrader's Execute on kernels that start and end without idle waits
        # ServeCases/DecideCases: hidden tests decided here, outside the kernel, in parallel
        cfg.Autograde.autograde_preprocessors = [ServeCases, ReadyExecute, DecideCases,
                                                 IgnorePattern, ClearMetadataPreprocessor,
                                                 LimitOutput]
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


def api(course: Course, phase: str = "all", **kwargs):
    """nbgrader's Python API for ``course`` with the pipelines of ``phase`` (``config``)."""
    nb_api = make_api(config(course, phase, **kwargs))
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

    from .execute.sandbox import bwrap

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
            bwrap.tidy_kernel_folder(Path(folder))
            self.write_single_notebook(output, resources)

    class ExecutedAutograde(Autograde):
        def convert_single_notebook(self, notebook_filename: str) -> None:
            # read from the submitted folder (the first pass's input), written to autograded/
            self.exporter._preprocessors = []
            for preprocessor in self.autograde_preprocessors:
                self.exporter.register_preprocessor(preprocessor)
            BaseConverter.convert_single_notebook(self, notebook_filename)

    return {"execute": OnePassAutograde, "score": ExecutedAutograde}
