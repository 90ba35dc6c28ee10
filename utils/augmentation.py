"""Data augmentation on small grey-scale images made in code (chapter 5).

Images are 2-D float arrays (rows = y going down, columns = x going right), values in
[0, 1]. ``digit_image`` draws a digit from a 5 x 7 pixel font; the transformations map
each output pixel back to the input (nearest neighbour) and fill what comes from outside
the image with 0:

    translate   out[r, c] = image[r - dy, c - dx]
    rotate      by angle degrees counter-clockwise about the centre
    scale       by a factor about the centre (> 1 zooms in)
    shear       out[r, c] = image[r, c - k (r - centre)]   (a slant)
    crop        a window, resized back to the full size
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_int, check_number

__all__ = ["digit_image", "translate", "flip_horizontal", "rotate", "scale", "shear", "crop",
           "gaussian_noise"]

_FONT = {  # 5 x 7 bitmaps, one string per row
    "0": ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.",
    "1": "..#..|.##..|..#..|..#..|..#..|..#..|.###.",
    "2": ".###.|#...#|....#|...#.|..#..|.#...|#####",
    "3": "####.|....#|....#|.###.|....#|....#|####.",
    "4": "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|....#|#...#|.###.",
    "6": "..##.|.#...|#....|####.|#...#|#...#|.###.",
    "7": "#####|....#|...#.|..#..|.#...|.#...|.#...",
    "8": ".###.|#...#|#...#|.###.|#...#|#...#|.###.",
    "9": ".###.|#...#|#...#|.####|....#|...#.|.##..",
}


def digit_image(digit, size: int = 16) -> np.ndarray:
    """A ``size`` x ``size`` image of a digit (0-9): the 5 x 7 font glyph, each font pixel
    a 2 x 2 block, centred."""
    key = str(digit)
    if key not in _FONT:
        raise ValueError(f"digit must be one of 0-9, got {digit!r}")
    size = check_int(size, "size", low=14)
    glyph = np.array([[ch == "#" for ch in row] for row in _FONT[key].split("|")], dtype=float)
    big = np.kron(glyph, np.ones((2, 2)))
    image = np.zeros((size, size))
    top, left = (size - big.shape[0]) // 2, (size - big.shape[1]) // 2
    image[top:top + big.shape[0], left:left + big.shape[1]] = big
    return image


def _image(image) -> np.ndarray:
    return as_float_array(image, "image", ndim=2)


def translate(image, dx: int, dy: int) -> np.ndarray:
    """Shift right by ``dx`` columns and down by ``dy`` rows (negative: left / up); the
    uncovered pixels are 0 (nothing wraps around). Same shape."""
    image = _image(image)
    dx, dy = check_int(dx, "dx"), check_int(dy, "dy")
    out = np.zeros_like(image)
    H, W = image.shape
    if abs(dx) >= W or abs(dy) >= H:
        return out
    out[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        image[max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return out


def flip_horizontal(image) -> np.ndarray:
    """Mirror left-right: out[r, c] = image[r, W - 1 - c]."""
    return _image(image)[:, ::-1].copy()


def _warp(image: np.ndarray, M) -> np.ndarray:
    """out[r, c] = image at M (r, c) (rounded), both offsets taken from the centre, 0 where
    that falls outside. M is a 2 x 2 matrix: a linear map keeps the centre where it is, so
    rotations, zooms and shears go through here and shifts (``translate``) cannot."""
    M = np.asarray(M, dtype=float)
    H, W = image.shape
    r, c = np.mgrid[0:H, 0:W].astype(float)
    r, c = r - (H - 1) / 2, c - (W - 1) / 2
    sr, sc = M[0, 0] * r + M[0, 1] * c, M[1, 0] * r + M[1, 1] * c
    sr, sc = np.rint(sr + (H - 1) / 2).astype(int), np.rint(sc + (W - 1) / 2).astype(int)
    inside = (sr >= 0) & (sr < H) & (sc >= 0) & (sc < W)
    out = np.zeros_like(image)
    out[inside] = image[sr[inside], sc[inside]]
    return out


def rotate(image, angle: float) -> np.ndarray:
    """Rotate by ``angle`` degrees counter-clockwise (as seen on screen) about the centre."""
    a = np.deg2rad(check_number(angle, "angle"))
    # a pixel at (row, col) offset comes from the point rotated back by -angle; rows point
    # down, so a counter-clockwise turn on screen is clockwise in (col, row) coordinates
    return _warp(_image(image), [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def scale(image, factor: float) -> np.ndarray:
    """Zoom about the centre by ``factor`` (> 1 enlarges, < 1 shrinks)."""
    f = check_number(factor, "factor", low=0.0, low_inclusive=False)
    return _warp(_image(image), [[1 / f, 0.0], [0.0, 1 / f]])


def shear(image, k: float) -> np.ndarray:
    """Horizontal shear: row offset r moves right by k r (a slant; k = 0 changes nothing)."""
    k = check_number(k, "k")
    return _warp(_image(image), [[1.0, 0.0], [-k, 1.0]])


def crop(image, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The window image[top:top + height, left:left + width], resized back to the image's
    shape by nearest neighbour (the "random crop" augmentation, with a chosen window)."""
    image = _image(image)
    H, W = image.shape
    top, left = check_int(top, "top", low=0), check_int(left, "left", low=0)
    height, width = check_int(height, "height", low=1), check_int(width, "width", low=1)
    if top + height > H or left + width > W:
        raise ValueError(f"the window {height} x {width} at ({top}, {left}) leaves the "
                         f"{H} x {W} image")
    rows = top + (np.arange(H) * height // H)
    cols = left + (np.arange(W) * width // W)
    return image[np.ix_(rows, cols)]


def gaussian_noise(image, sigma: float, seed=0) -> np.ndarray:
    """image + N(0, sigma^2) noise per pixel, clipped to [0, 1]."""
    sigma = check_number(sigma, "sigma", low=0.0)
    image = _image(image)
    noise = np.random.default_rng(seed).normal(0.0, sigma, image.shape)
    return np.clip(image + noise, 0.0, 1.0)
