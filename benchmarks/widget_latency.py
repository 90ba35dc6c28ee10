"""Widget latency as a student feels it: from a control change in Chromium to the new figure
on screen, for every widget of every chapter.

Starts JupyterLab as a student would (``python -m course lab``) in a scratch copy of the
course, runs each release notebook, then changes every live control of every widget in turn
(a dropdown to its next option, a slider one step with the arrow key, a checkbox or toggle
click), ROUNDS times, and measures in the page the time from the change's input event to the
next frame after the widget's image changed: the round trip to the kernel, its redraw and the
browser's decoding of the new PNG.

    python benchmarks/widget_latency.py [--rounds 5] [ASSIGNMENT ...]

Target on this machine, idle: median <= 100 ms and worst <= 250 ms for every widget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course.notebooks import assignments, course_root  # noqa: E402
from tests import browser as B  # noqa: E402

MEDIAN_TARGET, WORST_TARGET = 0.100, 0.250
# Timed in the page: from the first input event of the change (key, click, change) to the
# frame after the widget's image got its new src, so Playwright's own overhead is left out.
ARM = """view => {
    const t = window.__latency = {changed: NaN, shown: NaN};
    const mark = () => { if (isNaN(t.changed)) t.changed = performance.now(); };
    for (const type of ['keydown', 'change', 'click', 'input'])
        document.addEventListener(type, mark, {capture: true, once: true});
    const img = view.querySelector('img');
    const seen = new MutationObserver(() => {
        seen.disconnect();
        requestAnimationFrame(() => { t.shown = performance.now(); });
    });
    seen.observe(img, {attributes: true, attributeFilter: ['src']});
}"""


def measure(page, url: str, name: str, rounds: int) -> list[tuple[str, list[float]]]:
    nb = B.Notebook(page, url, f"release/{name}/{name}.ipynb").open()
    nb.run_all()
    results = []
    views = nb.widget_views()
    for v in range(views.count()):
        view = views.nth(v)
        view.scroll_into_view_if_needed()
        title = view.evaluate("""e => {
            const cell = e.closest('.jp-CodeCell');
            return cell.querySelector('.jp-InputArea-editor').textContent.trim(); }""")
        times = []
        controls = view.locator(B.CONTROLS)
        for r in range(rounds):
            for c in range(controls.count()):
                control = controls.nth(c)
                if not B.live(control):
                    continue
                nb.wait_idle(30, settle=0.15)
                view.evaluate(ARM)
                B.change_control(page, control, c + r, presses=1)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    took = page.evaluate("() => window.__latency.shown - window.__latency.changed")
                    if took == took and took is not None:  # not NaN: the figure changed
                        times.append(took / 1000)
                        break
                    time.sleep(0.02)
        results.append((title.split("(")[0].replace("utils.widgets.", ""), times))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    why = B.available()
    if why:
        raise SystemExit(f"cannot run: {why}")
    names = args.assignments or assignments()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        folder = B.course_copy(course_root(), Path(tmp) / "course", names)
        with B.lab_server(folder) as url, B.browser() as chromium:
            page = B.new_page(chromium)
            rows = [(name, widget, times) for name in names
                    for widget, times in measure(page, url, name, args.rounds)]
    print(f"\n{'assignment':<20}{'widget':<28}{'changes':>8}{'median ms':>11}{'worst ms':>10}")
    ok = True
    for name, widget, times in rows:
        med, worst = statistics.median(times), max(times)
        flag = "" if med <= MEDIAN_TARGET and worst <= WORST_TARGET else "  over target"
        ok &= not flag
        print(f"{name:<20}{widget:<28}{len(times):>8}{1000 * med:>11.0f}{1000 * worst:>10.0f}"
              f"{flag}")
    print(f"\ntarget: median <= {1000 * MEDIAN_TARGET:.0f} ms, worst <= "
          f"{1000 * WORST_TARGET:.0f} ms per widget: {'met' if ok else 'NOT met'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
