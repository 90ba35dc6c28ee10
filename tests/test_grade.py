"""``course grade`` on a class of real submissions, graded by real nbgrader.

The class holds the good, the wrong and every kind of bad submission: a kernel that
dies, an infinite loop, a memory blow-up, sys.exit, invalid JSON, a renamed and a
missing notebook, a deleted test cell, huge output, another assignment's notebook, a
submission that writes into the course directory and one that tampers with utils,
numpy.testing and builtins, an edited test cell and an answer that delegates to utils.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from html import unescape
from pathlib import Path

import nbformat
import pytest

from course import workspace
from course.grading.feedback import HIDDEN_MESSAGE, failing_line, hidden_line_numbers, safe_message
from course.mistakes import Mistake, by_name
from course.notebooks import course_root, fill_answers, grade_id, notebook_path, read

pytestmark = pytest.mark.xdist_group("grade")  # one worker: module fixtures run once

A = "ch1_perceptron"
ROOT = course_root()


BLANK_EVERY_CELL = """
import ast


class _Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[], type_ignores=[])


get_ipython().ast_transformers.append(_Blank())
"""


LINKS = f"""
import os
os.symlink('{{target}}', '{A}.ipynb')
os.symlink('/dev/zero', 'zeros')
os.makedirs('deep/er')
os.symlink('/', 'deep/er/root')
os.mkfifo('trap')
"""


# a blank submission that looks through /proc for the grading machine's secrets, for other
# processes' roots (the executed notebooks of earlier students) and their descriptors
PROWL = """
import glob, json, os
me = os.readlink('/proc/self')
found = {'notebooks': [], 'secret': [], 'roots': [], 'fds': [], 'environs': []}
for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
    for path in glob.glob(f'/proc/{pid}/environ'):
        try:
            if b'GRADER_SECRET' in open(path, 'rb').read():
                found['secret'].append(path)
            found['environs'].append(pid) if pid != me else None
        except OSError:
            pass
    if pid == me:
        continue
    for what in ('root', 'cwd'):
        try:
            found['roots'].append((pid, what, os.listdir(f'/proc/{pid}/{what}')))
        except OSError:
            pass
    for path in glob.glob(f'/proc/{pid}/root/grading/autograded/*/*/*.ipynb'):
        try:
            found['notebooks'].append((path, len(open(path).read())))
        except OSError:
            pass
    try:
        fds = os.listdir(f'/proc/{pid}/fd')
        found['fds'] += [os.readlink(f'/proc/{pid}/fd/{fd}') for fd in fds]
    except OSError:
        pass
print('PROWLED', json.dumps(found))
"""
SECRET = "s3cr3t-database-password"


def snooper_code(dest: Path, port: int) -> str:
    """A blank submission's extra cell that looks for what the grader can read: the
    instructor's notebooks and gradebook, other students, the course repository, the
    network (a port the test listens on); runs any solution it finds; prints what it saw
    (read back by a test)."""
    targets = {"source": dest / "source" / A / f"{A}.ipynb", "gradebook": dest / "gradebook.db",
               "config": dest / "nbgrader_config.py",
               "other student": dest / "submitted" / "solved",
               "repository source": ROOT / "source" / A / f"{A}.ipynb",
               "release": dest / "release" / A / f"{A}.ipynb"}
    targets = {k: str(v) for k, v in targets.items()}
    return f"""
import glob, json, os, pathlib, socket, utils
seen = {{name: os.path.exists(path) for name, path in {targets!r}.items()}}
here = pathlib.Path.cwd()
places = [here, *here.parents, *pathlib.Path(utils.__file__).parents]
for parent in [p for p in places if p != pathlib.Path('/')]:
    hits = glob.glob(str(parent / '**' / '*.ipynb'), recursive=True)
    for hit in hits + glob.glob(str(parent / '*.db')):
        if pathlib.Path(hit).parent != here:
            seen.setdefault('found', []).append(hit)
for hit in seen.get('found', []):
    if hit.endswith('.ipynb'):
        for cell in json.load(open(hit))['cells']:
            if 'BEGIN SOLUTION' in ''.join(cell['source']):
                exec(''.join(cell['source']), globals())
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    seen['network'] = 'connected'
except OSError as exc:
    seen['network'] = type(exc).__name__ + ': ' + str(exc)
seen['uid'] = os.getuid()
seen['capabilities'] = [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')]
seen['root entries'] = sorted(os.listdir('/'))
print('SNOOPED', json.dumps(seen))
"""


def _with_cell(nb, code, after="relu_answer"):
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == after)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return nb


def _edit_cell(nb, gid, code):
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    next(c for c in nb.cells if grade_id(c) == gid).source = code
    return nb


def build_class(dest: Path, port: int) -> dict[str, object]:
    """Write the class into dest; return {student: expected score or failure text}."""
    workspace.make_course_dir(dest, [A])
    release = read(workspace.generate(dest, A))
    source = read(notebook_path(ROOT, "source", A))
    solved = fill_answers(release, source)
    (sigmoid_mistake,) = by_name(A, "naive sigmoid overflows")
    loop = Mistake("loop", "relu_answer", ("relu_tests",), "while True:\n    pass")
    intrusion = (f"open({str(dest / 'gradebook.db')!r}, 'wb').write(b'gone')\n"
                 f"open({str(dest / 'nbgrader_config.py')!r}, 'a').write('\\nraise SystemExit')\n"
                 f"open({str(dest / 'source' / A / 'planted.py')!r}, 'w').write('x = 1')")
    tamper = ("import builtins, numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
              "builtins.abs = lambda x: x\ntry:\n    utils.grading.assert_close = print\n"
              "except AttributeError:\n    pass\nimport utils.activations as ua\n"
              "open(ua.__file__, 'a').write('\\nsigmoid = lambda z: 0.5\\n')")
    subs = {
        "solved": (solved, 30.0),
        "blank": (release, 0.0),
        "wrong": (fill_answers(release, source, by_name(
            A, "threshold with > instead of >=", "AND_NOT with the inputs swapped")), 26.0),
        "dies": (_with_cell(solved, "import os\nos._exit(1)"), "kernel died"),
        "loops": (fill_answers(release, source, [loop]), 29.0),
        "hogs_memory": (_with_cell(solved, "b = []\nwhile True:\n    b.append(np.ones(10**7))"),
                        30.0),
        "exits": (_with_cell(solved, "import sys\nsys.exit(3)"), 30.0),
        "deleted_test": (fill_answers(release, source, drop_cells=["sigmoid_tests"]), 30.0),
        "deleted_and_wrong": (fill_answers(release, source, [sigmoid_mistake],
                                           drop_cells=["sigmoid_tests"]), 28.0),
        "edited_test": (_edit_cell(fill_answers(release, source, [sigmoid_mistake]),
                                   "sigmoid_tests", "pass  # all good!"), 28.0),
        "delegator": (fill_answers(release, source, [Mistake(
            "delegates", "sigmoid_answer", ("sigmoid_tests",), "return utils.sigmoid(z)")]),
            28.0),
        "shouts": (_with_cell(solved, "for i in range(3 * 10**5):\n    print('spam' * 20, i)"),
                   30.0),
        "intruder": (_with_cell(solved, intrusion), 30.0),
        # blank answers that try to silence every tests cell after them (IPython hooks):
        # the grading kernel undoes the hooks before each cell, so they score 0
        "hooker": (_with_cell(release, BLANK_EVERY_CELL, after="threshold_unit_answer"), 0.0),
        "silencer": (_with_cell(release, "get_ipython().showtraceback = lambda *a, **k: None",
                                after="threshold_unit_answer"), 0.0),
        "tamperer": (_with_cell(fill_answers(release, source, [sigmoid_mistake]), tamper), 28.0),
        # a blank submission that looks for the instructor's files and runs what it finds:
        # inside the sandbox there is nothing to find
        "snooper": (_with_cell(release, snooper_code(dest, port),
                               after="threshold_unit_answer"), 0.0),
        "other_assignment": (read(notebook_path(ROOT, "release", "ch2_mlp")),
                             "not the notebook of this assignment"),
        # blank answers that leave links where the worker then writes and copies the
        # executed notebook: to a file outside the course, to /dev/zero, a FIFO, and to
        # another student's submission (sabotage); the worker follows none of them
        "linker": (_with_cell(release, LINKS.format(target=dest.parent / "written-by-a-kernel"),
                              after="threshold_unit_answer"), 0.0),
        "saboteur": (_with_cell(release, LINKS.format(target=dest / "submitted" / "solved" / A
                                                      / f"{A}.ipynb"),
                                after="threshold_unit_answer"), 0.0),
    }
    subs["prowler"] = (_with_cell(release, PROWL, after="threshold_unit_answer"), 0.0)
    expected = {}
    for student, (nb, outcome) in subs.items():
        workspace.submit(dest, A, student, nb)
        expected[student] = outcome
    # links in a submission folder (an upload, or what nbgrader collect brings): to the
    # gradebook, another student's submission, the grader's environment and memory; none
    # is followed, by the check, the snapshot and restore, the copy into a shard
    linked = workspace.submit(dest, A, "linked", solved).parent
    for name, target in LINKS_IN_A_SUBMISSION.items():
        (linked / name).symlink_to(target)
    os.mkfifo(linked / "fifo")
    expected["linked"] = 30.0
    (dest / "submitted" / "mirror").mkdir()
    (dest / "submitted" / "mirror" / A).symlink_to(dest / "submitted" / "solved" / A)
    expected["mirror"] = "the submission folder is a link"
    workspace.submit(dest, A, "corrupt", raw='{"cells": [ nope')
    expected["corrupt"] = "not a valid notebook file"
    renamed = dest / "submitted" / "renamed" / A
    renamed.mkdir(parents=True)
    nbformat.write(solved, str(renamed / "homework final (2).ipynb"))
    expected["renamed"] = 30.0
    (dest / "submitted" / "empty" / A).mkdir(parents=True)
    expected["empty"] = "no ch1_perceptron.ipynb"
    return expected


LINKS_IN_A_SUBMISSION = {"notes.txt": "../../../gradebook.db",
                         "peer.ipynb": f"../../solved/{A}/{A}.ipynb",
                         "env.txt": "/proc/self/environ", "mem": "/proc/self/mem"}


def course(*args, env=None):
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True,
                          text=True, timeout=1200, env=env)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    dest = tmp_path_factory.mktemp("class")
    listener = socket.create_server(("127.0.0.1", 0))  # the snooper tries to reach it
    expected = build_class(dest, listener.getsockname()[1])
    db_before = (dest / "gradebook.db").read_bytes()
    # a secret in the grading process's environment, which no kernel may see
    proc = course("--root", str(dest), "grade", "--workers", "2",
                  env=dict(os.environ, GRADER_SECRET=SECRET))
    yield dest, expected, proc, db_before
    listener.close()


def _csv_scores(dest: Path) -> dict[str, float]:
    with open(dest / "grades.csv") as fh:
        return {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(fh)}


def test_grading_completes_and_exits_zero(graded):
    _, _, proc, _ = graded
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # flagged: tamperer, delegator, hooker, silencer, and (suspicious) dies (os), exits (sys),
    # intruder (open), snooper (os, glob, socket...), linker and saboteur (os)
    # ... and prowler (os, glob)
    assert "graded 21, unchanged 0, failed 5, flagged 11" in proc.stdout


def test_every_student_gets_the_expected_outcome(graded):
    dest, expected, proc, _ = graded
    record = json.loads((dest / "reports" / "grade_run.json").read_text())
    scores = _csv_scores(dest)
    for student, outcome in expected.items():
        entry = record[f"{A}/{student}"]
        if isinstance(outcome, float):
            assert entry["status"] == "graded", (student, entry["reason"])
            assert scores[student] == outcome, student
        else:
            assert entry["status"] == "failed" and outcome in entry["reason"], (student, entry)
            assert scores[student] == 0.0  # on the roll, with nothing earned
    assert "graded as ch1_perceptron.ipynb" in proc.stdout


def _outputs(dest: Path, student: str) -> str:
    """Everything the executed notebook of a student shows (text and errors)."""
    nb = read(dest / "autograded" / student / A / f"{A}.ipynb")
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_course_files_are_out_of_the_kernels_reach(graded):
    dest, _, proc, db_before = graded
    # the intruder's writes fail inside the sandbox: nothing to restore afterwards
    assert "were restored" not in proc.stdout
    assert "raise SystemExit" not in (dest / "nbgrader_config.py").read_text()
    assert not (dest / "source" / A / "planted.py").exists()
    assert (dest / "gradebook.db").read_bytes() != b"gone" and len(db_before) > 0
    assert "No such file or directory" in _outputs(dest, "intruder")
    # the tamperer cannot write into the sandbox's read-only copy of utils
    assert "Read-only file system" in _outputs(dest, "tamperer")


def test_links_a_kernel_leaves_are_never_followed(graded):
    dest, _, _, _ = graded
    assert not (dest.parent / "written-by-a-kernel").exists()
    victim = read(dest / "submitted" / "solved" / A / f"{A}.ipynb")
    release = read(dest / "release" / A / f"{A}.ipynb")
    assert victim == fill_answers(release, read(notebook_path(ROOT, "source", A)))
    for student in ("linker", "saboteur"):
        folder = dest / "autograded" / student / A
        left = {p.name for p in folder.rglob("*")} - {"timestamp.txt"}
        assert left == {f"{A}.ipynb"}  # no link, no FIFO (nbgrader copies no empty folder)
        assert (folder / f"{A}.ipynb").is_file()  # its own executed notebook
        assert any("os.symlink" in c.source for c in read(folder / f"{A}.ipynb").cells)


def test_no_kernel_reaches_another_process_or_the_graders_environment(graded):
    dest, _, proc, _ = graded
    nb = read(dest / "autograded" / "prowler" / A / f"{A}.ipynb")
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    found = json.loads(printed.split("PROWLED ", 1)[1].splitlines()[0])
    assert found == {"notebooks": [], "secret": [], "roots": [], "fds": [], "environs": []}
    assert SECRET not in json.dumps(found) and SECRET not in _outputs(dest, "prowler")


def test_links_in_a_submission_are_left_out_and_harm_no_one(graded):
    dest, expected, proc, _ = graded
    record = json.loads((dest / "reports" / "grade_run.json").read_text())
    entry = record[f"{A}/linked"]
    assert entry["status"] == "graded" and _csv_scores(dest)["linked"] == 30.0
    assert any(n.startswith("left out (links are never followed") and "notes.txt (a link)" in n
               and "fifo (not a regular file)" in n for n in entry["notes"]), entry["notes"]
    left = {p.name for p in (dest / "autograded" / "linked" / A).iterdir()}
    assert left <= {f"{A}.ipynb", "timestamp.txt"}, left
    # the gradebook was not rolled back through the link: every score is in grades.csv
    scores = _csv_scores(dest)
    assert all(scores[s] == o for s, o in expected.items() if isinstance(o, float))
    assert "were restored" not in proc.stdout
    assert (dest / "submitted" / "linked" / A / "notes.txt").is_symlink()  # left as it was


def test_the_sandbox_hides_the_course_and_the_network(graded):
    dest, _, _, _ = graded
    nb = read(dest / "autograded" / "snooper" / A / f"{A}.ipynb")
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    seen = json.loads(printed.split("SNOOPED ", 1)[1].splitlines()[0])
    for name in ("source", "gradebook", "config", "other student", "repository source",
                 "release"):
        assert seen[name] is False, (name, seen)
    assert "found" not in seen, seen["found"]  # no notebook or database outside its folder
    # the test listens on that port of the machine's loopback: inside, nobody does
    assert seen["network"].startswith("ConnectionRefusedError"), seen["network"]
    # root of its own user namespace only, without a single capability (course.forkserver)
    assert seen["uid"] == 0 and seen["capabilities"] == ["0000000000000000"], seen
    # the root holds the system, the Python environment and the sandbox's own folders only
    allowed = {"usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "opt", "tmp",
               "proc", "dev", "grading", Path(sys.prefix).parts[1], dest.parts[1]}
    assert set(seen["root entries"]) <= allowed, seen["root entries"]


def test_without_the_sandbox_grading_is_refused_unless_asked_for(tmp_path):
    """No bwrap on the PATH: course grade says why and grades nothing; with
    --unsafe-no-sandbox it grades, and the intrusion is then undone afterwards."""
    workspace.make_course_dir(tmp_path, [A])
    release = read(workspace.generate(tmp_path, A))
    solved = fill_answers(release, read(notebook_path(ROOT, "source", A)))
    config = str(tmp_path / "nbgrader_config.py")
    intrusion = (f"open({config!r}, 'a').write('\\nraise SystemExit')\n"
                 f"open({str(tmp_path / 'source' / A / 'planted.py')!r}, 'w').write('x = 1')")
    workspace.submit(tmp_path, A, "intruder", _with_cell(solved, intrusion))
    no_bwrap = tmp_path / "bin"
    no_bwrap.mkdir()
    # nbgrader needs the environment's own commands (alembic), not /usr/bin's bwrap
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), str(no_bwrap)]))
    proc = subprocess.run([sys.executable, "-m", "course", "--root", str(tmp_path), "grade"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the grading sandbox cannot start here (bubblewrap (bwrap) is not installed)" in \
        proc.stderr and "--unsafe-no-sandbox" in proc.stderr
    assert not (tmp_path / "autograded").exists()
    proc = subprocess.run([sys.executable, "-m", "course", "--root", str(tmp_path), "grade",
                           "--unsafe-no-sandbox"], capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "grading WITHOUT the sandbox" in proc.stdout
    assert "were restored: nbgrader_config.py, source/ch1_perceptron/planted.py" in proc.stdout
    assert "raise SystemExit" not in (tmp_path / "nbgrader_config.py").read_text()
    assert not (tmp_path / "source" / A / "planted.py").exists()
    assert _csv_scores(tmp_path) == {"intruder": 30.0}


def test_tampering_is_flagged_and_contained(graded):
    dest, _, _, _ = graded
    record = json.loads((dest / "reports" / "grade_run.json").read_text())
    flags = record[f"{A}/tamperer"]["flags"]
    assert any("numpy.testing" in f for f in flags) and any("builtins" in f for f in flags)
    assert any("utils.grading.assert_close" in f for f in flags)
    assert record[f"{A}/solved"]["flags"] == []
    assert record[f"{A}/delegator"]["flags"] == [
        "delegation (sigmoid_answer, line 3): sigmoid uses utils.sigmoid"]
    for student in ("hooker", "silencer"):  # undone by the grading kernel, and recorded
        assert any(f.startswith("tampering (kernel, before cell") for f in
                   record[f"{A}/{student}"]["flags"]), record[f"{A}/{student}"]["flags"]


def test_grades_equal_sequential_nbgrader_autograde(graded, tmp_path):
    dest, expected, _, _ = graded
    # plain nbgrader has none of course grade's protections: only run what is safe there
    # (the intruder and the tamperer would write into real files)
    gradable = [s for s, o in expected.items() if isinstance(o, float) and s not in
                ("intruder", "tamperer", "renamed", "loops", "shouts", "hogs_memory", "hooker",
                 "silencer", "snooper", "linker", "saboteur", "prowler", "linked")]
    plain = workspace.make_course_dir(tmp_path / "plain", [A])
    workspace.generate(plain, A)
    for student in gradable:
        shutil.copytree(dest / "submitted" / student, plain / "submitted" / student)
    assert workspace.autograde(plain, A).returncode == 0
    sequential = workspace.scores(plain, A)
    ours = workspace.scores(dest, A)
    for student in gradable:
        assert ours[student] == sequential[student], student
    # without the sandbox the snooper finds the instructor's notebook, runs its solutions
    # and earns points (threshold_unit's: its own blank cells after it undo the rest)
    shutil.copytree(dest / "submitted" / "snooper", plain / "submitted" / "snooper")
    assert workspace.autograde(plain, A, "snooper").returncode == 0
    assert workspace.scores(plain, A)["snooper"]["threshold_unit_tests"] == (2.0, 2.0)
    assert ours["snooper"]["threshold_unit_tests"] == (0.0, 2.0)


def test_feedback_shows_visible_messages_but_no_hidden_expectations(graded):
    dest, _, _, _ = graded
    page = (dest / "feedback" / "wrong" / A / f"{A}.html").read_text()
    html = unescape(re.sub(r"<[^>]+>", "", page))  # the text a student reads
    assert HIDDEN_MESSAGE in html  # the AND_NOT mistake fails a hidden test
    assert "Hint: x1 must push towards firing and x2 against it" in html
    assert "BEGIN HIDDEN TESTS" not in html and 'fires("AND_NOT")' not in html
    assert "expected 0, got 1" not in html  # what the hidden test expected stays hidden
    assert "AND_NOT truth table" not in html
    source = read(notebook_path(ROOT, "source", A))
    hidden_lines, visible = set(), set()
    for c in source.cells:
        for n, line in enumerate(c.source.splitlines(), 1):
            inside = n in hidden_line_numbers(c.source)
            (hidden_lines if inside else visible).add(line.strip())
    hidden_only = {line for line in hidden_lines - visible
                   if len(line) > 25 and not any(line in v for v in visible)}
    assert hidden_only and not [line for line in hidden_only if line in html]


def test_rerun_grades_only_new_submissions_unless_forced(graded):
    dest, _, _, _ = graded
    before = _csv_scores(dest)
    late = fill_answers(read(notebook_path(dest, "release", A)),
                        read(notebook_path(ROOT, "source", A)),
                        by_name(A, "relu with np.max (a reduction)"))
    workspace.submit(dest, A, "late", late)
    proc = course("--root", str(dest), "grade")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 to grade, 22 unchanged, 4 not gradable" in proc.stdout
    after = _csv_scores(dest)
    assert after.pop("late") == 29.0
    assert after == before
    proc = course("--root", str(dest), "grade", "--force", "--workers", "1")
    assert "23 to grade, 0 unchanged" in proc.stdout
    assert {k: v for k, v in _csv_scores(dest).items() if k != "late"} == before


def test_report_summarises_the_class(graded):
    dest, _, _, _ = graded
    proc = course("--root", str(dest), "report", A)
    assert proc.returncode == 0, proc.stderr
    summary = (dest / "reports" / "summary.md").read_text()
    assert "## ch1_perceptron" in summary and "hardest exercises" in summary
    assert "corrupt: not a valid notebook file" in summary and "tamperer: tampering" in summary
    assert (dest / "reports" / f"{A}_grades.png").read_bytes()[:4] == b"\x89PNG"
    assert (dest / "reports" / f"{A}_exercises.png").exists()
    # what the class misunderstood: the wrong student's two mistakes, named by their outputs
    section = summary.split("### What students misunderstood")[1].split("###")[0]
    for mistake in ("threshold with > instead of >=", "AND_NOT with the inputs swapped"):
        assert re.search(rf"\| {re.escape(mistake)} \| \d+ \([^)]*\bwrong\b", section), mistake


def test_the_report_page_shows_the_class_in_a_browser(graded):
    """report.html is one self-contained page: no script, the histogram embedded, the
    misconception table, and links to each student's feedback that lead to the page."""
    from tests import browser as B

    if B.available():
        pytest.skip(B.available())
    dest, _, _, _ = graded
    proc = course("--root", str(dest), "report", A)
    assert proc.returncode == 0, proc.stderr
    page_path = dest / "reports" / "report.html"
    text = page_path.read_text()
    assert "<script" not in text.lower()
    with B.browser() as chromium:
        page = B.new_page(chromium)
        page.goto(page_path.as_uri())
        assert page.title() == "Class report"
        assert page.locator(f"h2#{A}").inner_text() == A
        widths = page.evaluate("() => Array.from(document.images).map(i => i.naturalWidth)")
        assert widths and min(widths) > 100, widths  # the histogram, decoded from the page
        rows = page.locator("tr", has_text="threshold with > instead of >=")
        assert rows.count() == 1 and "wrong" in rows.inner_text()
        link = rows.locator("a", has_text="wrong")
        B.shoot(page, "report_page")
        link.click()
        page.wait_for_load_state()
        assert page.url.endswith(f"feedback/wrong/{A}/{A}.html")
        assert "threshold with > instead of >=" in page.locator("body").inner_text()


def test_nothing_to_grade_is_an_error(tmp_path):
    workspace.make_course_dir(tmp_path, [A])
    proc = course("--root", str(tmp_path), "grade")
    assert proc.returncode == 2 and "nothing to grade" in proc.stderr


def test_feedback_exporter_writes_the_page_nbconverts_exporter_writes(graded):
    # FeedbackExporter skips HTMLExporter's BeautifulSoup pass and reuses compiled
    # templates and highlighted cells: the page must stay the same, images included (each
    # gets its alt text)
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter

    from course.grading.feedback import NO_ALT_TEXT, FeedbackExporter

    dest, _, _, _ = graded
    nb = read(dest / "autograded" / "wrong" / A / f"{A}.ipynb")
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
           "AAAABJRU5ErkJggg==")
    plot = nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": png, "text/plain": "<Figure>"})])
    nb.cells.append(plot)

    def page(exporter) -> str:
        html, _ = exporter(template_name="classic").from_notebook_node(nb)
        html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "id", html)
        return str(BeautifulSoup(html, features="html.parser"))

    ours, theirs = page(FeedbackExporter), page(HTMLExporter)
    assert ours == theirs
    assert f'alt="{NO_ALT_TEXT}"' in ours and png in ours
    assert page(FeedbackExporter) == ours  # a second page from the compiled templates
    # ...and from the highlighted cells it remembers, which depend on the language too
    next(c for c in nb.cells if c.cell_type == "code").metadata["magics_language"] = "bash"
    magic = page(FeedbackExporter)
    assert magic == page(HTMLExporter) != ours
    nb.metadata.setdefault("language_info", {})["pygments_lexer"] = "python"
    assert page(FeedbackExporter) == page(HTMLExporter) not in (ours, magic)


def test_feedback_helpers():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nassert x == 3\n### END HIDDEN TESTS\n"
    assert hidden_line_numbers(source) == {3}
    assert failing_line(["\x1b[0;31mCell In[7], line 3\x1b[0m", "x"], 7) == 3
    # checks run inside a function: the innermost frame of the tests cell itself counts,
    # not the call at its end nor a frame in the student's own cell
    nested = ["Cell In[7], line 9\n----> 9 _tests()", "Cell In[7], line 3, in _tests()",
              "Cell In[2], line 5, in sigmoid(z)"]
    assert failing_line(nested, 7) == 3
    assert failing_line(nested, None) is None
    assert safe_message("w is wrong: expected 3, got 2\nHint: h", 3, {3}) == (
        HIDDEN_MESSAGE + "\nHint: h")
    assert safe_message("w is wrong: expected 3, got 2", 1, {3}).startswith("w is wrong")
    assert safe_message("boom", None, {3}) == HIDDEN_MESSAGE


def _class_with_a_sleeper(dest: Path, cells: int, seconds, solved_students) -> None:
    """A course at ``dest``: "a_sleeper" submits the solved notebook with ``cells`` extra
    cells that each sleep ``seconds`` (or "forever"; out of the CPU limits' reach), then
    each of ``solved_students`` the solved notebook."""
    workspace.make_course_dir(dest, [A])
    release = read(workspace.generate(dest, A))
    solved = fill_answers(release, read(notebook_path(ROOT, "source", A)))
    slow = solved
    for _ in range(cells):
        nap = "while True:\n    time.sleep(1)" if seconds == "forever" else f"time.sleep({seconds})"
        slow = _with_cell(slow, f"import time\n{nap}")
    workspace.submit(dest, A, "a_sleeper", slow)
    for student in solved_students:
        workspace.submit(dest, A, student, solved)


def test_a_slow_submission_is_capped_and_the_worker_goes_on(tmp_path):
    # sleeping escapes the kernel's CPU limits, and the per-submission cap (15 s, stretched
    # by the load) comes before the cell's backstop (75 s, stretched alike): the cap stops
    # it, and as a cap can also be a busy machine's doing, it is graded once more before it
    # fails. With one worker, the students after the slow one must still be graded by the
    # restarted worker.
    _class_with_a_sleeper(tmp_path, 1, "forever", ["b_solved", "c_solved"])
    # course grade's shards, where its processes name them: short (a socket path is at most
    # 107 bytes) and ours alone (other tests may be grading at the same time)
    scratch = Path(tempfile.mkdtemp(prefix="cg-"))
    proc = course("--root", str(tmp_path), "grade", "--workers", "1", "--submission-cap", "15",
                  env={**os.environ, "TMPDIR": str(scratch)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    record = json.loads((tmp_path / "reports" / "grade_run.json").read_text())
    sleeper = record[f"{A}/a_sleeper"]
    assert sleeper["status"] == "failed"
    cap = "took longer than the wall-time cap (15 s, times the machine's load per core)"
    assert sleeper["reason"] == f"{cap} (2 attempts)"
    assert sleeper["notes"] == [f"graded again (attempt 2): {cap}"], sleeper
    assert _csv_scores(tmp_path) == {"a_sleeper": 0.0, "b_solved": 30.0, "c_solved": 30.0}
    time.sleep(2)  # the orphaned kernel notices its parent is gone within a second
    assert _grading_processes(str(scratch)) == [], "a grading process outlived course grade"
    shutil.rmtree(scratch, ignore_errors=True)


def test_work_is_handed_out_as_it_is_done(tmp_path):
    # the first student's notebook sleeps for 12 s; split in advance, its worker would also
    # get every other student after it (4 of 8). Handed out as they finish, the other
    # worker grades the rest meanwhile: the sleeper's worker gets its one queued student
    # and at most one more
    _class_with_a_sleeper(tmp_path, 3, 4, [f"b_solved{i}" for i in range(7)])
    proc = course("--root", str(tmp_path), "grade", "--workers", "2")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    record = json.loads((tmp_path / "reports" / "grade_run.json").read_text())
    assert {r["status"] for r in record.values()} == {"graded"}
    sleeper = record[f"{A}/a_sleeper"]["worker"]
    by_sleeper = sorted(k for k, r in record.items() if r["worker"] == sleeper)
    assert 2 <= len(by_sleeper) <= 3, by_sleeper
    assert set(_csv_scores(tmp_path).values()) == {30.0}


def _grading_processes(under: str) -> list[str]:
    """Command lines of live grading kernels, their clients and fork servers (from /proc)
    that name a path ``under`` (other tests may be grading at the same time)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended while we looked
        if under in text and ("forkserver.py --fd" in text or "forkclient.py --socket" in text
                              or text.split(" ")[0].endswith("bwrap")):
            found.append(text)
    return found


def test_bad_limits_are_refused():
    proc = course("grade", "--workers", "0")
    assert proc.returncode == 2 and "--workers must be at least 1" in proc.stderr
    proc = course("grade", "--submission-cap", "0")
    assert proc.returncode == 2 and "--submission-cap" in proc.stderr


def test_a_killed_kernel_server_is_started_again_for_the_next_student(tmp_path):
    """Without the sandbox a kernel can reach its fork server: one that kills it costs only
    its own run; the worker starts a new server for the next student."""
    workspace.make_course_dir(tmp_path, [A])
    release = read(workspace.generate(tmp_path, A))
    solved = fill_answers(release, read(notebook_path(ROOT, "source", A)))
    killer = ("import os, signal\nshard = os.getcwd().rsplit('/autograded/', 1)[0].encode()\n"
              "for p in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
              "    try:\n        cmd = open(f'/proc/{p}/cmdline', 'rb').read()\n"
              "    except OSError:\n        continue\n"
              "    if b'forkserver.py' in cmd and shard + b'/autograded' in cmd:\n"
              "        os.kill(int(p), signal.SIGKILL)")  # its own worker's server only
    workspace.submit(tmp_path, A, "a_killer", _with_cell(solved, killer))
    workspace.submit(tmp_path, A, "b_solved", solved)
    proc = course("--root", str(tmp_path), "grade", "--workers", "1", "--unsafe-no-sandbox")
    assert proc.returncode == 0, proc.stderr[-2000:]
    scores = workspace.scores(tmp_path, A)
    assert sum(score for score, _ in scores["b_solved"].values()) == 30.0, proc.stdout
    assert "kernel server had ended" in proc.stdout.split("b_solved", 1)[1], proc.stdout


def test_killing_course_grade_ends_its_workers_and_kernels(tmp_path):
    """course grade killed outright (no clean-up of its own) still takes everything it started
    with it: workers, kernel servers, kernels."""
    workspace.make_course_dir(tmp_path, [A])
    release = read(workspace.generate(tmp_path, A))
    looping = fill_answers(release, read(notebook_path(ROOT, "source", A)), [
        Mistake("sleeps", "relu_answer", ("relu_tests",), "import time\ntime.sleep(600)")])
    for i in range(4):
        workspace.submit(tmp_path, A, f"s{i}", looping)
    proc = subprocess.Popen([sys.executable, "-m", "course", "--root", str(tmp_path), "grade",
                             "--workers", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    scratch: set[str] = set()  # course grade's scratch folder, from its workers' folders

    def ours() -> list[str]:
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cwd = os.readlink(cmdline.parent / "cwd")
            except OSError:
                continue
            if str(tmp_path) in text:
                scratch.update(re.findall(r"^(/.*?/course-grade-[^/]+)/", cwd + "/"))
            if str(tmp_path) in text or any(s in text for s in scratch):
                found.append(text)
        return found

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("forkserver.py" in t for t in ours()):
        time.sleep(0.5)
    assert any("forkserver.py" in t for t in ours()), "grading never started"
    proc.kill()
    proc.wait(timeout=60)
    # at once: well before the running submissions (cells of time.sleep, 15 s timeout) end
    deadline = time.monotonic() + 5
    while ours() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert ours() == []


def test_gradebooks_share_one_engine_per_database_and_process(tmp_path):
    # nbgrader opens a Gradebook (an engine) ~10 times per submission; shared, an engine
    # keeps its compiled SQL. A closed Gradebook disposes of the pool, not of the engine.
    from nbgrader.api import Gradebook

    from course import gradebook

    gradebook.share_engines()
    url = f"sqlite:///{tmp_path}/gradebook.db"
    with Gradebook(url) as first:
        first.add_student("ada")
    with Gradebook(url) as second:
        assert second.engine is first.engine
        assert [s.id for s in second.students] == ["ada"]
        second.add_student("grace")
    with Gradebook(f"sqlite:///{tmp_path}/other.db") as other:
        assert other.engine is not first.engine and other.students == []
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked process (a grading worker) makes its own
        try:
            with Gradebook(url) as child:
                ok = child.engine is not first.engine and len(child.students) == 2
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"


def test_cell_metadata_is_checked_as_nbgrader_checks_it(monkeypatch):
    # validators made once per schema: the same verdicts and errors as nbgrader's own check
    import jsonschema
    import nbgrader.nbgraderformat.common as common
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    from course import gradebook

    source = read(notebook_path(ROOT, "source", A))
    metadata = [c.metadata["nbgrader"] for c in source.cells if "nbgrader" in c.metadata]
    first = next(m for m in metadata if m.get("grade"))
    broken = [{**first, "points": "ten"}, {**first, "grade": 1}, {**first, "extra": 1},
              {k: v for k, v in first.items() if k != "grade_id"}]

    def verdicts() -> list:
        found = []
        for meta in metadata + broken:
            try:
                MetadataValidatorV3().validate_cell(
                    nbformat.v4.new_code_cell(metadata={"nbgrader": dict(meta)}))
                found.append(None)
            except Exception as exc:  # noqa: BLE001 -- compared below, whatever it is
                found.append((type(exc), str(exc)))
        return found

    monkeypatch.setattr(common, "jsonschema", jsonschema)
    expected = verdicts()
    gradebook.check_metadata_quickly()
    assert common.jsonschema is not jsonschema
    assert verdicts() == expected
    assert expected[:len(metadata)] == [None] * len(metadata)
    assert None not in expected[len(metadata):]  # every broken one is refused
