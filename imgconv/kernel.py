"""Kernels as data: parsing a user's kernel, and the one-time analysis every engine plans from.

imgconv's engines all compute one thing: the *valid* cross-correlation of a border-padded image with
`taps`.  `KernelInfo` turns a convolution (or correlation) kernel into those taps, the padding each
side needs so the result matches scipy.ndimage exactly (including the origin of even-sized kernels),
and what the planner needs to choose an engine: the SVD rank and separable factors, and box-ness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import ImgconvError

#: Largest sum of |taps|: results on any pixel value (at most 65535) then stay far inside float32's range,
#: so no engine can overflow to infinity.
MAX_GAIN = 1e30

#: Singular values below RANK_TOL * largest are dropped. Dropping them changes each output by at most
#: that fraction of the kernel's gain, which is below float32 rounding of the result.
RANK_TOL = 1e-6


def as_kernel(kernel) -> np.ndarray:
    """Validate a kernel given as a nested sequence or array: a finite, non-empty 2D float64 array."""
    try:
        taps = np.array(kernel, dtype=np.float64)
    except (TypeError, ValueError):
        raise ImgconvError("kernel must be a rectangular grid of numbers (rows of equal length)") from None
    if taps.ndim == 1:
        taps = taps[np.newaxis, :]
    if taps.ndim != 2 or taps.size == 0:
        raise ImgconvError(f"kernel must be a non-empty 2D grid of numbers, got shape {taps.shape}")
    if not np.all(np.isfinite(taps)):
        raise ImgconvError("kernel contains NaN or infinity")
    if np.abs(taps).sum() > MAX_GAIN:
        raise ImgconvError(f"kernel taps are too large (their absolute sum is over {MAX_GAIN:g}): "
                           "results would overflow float32")
    return taps


def parse_kernel(text: str) -> np.ndarray:
    """Parse "1 2 1; 2 4 2; 1 2 1" or a file's text: rows by ';' or newline, '#' starts a comment.

    Text with a ':' or starting with a name is an ImageMagick kernel string ("3x3: 1,2,1 2,4,2 1,2,1",
    "5x3+1+1: ...", "Gaussian:0x2"); see imgconv.syntax.imagemagick.
    """
    uncommented = "\n".join(row.split("#", 1)[0] for row in text.splitlines())
    from .syntax.imagemagick import looks_like_imagemagick, parse_imagemagick

    if looks_like_imagemagick(uncommented):
        return parse_imagemagick(uncommented)
    rows = []
    for line in re.split(r"[;\n]", uncommented):
        cells = line.replace(",", " ").split()
        if not cells:
            continue
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            bad = next(c for c in cells if not _is_number(c))
            raise ImgconvError(f"kernel: {bad!r} is not a number") from None
    if not rows:
        raise ImgconvError("kernel is empty")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ImgconvError(f"kernel rows have different lengths {sorted(widths)}; every row needs the same count")
    return as_kernel(rows)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def normalized(taps: np.ndarray) -> np.ndarray:
    """Scale a kernel to sum to 1 (so it keeps the image's brightness)."""
    total = taps.sum()
    # Relative to the taps' own size: a kernel of tiny taps is fine; only cancellation means "zero".
    if abs(total) <= 1e-12 * np.abs(taps).sum():
        raise ImgconvError("cannot --normalize a kernel whose taps sum to zero")
    return taps / total


@dataclass(frozen=True)
class KernelInfo:
    """A kernel prepared for the engines: correlation taps, border padding, rank and factors."""

    kernel: np.ndarray
    correlate: bool = False
    taps: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        kernel = as_kernel(self.kernel)
        object.__setattr__(self, "kernel", kernel)
        # Convolution flips the kernel; scipy then shifts an even-sized kernel's origin by one.
        object.__setattr__(self, "taps", kernel if self.correlate else kernel[::-1, ::-1].copy())

    @property
    def shape(self) -> tuple[int, int]:
        return self.taps.shape

    @property
    def padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Rows/columns of border to add (before, after) on each axis, scipy.ndimage's origin rule."""
        pads = []
        for k in self.taps.shape:
            before = k // 2 if self.correlate else (k - 1) // 2
            pads.append((before, k - 1 - before))
        return tuple(pads)

    @cached_property
    def _outer(self):
        """(column, row) if the taps are numerically one outer product, else None.

        An O(k1*k2) test, so that Gaussians and boxes -- rank 1, up to 4001 taps wide -- never pay for
        an O(k^3) SVD (a 3607x3607 one takes about a minute here).
        """
        taps = self.taps
        i, j = np.unravel_index(np.abs(taps).argmax(), taps.shape)
        pivot = taps[i, j]
        if pivot == 0:
            return None
        column, row = taps[:, j], taps[i, :] / pivot
        if np.abs(taps - np.outer(column, row)).max() > RANK_TOL * abs(pivot):
            return None
        scale = np.sqrt(np.linalg.norm(column) * np.linalg.norm(row))  # balanced, like the SVD's factors
        return column * (scale / np.linalg.norm(column)), row * (scale / np.linalg.norm(row))

    @cached_property
    def _svd(self):
        return np.linalg.svd(self.taps)

    @cached_property
    def singular_values(self) -> np.ndarray:
        return self._svd[1]

    @cached_property
    def rank(self) -> int:
        """Numerical rank: singular values above RANK_TOL times the largest (0 for an all-zero kernel)."""
        if self._outer is not None:
            return 1
        s = self.singular_values
        return int(np.sum(s > RANK_TOL * s[0])) if s[0] > 0 else 0

    @cached_property
    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        """(columns, rows): taps == sum_t outer(columns[t], rows[t]) over the numerical rank."""
        if self._outer is not None:
            columns, rows = self._outer[0][np.newaxis], self._outer[1][np.newaxis]
        else:
            u, s, vt = self._svd
            r = max(self.rank, 1)
            scale = np.sqrt(s[:r])
            columns = (u[:, :r] * scale).T
            rows = vt[:r] * scale[:, None]
        # Keep the larger-magnitude tap of each row factor positive, for readable output.
        sign = np.sign(rows[np.arange(len(rows)), np.abs(rows).argmax(axis=1)])
        return columns * sign[:, None], rows * sign[:, None]

    @property
    def is_box(self) -> bool:
        """All taps equal and non-zero: a (possibly rectangular) box sum times a constant."""
        return bool(self.taps.flat[0] != 0 and np.all(self.taps == self.taps.flat[0]))

    @property
    def nonzero_taps(self) -> int:
        return int(np.count_nonzero(self.taps))
