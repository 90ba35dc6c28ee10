"""The class report as one self-contained HTML page (``reports/report.html``).

Per assignment: the grade distribution (the report's histogram, embedded), the exercises'
pass rates, the table of what students misunderstood (``course.misconceptions``), similar
submissions with their shared lines side by side (``course.similarity``), the submissions
that could not be graded and the flags, and a link to every student's feedback page. No
script, no request: the page opens from disk, in a browser or an e-mail. Every text from a
submission or the run record is escaped. Imports ``course.coursedir``, ``course.misconceptions``
and ``course.similarity`` (for their types).
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

from .coursedir import Course
from .misconceptions import NOT_ANSWERED, UNEXPLAINED

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 68em; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: .2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em;
     margin-top: 2em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; } .figures img { max-width: 100%;
     border: 1px solid #eee; }
table { border-collapse: collapse; margin: .5em 0 1em; } td, th { border: 1px solid #ddd;
     padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .num { text-align: right; }
.unexplained { background: #fff4e0; } .bar { background: #4c9a5a; height: .8em; }
.stats span { display: inline-block; margin-right: 1.5em; } .muted { color: #777; }
pre { margin: 0; font: 12px/1.35 ui-monospace, monospace; white-space: pre-wrap; }
details { margin: .3em 0 .8em; } summary { cursor: pointer; }
"""


@dataclass
class Section:
    """What the page shows of one assignment (computed once by ``course.report``)."""

    name: str
    results: dict  # course.report.class_results
    rates: list  # [(pass rate, tests cell)], hardest first
    misconceptions: dict  # course.misconceptions.class_misconceptions
    failed: list = field(default_factory=list)  # run-record entries
    flagged: list = field(default_factory=list)
    pairs: list = field(default_factory=list)  # course.similarity.Pair


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _image(path: Path, alt: str) -> str:
    if not path.exists():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _feedback_link(course: Course, page: Path, name: str, student: str) -> str:
    target = course.feedback_page(name, student)
    if not target.exists():
        return _e(student)
    href = Path(os.path.relpath(target, page.parent)).as_posix()
    return f'<a href="{_e(href)}">{_e(student)}</a>'


def _pair(pair) -> str:
    rows = []
    for overlap in pair.cells:
        body = "".join(
            f"<tr><td><pre>{_e(f'{a[0]}: {a[1]}') if a else ''}</pre></td>"
            f"<td><pre>{_e(f'{b[0]}: {b[1]}') if b else ''}</pre></td></tr>"
            for a, b in overlap.rows)
        rows.append(f"<p>{_e(overlap.cell)} (similarity {overlap.score:.2f})</p><table>"
                    f"<tr><th>{_e(pair.first)}</th><th>{_e(pair.second)}</th></tr>{body}</table>")
    return (f"<details><summary><b>{_e(pair.first)}</b> and <b>{_e(pair.second)}</b>: "
            f"similarity {pair.score:.2f}, {pair.shared} characters of code in common"
            f"</summary>{''.join(rows)}</details>")


def _section(course: Course, page: Path, s: Section) -> str:
    totals = list(s.results["totals"].values())
    top = s.results["max"]
    out = [f'<h2 id="{_e(s.name)}">{_e(s.name)}</h2>']
    if not totals:
        return out[0] + "<p>No graded submissions yet.</p>"
    mean = sum(totals) / len(totals)
    out.append('<p class="stats">'
               f"<span><b>{len(totals)}</b> graded</span><span>mean <b>{mean:.1f}</b> / "
               f"{top:g}</span><span>full marks <b>{sum(t == top for t in totals)}</b></span>"
               f"<span>zero <b>{sum(t == 0 for t in totals)}</b></span></p>")
    out.append('<div class="figures">'
               + _image(course.reports / f"{s.name}_grades.png", f"{s.name}: grades") + "</div>")
    out.append("<h3>Exercises, hardest first</h3><table><tr><th>exercise</th>"
               "<th>students passing</th><th></th></tr>")
    out += [f'<tr><td>{_e(gid)}</td><td class="num">{100 * rate:.0f}%</td>'
            f'<td style="width:12em"><div class="bar" style="width:{100 * rate:.0f}%"></div>'
            "</td></tr>" for rate, gid in s.rates]
    out.append("</table><h3>What students misunderstood</h3>")
    if s.misconceptions:
        out.append("<table><tr><th>exercise</th><th>mistake</th><th>students</th></tr>")
        for gid, exercise in s.misconceptions.items():
            for label, count in exercise.mistakes.most_common():
                who = ", ".join(_feedback_link(course, page, s.name, student)
                                for student in exercise.students[label])
                css = ' class="unexplained"' if label == UNEXPLAINED else \
                    ' class="muted"' if label == NOT_ANSWERED else ""
                out.append(f"<tr{css}><td>{_e(gid)}</td><td>{_e(label)}</td>"
                           f'<td><span class="num">{count}</span>: {who}</td></tr>')
        out.append("</table><p class=\"muted\">Highlighted rows match no catalogued mistake: "
                   "read those answers and add the misunderstanding to "
                   "<code>course/mistakes/</code> (instructor guide).</p>")
    else:
        out.append("<p>No failed exercise carries a diagnosis.</p>")
    out.append("<h3>Similar submissions (for review, never a penalty)</h3>")
    out += [_pair(pair) for pair in s.pairs] or ["<p>None.</p>"]
    out.append("<h3>Could not be graded</h3><ul>")
    out += [f"<li>{_e(e['student'])}: {_e(e['reason'])}</li>" for e in s.failed] or ["<li>none"]
    out.append("</ul><h3>Flags for review (not penalised automatically)</h3><ul>")
    out += [f"<li>{_feedback_link(course, page, s.name, e['student'])}: {_e(flag)}</li>"
            for e in s.flagged for flag in e["flags"]] or ["<li>none</li>"]
    out.append("</ul><h3>Feedback pages</h3><p>")
    out.append(", ".join(_feedback_link(course, page, s.name, student)
                         for student in sorted(s.results["totals"])))
    return "\n".join(out) + "</p>"


def write(course: Course, sections: list[Section], page: Path) -> Path:
    """Write the page to ``page`` (next to ``summary.md``) and return its path."""
    contents = " · ".join(f'<a href="#{_e(s.name)}">{_e(s.name)}</a>' for s in sections)
    body = "\n".join(_section(course, page, s) for s in sections)
    page.write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Class report</title><style>{STYLE}</style></head><body>"
        f"<h1>Class report</h1><p class=\"muted\">{_e(course.root.name)} · {contents}</p>"
        f"{body}</body></html>\n", encoding="utf-8")
    return page
