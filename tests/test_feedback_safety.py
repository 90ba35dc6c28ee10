"""No active content from a student's outputs in feedback or autograded notebooks, and no
hidden test out through feedback, however it is encoded (issue 26, items 3 and 4).

The preprocessors and the feedback exporter run here, configured as nbgrader_config.py
configures them, on notebooks built in memory from the real ch1 source (its hidden tests
are what a student would try to leak). One end-to-end check grades a class of one with
``python -m course grade``.
"""

from __future__ import annotations

import base64
import codecs
import copy
import gzip
import json
import re
import subprocess
import sys
import time
import zlib
from html import unescape
from html.parser import HTMLParser

import nbformat
import pytest

from course import workspace
from course.coursedir import Course
from course.grading import passes
from course.grading.feedback import (
    HIDDEN_MESSAGE,
    MAX_CHARS,
    MAX_LINES,
    SHORTENED,
    WITHHELD,
    SanitizeOutputs,
    clean_html,
    reveals,
    secret_lines,
)
from course.notebooks import (
    BEGIN_HIDDEN,
    END_HIDDEN,
    course_root,
    fill_answers,
    grade_id,
    notebook_path,
    read,
    region_lines,
)

pytestmark = pytest.mark.xdist_group("feedback_safety")
RESOURCES = {"nbgrader": {"assignment": "ch1_perceptron", "notebook": "ch1_perceptron"}}


@pytest.fixture(autouse=True)
def in_the_course_directory(monkeypatch):
    """nbgrader converts with the course directory as working directory."""
    monkeypatch.chdir(course_root())

A = "ch1_perceptron"
ROOT = course_root()
SOURCE = read(notebook_path(ROOT, "source", A))
HIDDEN = "\n".join(line for c in SOURCE.cells if c.cell_type == "code"
                   for _, line in region_lines(c.source, BEGIN_HIDDEN, END_HIDDEN))
HIDDEN_LINES = [ln.strip() for ln in HIDDEN.splitlines() if len(ln.strip()) >= 25]
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
       "AAAABJRU5ErkJggg==")
TABLE = ('<div><style scoped>.dataframe tbody tr th { vertical-align: top; }</style>'
         '<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
         '<th></th><th>epoch</th><th>loss</th></tr></thead><tbody><tr><th>0</th>'
         '<td>1</td><td>0.693</td></tr></tbody></table></div>')
TABLE_TEXT = "   epoch   loss\n0      1  0.693"
ACTIVE_HTML = ["<script>alert('x')</script><p>kept text</p>",
               '<img src=x onerror="alert(1)"><b>bold</b>',
               '<a href="javascript:alert(1)">link</a><a href="JaVaScRiPt&#58;alert(2)">l2</a>'
               '<a href="da\tta:text/html,x">l3</a>',
               '<iframe src="https://example.org"></iframe><div onclick="alert(3)">div</div>',
               '<svg><script>alert(4)</script></svg><math><mi xlink:href="javascript:1">m</mi>'
               '</math><object data="x"></object><embed src="y"><form action="javascript:5">'
               '<input onfocus="alert(6)" autofocus></form>']
ACTIVE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(7)</script>'
              '<circle r="3" onload="alert(8)"/></svg>')
PLAIN_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
             '<defs><path id="m" d="M 0 0 L 1 1"/></defs><use xlink:href="#m" x="1"/></svg>')
WIDGET = {"model_id": "0123", "version_major": 2, "version_minor": 0}
# a visible test's teaching message (line 9 of threshold_unit_tests is a visible check)
MESSAGE = ("threshold_unit on a batch of 4 samples has shape (), expected (4,)\n"
           "Hint: one output per row of X")
NEEDLES = ("<script", "onerror", "javascript:", "<iframe", "onclick", "onload", "onfocus",
           "<object", "<embed", "alert(")


def _display(data, kind="display_data", **meta):
    if kind == "execute_result":
        return nbformat.v4.new_output(kind, data=data, execution_count=1, metadata=meta)
    return nbformat.v4.new_output(kind, data=data, metadata=meta)


def _code(source, outputs, **nbgrader):
    cell = nbformat.v4.new_code_cell(source, outputs=outputs)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def _encodings(text: str) -> dict[str, str]:
    """``text`` as an attacker prints it to get it past a line-based scrub."""
    raw = text.encode()
    b64 = base64.b64encode(raw).decode()
    return {
        "plain": text,
        "base64": b64,
        "base64, wrapped": base64.encodebytes(raw).decode(),
        "base64, misaligned": "x" + b64,
        "urlsafe base64": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "hex": raw.hex(),
        "hex, spaced": " ".join(f"{b:02x}" for b in raw),
        "rot13": codecs.encode(text, "rot13"),
        "reversed": text[::-1],
        "zlib of base64": base64.b64encode(zlib.compress(raw)).decode(),
        "gzip of base64": base64.b64encode(gzip.compress(raw)).decode(),
        "base64 of base64": base64.b64encode(b64.encode()).decode(),
        "character codes": str(list(raw)),
        "no whitespace": re.sub(r"\s+", "", text),
    }


def _dump(text: str) -> str:
    """What a leaking cell prints: its first MAX_CHARS characters (feedback keeps no more)."""
    return text[:MAX_CHARS]


def submission() -> nbformat.NotebookNode:
    """The ch1 source as autograde leaves it (hidden tests in the tests cells), one tests
    cell failed by a visible test, and student cells with every kind of output."""
    nb = copy.deepcopy(SOURCE)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta.get("points", 0)  # GetGrades' work (it reads a gradebook)
    tests = next(c for c in nb.cells if grade_id(c) == "threshold_unit_tests")
    tests.execution_count = 7
    tests.outputs = [nbformat.v4.new_output(
        "error", ename="AssertionError", evalue=MESSAGE,
        traceback=["Cell In[7], line 22\n---> 22 _tests()", "Cell In[7], line 9, in _tests()",
                   f"AssertionError: {MESSAGE}"])]
    student = [
        _code("show_active()", [_display({"text/html": html, "text/plain": "<HTML>"})
                                for html in ACTIVE_HTML]),
        _code("show_js()", [_display({"application/javascript": "alert(9)",
                                      "text/plain": "<Javascript>"}),
                            _display({"text/javascript": "alert(10)", "text/plain": "<JS>"}),
                            _display({"application/vnd.jupyter.widget-view+json": WIDGET,
                                      "text/plain": "IntSlider(value=3)"}),
                            _display({"image/svg+xml": ACTIVE_SVG, "text/plain": "<SVG>"})]),
        _code("plt.plot(losses)", [_display({"image/png": PNG,
                                             "text/plain": "<Figure size 640x480>"}),
                                   _display({"image/svg+xml": PLAIN_SVG, "text/plain": "<SVG>"})]),
        _code("frame", [_display({"text/html": TABLE, "text/plain": TABLE_TEXT},
                                 "execute_result")]),
        _code("for i in range(100): print('epoch', i)",
              [nbformat.v4.new_output("stream", name="stdout",
                                      text="".join(f"epoch {i}\n" for i in range(100)))]),
        _code("print(twenty_lines); frame", [
            nbformat.v4.new_output("stream", name="stdout", text="line\n" * MAX_LINES),
            _display({"text/plain": TABLE_TEXT}, "execute_result")]),
        nbformat.v4.new_markdown_cell("My answer <img src=x onerror=alert(11)> and "
                                      "[a link](javascript:alert(12)) <b>bold</b>, a<b"),
        nbformat.v4.new_raw_cell("<script>alert(14)</script>",
                                 metadata={"format": "text/html"}),
    ]
    for name, encoded in _encodings(HIDDEN).items():
        student.append(_code(f"leak({name!r})", [nbformat.v4.new_output(
            "stream", name="stdout", text=_dump(encoded) + "\n")]))
    at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == "threshold_unit_answer")
    nb.cells[at + 1:at + 1] = student
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "0123": {"model_name": "HTMLModel", "state": {"value": "<img src=x onerror=alert(13)>"}}}}}
    return nb


def _feedback(nb) -> tuple[nbformat.NotebookNode, str]:
    """nbgrader's feedback pipeline as configured (GetGrades aside): the notebook after the
    preprocessors, and the page."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades

    cfg = passes.config(Course(ROOT))
    converter = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    resources = exporter._init_resources(
        {"nbgrader": {"notebook": A, "assignment": A, "score": 0, "max_score": 30,
                      "late_penalty": 0}})
    nb = copy.deepcopy(nb)
    for preprocessor in cfg.GenerateFeedback.preprocessors:
        if preprocessor is not GetGrades:
            nb, resources = preprocessor(parent=converter).preprocess(nb, resources)
    html, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)
    return nb, _without_css(html)


def _without_css(page: str) -> str:
    """The page without its style sheets (Bootstrap's print rules name javascript: links)."""
    return re.sub(r"<style[^>]*>.*?</style>", "", page, flags=re.S)


def _outputs(nb) -> str:
    """The notebook's outputs and metadata as JSON."""
    return json.dumps([c.get("outputs", []) for c in nb.cells]) + json.dumps(nb.metadata)


def _cell(nb, source):
    return next(c for c in nb.cells if c.source == source)


# --------------------------------------------------------------- the autograded notebook
def test_sanitize_outputs_leaves_no_active_content_but_keeps_plots_and_tables():
    nb = submission()
    before = copy.deepcopy(nb)
    nb, _ = SanitizeOutputs().preprocess(nb, copy.deepcopy(RESOURCES))
    shown = _outputs(nb)
    for needle in NEEDLES:
        assert needle not in shown, needle
    assert "application/javascript" not in shown and "text/javascript" not in shown
    assert "widget-view+json" not in shown and "widgets" not in nb.metadata
    active = _cell(nb, "show_active()").outputs
    assert [o.data["text/html"] for o in active] == [
        "<p>kept text</p>", '<img src="x"><b>bold</b>',
        '<a rel="noopener noreferrer">link</a><a rel="noopener noreferrer">l2</a>'
        '<a rel="noopener noreferrer">l3</a>',
        "<div>div</div>", ""]
    # a widget view, JavaScript and an SVG with script fall back to their text
    assert [o.data for o in _cell(nb, "show_js()").outputs] == [
        {"text/plain": "<Javascript>"}, {"text/plain": "<JS>"},
        {"text/plain": "IntSlider(value=3)"}, {"text/plain": "<SVG>"}]
    plot = _cell(nb, "plt.plot(losses)").outputs
    assert plot[0].data == {"image/png": PNG, "text/plain": "<Figure size 640x480>"}
    assert plot[1].data["image/svg+xml"] == PLAIN_SVG  # a matplotlib-like SVG stays
    table = _cell(nb, "frame").outputs[0].data["text/html"]
    assert table == ('<div><table border="1" class="dataframe"><thead><tr style="text-align:right">'
                     '<th></th><th>epoch</th><th>loss</th></tr></thead><tbody><tr><th>0</th>'
                     '<td>1</td><td>0.693</td></tr></tbody></table></div>')
    # scores read the outputs: none is added or removed, no text/plain nor stream changes
    for old, new in zip(before.cells, nb.cells, strict=True):
        assert len(old.get("outputs", [])) == len(new.get("outputs", []))
        for o, n in zip(old.get("outputs", []), new.get("outputs", []), strict=True):
            assert o.get("text") == n.get("text") and o.get("traceback") == n.get("traceback")
            assert o.get("data", {}).get("text/plain") == n.get("data", {}).get("text/plain")
    # a student's own Markdown and raw cells: what could open a tag is text, no script link
    handed_out = {c.source for c in SOURCE.cells}
    text = [c.source for c in nb.cells if c.cell_type in ("markdown", "raw")
            and c.source not in handed_out]
    assert text == ["My answer &lt;img src=x onerror=alert(11)> and [a link](blocked:alert(12)) "
                    "&lt;b>bold&lt;/b>, a&lt;b", "&lt;script>alert(14)&lt;/script>"]
    instructor = [c.source for c in nb.cells if c.cell_type == "markdown"
                  and c.source in handed_out]
    assert instructor == [c.source for c in SOURCE.cells if c.cell_type == "markdown"]
    again, _ = SanitizeOutputs().preprocess(copy.deepcopy(nb), copy.deepcopy(RESOURCES))
    assert again == nb  # idempotent
    nbformat.validate(nb)
    for html in [TABLE, *ACTIVE_HTML]:
        once = clean_html(html)
        assert clean_html(once) == once


def test_autograde_sanitizes_before_grades_are_saved_in_every_pipeline():
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, LimitOutput, SaveAutoGrades

    from course.grading.edition_execute import EditionExecute
    from course.grading.verdicts import DecideCases, ServeCases

    nbgraders = Autograde.class_traits()["autograde_preprocessors"].default()
    ours = passes.config(Course(ROOT)).Autograde.autograde_preprocessors  # plain nbgrader autograde
    # nbgrader's own pipeline, with the hidden cases served and decided around Execute (whose
    # kernel imports the assignment's edition of utils) and the outputs sanitized after
    # LimitOutput
    run, at = nbgraders.index(Execute), nbgraders.index(LimitOutput) + 1
    assert issubclass(EditionExecute, Execute)
    assert ours == [*nbgraders[:run], ServeCases, EditionExecute, DecideCases,
                    *nbgraders[run + 1:at],
                    SanitizeOutputs, *nbgraders[at:]]
    # course grade: its single writer saves every autograded notebook, wherever executed
    score = passes.config(Course(ROOT), "score").Autograde.autograde_preprocessors
    assert score.index(SanitizeOutputs) == score.index(SaveAutoGrades) - 1


# --------------------------------------------------------------- the feedback page
class _Active(HTMLParser):
    """Every element of a page that could run script: a script other than the page's own
    MathJax, an event handler, a script URL, a frame or plugin."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "object", "embed", "frame", "svg", "math", "form"):
            self.found.append(tag)
        if tag == "script" and "mathjax" not in str(attrs).lower():
            self.found.append(tag)
        for name, value in attrs:
            bare = re.sub(r"[\x00-\x20]+", "", value or "").lower()
            if name.startswith("on") or bare.startswith(("javascript:", "vbscript:")) or (
                    bare.startswith("data:") and not bare.startswith("data:image/")):
                self.found.append(f"{tag} {name}={value[:40]!r}")


def active_elements(page: str) -> list[str]:
    parser = _Active()
    parser.feed(page)
    return parser.found


def test_feedback_page_has_no_active_content():
    _, page = _feedback(submission())
    assert active_elements(page) == []
    # outputs: not even as text (the Markdown and raw cells below show theirs as text)
    for needle in NEEDLES[1:]:
        assert needle not in re.sub(r"&lt;(img src=x|script&gt;).*?alert\(1[14]\)", "", page), \
            needle
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all("mathjax" in s.lower() for s in scripts), scripts  # the page's own
    # a student's own Markdown shows its HTML as text
    assert "&lt;b&gt;bold&lt;/b&gt;, a&lt;b" in page and "&lt;img src=x" in page


def test_feedback_keeps_plots_short_text_and_the_teaching_message():
    nb, page = _feedback(submission())
    assert f"data:image/png;base64,{PNG}" in page
    assert "data:image/svg+xml;base64," in page  # the SVG without script
    assert re.sub(" +", " ", TABLE_TEXT) in re.sub(" +", " ", page)  # the table, as text
    assert "<table" not in "".join(json.dumps(c.get("outputs", [])) for c in nb.cells)
    epochs = _cell(nb, "for i in range(100): print('epoch', i)").outputs
    assert epochs[0].text == "".join(f"epoch {i}\n" for i in range(MAX_LINES))
    assert epochs[1].text == SHORTENED + "\n" and SHORTENED in page
    assert "epoch 19" in page and "epoch 20" not in page
    # the cap is the cell's: an output past it is left out, and said so
    capped = _cell(nb, "print(twenty_lines); frame").outputs
    assert [o.get("text") for o in capped] == ["line\n" * MAX_LINES, SHORTENED + "\n"]
    # tests cells as before: the verdict and the visible test's teaching message
    tests = next(c for c in nb.cells if grade_id(c) == "threshold_unit_tests")
    assert tests.outputs[0].evalue == MESSAGE
    assert "has shape (), expected (4,)\nHint: one output per row of X" in unescape(page)
    assert "The tests of this cell passed." in page


def test_feedback_withholds_hidden_tests_in_any_cheap_encoding():
    nb, page = _feedback(submission())
    text = unescape(page)
    for name, encoded in _encodings(HIDDEN).items():
        assert _cell(nb, f"leak({name!r})").outputs == [
            nbformat.v4.new_output("stream", name="stdout", text=WITHHELD + "\n")], name
        assert _dump(encoded)[40:120] not in text, name
    assert HIDDEN_LINES and not any(line in text for line in HIDDEN_LINES)
    secrets = secret_lines(SOURCE)
    # an honest student's output is no secret
    honest = ["loss 0.6931 after 10 epochs", "[[0 0 0 1]]\n" * 3, base64.b64encode(
        b"a plot of my own weights and a long explanation of them").decode(),
        bytes(range(200)).hex(), str(list(range(300)))]
    assert not any(reveals(text, secrets) for text in honest)


def test_a_tests_cell_message_that_shows_hidden_tests_is_replaced():
    # the student's function raised it inside a visible check: its message is the student's
    nb = submission()
    tests = next(c for c in nb.cells if grade_id(c) == "threshold_unit_tests")
    leak = base64.b64encode(HIDDEN.encode()).decode()
    tests.outputs[0].evalue = "Hint: " + leak
    tests.outputs[0].traceback[-1] = "ValueError: Hint: " + leak
    nb, page = _feedback(nb)
    tests = next(c for c in nb.cells if grade_id(c) == "threshold_unit_tests")
    assert tests.outputs[0].evalue == HIDDEN_MESSAGE and leak[:60] not in page


# --------------------------------------------------------------- end to end
ATTACK = """
import base64, linecache
from IPython.display import HTML, Javascript, display
import ipywidgets

on, js, tag = "on" + "error", "java" + "script:", "scr" + "ipt"

class Shiny:
    def _repr_html_(self):
        return (f"<{tag}>alert(1)</{tag}><img src=x {on}=alert(2)>"
                f"<a href='{js}alert(3)'>a</a><table><tr><td>cell</td></tr></table>")

display(Shiny())
display(Javascript("alert(4)"))
shown_by_the_widget_manager = ipywidgets.HTML(f"<img src=x {on}=alert(5)>")
hidden = "".join("".join(entry[2]) for entry in list(linecache.cache.values())
                 if len(entry) == 4 and "BEGIN HIDDEN" in "".join(entry[2]))
print("LEAK", base64.b64encode(hidden.encode()).decode())
"""


def test_course_grade_sanitizes_the_autograded_notebook_and_the_feedback(tmp_path):
    dest = workspace.make_course_dir(tmp_path / "class", [A])
    release = read(workspace.generate(dest, A))
    nb = fill_answers(release, SOURCE)
    nb.cells.append(nbformat.v4.new_code_cell(ATTACK))
    workspace.submit(dest, A, "attacker", nb)
    clock = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "course", "--root", str(dest), "grade",
                           "--workers", "1"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert workspace.scores(dest, A)["attacker"]["threshold_unit_tests"] == (2.0, 2.0)
    graded = read(dest / "autograded" / "attacker" / A / f"{A}.ipynb")
    shown = _outputs(graded)
    for needle in NEEDLES:
        assert needle not in shown, needle
    assert "widgets" not in graded.metadata and "widget-view" not in shown
    assert "<td>cell</td>" in shown  # the table stays for the instructor
    leak = re.search(r"LEAK (\S*)", shown)
    assert leak and len(leak.group(1)) > 100, "the kernel read no hidden test: nothing tested"
    page = _without_css((dest / "feedback" / "attacker" / A / f"{A}.html").read_text())
    for needle in NEEDLES[1:-1]:  # the attack's code is on the page: alert( is
        assert needle not in page, needle
    assert all("mathjax" in s.lower() for s in re.findall(r"<script[^>]*>", page))
    assert leak.group(1)[:60] not in page and WITHHELD in page
    assert time.perf_counter() - clock < 300


def test_a_later_cell_cannot_rewrite_an_earlier_cells_outputs():
    """A tests cell's case reports are what it printed while it ran: a later cell's
    ``update_display`` (or a display with the same id) must not reach back into it, or a
    student could rewrite an earlier exercise's reports once a later case has handed out a
    building block's table. Plain nbclient does rewrite; both grading executors do not."""
    import nbformat
    from nbclient import NotebookClient

    from course.grading.edition_execute import EditionExecute, OutputsWrittenOnce
    from course.grading.execute.readyclient import ReadyExecute

    cells = ['from IPython.display import display, update_display\n'
             'display({"text/plain": "reported while the cell ran"}, raw=True, display_id="r")',
             'update_display({"text/plain": "rewritten later"}, raw=True, display_id="r")\n'
             'display({"text/plain": "a second display, same id"}, raw=True, display_id="r")']

    def first_output(client_class):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        if client_class is EditionExecute:  # nbgrader's preprocessor: no assignment, no edition
            client_class(timeout=60, kernel_name="python3").preprocess(nb, {})
        else:
            client_class(nb, timeout=60, kernel_name="python3").execute()
        return nb.cells[0].outputs[0]["data"]["text/plain"]

    assert first_output(NotebookClient) == "a second display, same id"  # the channel is real
    assert first_output(EditionExecute) == "reported while the cell ran"
    assert ReadyExecute._update_display_id is OutputsWrittenOnce._update_display_id
