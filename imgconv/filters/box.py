"""Box blur: the mean of an N x N neighbourhood (N odd or even)."""

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import MAX_RADIUS

#: The widest box: as wide as the widest Gaussian (2 * MAX_RADIUS + 1 taps).
MAX_SIZE = 2 * MAX_RADIUS + 1


def box_kernel(size: int = 3) -> np.ndarray:
    if not 1 <= size <= MAX_SIZE:
        raise ImgconvError(f"box size must be 1 to {MAX_SIZE}, got {size}")
    return np.full((size, size), 1.0 / (size * size))


def box(size: int = 3) -> Filter:
    """N x N mean filter; runs in O(1) per pixel (summed areas) whatever N is."""
    return Filter("box", (box_kernel(size),))
