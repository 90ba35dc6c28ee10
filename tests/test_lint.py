import subprocess
import sys

from course.notebooks import course_root


def test_ruff_is_clean_on_code_and_notebooks():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=course_root(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
