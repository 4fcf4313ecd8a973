"""Box blur: the mean of an N x N neighbourhood (N odd or even)."""

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import MAX_RADIUS

#: The widest box: as wide as the widest Gaussian (2 * MAX_RADIUS + 1 taps).
MAX_SIZE = 2 * MAX_RADIUS + 1


def box_kernel(size: int = 3) -> np.ndarray:
    """An N x N mean kernel.

    Parameters
    ----------
    size : int
        Width and height N, 1 to 4001.

    Returns
    -------
    numpy.ndarray
        N x N taps, each 1 / N**2.

    Examples
    --------
    >>> from imgconv.filters import box_kernel
    >>> box_kernel(2)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    if not 1 <= size <= MAX_SIZE:
        raise ImgconvError(f"box size must be 1 to {MAX_SIZE}, got {size}")
    return np.full((size, size), 1.0 / (size * size))


def box(size: int = 3) -> Filter:
    """Box blur: the mean of each N x N neighbourhood, O(1) per pixel whatever N.

    Parameters
    ----------
    size : int
        Box width and height N (1 to 4001, and no larger than the image).

    Examples
    --------
    imgconv box in.png out.png --size 31
    """
    return Filter("box", (box_kernel(size),), within_image=True)
