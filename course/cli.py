"""``python -m course``: instructor commands for the Deep Learning Fundamentals course.
Imports ``course.build``, ``course.check``, ``course.coursedir``, ``course.demo``,
``course.editions``, ``course.grading.run``, ``course.lab``, ``course.lms``,
``course.notebooks``, ``course.report``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .coursedir import Course
from .notebooks import CourseError, course_root, resolve

DESCRIPTION = """\
Instructor tooling for the Deep Learning Fundamentals nbgrader course.
Every command drives nbgrader; run them from anywhere, they use the repository root
as the course directory.

commands:
  build   generate release/<assignment> from source/<assignment> (nbgrader generate_assignment)
  check   metadata valid, release in sync with source, no solution or hidden test leaked;
          with --grade also: solved source scores full marks, blank release scores zero
  grade   autograde submitted/ in parallel (all cores), then feedback and grades.csv
  report  grade distribution, per-exercise pass rates, failures and flags under reports/
  lab     JupyterLab for a student (Validate, no grader tools) or, with --instructor, everything
  demo    grade a simulated class (correct, partly wrong, blank, broken, corrupt) end to end
  edition build the student edition of utils for a course in progress (a wheel to install)
  export  grades for the LMS: the file Canvas or Moodle imports, or a plain CSV
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None,
                        help="course directory (default: this repository)")
    # --root is also accepted after the command (``course grade --root X``)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=argparse.SUPPRESS,
                        help="course directory (default: this repository)")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True

    def command(name: str, summary: str):
        return sub.add_parser(name, parents=[common], help=summary)

    p = command("build", "generate the student release from source")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p = command("check", "check metadata, release sync and leaks")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p.add_argument("--grade", action="store_true",
                   help="also autograde the solved source (full marks) and blank release (zero)")
    p = command("grade", "autograde submitted/ in parallel, feedback, grades.csv")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="parallel grading processes (default: the number of CPUs)")
    p.add_argument("--force", action="store_true",
                   help="regrade everything, not only new or changed submissions")
    p.add_argument("--kernel-cpu", type=int, default=60,
                   help="CPU seconds a student's kernel may use in all (default 60)")
    p.add_argument("--cell-cpu", type=float, default=15.0,
                   help="CPU seconds one cell may use, the kernel and all it started "
                        "(default 15; a cell's wall time is only a backstop, 5 times that)")
    p.add_argument("--kernel-mem-mb", type=int, default=2048,
                   help="memory limit of a student's kernel in MB (default 2048)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without the bubblewrap sandbox (kernels can then read the "
                        "course's files: only for a machine where bwrap cannot run)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="run the submissions on this Dask cluster's workers (docs/deployment.md)"
                        "; scoring, feedback and grades.csv stay here")
    p.add_argument("--submission-cap", type=float, default=300.0,
                   help="wall seconds one submission may take in all: a backstop behind the "
                        "CPU limits (default 300; a solved chapter takes a few seconds)")
    p = command("report", "plots and a summary of the last grading under reports/")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p = command("lab", "start JupyterLab for a student (default) or an instructor")
    p.add_argument("--instructor", action="store_true",
                   help="with nbgrader's formgrader and create-assignment tools")
    p.add_argument("lab_args", nargs=argparse.REMAINDER,
                   help="passed on to jupyter lab (for example --port 8890 --no-browser)")
    p = command("demo", "autograde a simulated class and print its table")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    p.add_argument("--dir", type=Path, default=None,
                   help="scratch course directory (default: demo_course/ in the repository)")
    p = command("edition", "build the student edition of utils (a wheel)")
    p.add_argument("--released", nargs="*", default=[], metavar="ASSIGNMENT",
                   help="assignments whose references students may see (ch1 is short for "
                        "ch1_perceptron; none: every answer withheld)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the wheel (default: dist/ in the course directory)")
    p.add_argument("--folder", action="store_true",
                   help="write the package folder (OUT/utils) instead of a wheel")
    p = command("export", "grades for the LMS: a Canvas or Moodle import file, or a plain CSV")
    p.add_argument("assignments", nargs="*", help="assignment names (default: all graded)")
    p.add_argument("--lms", required=True, choices=["canvas", "moodle", "csv"],
                   help="the file's format (docs/deployment.md: how to import it)")
    p.add_argument("--per-exercise", action="store_true",
                   help="one column per graded cell instead of one per assignment")
    p.add_argument("--missing-zero", action="store_true",
                   help="write 0 for a missing submission (default: left empty, Moodle '-')")
    p.add_argument("--out", type=Path, default=None,
                   help="the file to write (default: reports/grades_<lms>.csv)")
    return parser


def _edition(course: Course, args) -> int:
    from . import editions

    full = {a.split("_")[0]: a for a in editions.ORDER} | {"case_study": "case_study_keras"}
    try:
        released = editions.check_assignments([full.get(a, a) for a in args.released])
    except ValueError as exc:
        raise CourseError(str(exc)) from None
    out = (args.out or course.root / "dist").resolve()
    plan = editions.withheld(released)
    print(f"released: {', '.join(released) or 'none'}")
    for assignment in editions.ORDER:
        names = sorted(f"{m}.{n}" for m, found in plan.items() for n, a in found.items()
                       if a == assignment)
        if names:
            print(f"withheld for {assignment}: {', '.join(names)}")
    if args.folder:
        print(f"wrote {editions.build(released, out)}")
    else:
        print(f"wrote {editions.wheel(released, out)}  (pip install it into the students' "
              "image: docs/deployment.md)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    course = Course(args.root or course_root())
    try:
        if not (course.root / "nbgrader_config.py").exists():
            raise CourseError(f"{course.root} is not a course directory (no nbgrader_config.py)")
        if args.command == "edition":
            return _edition(course, args)
        if args.command == "export":
            from .lms import export

            out = args.out or course.reports / f"grades_{args.lms}.csv"
            found = export(course.db_url, args.lms, out, args.assignments,
                           per_exercise=args.per_exercise, missing_zero=args.missing_zero)
            print(f"wrote {out}: {len(found.students)} students, {len(found.items)} grade "
                  "columns (docs/deployment.md: importing it)")
            return 0
        names = resolve(args.assignments, course.root)
        if args.command == "build":
            from .build import build

            build(course, names)
            return 0
        if args.command == "check":
            from .check import run_checks

            problems = run_checks(course, names, grade=args.grade)
            for problem in problems:
                print(f"  - {problem}")
            print("check: OK" if not problems else f"check: {len(problems)} problem(s)")
            return 1 if problems else 0
        if args.command == "grade":
            from .grading.run import Options, grade

            if args.workers < 1:
                raise CourseError("--workers must be at least 1")
            if (args.kernel_cpu < 1 or args.cell_cpu < 1 or args.kernel_mem_mb < 64
                    or args.submission_cap < 1):
                raise CourseError("--kernel-cpu, --cell-cpu and --submission-cap must be at "
                                  "least 1 s, "
                                  "--kernel-mem-mb at least 64")
            grade(course, names, Options(workers=args.workers, force=args.force,
                                       kernel_cpu=args.kernel_cpu,
                                       cell_cpu=args.cell_cpu,
                                       kernel_mem_mb=args.kernel_mem_mb,
                                       cap=args.submission_cap,
                                       sandbox=not args.unsafe_no_sandbox,
                                       scheduler=args.scheduler))
            return 0
        if args.command == "lab":
            from .lab import run

            return run(course, "instructor" if args.instructor else "student", args.lab_args)
        if args.command == "report":
            from .report import report

            report(course, names)
            return 0
        if args.command == "demo":
            from .demo import check_names, run_demo

            check_names(names)
            ok = run_demo(course, names, (args.dir or course.root / "demo_course").resolve())
            print("\ndemo: every student got the expected score" if ok
                  else "\ndemo: some scores differ from the expected ones")
            return 0 if ok else 1
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2
