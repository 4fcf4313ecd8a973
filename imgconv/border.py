"""Border handling, in one place for every engine: engines see a padded image and compute a valid correlation.

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


class Source:
    """A padded image described without building it: the engines' view of "image + border".

    `image` is the unpadded HxWxC array as given (float32, or uint8 read straight from the file: engines
    widen one row at a time, never the whole image; imgconv.convolution converts other types first).
    `rows[p]` / `cols[q]` name the image row / column that padded row p / padded column q copies, or -1
    where the border is the constant `cval` (see source_index).  Engines read padded rows through these
    maps (imgconv.engine._rows), so they never branch on the border mode: every mode is just a
    different pair of index maps, made here.

    `cval_row` is one image row filled with cval (in the image's own type), read wherever rows[p] < 0.
    """

    def __init__(self, image: np.ndarray, padding, mode: str = "reflect", cval: float = 0.0):
        (top, bottom), (left, right) = padding
        h, w, c = image.shape
        self.image = image
        self.top, self.left = top, left
        self.rows = source_index(h, top, bottom, mode).astype(np.intp)
        self.cols = source_index(w, left, right, mode).astype(np.intp)
        if mode != "constant":  # -1 only means "constant" in constant mode (it never occurs otherwise)
            assert (self.rows >= 0).all() and (self.cols >= 0).all()
        self.cval = float(cval)
        self.padding, self.mode = padding, mode
        self.cval_row = np.full(w * c, cval, image.dtype)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of the padded image this stands for."""
        return (len(self.rows), len(self.cols), self.image.shape[2])

    @property
    def image2d(self) -> np.ndarray:
        """The image as an H x (W*C) matrix (interleaved channels side by side)."""
        return self.image.reshape(self.image.shape[0], -1)

    def padded_rows(self, first: int, count: int) -> np.ndarray:
        """Padded rows first .. first+count-1 as a float32 count x W' x C array (for engines that work on
        whole blocks of the padded image: fft, im2col), gathered through the maps."""
        index = self.rows[first : first + count]
        block = self.image[np.maximum(index, 0)][:, np.maximum(self.cols, 0)].astype(np.float32)
        block[index < 0] = self.cval
        block[:, self.cols < 0] = self.cval
        return block
