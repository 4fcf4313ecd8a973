"""Difference of Gaussians: one blur minus a wider one, a band-pass that approximates the LoG."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import gaussian_1d
from .midgrey import around_mid_grey


def dog_kernel(sigma1: float, sigma2: float) -> np.ndarray:
    """Gaussian of sigma1 minus Gaussian of sigma2, each summing to 1: zero-sum, rank 2.

    Parameters
    ----------
    sigma1, sigma2 : float
        Standard deviations in pixels (> 0, different).  sigma1 < sigma2 gives a positive centre
        (ImageMagick's ``DoG:0,sigma1,sigma2`` orientation); the other order negates the kernel.

    Returns
    -------
    numpy.ndarray
        float64, both Gaussians sampled (``gaussian_1d``) on the half-width ceil(3 max(sigma1, sigma2)):
        ``outer(g1, g1) - outer(g2, g2)``, exactly two separable pairs.  ImageMagick's DoG then
        scales positive and negative taps separately (to +1 and -1), which is no longer a
        difference of two blurs; imgconv keeps the exact difference.

    Examples
    --------
    >>> k = dog_kernel(1.0, 2.0)
    >>> k.shape, abs(float(k.sum())) < 1e-15, int(np.linalg.matrix_rank(k))
    ((13, 13), True, 2)
    """
    for s in (sigma1, sigma2):
        if not (math.isfinite(s) and s > 0):
            raise ImgconvError(f"sigma must be a positive number, got {s}")
    if sigma1 == sigma2:
        raise ImgconvError("the two sigmas of a difference of Gaussians must differ")
    radius = math.ceil(3 * max(sigma1, sigma2))
    g1, g2 = gaussian_1d(sigma1, radius), gaussian_1d(sigma2, radius)
    return np.outer(g1, g1) - np.outer(g2, g2)


def dog(sigma1: float = 1.0, sigma2: float = 2.0, strength: float = 1.0) -> Filter:
    """Difference of Gaussians (a band-pass, close to the LoG), around mid-grey.

    Parameters
    ----------
    sigma1 : float
        The narrower blur, in pixels.
    sigma2 : float
        The wider blur, subtracted (1.6 x sigma1 approximates the LoG).
    strength : float
        Contrast: at 1 the strongest response any image can give is exactly black or white.

    Examples
    --------
    imgconv dog in.jpg out.png --sigma1 1 --sigma2 1.6
    """
    return around_mid_grey("dog", dog_kernel(sigma1, sigma2), strength)
