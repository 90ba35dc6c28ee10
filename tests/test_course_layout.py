"""The instructor tooling's layout holds its own rules: no import cycle in ``course/``, the
sandbox's files import the standard library only, every module says what it does, and no
module grows past about 300 lines."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
SANDBOX = COURSE / "grading" / "execute" / "sandbox"
SIBLINGS = {p.stem for p in SANDBOX.glob("*.py")} - {"__init__"}
# what a grading kernel is made of, imported by the modules that start or are the kernel
KERNEL = {"ipykernel", "IPython", "ipywidgets", "matplotlib", "matplotlib_inline", "mpl_toolkits",
          "numpy", "utils"}
KERNEL_SIDE = {"grading_kernel", "kernel_guard", "limited_kernel"}


def modules() -> dict[str, Path]:
    found = {}
    for path in COURSE.rglob("*.py"):
        parts = path.relative_to(COURSE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """The modules ``name`` imports anywhere in its code, as absolute names."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_import_cycle_anywhere_in_course():
    mods = modules()
    graph = {}
    for name, path in mods.items():
        targets = set()
        for target in imports(name, path):
            if name.startswith("course.grading.execute.sandbox") and target in SIBLINGS:
                target = f"course.grading.execute.sandbox.{target}"
            parts = target.split(".")
            for i in range(1, len(parts) + 1):  # a module imports its packages too
                prefix = ".".join(parts[:i])
                if prefix in mods and prefix != name and not name.startswith(prefix + "."):
                    targets.add(prefix)
        graph[name] = targets
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("path", sorted(SANDBOX.glob("*.py")), ids=lambda p: p.name)
def test_the_sandbox_files_import_the_standard_library_only(path):
    allowed = set(sys.stdlib_module_names) | SIBLINGS | {"__future__"}
    if path.stem in KERNEL_SIDE:
        allowed |= KERNEL
    tops = {name.split(".")[0] for name in imports(path.stem, path)}
    assert tops <= allowed, sorted(tops - allowed)


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_says_what_it_does_and_stays_small(name):
    path = modules()[name]
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and len(doc.split()) >= 8, f"{name}: a docstring of a few lines, please"
    assert "import" in doc.lower() or "standard library" in doc.lower(), \
        f"{name}: say what it may import"
    assert len(path.read_text().splitlines()) <= 300, f"{name}: over 300 lines"
