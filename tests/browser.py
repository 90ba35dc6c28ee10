"""Driving the course in JupyterLab with headless Chromium (Playwright): shared by the browser
tests (tests/test_browser.py) and the latency benchmark (benchmarks/widget_latency.py).

``lab_server`` starts JupyterLab the way the README tells a student or an instructor to
(``python -m course lab``) in a scratch copy of the course, on 127.0.0.1, and stops it by
its PID. ``Notebook`` opens one notebook and knows how to run it, find its widgets, change
their controls and read the Validate dialog.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from course.lab import lab_command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
# JupyterLab renders only the cells near the viewport; a test looks at every cell
# (and asking about Jupyter news would cover the lower right corner)
SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
            {"windowingMode": "none"},
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
            {"fetchNews": "false"}}


# set COURSE_SCREENSHOTS=DIR to keep a screenshot of what each browser test checked
SCREENSHOTS = Path(os.environ["COURSE_SCREENSHOTS"]) if os.environ.get("COURSE_SCREENSHOTS") \
    else None


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def available() -> str | None:
    """None if Chromium and Playwright are here, else what is missing."""
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def course_copy(root: Path, dest: Path, assignments: list[str]) -> Path:
    """A scratch course folder: config, sources (for the formgrader) and releases."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    for kind in ("source", "release"):
        for name in assignments:
            shutil.copytree(root / kind / name, dest / kind / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab_server(folder: Path, role: str = "student", timeout: float = 60):
    """JupyterLab for ``role`` in ``folder``; yields its base URL. Stopped by PID on exit."""
    port = _free_port()
    settings = folder / ".lab-settings"
    for name, values in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    argv, env = lab_command(folder, role, [
        "--allow-root", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=False",
        f"--LabApp.user_settings_dir={settings}", "--LabApp.news_url=",
        "--LabServerApp.workspaces_dir=" + str(folder / ".lab-workspaces")])
    env["JUPYTER_RUNTIME_DIR"] = str(folder / ".lab-runtime")
    log = open(folder / f"lab-{role}.log", "w")  # noqa: SIM115 -- closed below
    proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/api/status", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" +
                                       (folder / f"lab-{role}.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@contextlib.contextmanager
def browser():
    """Headless Chromium (one per process: Playwright's sync API allows one at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(chromium):
    return chromium.new_page(viewport={"width": 1400, "height": 1000})


# JavaScript run in the page -------------------------------------------------------------
_PROMPTS = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt'))
    .map(p => p.textContent.trim())"""
_IMAGES = """() => Array.from(document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jupyter-widgets img')).map(i => i.src)"""


def digest(src: str) -> str:
    return hashlib.sha1(src.encode()).hexdigest()[:12]


class Notebook:
    """One notebook open in JupyterLab."""

    def __init__(self, page, url: str, path: str):
        self.page, self.url, self.path = page, url, path

    def open(self, timeout: float = 60) -> Notebook:
        self.page.goto(f"{self.url}/lab/tree/{self.path}?reset")
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
        self.wait_idle(timeout)
        return self

    def kernel_idle(self) -> bool:
        return self.page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) "
            ".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0

    def prompts(self) -> list[str]:
        return self.page.evaluate(_PROMPTS)

    def wait_idle(self, timeout: float = 60, settle: float = 0.3) -> None:
        """Until the kernel is idle and no cell waits to run ([*]), for ``settle`` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if self.kernel_idle() and not any("*" in p for p in self.prompts()):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return
            else:
                quiet_since = None
            time.sleep(0.1)
        raise TimeoutError(f"{self.path}: the kernel did not become idle in {timeout:g} s")

    def menu(self, top: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text=item).first.click()

    def run_all(self, timeout: float = 120) -> None:
        """Run → Run All Cells, then wait until every cell has run. On a loaded machine the
        first cell can take more than a moment to show ``[*]``: the wait for idle starts
        only once some cell has started; when none has after 45 s (the click landed before
        JupyterLab was ready), Run All is chosen once more."""
        before = self.prompts()
        for _ in range(2):  # on a busy machine the first click can land before Lab is ready
            self.menu("Run", "Run All Cells")
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and self.prompts() == before:
                time.sleep(0.1)
            if self.prompts() != before:
                break
        self.wait_idle(timeout, settle=1.0)

    def images(self) -> list[str]:
        """The src of every widget image (a figure drawn by the kernel), in notebook order."""
        return self.page.evaluate(_IMAGES)

    def text(self) -> str:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook") \
            .inner_text()

    def is_dirty(self) -> bool:
        return self.page.locator(".jp-mod-dirty").count() > 0

    def cut_labels(self) -> list[str]:
        """Widget labels and readouts whose text does not fit their box."""
        return self.page.evaluate("""() => Array.from(document.querySelectorAll(
            '.jupyter-widgets .widget-label, .jupyter-widgets .widget-readout, '
            + '.jupyter-widgets select, .jupyter-widgets .widget-toggle-button'))
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
            .map(e => e.textContent.trim() || e.value)""")

    def widget_views(self):
        """The displayed widgets that hold a figure: one locator per widget."""
        return self.page.locator(".jp-OutputArea-output > .jupyter-widgets:has(img)")

    def validate(self, timeout: float = 120) -> str:
        """Press Validate; return the text of the dialog it opens (and close it)."""
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar-item") \
            .get_by_text("Validate", exact=True).click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=timeout * 1000)
        body = self.page.locator(".jp-Dialog-body")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and "Validating" in body.inner_text():
            time.sleep(0.2)  # the dialog first says it is working, then gives the result
        text = self.page.locator(".jp-Dialog-content").inner_text()
        self.page.keyboard.press("Escape")
        return text


def label_of(control) -> str:
    """The description shown next to a control (or its own text)."""
    return control.evaluate("""e => {
        const box = e.closest('.widget-inline-hbox, .widget-hbox, .widget-vbox') || e;
        const label = box.querySelector('.widget-label');
        return (label && label.textContent.trim()) || e.textContent.trim(); }""")


def live(control) -> bool:
    """A control a student can change now (visible, enabled, not the chosen toggle)."""
    kind = control.get_attribute("class") or ""
    return (control.is_visible() and not control.is_disabled()
            and control.get_attribute("aria-disabled") != "true"
            and not ("widget-toggle-button" in kind and "mod-active" in kind)
            and not control.evaluate("e => !!e.closest('[disabled], .mod-disabled')"))


def change_control(page, control, step: int, presses: int = 3) -> str:
    """Change one widget control the way a student would; returns what was done."""
    kind = control.get_attribute("class") or ""
    if control.evaluate("e => e.tagName") == "SELECT":
        options = control.locator("option").all_inner_texts()
        current = control.evaluate("e => e.selectedIndex")
        choice = options[(current + 1 + step) % len(options)]
        control.select_option(label=choice)
        return f"select {choice!r}"
    if "noUi-handle" in kind:  # a slider's handle: focus it and step with the arrow keys
        low, high, now = (float(control.get_attribute(a) or 0) for a in
                          ("aria-valuemin", "aria-valuemax", "aria-valuenow"))
        key = "ArrowLeft" if now >= high or (step % 2 and now > low) else "ArrowRight"
        control.focus()
        for _ in range(presses):
            page.keyboard.press(key)
        return f"slider {key} x{presses} from {now:g}"
    if control.evaluate("e => e.type") == "checkbox":
        control.click()
        return "checkbox"
    control.click()  # a toggle button
    return f"click {control.inner_text()!r}"


CONTROLS = ("select, .noUi-handle, input[type=checkbox], "
            ".widget-toggle-button, .widget-button")


def wait_for_new_image(view, before: str, timeout: float = 30) -> float:
    """Seconds until the widget's figure differs from ``before`` (a digest)."""
    start = time.perf_counter()
    deadline = start + timeout
    while time.perf_counter() < deadline:
        src = view.locator("img").first.get_attribute("src") or ""
        if digest(src) != before:
            return time.perf_counter() - start
        time.sleep(0.005)
    raise TimeoutError("the figure did not change")
