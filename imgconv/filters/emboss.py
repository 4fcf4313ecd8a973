"""Emboss: a directional derivative lit from `angle`, around mid-grey so flat areas come out grey."""

import math
from functools import partial

import numpy as np

from .base import Filter
from .sobel import SOBEL_X, SOBEL_Y


def _add_offset(source, responses, full, *, offset):
    return responses[0] + offset * full


def emboss_kernel(angle: float = 45.0, strength: float = 1.0) -> np.ndarray:
    """Sobel derivative towards `angle` (degrees counter-clockwise from east, as seen on screen).

    Divided by 8 so that at strength 1 the strongest possible edge (a Sobel response of 4 * full)
    swings exactly from black to white around mid-grey.
    """
    theta = math.radians(angle)
    # Sobel kernels measure change towards +x (east) and +row (south); on screen "up" is -row.
    return strength * (math.cos(theta) * SOBEL_X - math.sin(theta) * SOBEL_Y) / 8.0


def emboss(angle: float = 45.0, strength: float = 1.0) -> Filter:
    return Filter("emboss", (emboss_kernel(angle, strength),), finish=partial(_add_offset, offset=0.5))
