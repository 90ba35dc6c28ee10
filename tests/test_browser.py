"""The course as a student and an instructor see it: JupyterLab 4 in headless Chromium.

For every release notebook, in JupyterLab started the way the README says
(``python -m course lab``): it opens unmodified, Run All runs every cell even though no
exercise is solved, every widget renders as controls whose labels fit, no widget's value
moves when the browser attaches, every control redraws its figure, and Validate reports
the unsolved exercises. For chapter 1 a plausible wrong answer is typed in and the teaching
message read. As an instructor, the formgrader lists the assignments; as a student, the
instructor's tools are not there. Everything runs in a scratch copy of the course.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest

from course.mistakes import by_name
from course.notebooks import assignments, course_root, fill_answers, grade_id, notebook_path, read
from tests import browser as B

pytestmark = [pytest.mark.xdist_group("browser"),
              pytest.mark.skipif(B.available() is not None, reason=str(B.available()))]

ROOT = course_root()
NAMES = assignments()
WIDGET_CALL = re.compile(r"^utils\.widgets\.\w+\(", re.M)
# a widget driven by the student's own functions: until they are written it shows a line
# saying which exercise drives it (utils.widgets.show); it is exercised solved, below
DRIVEN = re.compile(r"^utils\.widgets\.\w+\((functions|step|train)=", re.M)
# a value the browser snapped to its slider's grid differs by more than float rounding
MOVED = """import gc
import numpy as np
from utils.widgets.base import Widget
def _moved(a, b):
    try:
        return not np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-9, atol=0)
    except (TypeError, ValueError):
        return a != b
print("MOVED", [(type(w).__name__, name, w.defaults[name], value)
                for w in gc.get_objects() if isinstance(w, Widget)
                for name, value in w.state().items() if _moved(value, w.defaults[name])])"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return B.course_copy(ROOT, tmp_path_factory.mktemp("browser-course"), NAMES)


@pytest.fixture(scope="module")
def chromium():
    with B.browser() as launched:
        yield launched


@pytest.fixture(scope="module")
def student(folder, chromium):
    with B.lab_server(folder, "student") as url:
        page = B.new_page(chromium)
        yield url, page
        page.close()


def run_code_at_end(nb: B.Notebook, code: str) -> str:
    """Add a cell at the end of the notebook, run it, return its output text."""
    page = nb.page
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").last.locator(
        ".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, selected
    page.keyboard.press("Enter")  # edit it
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")  # runs it and adds an empty cell after it
    nb.wait_idle(60)
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(-2)
    return cell.locator(".jp-OutputArea").inner_text()


def exercise_widgets(nb: B.Notebook, page, widgets: int, shots: str) -> None:
    """Every widget of the open notebook renders, keeps its values when the browser attaches,
    and redraws its figure for every live control."""
    text = nb.text()
    assert "Error displaying widget" not in text and "VBox(children" not in text
    views = nb.widget_views()
    assert views.count() == widgets, f"{views.count()} of {widgets} widgets rendered"
    assert nb.cut_labels() == [], "labels or readouts cut off"
    moved = run_code_at_end(nb, MOVED)
    assert "MOVED []" in moved, f"the browser changed a widget's value: {moved}"

    for v in range(widgets):
        view = views.nth(v)
        view.scroll_into_view_if_needed()
        controls = view.locator(B.CONTROLS)
        assert controls.count() > 0
        for c in range(controls.count()):
            if not B.live(controls.nth(c)):
                continue  # hidden, greyed out (irrelevant to the current choice), or chosen
            label = B.label_of(controls.nth(c))
            for attempt in range(2):  # a second value if the first happens to look the same
                before = B.digest(view.locator("img").first.get_attribute("src") or "")
                done = B.change_control(page, controls.nth(c), c + attempt)
                try:
                    B.wait_for_new_image(view, before, timeout=20)
                    break
                except TimeoutError:
                    nb.wait_idle(30, settle=0.2)
            else:
                pytest.fail(f"widget {v}: '{label}': {done} did not redraw the figure")
            nb.wait_idle(30, settle=0.2)
        B.shoot(page, f"{shots}_widget{v}")


@pytest.mark.parametrize("name", NAMES)
def test_release_notebook_in_the_browser(student, name):
    url, page = student
    release = read(notebook_path(ROOT, "release", name))
    widgets = sum(len(WIDGET_CALL.findall(c.source)) for c in release.cells
                  if c.cell_type == "code")
    nb = B.Notebook(page, url, f"release/{name}/{name}.ipynb").open()
    assert not nb.is_dirty(), "an untouched release notebook opens as modified"

    nb.run_all()
    prompts = nb.prompts()
    assert len(prompts) == sum(c.cell_type == "code" for c in release.cells)
    not_run = [i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p)]
    assert not_run == [], f"Run All stopped: code cells {not_run} did not run"

    driven = sum(len(DRIVEN.findall(c.source)) for c in release.cells if c.cell_type == "code")
    text = nb.text()
    assert text.count("to drive this explorer") == driven, "a driven widget says nothing"
    exercise_widgets(nb, page, widgets - driven, f"{name}_blank")

    result = nb.validate()
    assert "Validation Results" in result or "failed" in result.lower(), result[:500]
    assert "NotImplementedError" in result or "write your answer here" in result, result[:500]
    assert "without encryption" not in result


DRIVING = [n for n in NAMES if DRIVEN.search(
    "\n".join(c.source for c in read(notebook_path(ROOT, "release", n)).cells))]


@pytest.mark.parametrize("name", DRIVING)
def test_widgets_driven_by_the_students_functions_in_the_browser(student, folder, name):
    """Solved, the chapter's own functions drive its widgets: each renders and responds."""
    import nbformat

    url, page = student
    release = read(notebook_path(ROOT, "release", name))
    solved = fill_answers(release, read(notebook_path(ROOT, "source", name)))
    nbformat.write(solved, str(folder / "release" / name / f"{name}_solved.ipynb"))
    widgets = sum(len(WIDGET_CALL.findall(c.source)) for c in release.cells
                  if c.cell_type == "code")
    nb = B.Notebook(page, url, f"release/{name}/{name}_solved.ipynb").open()
    nb.run_all()
    assert "to drive this explorer" not in nb.text()
    exercise_widgets(nb, page, widgets, f"{name}_solved")


def test_a_wrong_answer_shows_its_teaching_message(student):
    """Chapter 1, typed in as a student: ReLU with np.max, which reduces to one number."""
    url, page = student
    name = "ch1_perceptron"
    release = read(notebook_path(ROOT, "release", name))
    wrong = fill_answers(release, read(notebook_path(ROOT, "source", name)),
                         by_name(name, "relu with np.max (a reduction)"))
    answer = next(c for c in wrong.cells if grade_id(c) == "relu_answer")
    nb = B.Notebook(page, url, f"release/{name}/{name}.ipynb").open()
    first_line = answer.source.splitlines()[0]
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
    index = next(i for i in range(cells.count())
                 if first_line in cells.nth(i).locator(".jp-InputArea").inner_text())
    # the setup cell first (imports), then the answer and its tests cell
    cells.nth(0).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    nb.wait_idle(60)
    cells.nth(index).locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(answer.source)
    page.keyboard.press("Shift+Enter")  # runs the answer, selects its tests cell
    nb.wait_idle(30)
    page.keyboard.press("Shift+Enter")
    nb.wait_idle(30)
    shown = cells.nth(index + 1).locator(".jp-OutputArea").inner_text()
    assert "CheckFailed: relu(z)" in shown, shown
    assert "Hint: one output per input: np.maximum works elementwise" in shown, shown
    assert "grading.py" not in shown  # the helpers' frames are hidden
    B.shoot(page, "wrong_answer")


def test_students_do_not_get_the_instructors_tools(student):
    url, page = student
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url + "/formgrader", timeout=10)
    assert err.value.code == 404
    page.goto(url + "/lab?reset")
    page.wait_for_selector(".lm-MenuBar-itemLabel")
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" not in menus, menus
    time.sleep(1)
    body = page.locator("body").inner_text()
    assert "Error fetching courses" not in body and "Create Assignment" not in body


def test_instructor_sees_the_formgrader_with_the_assignments(folder, chromium):
    with B.lab_server(folder, "instructor") as url:
        page = B.new_page(chromium)
        page.goto(url + "/formgrader")
        page.wait_for_selector("text=ch1_perceptron", timeout=60_000)
        B.shoot(page, "formgrader")
        listed = page.locator("body").inner_text()
        for name in NAMES:
            assert name in listed, name
        page.goto(url + "/lab?reset")
        page.wait_for_selector(".lm-MenuBar-itemLabel")
        assert "Nbgrader" in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()


def test_lab_config_per_role(folder):
    from course.lab import write_config

    student = json.loads((write_config(folder, "student") / "labconfig" /
                          "page_config.json").read_text())["disabledExtensions"]
    assert student["@jupyter/nbgrader:formgrader"] and student["@jupyter/nbgrader:menu"]
    instructor = json.loads((write_config(folder, "instructor") / "labconfig" /
                             "page_config.json").read_text())["disabledExtensions"]
    assert instructor == {}
    with pytest.raises(ValueError, match="role must be"):
        write_config(folder, "teacher")
