"""A semester on a real JupyterHub, in Chromium: the instructor releases ch1 from formgrader,
three students (real Linux users) fetch it in the Assignments tab, solve it (fully, partly,
not at all), validate and submit; the deadline passes; one student submits late, another
tries to backdate a resubmission, to forge one in a classmate's name and to read, move or
overwrite a classmate's work; the instructor collects, grades with ``course grade``, writes
the report and releases feedback; each student reads their feedback, and the instructor sees
the scores in formgrader. Set up as docs/deployment.md §2 says (tests/hub.py, deploy/).

Screenshots of every step go to $COURSE_SCREENSHOTS/hub (or the test's temporary folder);
the test prints how long each step took.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from html import unescape
from pathlib import Path

import nbformat
import pytest

from course.gradebook import results
from course.mistakes import by_name
from course.notebooks import fill_answers, grade_id, hidden_only_lines, is_answer
from tests import browser as lab
from tests import hub as hubmod
from tests.hub import COURSE_ID, INSTRUCTOR, STUDENTS, Hub

ROOT = Path(__file__).resolve().parents[1]
A = "ch1_perceptron"
NOTEBOOK = f"{A}/{A}.ipynb"
PARTLY_WRONG = "relu with np.max (a reduction)"  # a catalogued mistake its visible tests catch
PARTLY_SKIPPED = "softmax_answer"
LATE_ANSWER = "threshold_unit_answer"  # what the blank student adds after the deadline

# The hub is a machine's worth of processes (four servers, Chromium, grading kernels): beside the
# parallel suite it slows the load tests past their bounds and its grading kernels look like
# leftovers to theirs, so the README's test command runs it alone, after the rest (COURSE_HUB=1).
why = hubmod.missing() or lab.available() or (
    None if os.environ.get("COURSE_HUB") == "1" else
    "runs alone after the parallel suite: COURSE_HUB=1 python -m pytest -n0 tests/test_hub.py")
pytestmark = [pytest.mark.skipif(why is not None, reason=why or ""),
              pytest.mark.xdist_group("hub")]


class Semester:
    def __init__(self, hub: Hub, chromium, shots: Path):
        self.hub, self.chromium, self.shots = hub, chromium, shots
        self.pages: dict[str, object] = {}
        self.took: dict[str, float] = {}
        release = nbformat.read(ROOT / "release" / A / f"{A}.ipynb", as_version=4)
        source = nbformat.read(ROOT / "source" / A / f"{A}.ipynb", as_version=4)
        answers = [grade_id(c) for c in source.cells if is_answer(c)]
        self.solutions = {
            "alice": fill_answers(release, source),
            "bob": fill_answers(release, source, by_name(A, PARTLY_WRONG),
                                skip_answers=[PARTLY_SKIPPED]),
            "carol": release,
            "carol, late": fill_answers(release, source, skip_answers=[
                a for a in answers if a != LATE_ANSWER]),
        }

    # the browser ----------------------------------------------------------------------
    def step(self, name: str):
        semester = self

        class Timer:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                semester.took[name] = time.perf_counter() - self.start

        return Timer()

    def shoot(self, user: str, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.pages[user].screenshot(path=str(self.shots / f"{len(list(self.shots.iterdir())):02d}"
                                             f"-{user}-{name}.png"))

    def log_in(self, user: str):
        page = self.chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        self.pages[user] = page
        page.goto(self.hub.url + "/hub/login")
        page.fill("#username_input", user)
        page.fill("#password_input", self.hub.passwords[user])
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
        page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
        return page

    def api(self, user: str, method: str, path: str, body=None):
        page = self.pages[user]
        xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"
                    and c["path"].startswith(f"/user/{user}"))
        response = page.request.fetch(f"{self.hub.url}/user/{user}/{path}", method=method,
                                      headers={"X-XSRFToken": xsrf},
                                      data=None if body is None else json.dumps(body))
        assert response.ok, (method, path, response.status, response.text()[:500])
        return response.json() if response.text() else None

    def assignments(self, user: str):
        page = self.pages[user]
        page.goto(f"{self.hub.url}/user/{user}/lab?reset")
        page.wait_for_selector(".jp-LauncherCard", timeout=60_000)
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
        page.wait_for_selector("#released_assignments_list", timeout=30_000)
        return page

    def click_in(self, user: str, listing: str, label: str, timeout: float = 60):
        page = self.pages[user]
        row = page.locator(f"#{listing} .list_item", has=page.locator(f"text={A}")).first
        button = row.get_by_role("button", name=label).first
        button.wait_for(timeout=timeout * 1000)
        button.click()
        return page

    def save(self, user: str, nb) -> None:
        """What the student typed: the notebook saved through their own server."""
        self.api(user, "PUT", f"api/contents/{NOTEBOOK}",
                 {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))})

    def validate(self, user: str) -> dict:
        """Open the notebook and press Validate; returns nbgrader's verdict (the JSON the
        button received), with the dialog's text under "shown"."""
        page = self.pages[user]
        notebook = lab.Notebook(page, f"{self.hub.url}/user/{user}", NOTEBOOK).open(timeout=120)
        with page.expect_response(re.compile(r".*/assignments/validate.*"),
                                  timeout=180_000) as answer:
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-item") \
                .get_by_text("Validate", exact=True).click()
        verdict = answer.value.json()
        page.locator(".jp-Dialog-content").wait_for(timeout=30_000)
        page.wait_for_function("() => !document.querySelector('.jp-Dialog-body')"
                               ".textContent.includes('Validating')", timeout=60_000)
        verdict["shown"] = page.locator(".jp-Dialog-content").inner_text()
        self.shoot(user, "validate")
        page.keyboard.press("Escape")
        assert notebook.path == NOTEBOOK
        return verdict


def failing_tests_cells(verdict: dict, nb) -> set[str]:
    """The tests cells whose source Validate reported as failing (as the student sees them)."""
    value = verdict.get("value")
    value = json.loads(value) if isinstance(value, str) else value
    failed = value.get("failed", []) if isinstance(value, dict) else []
    sources = {c.source.strip(): grade_id(c) for c in nb.cells if grade_id(c)}
    return {sources.get(f.get("source", "").strip(), "?") for f in failed}


def lost(cells: dict[str, tuple[float, float]]) -> set[str]:
    return {g for g, (score, full) in cells.items() if score < full}


@pytest.fixture(scope="module")
def hub():
    hub = Hub()
    try:
        hub.set_up()
        hub.start()
        yield hub
    finally:
        hub.tear_down()


def test_a_semester_on_jupyterhub(hub, tmp_path):
    shots = Path(os.environ["COURSE_SCREENSHOTS"]) / "hub" if os.environ.get(
        "COURSE_SCREENSHOTS") else tmp_path / "screenshots"
    with lab.browser() as chromium:
        s = Semester(hub, chromium, shots)
        semester(s, hub)
    print(f"\nscreenshots: {shots}\n" + "\n".join(f"{k:45s} {v:6.1f} s"
                                                 for k, v in s.took.items()))


def semester(s: Semester, hub: Hub) -> None:
    course = hub.course
    # 1. the instructor builds ch1 in a terminal and releases it from formgrader
    with s.step("instructor: course build"):
        hub.run_as(INSTRUCTOR, ["python", "-m", "course", "build", A])
    with s.step("instructor: log in, release in formgrader"):
        page = s.log_in(INSTRUCTOR)
        page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader")
        row = page.locator("tr", has=page.locator(f"a:text-is('{A}')")).first
        row.wait_for(timeout=30_000)
        row.locator(".release a:has(.glyphicon-cloud-upload)").click()
        page.wait_for_selector("#success-modal", timeout=60_000)
        s.shoot(INSTRUCTOR, "released")
        page.locator("#success-modal button", has_text="OK").first.click()
    assert (hub.exchange / COURSE_ID / "outbound" / A / f"{A}.ipynb").exists()

    # 2. each student fetches, solves, validates and submits, in the browser
    verdicts = {}
    for student in STUDENTS:
        with s.step(f"{student}: log in, fetch"):
            s.log_in(student)
            s.assignments(student)
            s.click_in(student, "released_assignments_list", "Fetch")
            s.pages[student].wait_for_selector(f"#fetched_assignments_list >> text={A}",
                                               timeout=60_000)
            s.shoot(student, "fetched")
        with s.step(f"{student}: solve, validate"):
            s.save(student, s.solutions[student])
            verdicts[student] = s.validate(student)
        with s.step(f"{student}: submit"):
            s.assignments(student)
            s.click_in(student, "fetched_assignments_list", "Submit")
            s.pages[student].wait_for_selector(f"#submitted_assignments_list >> text={A}",
                                               timeout=60_000)
            s.shoot(student, "submitted")
    assert "Success! Your notebook passes all the tests." in verdicts["alice"]["shown"]

    # 3. the deadline passes
    deadline = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    time.sleep(1.5)
    hub.run_as(INSTRUCTOR, ["nbgrader", "db", "assignment", "add", A, f"--duedate={deadline}"])

    # 4. what must not happen: a late submission on time, a classmate's work read or replaced
    with s.step("carol: late submission in the browser"):
        s.assignments("carol")
        s.save("carol", s.solutions["carol, late"])
        s.assignments("carol")
        s.click_in("carol", "fetched_assignments_list", "Submit")
        s.pages["carol"].wait_for_function(
            "() => document.querySelectorAll('#submitted_assignments_list .list_item').length > 1",
            timeout=60_000)
        s.shoot("carol", "submitted-late")
    inbound = hub.exchange / COURSE_ID / "inbound"
    alices = next(p for p in inbound.iterdir() if p.name.startswith(f"alice+{A}+"))
    bobs = next(p for p in inbound.iterdir() if p.name.startswith(f"bob+{A}+"))
    since_bob = time.time() - bobs.stat().st_ctime
    time.sleep(max(0.0, 20 - since_bob))  # backdating by more than the clock skew allowed
    attack = hub.run_as("bob", ["python", "-c", ATTACK, str(inbound), alices.name, bobs.name,
                                str(course)])
    tried = json.loads(attack.stdout)
    assert tried == EXPECTED_REFUSALS, tried

    # 5. the instructor collects, grades, reports and releases feedback
    with s.step("instructor: collect"):
        collect = hub.run_as(INSTRUCTOR, ["nbgrader", "collect", A])
    assert "Not collected" in collect.stderr and "belongs to bob" in collect.stderr
    assert "claimed to submit at" in collect.stderr  # bob's backdated resubmission
    with s.step("instructor: course grade"):
        graded = hub.run_as(INSTRUCTOR, ["python", "-m", "course", "grade", A])
    assert "graded 3" in graded.stdout, graded.stdout
    with s.step("instructor: course report, release feedback"):
        hub.run_as(INSTRUCTOR, ["python", "-m", "course", "report", A])
        hub.run_as(INSTRUCTOR, ["nbgrader", "release_feedback", A])

    got = results(f"sqlite:///{course / 'gradebook.db'}", A)
    source = nbformat.read(ROOT / "source" / A / f"{A}.ipynb", as_version=4)
    full = sum(m for _, m in got["alice"].cells.values())
    assert lost(got["alice"].cells) == set()  # the forged blank in her name was not collected
    wrong = by_name(A, PARTLY_WRONG)[0]
    assert lost(got["bob"].cells) == {*wrong.fails, "softmax_tests"}
    # Validate and the grade agree where they can: the visible tests' failure costs its points
    assert failing_tests_cells(verdicts["bob"], s.solutions["bob"]) == {*wrong.fails,
                                                                         "softmax_tests"}
    assert failing_tests_cells(verdicts["alice"], s.solutions["alice"]) == set()
    assert len(failing_tests_cells(verdicts["carol"], s.solutions["carol"])) > 5
    late = late_records(course)
    assert late["alice"] == 0 and late["bob"] > 0 and late["carol"] > 0, late
    # the course's policy, by hand: 10 % of the score per started day late
    raw = {student: sum(sc for sc, _ in got[student].cells.values()) for student in STUDENTS}
    assert raw == {"alice": full, "bob": full - 3, "carol": 2}, raw  # relu 1, softmax 2
    expected = {"alice": 30.0, "bob": 24.3, "carol": 1.8}

    # 6. each student reads their feedback; no hidden test in it
    hidden = hidden_only_lines(source)
    assert hidden
    for student in STUDENTS:
        with s.step(f"{student}: fetch and read feedback"):
            page = s.assignments(student)
            s.click_in(student, "submitted_assignments_list", "Fetch Feedback")
            link = page.locator("#submitted_assignments_list a", has_text="view feedback").first
            link.wait_for(timeout=60_000)
            link.click()  # the file browser goes to the feedback's folder; open the page
            page.locator(".jp-DirListing-itemText", has_text=f"{A}.html").first.dblclick()
            feedback = page.frame_locator(".jp-HTMLViewer iframe").locator("body")
            feedback.locator(f"text={A} (Score:").first.wait_for(timeout=60_000)
            s.shoot(student, "feedback")
            text = unescape(feedback.inner_text())
        assert f"(Score: {expected[student]} / {float(full)})" in text, text[:300]
        assert not [line for line in hidden if line in text], student
        if student == "bob":
            assert f"common mistake: {wrong.name}" in text

    # 7. the instructor sees the three scores in formgrader
    with s.step("instructor: formgrader scores"):
        page = s.pages[INSTRUCTOR]
        page.goto(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_students")
        for student in STUDENTS:
            page.wait_for_selector(f"tr:has-text('{student}')", timeout=30_000)
        s.shoot(INSTRUCTOR, "scores")
        table = page.inner_text("table")
    for student in STUDENTS:  # formgrader shows the points before the late penalty
        row = next(line for line in table.splitlines() if student in line)
        assert f"\t{raw[student]:g} / {full:g}\t" in row, (student, row)
    # the grade after it: grades.csv (nbgrader's export), the report and the LMS export
    with open(course / "grades.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == A}
    for student in STUDENTS:
        assert float(rows[student]["score"]) == pytest.approx(expected[student]), rows[student]
        assert got[student].score == pytest.approx(expected[student])


def late_records(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        return {s: gb.find_submission(A, s).total_seconds_late for s in STUDENTS}


# Run as bob, after the deadline, knowing the exact name of alice's submission (which the
# operating system never shows him): each attempt prints what happened.
ATTACK = r"""
import json, os, shutil, sys, time
inbound, alices, bobs, course = sys.argv[1:]
out = {}
def attempt(name, action):
    try:
        action()
        out[name] = "done"
    except OSError as e:
        out[name] = type(e).__name__
attempt("list inbound", lambda: os.listdir(inbound))
attempt("read alice's submission",
        lambda: open(f"{inbound}/{alices}/ch1_perceptron.ipynb").read())
attempt("write into alice's submission",
        lambda: open(f"{inbound}/{alices}/extra.ipynb", "w").close())
attempt("rename alice's submission", lambda: os.rename(f"{inbound}/{alices}", f"{inbound}/x"))
attempt("remove alice's submission", lambda: shutil.rmtree(f"{inbound}/{alices}"))
attempt("read alice's home", lambda: os.listdir("/home/alice"))
attempt("read the instructor's solutions", lambda: os.listdir(f"{course}/source"))
# a forged submission in alice's name, later than hers: a blank notebook
stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC", time.gmtime())
forged = f"{inbound}/alice+ch1_perceptron+{stamp}+forged"
def forge():
    os.mkdir(forged)
    shutil.copy("/home/bob/ch1_perceptron/ch1_perceptron.ipynb", forged)
    open(f"{forged}/timestamp.txt", "w").write(stamp)
attempt("forge a submission in alice's name", forge)
# his own submission again, after the deadline, dated one second after the first (a copy of
# what nbgrader's submit kept in his cache, secret included, with its timestamp changed)
import datetime, glob
cached = glob.glob("/home/bob/.local/share/jupyter/nbgrader_cache/dl-fundamentals/bob+*")[0]
own = open(f"{inbound}/{bobs}/timestamp.txt").read()[:26]
early = (datetime.datetime.strptime(own, "%Y-%m-%d %H:%M:%S.%f") + datetime.timedelta(seconds=1)
         ).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
backdated = f"{inbound}/bob+ch1_perceptron+{early}+backdated"
def backdate():
    shutil.copytree(cached, backdated)
    open(f"{backdated}/timestamp.txt", "w").write(early)
attempt("backdate a resubmission", backdate)
print(json.dumps(out))
"""
EXPECTED_REFUSALS = {
    "list inbound": "PermissionError",
    "read alice's submission": "PermissionError",
    "write into alice's submission": "PermissionError",
    "rename alice's submission": "PermissionError",
    "remove alice's submission": "PermissionError",
    "read alice's home": "PermissionError",
    "read the instructor's solutions": "PermissionError",
    # both land in the exchange; collect refuses the first and dates the second by its files
    "forge a submission in alice's name": "done",
    "backdate a resubmission": "done",
}
