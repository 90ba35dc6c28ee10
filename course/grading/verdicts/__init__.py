"""Hidden tests decided outside the student's process.

* ``spec``: how a hidden test is written (``Case``, ``Result``) and collected;
* ``region``: ``hidden``, the one call of a hidden region;
* ``decide``: the verdict on one case from the plain data a kernel reported;
* ``preprocess``: ``ServeCases`` and ``DecideCases``, the steps of nbgrader's Autograde
  pipeline around ``Execute``;
* ``lint``: what ``course check`` refuses in a hidden region.

The kernel's side is ``utils.observe``. Imports its own modules only.
"""

from .decide import decide, decide_here
from .lint import hidden_test_problems
from .preprocess import DecideCases, ServeCases, cell_cases, source_cases
from .region import hidden
from .spec import Case, Result, collect, payload

__all__ = ["Case", "DecideCases", "Result", "ServeCases", "cell_cases", "collect", "decide",
           "decide_here", "hidden", "hidden_test_problems", "payload", "source_cases"]
