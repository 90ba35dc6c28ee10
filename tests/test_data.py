import numpy as np
import pytest

from utils import data


def test_house_prices_is_seeded_and_plausible():
    X, y = data.house_prices(500, seed=1)
    X2, y2 = data.house_prices(500, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.shape == (500, 4) and y.shape == (500,)
    assert set(np.unique(X[:, 0])) <= set(range(1, 7)) and set(np.unique(X[:, 3])) <= {0, 1}
    assert X[:, 1].min() >= 0 and X[:, 1].max() <= 80 and X[:, 2].max() <= 50
    # the noise-free rule explains most of the variance; each feature acts as documented
    Xc, yc = data.house_prices(2000, seed=2, noise=0.0)
    near = Xc[:, 2] < 2
    assert yc[near].mean() > yc[Xc[:, 2] > 30].mean() + 100
    assert np.corrcoef(Xc[:, 0], yc)[0, 1] > 0.3
    assert not np.array_equal(data.house_prices(10, seed=3)[1], data.house_prices(10, seed=4)[1])


@pytest.mark.parametrize("make", [data.xor_blobs, data.two_moons, data.circles, data.spirals])
def test_2d_sets(make):
    X, y = make(120, seed=5)
    assert X.shape == (120, 2) and y.shape == (120,)
    assert np.array_equal(X, make(120, seed=5)[0])
    assert len(np.unique(y)) >= 2


def test_xor_blob_labels_follow_xor():
    X, y = data.xor_blobs(400, seed=0, noise=0.05)
    corner = np.rint(X).astype(int)
    assert np.mean((corner[:, 0] ^ corner[:, 1]) == y) > 0.99


def test_train_val_split():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    Xt, Xv, yt, yv = data.train_val_split(X, y, 0.3, seed=0)
    assert Xt.shape == (7, 2) and Xv.shape == (3, 2)
    assert sorted(np.concatenate([yt, yv]).tolist()) == list(range(10))
    assert np.array_equal(Xv[:, 0], 2 * yv)  # rows stay paired
    with pytest.raises(ValueError, match="X has 10 rows but y has 3"):
        data.train_val_split(X, y[:3])
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(X, y, 1.0)


def test_bad_sizes():
    with pytest.raises(ValueError, match="n must be an integer"):
        data.house_prices(2.5)
    with pytest.raises(ValueError, match="noise"):
        data.two_moons(10, noise=-1)
