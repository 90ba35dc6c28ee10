"""``course lab``: JupyterLab set up for a student or for an instructor.

    python -m course lab                 # a student: the notebooks, Validate, no grader tools
    python -m course lab --instructor    # everything nbgrader offers (formgrader included)

nbgrader installs all its JupyterLab parts for everybody. A student needs only Validate, and
the assignment list where an nbgrader exchange exists (on a local install there is none, and
the list would say "Error fetching courses!"). The formgrader, the create-assignment sidebar
and the course list are the instructor's. This module writes a Jupyter config folder for the
role under ``<course>/.course-lab/<role>/`` (``JUPYTER_CONFIG_DIR``) that turns the unwanted
parts off on both sides (front end and server), and starts JupyterLab in the course folder.

Both roles get encrypted kernel channels (CurveZMQ, ``transport_encryption = "auto"``), so
kernels no longer warn that they run over TCP without encryption.
Imports ``course.coursedir``, ``course.gradebook`` and nbgrader.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .coursedir import Course

STUDENT_OFF_LAB = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:menu"]
STUDENT_OFF_SERVER = ["nbgrader.server_extensions.formgrader",
                      "nbgrader.server_extensions.course_list"]
ASSIGNMENT_LIST = ("@jupyter/nbgrader:assignment-list",
                   "nbgrader.server_extensions.assignment_list")


def exchange_root(root: Path) -> Path | None:
    """The nbgrader exchange folder the course's configuration names, if it exists."""
    from nbgrader.exchange.default.exchange import Exchange

    from .gradebook import load_config

    folder = Path(Exchange(config=load_config(root)).root)
    return folder if folder.is_dir() else None


def write_config(root: Path, role: str) -> Path:
    """The Jupyter config folder of ``role`` ("student" or "instructor"); returns its path."""
    if role not in ("student", "instructor"):
        raise ValueError(f"role must be 'student' or 'instructor', got {role!r}")
    folder = root / ".course-lab" / role
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    lab_off, server_off = [], []
    if role == "student":
        lab_off, server_off = list(STUDENT_OFF_LAB), list(STUDENT_OFF_SERVER)
        if exchange_root(root) is None:
            lab_off.append(ASSIGNMENT_LIST[0])
            server_off.append(ASSIGNMENT_LIST[1])
    page = {"disabledExtensions": {name: True for name in lab_off}}
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(page, indent=1))
    server = {"ServerApp": {"jpserver_extensions": {name: False for name in server_off}},
              "KernelManager": {"transport_encryption": "auto"}}
    (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=1))
    return folder


def lab_command(root: Path, role: str, extra: list[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start JupyterLab for ``role`` in ``root``."""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(write_config(root, role)))
    argv = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}", *extra]
    return argv, env


def run(course: Course, role: str, extra: list[str]) -> int:
    root = course.root
    argv, env = lab_command(root, role, extra)
    print(f"JupyterLab for {'an instructor' if role == 'instructor' else 'a student'} in {root}"
          f" (Jupyter config: {env['JUPYTER_CONFIG_DIR']})", flush=True)
    os.execvpe(argv[0], argv, env)
    return 0  # not reached
