"""Motion blur: the streak a point of light leaves while the camera (or the subject) moves in a line.

The kernel is a line segment of uniform density, drawn anti-aliased so every angle is equally smooth:
each tap is the exact integral along the segment of the bilinear "tent" centred on that tap.  The tents
of all taps sum to one everywhere, so the taps sum to one without any fudge, and a segment that ends
between pixels shares its end between them instead of snapping to the nearest one.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import MAX_RADIUS

#: Gauss-Legendre nodes for two points on [-1, 1]: exact for polynomials up to degree 3.
_GAUSS_2 = np.array([-1.0, 1.0]) / math.sqrt(3.0)


def motion_kernel(length: float, angle: float, centered: bool = False) -> np.ndarray:
    """Anti-aliased line kernel: the streak of a point moving `length` pixels towards `angle`.

    Parameters
    ----------
    length : float
        Distance travelled, in pixels (0 gives the identity).  A horizontal streak of integer length
        L has L + 1 taps, the two end ones at half weight: the exposure of a point moving from one
        pixel centre to another L pixels away.
    angle : float
        Direction of motion in degrees, counter-clockwise from east as seen on screen (the convention
        of ``emboss``).  ImageMagick's ``-motion-blur`` measures its angle clockwise, so
        ``motion_kernel(L, a)`` streaks like ``-motion-blur 0xS-a`` (ImageMagick weights its streak
        by a half Gaussian of sigma S instead of uniformly).
    centered : bool
        False (default): a one-sided streak trailing behind the point, like ImageMagick's
        ``-motion-blur``.  True: a symmetric streak, ``length / 2`` each side.

    Returns
    -------
    numpy.ndarray
        float64, odd-sized, centred on the point's position (the kernel's origin), summing to 1.
        Tap (i, j) is (1 / length) times the integral over the segment of
        ``tent(j - c - x(s)) * tent(i - c - y(s))`` (``tent(t) = max(0, 1 - |t|)``, c the centre,
        y pointing down the rows); it is computed exactly, by two-point Gauss-Legendre quadrature
        between the points where the segment crosses a grid line (the integrand is quadratic there).

    Examples
    --------
    >>> motion_kernel(2, 0).tolist()       # moving east: the streak trails west of the point
    [[0.25, 0.5, 0.25, 0.0, 0.0]]
    >>> motion_kernel(2, 0, centered=True).tolist()
    [[0.25, 0.5, 0.25]]
    >>> motion_kernel(1, 90).T.tolist()     # moving up the screen: the streak is below (higher rows)
    [[0.0, 0.5, 0.5]]
    """
    length, angle = float(length), float(angle)
    if not (math.isfinite(length) and length >= 0):
        raise ImgconvError(f"motion length must be a number of pixels >= 0, got {length}")
    if not math.isfinite(angle):
        raise ImgconvError(f"motion angle must be a finite number of degrees, got {angle}")
    theta = math.radians(angle)
    # Direction of motion in (column, row) coordinates: on screen "up" is -row.
    direction = np.array([math.cos(theta), -math.sin(theta)])
    direction[np.abs(direction) < 1e-12] = 0.0  # cos(90 degrees) is 6e-17, not 0: keep axis streaks on the axis
    if centered:
        start, end = -0.5 * length * direction, 0.5 * length * direction
    else:
        start, end = np.zeros(2), -length * direction  # the trail lies behind the point
    radius = math.ceil(max(np.abs(start).max(), np.abs(end).max()) - 1e-12)
    if radius > MAX_RADIUS:
        raise ImgconvError(f"motion length {length:g} is too long (the kernel radius would be over {MAX_RADIUS})")
    points, weights = _segment_quadrature(start + radius, end + radius)
    kernel = _splat_bilinear(points, weights, 2 * radius + 1)
    return _trim_symmetric(kernel / kernel.sum())


def _segment_quadrature(start: np.ndarray, end: np.ndarray):
    """Nodes and weights (summing to 1) that integrate any per-piece quadratic along start -> end exactly.

    The pieces are cut where the segment crosses an integer column or row: between those, every tent
    product is a product of two linear functions of the arc length.
    """
    cuts = [0.0, 1.0]
    for a, b in zip(start, end):
        if a != b:
            lo, hi = sorted((a, b))
            crossings = np.arange(math.floor(lo) + 1, math.ceil(hi))
            cuts.extend((crossings - a) / (b - a))
    cuts = np.unique(np.clip(cuts, 0.0, 1.0))
    if len(cuts) == 1:  # zero length: a single point
        cuts = np.array([0.0, 1.0])
    mids, halves = (cuts[1:] + cuts[:-1]) / 2, (cuts[1:] - cuts[:-1]) / 2
    s = (mids[:, None] + halves[:, None] * _GAUSS_2).ravel()
    weights = np.repeat(halves, 2)
    return start + s[:, None] * (end - start), weights


def _splat_bilinear(points: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Add each weight to the four taps around its point (x = column, y = row), tent-weighted."""
    kernel = np.zeros((size, size))
    base = np.floor(points).astype(np.intp)
    frac = points - base
    for dx in (0, 1):
        for dy in (0, 1):
            share = weights * np.abs(1 - dx - frac[:, 0]) * np.abs(1 - dy - frac[:, 1])
            cols = np.minimum(base[:, 0] + dx, size - 1)  # an index past the end only ever gets weight 0
            rows = np.minimum(base[:, 1] + dy, size - 1)
            np.add.at(kernel, (rows, cols), share)
    return kernel


def _trim_symmetric(kernel: np.ndarray) -> np.ndarray:
    """Drop all-zero outer rows and columns in opposite pairs, so the centre stays the centre."""
    for axis in (0, 1):
        k = np.moveaxis(kernel, axis, 0)
        while len(k) > 1 and not k[0].any() and not k[-1].any():
            k = k[1:-1]
        kernel = np.moveaxis(k, 0, axis)
    return np.ascontiguousarray(kernel)


def motion(length: float = 10.0, angle: float = 0.0, centered: bool = False) -> Filter:
    """Motion blur: the streak of a camera moving in a straight line (an anti-aliased line kernel).

    Parameters
    ----------
    length : float
        Distance moved during the exposure, in pixels.
    angle : float
        Direction of motion, degrees counter-clockwise from east (ImageMagick's -motion-blur: clockwise).
    centered : bool
        A symmetric streak, half each side, instead of one trailing behind like ImageMagick's.

    Examples
    --------
    imgconv motion in.jpg out.jpg --length 25 --angle 30
    """
    return Filter("motion", (motion_kernel(length, angle, centered),))
