"""Modules whose names a notebook cell cannot rebind: the ones a grading kernel runs tests with.

``freeze(__name__)`` at the end of a module makes ``module.name = ...`` and ``del module.name``
raise AttributeError. It is defence in depth: the hidden tests' verdicts are decided outside
the student's process whatever that process does, so a cell that swaps a helper only spoils
its own reports.
"""

from __future__ import annotations

import sys
import types


class _ReadOnlyModule(types.ModuleType):
    def __setattr__(self, name, value):
        raise AttributeError(f"{self.__name__} is read-only: cannot replace {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"{self.__name__} is read-only: cannot delete {name!r}")


def freeze(module_name: str) -> None:
    """Make the module ``module_name`` (already imported) read-only."""
    sys.modules[module_name].__class__ = _ReadOnlyModule
