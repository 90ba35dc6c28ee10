"""Which solved notebooks run top to bottom on the student edition of utils, and how fast.

    python benchmarks/edition_readiness.py [ASSIGNMENT ...] [--full]

For each assignment: its release notebook with the source's solutions filled in, run as a
student runs it in JupyterLab (widgets and demos on) in a kernel that imports the student
edition a student of that assignment has (``course.editions``: the chapters before it
released), or with ``--full`` the full edition. Prints the seconds and every cell outside the
exercises that raised (a demo or a visible test that still needs a withheld reference): an
assignment joins ``editions.GRADED_ON_EDITION`` once it has none.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course import editions  # noqa: E402
from course.as_student import run_as_student  # noqa: E402
from course.notebooks import fill_answers, notebook_path, read  # noqa: E402


def run(assignment: str, full: bool) -> tuple[float, list[str]]:
    """(seconds, the failing cells) of the solved notebook on its student edition."""
    release = read(notebook_path(ROOT, "release", assignment))
    nb = fill_answers(release, read(notebook_path(ROOT, "source", assignment)))
    folder = editions.cached(editions.ORDER if full else editions.released_before(assignment))
    seconds, errors = run_as_student(nb, ROOT / "release" / assignment, edition=folder)
    return seconds, [f"{where}: {message}" for where, _, message in errors]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", default=list(editions.ORDER))
    parser.add_argument("--full", action="store_true", help="on the full edition instead")
    args = parser.parse_args()
    print(f"solved notebooks, top to bottom, on the {'full' if args.full else 'student'} "
          f"edition ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    for assignment in editions.check_assignments(args.assignments):
        seconds, failures = run(assignment, args.full)
        state = "ok" if not failures else f"{len(failures)} cells fail"
        print(f"{assignment:20s} {seconds:6.1f} s  {state}")
        for failure in failures:
            print(f"    {failure}")


if __name__ == "__main__":
    main()
