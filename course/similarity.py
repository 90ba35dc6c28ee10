"""Similar submissions: pairs of students, or a student and the reference, whose answer cells
share much of their code, listed for the instructor's review and never used as a penalty.

Each answer cell (a code cell whose nbgrader metadata says ``solution: true``) of every
``submitted/<student>/<assignment>/<assignment>.ipynb`` is fingerprinted by copydetect:
pygments tokens with names, strings, comments and layout normalized away, k-grams of ``K``
characters of that token stream (every one of them: ``WINDOW`` 1). The handed-out code
(every code cell of the release notebook: the stubs, docstrings and ``raise
NotImplementedError`` lines, the demos) is copydetect's boilerplate: its k-grams count for no
one, so two blank submissions share nothing. A cell is compared with the same cell (by
grade_id) of the other submission; a pair's score is the share of each student's own code
(all answer cells together) that the other has too, the smaller of the two.

Measured on ch1_perceptron (``tests/test_similarity.py``: ten students' correct answers
written independently in different styles, and a copy of one of them with other names,
rewritten comments and reordered lines): the copy scores 0.97; the 45 independent pairs
score 0.19 (median) to 0.39, a student against the reference 0.29 (median) to 0.46. Short answers
leave few ways to write them (``np.maximum(z, 0)``, ``Q1 = "b"``), which sets that floor.
``THRESHOLD`` 0.7 sits between the two with a margin of 0.24 or more on each side. ``K`` 25 is about
one statement: 15 and 20 let independent answers match more (up to 0.49 and 0.46, 0.58 and
0.54 against the reference), 30 loses more of a copy at each edit (0.95). Every k-gram is a
fingerprint (``WINDOW`` 1): cells are small, and winnowing would make the scores depend on
Python's per-process string hashing, which copydetect uses (measured: 0.94 to 0.97 for the
copy). A pair must also share ``MIN_SHARED`` characters of normalized code, more than the
quiz and a one-line answer: two near-blank submissions that answered only the quiz and
threshold_unit, alike, share all of their 106 but are not listed; the perceptron rule alone
is 184.

Imports ``course.coursedir``, ``course.notebooks`` and copydetect.
"""

from __future__ import annotations

import functools
import io
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field
from difflib import SequenceMatcher
from itertools import accumulate, combinations

from .coursedir import Course
from .notebooks import CourseError, fill_answers, grade_id, is_answer, read

K, WINDOW = 25, 1  # characters of normalized code per k-gram; every k-gram kept (measured)
THRESHOLD = 0.7  # a pair at or above this score is listed (measured: see the docstring)
MIN_SHARED = 150  # and share this many characters of normalized code (see the docstring)
REFERENCE = "reference"  # the name of the course's own answers in a Pair


@dataclass
class Overlap:
    """One answer cell's shared code: its score (0 to 1, the smaller side's share) and the
    student-written lines that hold it, (line number in the cell, line) on each side."""
    cell: str
    score: float
    first: list[tuple[int, str]]
    second: list[tuple[int, str]]
    # first and second aligned, line against line (same code once names are normalized);
    # None where one side has no counterpart
    rows: list[tuple[tuple[int, str] | None, tuple[int, str] | None]] = field(
        default_factory=list)


@dataclass
class Pair:
    """Two submissions whose answers overlap by ``score`` (0 to 1); ``second`` may be
    ``"reference"``. ``shared`` counts the normalized characters they share (the smaller
    side's); ``cells`` shows the shared lines, cell by cell, side by side."""
    first: str
    second: str
    score: float
    shared: int
    cells: list[Overlap] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _fingerprint(text: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("cell.py", K, WINDOW, boilerplate=boilerplate,
                           fp=io.StringIO(text), filter=True, language="python")


class Template:
    """The handed-out code of an assignment: every k-gram of the release notebook's code cells
    (copydetect's boilerplate) and, per answer cell, its lines (not shown as shared lines)."""

    def __init__(self, release_nb):
        hashes: set = set()
        for cell in release_nb.cells:
            if cell.cell_type == "code" and cell.source.strip():
                hashes |= _fingerprint(cell.source).hashes
        self.hashes = sorted(hashes)
        self.lines = {gid: {line.strip() for line in src.splitlines()}
                      for gid, src in answers(release_nb).items()}


def answers(nb) -> dict[str, str]:
    """{grade_id: source} of the notebook's answer cells."""
    return {grade_id(c): c.source for c in nb.cells if is_answer(c) and grade_id(c)}


def _lines(source: str, slices, handed_out: set[str]) -> list[tuple[int, str]]:
    """(1-based number, text) of the student-written lines that the character slices touch."""
    lines = source.splitlines()
    ends = list(accumulate(len(line) + 1 for line in lines))  # offset just past each line
    touched = set()
    for begin, end in zip(*slices, strict=True):
        first = bisect_right(ends, begin)
        last = bisect_left(ends, end)
        touched.update(range(first, min(last, len(lines) - 1) + 1))
    return [(i + 1, lines[i]) for i in sorted(touched) if lines[i].strip()
            and not lines[i].strip().startswith("#") and lines[i].strip() not in handed_out]


@functools.lru_cache(maxsize=4096)
def _normalized(line: str) -> str:
    from copydetect.utils import filter_code

    return filter_code(line.strip(), "cell.py", "python")[0]


def _align(first: list[tuple[int, str]], second: list[tuple[int, str]]) -> list:
    """The two sides' lines side by side: lines whose normalized code is equal face each other
    (difflib on copydetect's filtered text), the others face None."""
    matcher = SequenceMatcher(None, [_normalized(t) for _, t in first],
                              [_normalized(t) for _, t in second], autojunk=False)
    rows = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += list(zip(first[i1:i2], second[j1:j2], strict=True))
        else:
            rows += [(line, None) for line in first[i1:i2]]
            rows += [(None, line) for line in second[j1:j2]]
    return rows


class _Submission:
    def __init__(self, name: str, cells: dict[str, str], template: Template):
        self.name, self.cells = name, cells
        self.prints = {gid: _fingerprint(src, template.hashes) for gid, src in cells.items()}
        self.size = sum(p.token_coverage for p in self.prints.values())


def compare(a: _Submission, b: _Submission, template: Template, detail: bool = True) -> Pair:
    """The pair's score and, with ``detail``, its shared lines (a cell is compared with the
    same cell of the other submission, by grade_id)."""
    from copydetect import compare_files

    shared_a = shared_b = 0.0
    overlaps = []
    for gid in [g for g in a.cells if g in b.cells]:
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(a.prints[gid],
                                                                           b.prints[gid])
        if overlap:
            shared_a += share_a * a.prints[gid].token_coverage
            shared_b += share_b * b.prints[gid].token_coverage
            cell = Overlap(gid, round(float(min(share_a, share_b)), 3), [], [])
            if detail:
                handed_out = template.lines.get(gid, set())
                cell.first = _lines(a.cells[gid], slices_a, handed_out)
                cell.second = _lines(b.cells[gid], slices_b, handed_out)
                cell.rows = _align(cell.first, cell.second)
            overlaps.append(cell)
    score = min(shared_a / a.size if a.size else 0.0, shared_b / b.size if b.size else 0.0)
    return Pair(a.name, b.name, round(float(score), 3), int(min(shared_a, shared_b)), overlaps)


def listed(pair: Pair, threshold: float = THRESHOLD) -> bool:
    """Whether the report lists the pair: its score reaches ``threshold`` and it shares at
    least ``MIN_SHARED`` characters of normalized code."""
    return pair.score >= threshold and pair.shared >= MIN_SHARED


def submissions(course: Course, assignment: str) -> dict[str, object]:
    """{student: notebook} of every readable submission of ``assignment`` (links and
    notebooks that cannot be read are left out: the grading run reports them)."""
    found = {}
    base = course.submitted
    for folder in sorted(base.glob(f"*/{assignment}")) if base.is_dir() else []:
        path = folder / f"{assignment}.ipynb"
        if folder.is_symlink() or folder.parent.is_symlink() or path.is_symlink():
            continue
        try:
            nb = read(path)
            answers(nb)
        except Exception:  # missing, not JSON, malformed cells: whatever a student sent
            continue
        found[folder.parent.name] = nb
    return found


def score_all(notebooks: dict[str, object], release_nb, source_nb,
              threshold: float = THRESHOLD) -> list[Pair]:
    """Every pair of ``notebooks`` ({student: notebook}) and every student against the
    reference (``source_nb``'s solutions), highest score first; the pairs ``listed`` at
    ``threshold`` carry their shared lines (the others only their cells' scores)."""
    template = Template(release_nb)
    subs = [_Submission(s, answers(nb), template) for s, nb in sorted(notebooks.items())]
    reference = _Submission(REFERENCE, answers(fill_answers(release_nb, source_nb)), template)
    pairs = [compare(a, b, template, detail=False) for a, b in combinations(subs, 2)]
    pairs += [compare(s, reference, template, detail=False) for s in subs]
    by_name = {s.name: s for s in [*subs, reference]}
    pairs = [compare(by_name[p.first], by_name[p.second], template)
             if listed(p, threshold) else p for p in pairs]
    return sorted(pairs, key=lambda p: (-p.score, p.first, p.second))


def similar_pairs(course: Course, assignment: str, threshold: float = THRESHOLD) -> list[Pair]:
    """The pairs of ``assignment``'s submissions (and of a submission with the reference)
    scoring at least ``threshold`` and sharing at least ``MIN_SHARED`` characters of
    normalized code, highest first. For review, never a penalty."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a share in (0, 1], got {threshold!r}")
    release = course.notebook("release", assignment)
    if not release.exists():
        raise CourseError(f"no release notebook {release}: run `course build {assignment}` first")
    pairs = score_all(submissions(course, assignment), read(release),
                      read(course.notebook("source", assignment)), threshold)
    return [p for p in pairs if listed(p, threshold)]


def _span(lines: list[tuple[int, str]]) -> str:
    numbers = [n for n, _ in lines]
    return (f"line {numbers[0]}" if len(numbers) == 1 else f"lines {numbers[0]}-{numbers[-1]}"
            ) if numbers else "no line of its own"


def summary_lines(pairs: list[Pair], excerpt: int = 2, limit: int = 20) -> list[str]:
    """Markdown bullets for ``summary.md``: each pair (the first ``limit``), its score, where
    the shared lines are (cell: lines on one side / on the other) and a few lines facing each
    other; "- none" if no pair."""
    out = []
    for p in pairs[:limit]:
        out.append(f"- **{p.first}** and **{p.second}**: {p.score:.0%} of their own code shared; "
                   + "; ".join(f"`{o.cell}` {_span(o.first)} / {_span(o.second)}"
                               for o in p.cells if o.first or o.second))
        facing = max(([(o.cell, a, b) for a, b in o.rows if a and b] for o in p.cells),
                     key=len, default=[])  # from the cell with most lines facing each other,
        facing.sort(key=lambda row: row[1][1].strip() == row[2][1].strip())  # renamed first
        out += [f"  - `{cell}`: `{a[1].strip()}` | `{b[1].strip()}`"
                for cell, a, b in facing[:excerpt]]
    if len(pairs) > limit:
        out.append(f"- and {len(pairs) - limit} more pairs above the threshold")
    return out or ["- none"]
