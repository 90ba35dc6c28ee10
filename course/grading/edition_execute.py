"""nbgrader's ``Execute`` whose kernel imports its assignment's student edition of ``utils``.

``course grade`` runs kernels in the sandbox, where ``grading_kernel.edition`` picks the
edition; this preprocessor does the same for nbgrader's own ``nbgrader autograde`` (the
pipeline in ``nbgrader_config.py``): the kernel of assignment A finds
``course.editions.edition_for(A)`` first on its path, so the references of A (and of every
later assignment) are not there to hand an exercise to. Imports ``course.editions``.

``OutputsWrittenOnce`` (for this executor and ``course grade``'s ``ReadyExecute``): a cell's
outputs are what it printed while it ran. nbclient would otherwise apply a later
``update_display_data`` (or a second display with the same ``display_id``) to an earlier
cell's output, so a later cell could rewrite the case reports of an earlier tests cell after
learning more (a building block's table, say); under grading there is nothing to animate.
"""

from __future__ import annotations

import os

from jupyter_core.utils import run_sync
from nbgrader.preprocessors import Execute

from .. import editions
from .submission import load_factor


class OutputsWrittenOnce:
    """An executor mixin: no output is changed after its cell has run (display ids ignored)."""

    def _update_display_id(self, display_id: str, msg: dict) -> None:
        return None


class EditionExecute(OutputsWrittenOnce, Execute):
    """``Execute`` with ``PYTHONPATH`` set to the assignment's edition for its kernel, and its
    cell timeout stretched by the machine's load per core (up to 4 times): plain nbgrader
    limits a cell by wall time, which a busy machine must not turn into lost points."""

    async def async_start_new_kernel(self, **kwargs):
        base = self.__dict__.setdefault("_configured_timeout", self.timeout)  # once per run
        if base:
            self.timeout = int(base * min(4.0, load_factor()))
        assignment = (self.resources.get("nbgrader") or {}).get("assignment")
        if assignment:
            folder = str(editions.edition_for(assignment))
            env = dict(kwargs.pop("env", None) or os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                [folder] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
            kwargs["env"] = env
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds its synchronous wrapper to its own coroutine, not to an override
    start_new_kernel = run_sync(async_start_new_kernel)
