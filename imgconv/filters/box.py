"""Box blur: the mean of an N x N neighbourhood (N odd or even)."""

import numpy as np

from ..errors import ImgconvError
from .base import Filter


def box_kernel(size: int = 3) -> np.ndarray:
    if size < 1:
        raise ImgconvError(f"box size must be at least 1, got {size}")
    return np.full((size, size), 1.0 / (size * size))


def box(size: int = 3) -> Filter:
    """N x N mean filter; runs in O(1) per pixel (summed areas) whatever N is."""
    return Filter("box", (box_kernel(size),))
