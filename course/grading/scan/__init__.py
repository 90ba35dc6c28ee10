"""Anti-cheat scan: flags for the instructor's review, never automatic zeros.

Reads a submission's code cells (not the locked test cells, which nbgrader restores)
and reports:

- delegation: a graded function that calls, imports or aliases the ``utils``
  function of the same name (``utils.sigmoid`` inside ``def sigmoid``), or any ``utils``
  function its tests name as a reference it must not hand the work to
  (``check_not_delegated(two_layer_forward, [utils.mlp.forward, ...])``);
- tampering: code that assigns to, deletes or patches attributes of ``utils``,
  ``numpy.testing``, builtins, ``sys.modules`` or the test helpers, or rebinds a
  test helper's name;
- copied: a graded function that, names and layout aside, nearly equals the course's own
  reference for it (``copies``: the repository is public);
- suspicious: anything no honest answer in this course needs — IPython's machinery and
  every way to its shell (``get_ipython``, ``exit._ip``, ``__builtins__``, ``sys.modules``,
  the history ``In``/``Out``/``_ih``/``_i3``, magics other than ``%matplotlib`` and
  ``%time``/``%timeit`` statements, shell escapes), interpreter internals (``sys``,
  ``builtins``, ``gc``, ``inspect``, ``ctypes``, ``importlib``), ``exec``/``eval``/
  ``compile``/``__import__``, ``getattr`` with a computed name, files and processes (``open``,
  ``os``, ``pathlib``, ``subprocess``, ``shutil``, ``socket``), dunder attributes such as
  ``__file__`` or ``__globals__``; and a cell that does not parse as Python.

The scan reads a cell as the kernel runs it: IPython's syntax (``_ = %time 0``, ``!ls``,
``%%time``) is first turned into Python by IPython's own transformer, so no magic hides the
rest of its cell, and the Python that ``%time`` or ``%%time`` runs is read like any other.
Cells handed out unchanged (the same text as a cell of the source notebook) are not scanned.
"""

from __future__ import annotations

from ...notebooks import grade_id, is_tests, nbgrader_meta
from .automagic import _automagic
from .copies import copied_flags
from .delegation import _aliases_in, _bound_in, _scan_tree
from .ipython import TRANSFORM_CELL_CHARS, TRANSFORM_NOTEBOOK_CHARS, _parse, _plain
from .rules import Flag, _graded_names, _references, _suspicious

__all__ = ["Flag", "TRANSFORM_CELL_CHARS", "TRANSFORM_NOTEBOOK_CHARS", "scan_notebook"]

_SOURCE_FACTS: dict[int, tuple] = {}  # id(notebook) -> (notebook, facts): kept alive


def _source_facts(source_nb) -> tuple[set, dict, set, dict]:
    """What the scan needs of the instructor's notebook (graded names, the utils objects
    each must not use, the handed-out code), worked out once per notebook object, and a
    memo of the flags of its handed-out cells."""
    kept = _SOURCE_FACTS.get(id(source_nb))
    if kept is None or kept[0] is not source_nb:
        handed_out = {c.source.strip() for c in source_nb.cells
                      if c.cell_type == "code" and not nbgrader_meta(c).get("solution")}
        if len(_SOURCE_FACTS) >= 64:
            _SOURCE_FACTS.clear()
        kept = _SOURCE_FACTS[id(source_nb)] = (
            source_nb, (_graded_names(source_nb), _references(source_nb), handed_out, {}))
    return kept[1]


def scan_notebook(nb, source_nb, assignment: str | None = None) -> list[Flag]:
    """All flags for one submitted notebook, given the instructor's source notebook (and,
    for the ``copied`` flags, its assignment's name)."""
    graded, refs, handed_out, seen = _source_facts(source_nb)
    cells = [(index, grade_id(cell) or f"cell {index + 1}", cell.source,
              cell.source.strip() in handed_out)
             for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and not is_tests(cell)]
    codes, left = [], TRANSFORM_NOTEBOOK_CHARS
    for _, _, source, _ in cells:
        codes.append(_parse(source, min(left, TRANSFORM_CELL_CHARS)))
        if _plain(source) is None:
            left -= len(source)
    parsed, known = tuple(codes), []

    def bound() -> frozenset:
        """The names the notebook binds, worked out when a cell needs them (rarely)."""
        if not known:
            known.append(frozenset().union(*(_bound_in(code.tree) for code in parsed)))
        return known[0]

    aliases: dict[str, str] = {"utils": "utils"}  # one kernel: an import in any cell counts
    for number, (_, _, _, handed) in enumerate(cells):
        magic = None if handed else _automagic(codes[number], bound)
        codes[number] = magic or codes[number]
        aliases.update(_aliases_in(codes[number].tree))
    alias_key = tuple(sorted(aliases.items()))
    found, flags = [], []
    for (index, where, source, handed), code in zip(cells, codes, strict=True):
        if handed:  # the same cell, names and aliases: the same flags
            key = (source, where, alias_key)
            if key not in seen:
                seen[key] = _scan_tree(code.tree, where, graded, aliases, refs)
            found += seen[key]
            continue
        try:
            found += _scan_tree(code.tree, where, graded, aliases, refs)
            mine = _suspicious(code.tree, where, bound)
        except RecursionError:
            mine = [Flag("suspicious", where, 0, f"cell {index + 1} is nested too deeply to scan")]
        mine += [Flag("suspicious", where, m.line,
                      f"uses the IPython magic or shell escape {m.written!r}{m.how}")
                 for m in code.magics if not m.permitted]
        mine += [Flag("suspicious", where, line, f"cell {index + 1} {detail}")
                 for line, detail in code.errors]
        flags += sorted(dict.fromkeys(mine), key=lambda f: f.line)
    if assignment:
        found += copied_flags(nb, assignment, graded)
    return found + flags
