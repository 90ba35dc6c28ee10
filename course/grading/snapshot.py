"""Snapshot and restore: what grading must leave exactly as it found it.

``Snapshot`` hashes a set of files and keeps a copy of each; ``restore()`` puts back
every file that was changed or deleted since and says which. ``course grade`` takes
one of the course directory around the parallel phase; each grading worker takes one
of its scratch course and restores it before and after every submission.
Imports the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
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
            # regular files only: hashing, copying or restoring a link would follow it,
            # and reading a FIFO would block
            found += [Path(dirpath) / f for f in filenames if not f.endswith("-journal")
                      and _regular(os.path.join(dirpath, f))]
    return found


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _read(path: Path) -> bytes | None:
    """A regular file's contents; None for a link, a special file or a missing one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None


def _sha(path: Path) -> str | None:
    data = _read(path)
    return None if data is None else hashlib.sha256(data).hexdigest()


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
            data = _read(Path(path))
            if data is None:  # became a link or vanished since it was listed
                continue
            self.hashes[rel] = hashlib.sha256(data).hexdigest()
            if self.backup is None:
                self._kept[rel] = data
                continue
            target = self.backup / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            shutil.copystat(path, target, follow_symlinks=False)

    def _put_back(self, rel: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or path.exists() and not path.is_file():
            path.unlink()  # written as a file again, never through a link
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
