"""Unsharp mask, as ImageMagick and GIMP mean it: add back `amount` times (image - Gaussian blur),
only where that difference exceeds `threshold` (a fraction of the full range, 0..1)."""

from functools import partial

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import gaussian_kernel


def _unsharp_finish(source, responses, full, *, amount, threshold):
    detail = source - responses[0]
    if threshold > 0:
        detail[np.abs(detail) < threshold * full] = 0.0
    return source + amount * detail


def unsharp(sigma: float = 1.0, amount: float = 1.0, threshold: float = 0.0) -> Filter:
    if not 0.0 <= threshold <= 1.0:
        raise ImgconvError(f"threshold is a fraction of the full range, 0 to 1; got {threshold}")
    finish = partial(_unsharp_finish, amount=amount, threshold=threshold)
    return Filter("unsharp", (gaussian_kernel(sigma),), finish=finish)
