"""The course's late-submission policy, an nbgrader late-submission plugin
(``c.AssignLatePenalties.plugin_class`` in ``nbgrader_config.py``).

nbgrader records how late a submission is (its timestamp against the assignment's due date
in the gradebook; ``course/exchange.py`` dates a submission by its files, not by what the
student wrote) and asks this plugin for the penalty of each notebook:

    penalty = score * min(1, per_day * days late, counted in started days)

after a grace period of ``grace_minutes`` (none by default; a few minutes forgive a submission
that was on its way as the deadline passed).
So with the defaults a notebook submitted 3 hours late keeps 90 % of its score, 2 days late
80 %, and 10 days late nothing. The penalty shows in the student's feedback, ``grades.csv``,
``course report`` and ``course export`` (formgrader's pages show the points before it).
Imports nbgrader and traitlets.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PerDayPenalty(LateSubmissionPlugin):
    per_day = Float(0.10, help="Fraction of the score lost per started day late.").tag(config=True)
    grace_minutes = Float(0.0, help="Minutes late that cost nothing.").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        if total_seconds_late <= 60 * self.grace_minutes:
            return 0.0
        days = math.ceil(total_seconds_late / 86400)
        penalty = score * min(1.0, self.per_day * days)
        self.log.info("%s is %d started day(s) late: penalty %.2f of %.2f", student_id, days,
                      penalty, score)
        return penalty
