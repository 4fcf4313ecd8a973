"""Signed responses shown around mid-grey, as emboss shows its relief.

A zero response (a flat area) is mid-grey, and the kernel is scaled so that the strongest response any
image can produce -- white under every positive tap, black under every negative one -- swings exactly
to white (or, negated, to black): nothing is clipped at strength 1.
"""

from functools import partial

import numpy as np

from .base import Filter
from .emboss import _add_offset


def around_mid_grey(name: str, kernel: np.ndarray, strength: float = 1.0) -> Filter:
    """Filter `name`: `kernel` * strength / (2 * its positive taps' sum), then + half of white.

    For a zero-sum kernel the response then lies within [-full / 2, full / 2] * strength.
    """
    kernel = np.asarray(kernel, np.float64)
    scale = 0.5 * strength / kernel[kernel > 0].sum()
    return Filter(name, (kernel * scale,), finish=partial(_add_offset, offset=0.5))
