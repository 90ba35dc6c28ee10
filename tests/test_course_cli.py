"""``python -m course``: help, errors, build, check and the demo, run as an instructor would."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from course.notebooks import course_root, notebook_path, read

pytestmark = pytest.mark.xdist_group("cli")  # one worker: module fixtures run once

ROOT = course_root()


def course(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=600)


def test_help_lists_the_commands():
    proc = course("--help")
    assert proc.returncode == 0
    for command in ("build", "check", "demo"):
        assert command in proc.stdout


def test_bad_input_gets_a_clear_error_and_nonzero_exit(tmp_path):
    proc = course("check", "ch99_nothing")
    assert proc.returncode == 2 and "unknown assignment 'ch99_nothing'" in proc.stderr
    proc = course("--root", str(tmp_path), "build")
    assert proc.returncode == 2 and "not a course directory" in proc.stderr
    proc = course("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_build_regenerates_the_committed_release(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source", tmp_path / "source")
    proc = course("--root", str(tmp_path), "build")
    assert proc.returncode == 0, proc.stderr
    for name in [p.name for p in (ROOT / "source").iterdir() if p.is_dir()]:
        built = read(notebook_path(tmp_path, "release", name))
        committed = read(notebook_path(ROOT, "release", name))
        assert [c.source for c in built.cells] == [c.source for c in committed.cells]


def test_check_fails_on_a_stale_release(tmp_path):
    """``course check`` with no name checks every assignment of the course (here one, whose
    release was edited by hand); that it passes on this repository's every assignment is
    ``test_notebooks.test_release_in_sync_metadata_valid_and_leak_free``."""
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path)
    for folder in ("source", "release"):
        shutil.copytree(ROOT / folder / "ch2_mlp", tmp_path / folder / "ch2_mlp")
    stale = tmp_path / "release" / "ch2_mlp" / "ch2_mlp.ipynb"
    assert "Exercise 1" in stale.read_text()
    stale.write_text(stale.read_text().replace("Exercise 1", "Exercise One"))
    proc = course("--root", str(tmp_path), "check")
    assert proc.returncode == 1 and "differs from what the source generates" in proc.stdout
    assert "ch2_mlp:" in proc.stdout and "ch1_perceptron" not in proc.stdout


def test_demo_grades_the_simulated_class_as_expected(tmp_path):
    proc = course("demo", "--dir", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "every student got the expected score" in out
    assert "ada        30/30        30  yes" in out
    assert "cai         0/30         0  yes" in out
    assert "not a valid notebook file" in out  # eve's corrupt file is reported, not fatal
    csv_text = (tmp_path / "demo" / "grades.csv").read_text()
    assert csv_text.count("ch1_perceptron") == 5  # eve is on the roll with 0 points
    assert "ch1_perceptron,,,eve,,,,0.0,0.0,0.0,30.0" in csv_text
    feedback = tmp_path / "demo" / "feedback" / "ada" / "ch1_perceptron"
    assert (feedback / "ch1_perceptron.html").exists()


def test_root_is_accepted_before_or_after_the_command(tmp_path):
    for args in (("--root", str(ROOT), "check", "ch1_perceptron"),
                 ("check", "--root", str(ROOT), "ch1_perceptron")):
        proc = course(*args, cwd=tmp_path)
        assert proc.returncode == 0 and "check: OK" in proc.stdout, (args, proc.stderr)


def test_report_with_nothing_graded_says_so(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "source" / "ch1_perceptron", tmp_path / "source" / "ch1_perceptron")
    proc = course("--root", str(tmp_path), "report")
    assert proc.returncode == 0, proc.stderr
    assert "No graded submissions yet" in proc.stdout and "nothing is graded yet" in proc.stdout
    assert not list((tmp_path / "reports").glob("*.png"))
