"""Which edition of utils this is: what it holds, and what its withheld functions do.

In the repository it describes the full edition; ``python -m course edition`` rewrites the two
assignments below for a student edition (``course/editions.py``). In a student edition each
withheld function is a stub that calls ``stand_in``: the student's own function, once it is
handed over with ``utils.use``, or else ``NotReleasedError``.
"""

RELEASED = ["ch1_perceptron", "ch2_mlp", "ch3_backprop", "ch4_optimizers", "ch5_regularization",
            "ch6_gradients", "ch7_rnn_lstm", "case_study_keras"]
WITHHELD: dict[str, str] = {}  # {"utils.module.name": assignment} of what this edition lacks

_YOURS: dict[str, object] = {}  # {"utils.module.name": the student's function}, from use()


class NotReleasedError(RuntimeError):
    """A function of utils that answers an exercise of an assignment still open."""


def not_released(qualname: str, assignment: str):
    name = qualname.rsplit(".", 1)[1]
    raise NotReleasedError(
        f"{qualname} is not in this edition of utils: it is the answer to an exercise of "
        f"{assignment}, whose references are released after its deadline. Write your own "
        f"{name} in that notebook; utils.use({name}) then lets utils' demos, training loop "
        f"and widgets run on it.")


def stand_in(qualname: str, assignment: str):
    """What the stub of a withheld function calls: the student's own function given to
    ``use``, or ``NotReleasedError`` when there is none."""
    if qualname in _YOURS:
        return _YOURS[qualname]
    not_released(qualname, assignment)


def use(*functions, **by_name) -> list[str]:
    """Let utils run on your own functions where this edition withholds its reference::

        utils.use(update_parameters_with_gd, random_mini_batches)
        utils.use(**{"utils.mlp.forward": forward})   # when two withheld functions share a name

    A withheld function of utils whose name is your function's then calls yours: the training
    loop, the 2-D optimizer paths and the widgets all run on your code (and show its mistakes).
    Where utils holds the reference (the full edition, or a chapter already released), it
    keeps its own. Returns the names of utils now running on yours.
    """
    pairs = [(getattr(f, "__name__", None), f) for f in functions] + list(by_name.items())
    plugged = []
    for name, function in pairs:
        if not callable(function) or not isinstance(name, str):
            raise ValueError(f"utils.use takes your functions (or classes), got {function!r}")
        qualname = name if name.startswith("utils.") else f"utils.{name}"
        if "." in name:
            matches = [qualname] if qualname in WITHHELD else []
        else:
            matches = [q for q in WITHHELD if q.rsplit(".", 1)[1] == name]
        if len(matches) > 1:
            raise ValueError(f"several withheld functions of utils are called {name}: "
                             f"{', '.join(matches)}; say which, e.g. "
                             f"utils.use(**{{{matches[0]!r}: {name}}})")
        for match in matches:
            _YOURS[match] = function
            plugged.append(match)
    return plugged
