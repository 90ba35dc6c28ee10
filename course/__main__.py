"""``python -m course``: the instructor commands (``course.cli``). Imports ``course.cli``."""
import sys

# jsonschema imports rfc3987_syntax when it is installed (jupyter-events depends on it), and
# that module builds a Lark grammar on import: 0.9 s of every `python -m course` start, for
# IRI format checks that nothing here runs (nbformat and nbgrader validate without formats).
sys.modules.setdefault("rfc3987_syntax", None)

from .cli import main  # noqa: E402 -- after the line above, which must come first

raise SystemExit(main())
