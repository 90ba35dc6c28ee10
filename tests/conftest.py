import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


def central_difference(f, z, h=1e-6):
    """Elementwise derivative of an elementwise function by central differences."""
    z = np.asarray(z, dtype=np.float64)
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.fixture
def strict_float():
    """Overflow, division by zero and invalid operations raise (underflow is fine)."""
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield
