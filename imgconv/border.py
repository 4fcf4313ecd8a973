"""Border handling, done once for every engine: pad the image so engines only see a valid correlation.

Mode names are scipy.ndimage's (OpenCV's in brackets):
  reflect  d c b a | a b c d | d c b a   [BORDER_REFLECT]
  mirror     d c b | a b c d | c b a     [BORDER_REFLECT_101]
  nearest  a a a a | a b c d | d d d d   [BORDER_REPLICATE]
  wrap     a b c d | a b c d | a b c d   [BORDER_WRAP]
  constant k k k k | a b c d | k k k k   [BORDER_CONSTANT]
Padding wider than the image repeats the pattern, as scipy does, so a 301x301 box works on any image.
"""

from __future__ import annotations

import numpy as np

MODES = ("reflect", "mirror", "nearest", "wrap", "constant")


def source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each padded position along an axis of length n, the image index it copies (-1 = constant)."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(i)
        i = np.mod(i, 2 * n - 2)
        return np.where(i >= n, 2 * n - 2 - i, i)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "constant":
        return np.where((i < 0) | (i >= n), -1, i)
    raise ValueError(f"unknown border mode {mode!r}; choose from {', '.join(MODES)}")


def pad(image: np.ndarray, padding, mode: str = "reflect", cval: float = 0.0) -> np.ndarray:
    """Return an H'xW'xC float32 copy of an HxWxC image with `padding` ((top, bottom), (left, right)).

    The centre is copied (and converted to float32) once; the borders are filled from the centre.
    """
    (top, bottom), (left, right) = padding
    h, w, c = image.shape
    out = np.empty((h + top + bottom, w + left + right, c), np.float32)
    out[top : top + h, left : left + w] = image
    rows = source_index(h, top, bottom, mode)
    cols = source_index(w, left, right, mode)
    if mode == "constant":
        out[:top] = cval
        out[top + h :] = cval
        out[top : top + h, :left] = cval
        out[top : top + h, left + w :] = cval
        return out
    centre = out[top : top + h]
    if left:
        centre[:, :left] = centre[:, cols[:left] + left]
    if right:
        centre[:, left + w :] = centre[:, cols[left + w :] + left]
    if top:
        out[:top] = out[rows[:top] + top]
    if bottom:
        out[top + h :] = out[rows[top + h :] + top]
    return out
