"""``course report``: how the class did, from the gradebook and the last ``course grade``.

Writes under ``reports/``: per assignment a grade histogram (``<A>_grades.png``) and the
per-exercise pass rates, hardest first (``<A>_exercises.png``), and ``summary.md`` with
the figures, what students misunderstood (``course.misconceptions``), the submissions that
could not be graded, the anti-cheat flags and similar submissions; ``report.html`` shows the
same as one self-contained page (``course.report_page``). Imports ``course.coursedir``,
``course.gradebook``, ``course.grading.run``, ``course.misconceptions`` and matplotlib, numpy.
Similar submissions, for review and never a penalty: ``course.similarity``.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import misconceptions, report_page, similarity  # noqa: E402
from .coursedir import Course  # noqa: E402
from .gradebook import results  # noqa: E402
from .grading.run import RUN_RECORD  # noqa: E402


def class_results(course: Course, assignment: str) -> dict:
    """{"totals": {student: total}, "max": max score, "cells": {grade_id: [passed?]}}."""
    found = results(course.db_url, assignment)
    cells: dict[str, list[bool]] = {}
    for result in found.values():
        for gid, (score, maximum) in result.cells.items():
            cells.setdefault(gid, []).append(score >= maximum)
    return {"totals": {student: r.score for student, r in found.items()},
            "max": max((r.max_score for r in found.values()), default=0.0), "cells": cells}


def report(course: Course, names: list[str], log=print) -> Path:
    out = course.reports
    out.mkdir(exist_ok=True)
    record_path = course.root / RUN_RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    lines, sections = ["# Class report", ""], []
    for name in names:
        res = class_results(course, name)
        totals = np.array(list(res["totals"].values()))
        lines += [f"## {name}", ""]
        if totals.size == 0:
            lines += ["No graded submissions yet.", ""]
            continue
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist(totals, bins=np.linspace(0, res["max"], min(int(res["max"]) + 1, 21)),
                color="C0", edgecolor="white")
        ax.set_xlabel(f"score (out of {res['max']:g})")
        ax.set_ylabel("students")
        ax.set_title(f"{name}: {totals.size} graded")
        fig.tight_layout()
        fig.savefig(out / f"{name}_grades.png", dpi=100)
        plt.close(fig)
        rates = sorted(((np.mean(v), k) for k, v in res["cells"].items()))
        fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(rates) + 1.2))
        ax.barh([k for _, k in rates], [100 * r for r, _ in rates], color="C2")
        ax.set_xlabel("% of students passing")
        ax.set_xlim(0, 100)
        ax.set_title(f"{name}: exercises, hardest first")
        fig.tight_layout()
        fig.savefig(out / f"{name}_exercises.png", dpi=100)
        plt.close(fig)
        lines += [f"- {totals.size} graded; mean {totals.mean():.1f} / {res['max']:g}, median "
                  f"{np.median(totals):g}, full marks {int(np.sum(totals == res['max']))}, "
                  f"zero {int(np.sum(totals == 0))}",
                  "- hardest exercises: " + ", ".join(f"{k} ({100 * r:.0f}% pass)"
                                                       for r, k in rates[:3]),
                  f"- plots: `{name}_grades.png`, `{name}_exercises.png`", ""]
        table = misconceptions.class_misconceptions(course, name, res["totals"])
        lines += misconceptions.markdown(table)
        entries = [e for e in record.values() if e["assignment"] == name]
        failed = [e for e in entries if e["status"] == "failed"]
        flagged = [e for e in entries if e["flags"]]
        noted = [e for e in entries if e["notes"]]
        pairs = similarity.similar_pairs(course, name)
        sections.append(report_page.Section(name, res, rates, table, failed, flagged, pairs))
        lines += ["### Could not be graded", ""]
        lines += [f"- {e['student']}: {e['reason']}" for e in failed] or ["- none"]
        lines += ["", "### Flags for review (not penalised automatically)", ""]
        lines += [f"- {e['student']}: {f}" for e in flagged for f in e["flags"]] or ["- none"]
        lines += ["", "### Notes", ""]
        lines += [f"- {e['student']}: {n}" for e in noted for n in e["notes"]] or ["- none"]
        lines += ["", "### Similar submissions (for review, never a penalty)", ""]
        lines += similarity.summary_lines(pairs)
        lines += [""]
    (out / "summary.md").write_text("\n".join(lines))
    report_page.write(course, sections, out / "report.html")
    log("\n".join(lines))
    plots = sorted(p.name for p in out.glob("*.png") if p.stem.rsplit("_", 1)[0] in names)
    log(f"written: {out / 'summary.md'}, {out / 'report.html'}"
        + (f" and {', '.join(plots)} beside them" if plots
           else " (no plots: nothing is graded yet)"))
    return out / "summary.md"
