"""Feedback that teaches without giving the hidden tests away, and carries no active content.

The stage after scoring: nbgrader's ``GenerateFeedback`` with the course's preprocessors and
exporter (``nbgrader_config.py`` names them here), and the feedback pages of a run made in
parallel (``generate``).

* ``sanitize``: ``SanitizeOutputs``, no script from a student's outputs or text cells (also
  in the Autograde pipeline, before the autograded notebook is saved);
* ``hidden``: does a text show a line of the hidden tests, however encoded;
* ``whitelist``: ``HideHiddenTestDetails``, what a tests cell and a student's cell may show;
* ``exporter``: ``FeedbackExporter``, the page;
* ``generate``: the pages of a grading run, in parallel.

Imports its own modules only (``generate`` is imported by its users, not here).
"""

from .exporter import NO_ALT_TEXT, FeedbackExporter
from .hidden import MAX_CHARS, MAX_LINES, SHORTENED, WITHHELD, reveals, secret_lines
from .sanitize import SanitizeOutputs, clean_html, safe_markdown
from .whitelist import (
    HIDDEN_MESSAGE,
    PASSED_MESSAGE,
    HideHiddenTestDetails,
    failing_line,
    hidden_line_numbers,
    safe_message,
)

__all__ = ["FeedbackExporter", "HIDDEN_MESSAGE", "HideHiddenTestDetails", "MAX_CHARS",
           "MAX_LINES", "NO_ALT_TEXT", "PASSED_MESSAGE", "SHORTENED", "SanitizeOutputs",
           "WITHHELD", "clean_html", "failing_line", "hidden_line_numbers", "reveals",
           "safe_markdown", "safe_message", "secret_lines"]
