"""Emboss: a directional derivative lit from `angle`, around mid-grey so flat areas come out grey."""

import math

import numpy as np

from .base import Filter, Finish
from .sobel import SOBEL_X, SOBEL_Y


def emboss_kernel(angle: float = 45.0, strength: float = 1.0) -> np.ndarray:
    """Sobel derivative towards `angle`, scaled so the strongest edge swings from black to white.

    Parameters
    ----------
    angle : float
        Direction of the light, degrees counter-clockwise from east, as seen on screen.
    strength : float
        Relief depth; at 1 the strongest possible edge (a Sobel response of 4 * full) swings exactly
        from black to white around mid-grey (hence the division by 8).

    Returns
    -------
    numpy.ndarray
        3x3 taps summing to 0 (add mid-grey after convolving).

    Examples
    --------
    >>> from imgconv.filters import emboss_kernel
    >>> float(emboss_kernel(0.0).sum())
    0.0
    """
    theta = math.radians(angle)
    # Sobel kernels measure change towards +x (east) and +row (south); on screen "up" is -row.
    return strength * (math.cos(theta) * SOBEL_X - math.sin(theta) * SOBEL_Y) / 8.0


def emboss(angle: float = 45.0, strength: float = 1.0) -> Filter:
    """Emboss around mid-grey.

    Parameters
    ----------
    angle : float
        Direction of the light, degrees counter-clockwise from east.
    strength : float
        Relief depth.

    Examples
    --------
    imgconv emboss in.jpg out.png --angle 135
    """
    return Filter("emboss", (emboss_kernel(angle, strength),), finish=Finish(offset=0.5))
