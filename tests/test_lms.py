"""``course export --lms``: the Canvas, Moodle and plain CSV files, from a small class written
straight into an nbgrader gradebook with its API (no notebook is run)."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import warnings

import pytest
from sqlalchemy.exc import SAWarning

from course import lms
from course.notebooks import CourseError, course_root

ROOT = course_root()
# assignment -> its graded cells (grade_id, points), in the notebook's order
CELLS = {"ch1_perceptron": [("step_tests", 2), ("train_tests", 3)],
         "ch2_mlp": [("forward_tests", 4), ("backward_tests", 6)]}
# student -> (first name, last name, email), then scores per assignment and cell
ROLL = {"ada": ("Ada", "Lovelace", "ada@example.org"),
        "jnunez": ("José", "Núñez", "jose.nunez@example.org"),
        "zoe": ("Zoë", "Ångström", ""),
        "bob": ("", "", "")}
SCORES = {("ada", "ch1_perceptron"): {"step_tests": 2, "train_tests": 3},
          ("ada", "ch2_mlp"): {"forward_tests": 4, "backward_tests": 2.5},
          ("jnunez", "ch1_perceptron"): {"step_tests": 1 / 3, "train_tests": 0},
          ("zoe", "ch1_perceptron"): {"step_tests": 0, "train_tests": 0},
          ("zoe", "ch2_mlp"): {"forward_tests": 4, "backward_tests": 6}}
# jnunez has no ch2_mlp submission; bob, on the roll, has none at all


def make_gradebook(url: str) -> None:
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        for assignment, cells in CELLS.items():
            gb.add_assignment(assignment)
            gb.add_notebook(assignment, assignment)
            for name, maximum in cells:
                gb.add_grade_cell(name, assignment, assignment, max_score=maximum,
                                  cell_type="code")
        for student, (first, last, email) in ROLL.items():
            gb.add_student(student, first_name=first or None, last_name=last or None,
                           email=email or None)
        for (student, assignment), scores in SCORES.items():
            gb.add_submission(assignment, student)
            for cell, score in scores.items():
                gb.find_grade(cell, assignment, assignment, student).auto_score = score
        gb.db.commit()


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copy2(ROOT / "nbgrader_config.py", root)
    make_gradebook(f"sqlite:///{root / 'gradebook.db'}")
    return root


@pytest.fixture(scope="module")
def url(course_dir):
    return f"sqlite:///{course_dir / 'gradebook.db'}"


def written(url, lms_name, tmp_path, **kwargs) -> tuple[str, list[list[str]]]:
    out = tmp_path / f"{lms_name}.csv"
    lms.export(url, lms_name, out, **kwargs)
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8 without a byte-order mark
    text = raw.decode("utf-8")
    with out.open(encoding="utf-8", newline="") as f:
        return text, list(csv.reader(f))


def test_canvas_file_is_canvas_gradebook_import_csv(url, tmp_path):
    text, table = written(url, "canvas", tmp_path)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        "ch1_perceptron", "ch2_mlp"]
    assert table[1] == ["Points Possible", "", "", "", "", "5", "10"]
    assert table[2:] == [["Lovelace, Ada", "", "", "ada", "", "5", "6.5"],
                         ["bob", "", "", "bob", "", "", ""],
                         ["Núñez, José", "", "", "jnunez", "", "0.33", ""],
                         ["Ångström, Zoë", "", "", "zoe", "", "0", "10"]]
    # the raw text: plain numbers, the comma inside a name quoted, CRLF line ends
    assert text.splitlines()[2] == '"Lovelace, Ada",,,ada,,5,6.5'
    assert text.endswith("\r\n") and ".0," not in text and "e+" not in text


def test_moodle_file_has_one_identifier_row_per_student_and_no_grade_as_dash(url, tmp_path):
    _, table = written(url, "moodle", tmp_path)
    assert table[0] == ["Username", "Email address", "First name", "Last name",
                        "ch1_perceptron", "ch2_mlp"]
    assert table[1:] == [["ada", "ada@example.org", "Ada", "Lovelace", "5", "6.5"],
                         ["bob", "", "", "", "-", "-"],
                         ["jnunez", "jose.nunez@example.org", "José", "Núñez", "0.33", "-"],
                         ["zoe", "", "Zoë", "Ångström", "0", "10"]]


def test_plain_csv_is_a_long_table(url, tmp_path):
    _, table = written(url, "csv", tmp_path, assignments=["ch2_mlp"])
    assert table == [["student_id", "assignment", "score", "max_score"],
                     ["ada", "ch2_mlp", "6.5", "10"], ["bob", "ch2_mlp", "", "10"],
                     ["jnunez", "ch2_mlp", "", "10"], ["zoe", "ch2_mlp", "10", "10"]]


def test_per_exercise_columns_replace_the_totals(url, tmp_path):
    _, table = written(url, "canvas", tmp_path, per_exercise=True)
    assert table[0][5:] == ["ch1_perceptron: step_tests", "ch1_perceptron: train_tests",
                            "ch2_mlp: forward_tests", "ch2_mlp: backward_tests"]
    assert table[1][5:] == ["2", "3", "4", "6"]
    assert table[2][5:] == ["2", "3", "4", "2.5"]  # ada
    assert table[4][5:] == ["0.33", "0", "", ""]  # jnunez: no ch2_mlp submission
    _, long = written(url, "csv", tmp_path, assignments=["ch1_perceptron"], per_exercise=True)
    assert long[0] == ["student_id", "assignment", "exercise", "score", "max_score"]
    assert long[1:3] == [["ada", "ch1_perceptron", "step_tests", "2", "2"],
                         ["ada", "ch1_perceptron", "train_tests", "3", "3"]]
    assert len(long) == 1 + 4 * 2


def test_missing_submissions_can_be_exported_as_zero(url, tmp_path):
    _, table = written(url, "moodle", tmp_path, missing_zero=True)
    assert table[2][4:] == ["0", "0"] and table[3][4:] == ["0.33", "0"]


def test_assignments_are_exported_in_the_order_asked(url, tmp_path):
    _, table = written(url, "canvas", tmp_path, assignments=["ch2_mlp", "ch1_perceptron"])
    assert table[0][5:] == ["ch2_mlp", "ch1_perceptron"] and table[1][5:] == ["10", "5"]


def test_points_are_written_plainly():
    assert [lms.points(x) for x in (5.0, 2.5, 1 / 3, 0.0, -0.0, 1234567.0, 0.005)] == \
        ["5", "2.5", "0.33", "0", "0", "1234567", "0.01"]


def test_unknown_assignment_or_lms_is_a_clear_error(url, tmp_path):
    with pytest.raises(CourseError, match="unknown assignment 'ch9_nothing': the gradebook "
                                          "has ch1_perceptron, ch2_mlp"):
        lms.export(url, "canvas", tmp_path / "x.csv", ["ch9_nothing"])
    with pytest.raises(ValueError, match="unknown LMS 'blackboard': expected one of canvas, "
                                         "moodle, csv"):
        lms.export(url, "blackboard", tmp_path / "x.csv")
    with pytest.raises(CourseError, match="no gradebook at"):
        lms.export(f"sqlite:///{tmp_path / 'none.db'}", "csv", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "none.db").exists()


def course(*args):
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True,
                          text=True, timeout=120)


def test_the_command_writes_the_file_and_refuses_bad_input(course_dir):
    proc = course("export", "--root", str(course_dir), "--lms", "canvas")
    assert proc.returncode == 0, proc.stderr
    out = course_dir / "reports" / "grades_canvas.csv"
    assert "4 students, 2 grade columns" in proc.stdout and str(out) in proc.stdout
    with out.open(encoding="utf-8", newline="") as f:
        assert list(csv.reader(f))[4] == ["Núñez, José", "", "", "jnunez", "", "0.33", ""]
    target = course_dir / "moodle.csv"
    proc = course("export", "--root", str(course_dir), "--lms", "moodle", "--per-exercise",
                  "--out", str(target), "ch1_perceptron")
    assert proc.returncode == 0, proc.stderr
    assert target.read_text(encoding="utf-8").splitlines()[0] == (
        "Username,Email address,First name,Last name,"
        "ch1_perceptron: step_tests,ch1_perceptron: train_tests")
    proc = course("export", "--root", str(course_dir), "--lms", "csv", "ch9_nothing")
    assert proc.returncode == 2 and "unknown assignment 'ch9_nothing'" in proc.stderr
    proc = course("export", "--root", str(course_dir), "--lms", "blackboard")
    assert proc.returncode == 2 and "invalid choice: 'blackboard'" in proc.stderr
