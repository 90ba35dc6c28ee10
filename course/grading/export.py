"""Stage 5 of a grading run: ``grades.csv``, as ``nbgrader export`` writes it, in process.

The plugin is the one the course's configuration names (nbgrader's CSV exporter by default).
Imports ``course.coursedir`` and nbgrader, traitlets.
"""

from __future__ import annotations

import contextlib
import io

from ..coursedir import Course


def export(course: Course) -> None:
    """Write ``grades.csv`` in the course directory from the gradebook."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    from traitlets.utils.importstring import import_item

    cfg = course.config
    plugin = cfg.ExportApp.get("plugin_class", CsvExportPlugin)
    plugin = import_item(plugin) if isinstance(plugin, str) else plugin
    with contextlib.redirect_stdout(io.StringIO()), Gradebook(course.db_url) as gb:
        plugin(config=cfg, to=str(course.root / "grades.csv")).export(gb)
