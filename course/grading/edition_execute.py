"""nbgrader's ``Execute`` whose kernel imports its assignment's student edition of ``utils``.

``course grade`` runs kernels in the sandbox, where ``grading_kernel.edition`` picks the
edition; this preprocessor does the same for nbgrader's own ``nbgrader autograde`` (the
pipeline in ``nbgrader_config.py``): the kernel of assignment A finds
``course.editions.edition_for(A)`` first on its path, so the references of A (and of every
later assignment) are not there to hand an exercise to. Imports ``course.editions``.
"""

from __future__ import annotations

import os

from jupyter_core.utils import run_sync
from nbgrader.preprocessors import Execute

from .. import editions


class EditionExecute(Execute):
    """``Execute`` with ``PYTHONPATH`` set to the assignment's edition for its kernel."""

    async def async_start_new_kernel(self, **kwargs):
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
