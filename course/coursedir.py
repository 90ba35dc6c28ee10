"""One course directory, as every command sees it: ``Course``.

The root (the folder with ``nbgrader_config.py``), its nbgrader configuration, the gradebook's
URL, nbgrader's API and the folders of nbgrader's layout (``source/``, ``release/``,
``submitted/``, ``autograded/``, ``feedback/``) and of the course's own (``reports/``).
The CLI builds one per command and hands it down; nothing below re-derives any of it from
the root. Imports ``course.gradebook`` (nbgrader's configuration and gradebook) only.
"""

from __future__ import annotations

import functools
from pathlib import Path

from . import gradebook


class _Folder:
    """A folder of the course directory, named as the attribute that holds it."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, course, owner=None):
        return self if course is None else course.root / self.name


class Course:
    """A course directory. ``config``, ``db_url`` and the paths are computed once."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Course({str(self.root)!r})"

    def __reduce__(self):  # sent to forked processes and Dask workers by its root alone
        return (Course, (self.root,))

    @functools.cached_property
    def config(self):
        """nbgrader's configuration of this course (``nbgrader_config.py``, the root set)."""
        return gradebook.load_config(self.root)

    @functools.cached_property
    def db_url(self) -> str:
        """The gradebook's URL (sqlite ``gradebook.db`` unless the configuration says)."""
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config).db_url

    def api(self):
        """nbgrader's Python API for this course, with its full default pipelines."""
        return gradebook.make_api(self.config)

    # nbgrader's folders and the course's reports/, each ``self.root / <its name>``
    source, release, submitted = _Folder(), _Folder(), _Folder()
    autograded, feedback, reports = _Folder(), _Folder(), _Folder()

    def notebook(self, kind: str, assignment: str) -> Path:
        """``<kind>/<assignment>/<assignment>.ipynb`` (kind: "source" or "release")."""
        return self.root / kind / assignment / f"{assignment}.ipynb"

    def feedback_page(self, assignment: str, student: str) -> Path:
        return self.feedback / student / assignment / f"{assignment}.html"
