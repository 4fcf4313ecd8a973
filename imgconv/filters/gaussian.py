"""Gaussian blur: the outer product of two sampled 1D Gaussians, so its rank is 1 (separable)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImgconvError
from .base import Filter

#: Beyond this radius a "blur" is a flat average of the whole image; it is almost surely a typo.
MAX_RADIUS = 2000


def gaussian_1d(sigma: float, radius: int | None = None) -> np.ndarray:
    """Sampled Gaussian of standard deviation `sigma`, 2*radius+1 taps (radius ceil(3*sigma)), sum 1."""
    if not sigma > 0 or not math.isfinite(sigma):
        raise ImgconvError(f"sigma must be a positive number, got {sigma}")
    radius = math.ceil(3 * sigma) if radius is None else radius
    if radius < 0 or radius > MAX_RADIUS:
        raise ImgconvError(f"blur radius {radius} is out of range (0 to {MAX_RADIUS}); use a smaller sigma")
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def gaussian_kernel(sigma: float = 2.0, radius: int | None = None) -> np.ndarray:
    """A 2D Gaussian kernel, normalised to sum 1.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels.
    radius : int, optional
        Taps on each side of the centre (default ceil(3 * sigma)).

    Returns
    -------
    numpy.ndarray
        (2 * radius + 1) x (2 * radius + 1) float64 taps, the outer product of a sampled 1D Gaussian.

    Examples
    --------
    >>> from imgconv.filters import gaussian_kernel
    >>> gaussian_kernel(1.0).shape
    (7, 7)
    """
    g = gaussian_1d(sigma, radius)
    return np.outer(g, g)


def blur(sigma: float = 2.0, radius: int | None = None) -> Filter:
    """Gaussian blur.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels.
    radius : int, optional
        Kernel radius (default ceil(3*sigma)).

    Examples
    --------
    imgconv blur in.jpg out.jpg --sigma 3
    """
    return Filter("blur", (gaussian_kernel(sigma, radius),))
