"""Similar submissions (``course.similarity``): a near-copy among ten ch1_perceptron
submissions is the one pair listed, ten independent correct answers written in different
styles are not listed (not against each other, not against the reference), and the
handed-out template never makes two submissions similar. No notebook is executed: the
submissions are the release with its answer cells filled (``tests/similarity_answers.py``).
"""

from __future__ import annotations

import json
import shutil
from statistics import median

import numpy as np
import pytest

from course import similarity, workspace
from course.coursedir import Course
from course.mistakes import Mistake
from course.notebooks import CourseError, course_root, fill_answers, is_answer, read

from .similarity_answers import COPIED_FROM, copier_answers, student_answers

A = "ch1_perceptron"
ROOT = course_root()
RELEASE = read(ROOT / "release" / A / f"{A}.ipynb")
SOURCE = read(ROOT / "source" / A / f"{A}.ipynb")


def notebook(code: dict[tuple[str, int], str]):
    """The release with every listed solution region answered with ``code``."""
    return fill_answers(RELEASE, SOURCE, [Mistake(f"{cell} {region}", cell, (), text, region)
                                          for (cell, region), text in code.items()])


STUDENTS = {f"s{i}": notebook(student_answers(i)) for i in range(10)}
COPIER = notebook(copier_answers())


def run_answers(nb) -> dict:
    """The namespace the notebook's answer cells define (run in order, as a student would)."""
    import utils

    namespace = {"np": np, "utils": utils}
    for cell in nb.cells:
        if is_answer(cell):
            exec(cell.source, namespace)
    return namespace


Z = np.array([-1e4, -1000.0, -30.0, -2.5, -0.1, 0.0, 0.7, 4.0, 30.0, 1000.0, 1e4])
M = np.array([[0.002, 0.597, -0.548], [-1.781, -0.909, -1.983]])
GATES = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
BIPOLAR = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
X3 = np.random.default_rng(1).uniform(-1, 1, (6, 3))
CALLS = {
    "threshold_unit": [(GATES, np.array([1.0, 1.0]), 2.0), (np.array([0.5, 0.25]),
                       np.array([2.0, 4.0]), 2.0), (X3, np.array([1.0, -2.0, 0.5]), 0.1)],
    "bipolar_step": [(np.array([-0.21, -0.2, -0.19, 0.0, 0.19, 0.2, 0.21]), 0.2), (M, 1.0),
                     (-0.5, 0.5), (0.3, 0.0)],
    "perceptron_rule": [(GATES[::-1], np.array([1, -1, -1, -1]), 1.0, 0.2),
                        (X3, np.array([1, -1, 1, 1, -1, -1]), 0.5, 0.1),
                        (BIPOLAR, np.array([1, -1, -1, 1]), 1.0, 0.0, 7)],  # never converges
    "perceptron_rule_multi": [(GATES, np.array([[-1, -1], [-1, 1], [-1, 1], [1, 1]]), 1.0, 0.2),
                              (BIPOLAR, np.array([[1, 1], [-1, 1], [-1, 1], [1, -1]]), 1.0, 0.0,
                               7)],
    "sigmoid": [(Z,), (M,), (1.5,)], "sigmoid_grad": [(Z,), (M,)], "tanh": [(Z,), (M,)],
    "tanh_grad": [(Z,)], "relu": [(Z,), (M,)], "relu_grad": [(Z[Z != 0],), (M,)],
    "leaky_relu": [(Z,), (Z, 0.2)], "leaky_relu_grad": [(Z[Z != 0], 0.3)],
    "softmax": [(np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 3.0]]),), (M,),
                (np.array([1.0, 2.0, 3.0]),), (np.linspace(-3, 3, 24).reshape(2, 3, 4),)],
}


def same(got, want) -> bool:
    if isinstance(want, tuple):
        return len(got) == len(want) and all(map(same, got, want))
    return np.shape(got) == np.shape(want) and np.allclose(
        np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", [*STUDENTS, "copier"])
def test_the_answers_are_correct(name):
    """The independent answers are real, correct answers (the reference's results)."""
    ours = run_answers(STUDENTS.get(name, COPIER))
    reference = run_answers(fill_answers(RELEASE, SOURCE))
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        wrong = [(fn, i) for fn, calls in CALLS.items() for i, args in enumerate(calls)
                 if not same(ours[fn](*args), reference[fn](*args))]
    assert not wrong
    for gate, truth in {"NOR": [1, 0, 0, 0], "AND_NOT": [0, 0, 1, 0]}.items():
        w, T = ours["GATE_PARAMS"][gate]
        assert list((GATES @ np.asarray(w, dtype=float) - T >= 0).astype(int)) == truth
    assert [ours[q] for q in ("Q1", "Q2", "Q3", "Q4")] == ["b", 0.25, "b", "b"]


def test_a_near_copy_among_ten_is_the_one_pair_listed():
    ten = {**{f"s{i}": STUDENTS[f"s{i}"] for i in range(9)}, "copier": COPIER}
    pairs = similarity.score_all(ten, RELEASE, SOURCE)
    assert len(pairs) == 45 + 10  # every pair, and everyone against the reference
    listed = [p for p in pairs if similarity.listed(p)]
    assert [(p.first, p.second) for p in listed] == [("copier", f"s{COPIED_FROM}")]
    copy = listed[0]
    assert copy.score == 0.973  # measured (the docstring's figure); K 25, every k-gram
    assert max(p.score for p in pairs[1:]) == 0.462  # the next: s0 and the reference
    # the shared lines, cell by cell, face each other although every name differs
    cells = {o.cell: o for o in copy.cells}
    assert len(cells) == 11 and min(o.score for o in cells.values()) > 0.8
    rows = cells["train_perceptron_answer"].rows
    assert (("aug = np.hstack([np.ones((len(X), 1)), np.asarray(X, dtype=float)])",
             "Xa = np.hstack([np.ones((len(X), 1)), np.asarray(X, dtype=float)])")
            in [(a[1].strip(), b[1].strip()) for a, b in rows if a and b])
    shown = [line for o in copy.cells for _, line in o.first + o.second]
    assert not [line for line in shown if "raise NotImplementedError" in line
                or line.lstrip().startswith(("def ", "#", '"""'))]  # template, comments
    summary = similarity.summary_lines(listed)
    assert summary[0].startswith(f"- **copier** and **s{COPIED_FROM}**: 97% of their own code")
    assert "`train_perceptron_answer` lines 8-20 / lines 8-19" in summary[0]
    assert summary[1:3] == [  # renamed lines of the cell with the most lines facing each other
        "  - `train_perceptron_multi_answer`: `weights = np.zeros((aug.shape[1], T.shape[1]))` "
        "| `Wa = np.zeros((Xa.shape[1], T.shape[1]))`",
        "  - `train_perceptron_multi_answer`: `n_epochs = 0` | `epochs_run = 0`"]
    json.dumps([p.as_dict() for p in listed])  # plain data, for the report page


def test_ten_independent_answers_and_the_reference_are_not_listed():
    pairs = similarity.score_all(STUDENTS, RELEASE, SOURCE)
    students = [p.score for p in pairs if p.second != similarity.REFERENCE]
    reference = [p.score for p in pairs if p.second == similarity.REFERENCE]
    assert len(students) == 45 and len(reference) == 10
    assert not [p for p in pairs if similarity.listed(p)]
    # measured (the docstring's figures): far below THRESHOLD 0.7 and the copy's 0.97
    assert (median(students), max(students)) == (0.19, 0.391)
    assert (median(reference), max(reference)) == (0.2855, 0.462)


def test_pasting_the_reference_is_listed_against_it():
    pairs = similarity.score_all({"s0": STUDENTS["s0"], "paster": fill_answers(RELEASE, SOURCE)},
                                 RELEASE, SOURCE)
    listed = [(p.first, p.second, p.score) for p in pairs if similarity.listed(p)]
    assert listed == [("paster", "reference", 1.0)]


def test_the_template_alone_is_never_a_match():
    pairs = similarity.score_all({"blank1": RELEASE, "blank2": RELEASE}, RELEASE, SOURCE)
    assert [(p.score, p.shared, p.cells) for p in pairs] == [(0.0, 0, [])] * 3
    # near-blank submissions answered alike: all they wrote is shared, but it is too little
    # to tell (MIN_SHARED) unless it holds a real exercise
    for only, shared in [({"threshold_unit_answer", "check_yourself_answer"}, 106),
                         ({"train_perceptron_answer"}, 184)]:
        skip = [c for c in similarity.answers(RELEASE) if c not in only]
        alike = {s: fill_answers(RELEASE, SOURCE, skip_answers=skip) for s in ("q1", "q2")}
        pair = similarity.score_all(alike, RELEASE, SOURCE)[0]
        assert (pair.first, pair.second, pair.score, pair.shared) == ("q1", "q2", 1.0, shared)
        assert {o.cell for o in pair.cells} == only
        assert similarity.listed(pair) == (shared >= similarity.MIN_SHARED)
    assert similarity.summary_lines([]) == ["- none"]


def test_similar_pairs_reads_the_course_directory(tmp_path):
    for kind in ("source", "release"):
        shutil.copytree(ROOT / kind / A, tmp_path / kind / A)
    course = Course(tmp_path)
    for name in ("s1", "s3"):
        workspace.submit(tmp_path, A, name, STUDENTS[name])
    workspace.submit(tmp_path, A, "copier", COPIER)
    workspace.submit(tmp_path, A, "corrupt", raw="{not json")
    pairs = similarity.similar_pairs(course, A)
    assert [(p.first, p.second) for p in pairs] == [("copier", "s3")]
    assert similarity.similar_pairs(course, A, threshold=1.0) == []
    with pytest.raises(ValueError, match="threshold"):
        similarity.similar_pairs(course, A, threshold=70)
    with pytest.raises(CourseError, match="no release notebook"):
        similarity.similar_pairs(course, "ch2_mlp")
