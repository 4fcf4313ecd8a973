"""Laplacian of Gaussian (the "Mexican hat"): blur, then the Laplacian, in one kernel.

Built as what it is mathematically, a sum of two separable pairs, -(g''(x) g(y) + g(x) g''(y)), so
the kernel has rank 2 exactly and the planner can run it as two separable passes.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import gaussian_1d
from .midgrey import around_mid_grey


def log_kernel(sigma: float, radius: int | None = None) -> np.ndarray:
    """Negative Laplacian of the sampled Gaussian: centre positive, zero-sum, rank 2.

    Parameters
    ----------
    sigma : float
        Standard deviation of the Gaussian, in pixels (> 0).
    radius : int, optional
        Half-width; default ceil(4 sigma) (the negative ring reaches further than a Gaussian's 3 sigma).

    Returns
    -------
    numpy.ndarray
        float64, (2 radius + 1) square: ``-(outer(g, d) + outer(d, g))`` where g is the sampled
        Gaussian summing to 1 (``gaussian_1d``) and ``d(x) = (x^2 - v) g(x) / sigma^4`` its second
        derivative, with v = sum(x^2 g) the sampled Gaussian's own variance in place of sigma^2 so
        that d, and the kernel, sum to exactly zero (a flat image gives 0).  It approaches the
        continuous ``(2 sigma^2 - r^2) / sigma^4 * G(r)`` as sigma grows.  The sign is ImageMagick's
        (``LoG:0xsigma``, https://imagemagick.org/Usage/convolve/#log): a bright spot responds
        positively.  ImageMagick then scales positive and negative taps separately (to sums of +1
        and -1), which would break the rank 2; imgconv keeps the exact sum of two pairs.

    Examples
    --------
    >>> k = log_kernel(1.0)
    >>> k.shape, abs(float(k.sum())) < 1e-15, bool(k[4, 4] > 0), int(np.linalg.matrix_rank(k))
    ((9, 9), True, True, 2)
    """
    radius = math.ceil(4 * sigma) if radius is None and sigma > 0 and math.isfinite(sigma) else radius
    g = gaussian_1d(sigma, radius)
    x = np.arange(len(g), dtype=np.float64) - (len(g) - 1) / 2
    d = (x * x - np.dot(x * x, g)) * g / sigma**4
    return -(np.outer(g, d) + np.outer(d, g))


def log(sigma: float = 2.0, strength: float = 1.0) -> Filter:
    """Laplacian of Gaussian (Mexican hat) edges, around mid-grey: flat areas grey, bright spots light.

    Parameters
    ----------
    sigma : float
        Standard deviation of the Gaussian in pixels: the scale of the edges found.
    strength : float
        Contrast: at 1 the strongest response any image can give is exactly black or white.

    Examples
    --------
    imgconv log in.jpg out.png --sigma 3
    """
    if not (math.isfinite(sigma) and sigma > 0):
        raise ImgconvError(f"sigma must be a positive number, got {sigma}")
    return around_mid_grey("log", log_kernel(sigma), strength)
