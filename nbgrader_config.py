"""nbgrader configuration for the Deep Learning Fundamentals course.

The repository root is the course directory: ``source/`` holds the instructor
notebooks, ``release/`` the generated student notebooks, and grading writes
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` (all ignored by git).
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from course.grading.edition_execute import EditionExecute
from course.grading.feedback import FeedbackExporter, HideHiddenTestDetails, SanitizeOutputs
from course.grading.late import PerDayPenalty
from course.grading.verdicts import DecideCases, ServeCases

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-fundamentals"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The default sqlite gradebook lives at the course root; docs/ explains PostgreSQL.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Plain ``nbgrader autograde`` limits a cell by its wall time: solved cells use well under a
# second of CPU and no ungraded cell trains under grading (course/budget.py), so 15 s leaves
# a wide margin, and an infinite loop costs that much per cell that calls it. ``course grade``
# limits a cell by its CPU time instead (--cell-cpu, the kernel and all it started) and keeps
# wall time as a backstop stretched by the machine's load (course/grading/passes.py).
c.Execute.timeout = 15
c.Execute.interrupt_on_timeout = True

# A student who deletes a test cell gets it back (and graded) instead of a silent skip.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError("
              "\"write your answer here, then delete this line\")",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# nbgrader's Autograde pipeline, with hidden tests decided outside the student's kernel: the
# kernel runs each tests cell with its hidden cases reduced to calls on their inputs
# (ServeCases, which reads them from source/), and the verdicts are computed here from the
# plain data the kernel handed out (DecideCases; course/grading/verdicts/). The executed
# notebook's outputs are stripped of active content (script in HTML, JavaScript, widget
# views...) before it is saved: formgrader shows it to the instructor (SanitizeOutputs).
# The kernel imports the student edition of utils for its assignment (EditionExecute;
# course/editions.py): the references of that assignment and of later ones are not in it.
# ``course grade`` runs the same steps split between its workers and its single writer
# (course/grading/passes.py).
c.Autograde.autograde_preprocessors = [ServeCases, EditionExecute, DecideCases, IgnorePattern,
                                       ClearMetadataPreprocessor, LimitOutput, SanitizeOutputs,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

# Feedback shows the student's code, scores and the visible tests' messages, but neither
# the hidden tests' code (ClearHiddenTests) nor what they expected, not even in a
# traceback (HideHiddenTestDetails, which must run first). The student's own cells keep
# their plots and short plain text only (HideHiddenTestDetails); no output, and no HTML of
# a Markdown cell, carries active content (SanitizeOutputs, sanitize_html).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestDetails, ClearHiddenTests,
                                    SanitizeOutputs, CSSHTMLHeaderPreprocessor]
# nbconvert's HTMLExporter with its templates compiled once per process (course/feedback.py)
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.sanitize_html = True

# Collecting from nbgrader's exchange (a hub; docs/deployment.md §2): a submission counts for
# the student who owns its files, whatever its name says, and is dated by the kernel's record
# of when its files changed, whatever its timestamp says (course/exchange.py). A late one is
# recorded late against the due date in the gradebook and loses 10 % of its score per started
# day (course/grading/late.py; PerDayPenalty.per_day and .grace_minutes change the policy).
c.ExchangeFactory.collect = "course.exchange.CourseCollect"
c.AssignLatePenalties.plugin_class = PerDayPenalty
