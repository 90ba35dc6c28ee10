"""Snapshot and restore: what grading must leave exactly as it found it.

``Snapshot`` hashes a set of files and keeps a copy of each; ``restore()`` puts back
every file that was changed or deleted since and says which. ``course grade`` takes
one of the course directory around the parallel phase; each grading worker takes one
of its scratch course and restores it before and after every submission.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

SKIP_DIRS = {".git", "autograded", "feedback", "reports", "demo_course", "__pycache__",
             ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints"}


def files_under(root: Path, tops: Iterable[str] | None = None,
                skip: set[str] = frozenset(SKIP_DIRS)) -> list[Path]:
    """Every file under ``root`` (or under its entries ``tops``), skipping ``skip`` dirs."""
    starts = [root] if tops is None else [root / t for t in tops]
    found = []
    for start in starts:
        if start.is_file():
            found.append(start)
            continue
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if d not in skip and not d.endswith(".egg-info")]
            found += [Path(dirpath) / f for f in filenames if not f.endswith("-journal")]
    return found


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class Snapshot:
    """Hashes of ``files`` (paths under ``root``) and a copy of each: in the folder
    ``backup``, or in memory when ``backup`` is None (out of reach of the files' users)."""

    def __init__(self, root: Path, files: Iterable[Path], backup: Path | None = None):
        self.root = Path(root)
        self.backup = Path(backup) if backup is not None else None
        self.hashes: dict[str, str | None] = {}
        self._kept: dict[str, bytes] = {}
        for path in files:
            rel = Path(path).relative_to(self.root).as_posix()
            self.hashes[rel] = _sha(Path(path))
            if self.backup is None:
                self._kept[rel] = Path(path).read_bytes()
                continue
            target = self.backup / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)

    def _put_back(self, rel: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.backup is None:
            path.write_bytes(self._kept[rel])
        else:
            shutil.copy2(self.backup / rel, path)

    def restore(self, skip: Iterable[str] = ()) -> list[str]:
        """Put back every file changed or deleted since the snapshot; return those not in
        ``skip`` (files expected to change, such as a gradebook, are restored silently)."""
        changed = []
        for rel, digest in self.hashes.items():
            path = self.root / rel
            if _sha(path) != digest:
                self._put_back(rel)
                if rel not in skip:
                    changed.append(rel)
        return changed

    def new_files(self, current: Iterable[Path]) -> list[str]:
        """Files of ``current`` that were not in the snapshot (relative paths, sorted)."""
        return sorted(rel for rel in (Path(p).relative_to(self.root).as_posix() for p in current)
                      if rel not in self.hashes)
