"""``course build``: generate the student release from the source notebooks.
Imports ``course.coursedir``, ``course.notebooks``, ``course.workspace``.
"""

from __future__ import annotations

from . import workspace
from .coursedir import Course
from .notebooks import notebook_path, read


def build(course: Course, names: list[str], log=print) -> None:
    root = course.root
    for name in names:
        path = workspace.generate(root, name)
        nb = read(path)
        log(f"{name}: wrote {path.relative_to(root)} ({len(nb.cells)} cells) from "
            f"{notebook_path(root, 'source', name).relative_to(root)}")
