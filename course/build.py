"""``course build``: generate the student release from the source notebooks."""

from __future__ import annotations

from pathlib import Path

from . import workspace
from .notebooks import notebook_path, read


def build(root: Path, names: list[str], log=print) -> None:
    for name in names:
        path = workspace.generate(root, name)
        nb = read(path)
        log(f"{name}: wrote {path.relative_to(root)} ({len(nb.cells)} cells) from "
            f"{notebook_path(root, 'source', name).relative_to(root)}")
