"""Unsharp mask, as ImageMagick defines it (``UnsharpMaskImage`` in ``magick/effect.c``):
detail = image - Gaussian blur; where |2 * detail| < threshold * full range the pixel is left alone,
elsewhere it becomes image + amount * detail.  (GIMP's threshold compares |detail| itself; ImageMagick
compares twice it, so a threshold here means what it means to ``-unsharp 0xS+A+T``.)"""

from functools import partial

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import gaussian_kernel


def _unsharp_finish(source, responses, full, *, amount, threshold):
    """source + amount * d, d = source - blur, except where |2 d| < threshold * full (source kept)."""
    detail = source - responses[0]
    if threshold > 0:
        detail[np.abs(2 * detail) < threshold * full] = 0.0
    return source + amount * detail


def unsharp(sigma: float = 1.0, amount: float = 1.0, threshold: float = 0.0) -> Filter:
    """Sharpen by adding back amount * (image - blur); `threshold` (0..1, ImageMagick's meaning) spares
    low-contrast detail.  ImageMagick's own defaults are sigma 1, amount 1, threshold 0.05."""
    if not 0.0 <= threshold <= 1.0:
        raise ImgconvError(f"threshold is a fraction of the full range, 0 to 1; got {threshold}")
    finish = partial(_unsharp_finish, amount=amount, threshold=threshold)
    return Filter("unsharp", (gaussian_kernel(sigma),), finish=finish)
