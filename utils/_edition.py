"""Which edition of utils this is: what it holds, and the error its withheld functions raise.

In the repository it describes the full edition; ``python -m course edition`` rewrites the two
assignments below for a student edition (``course/editions.py``).
"""

RELEASED = ["ch1_perceptron", "ch2_mlp", "ch3_backprop", "ch4_optimizers", "ch5_regularization",
            "ch6_gradients", "ch7_rnn_lstm", "case_study_keras"]
WITHHELD: dict[str, str] = {}  # {"utils.module.name": assignment} of what this edition lacks


class NotReleasedError(RuntimeError):
    """A function of utils that answers an exercise of an assignment still open."""


def not_released(qualname: str, assignment: str):
    raise NotReleasedError(
        f"{qualname} is not in this edition of utils: it is the answer to an exercise of "
        f"{assignment}, whose references are released after its deadline. Use your own "
        f"function from that notebook instead.")
