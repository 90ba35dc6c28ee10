"""nbgrader configuration for the Deep Learning Fundamentals course.

The repository root is the course directory: ``source/`` holds the instructor
notebooks, ``release/`` the generated student notebooks, and grading writes
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` (all ignored by git).
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from course.feedback import FeedbackExporter, HideHiddenTestDetails

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-fundamentals"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The default sqlite gradebook lives at the course root; docs/ explains PostgreSQL.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Solved cells run in well under a second; an infinite loop costs this per cell.
c.Execute.timeout = 15
c.Execute.interrupt_on_timeout = True

# A student who deletes a test cell gets it back (and graded) instead of a silent skip.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError("
              "\"write your answer here, then delete this line\")",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows the student's code, scores and the visible tests' messages, but neither
# the hidden tests' code (ClearHiddenTests) nor what they expected, not even in a
# traceback (HideHiddenTestDetails, which must run first).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestDetails, ClearHiddenTests,
                                    CSSHTMLHeaderPreprocessor]
# nbconvert's HTMLExporter with its templates compiled once per process (course/feedback.py)
c.GenerateFeedback.exporter_class = FeedbackExporter
