"""The course's late policy (course/grading/late.py): 10 % of the score per started day."""

import pytest

from course.grading.late import PerDayPenalty


@pytest.mark.parametrize("seconds, kept", [(0, 30), (1, 27), (3 * 3600, 27), (86400, 27),
                                           (86401, 24), (2 * 86400, 24), (9.5 * 86400, 0),
                                           (30 * 86400, 0)])
def test_a_late_notebook_loses_a_tenth_of_its_score_per_started_day(seconds, kept):
    penalty = PerDayPenalty().late_submission_penalty("alice", 30.0, seconds)
    assert 30.0 - penalty == pytest.approx(kept)


def test_the_grace_period_forgives_what_it_says_and_no_more():
    policy = PerDayPenalty(grace_minutes=10)
    assert policy.late_submission_penalty("bob", 20.0, 599) == 0
    assert policy.late_submission_penalty("bob", 20.0, 601) == pytest.approx(2.0)
