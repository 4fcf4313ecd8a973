"""Lens (bokeh) blur: the out-of-focus image of a point through a round or polygonal aperture.

Each tap is the exact area of its pixel square covered by the aperture (anti-aliased edge, no
sampling), divided by the aperture's area.  Pixels wholly inside are exactly equal and those wholly
outside exactly zero, so every row is one run of equal taps with partial taps at its two ends -- the
structure the row-span engine exploits.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .gaussian import MAX_RADIUS


def disk_kernel(radius: float, blades: int | None = None) -> np.ndarray:
    """Anti-aliased disk (or regular polygon) kernel of the given radius, summing to 1.

    Parameters
    ----------
    radius : float
        Radius of the aperture's image in pixels (> 0).  For a polygon, the distance from the centre
        to each corner (the polygon is inscribed in that circle).  Radius 0.5 or less is the identity.
    blades : int, optional
        Number of aperture blades (3 or more) for a regular polygon, one corner pointing straight up
        (odd counts then have a flat bottom edge).  None: a circle.

    Returns
    -------
    numpy.ndarray
        float64, square, odd size 2k + 1 with k = ceil(radius + 0.5) - 1 (every pixel the shape
        touches), centred on the origin.  Tap (i, j) is the area of the pixel square
        [j - k - 1/2, j - k + 1/2] x [i - k - 1/2, i - k + 1/2] inside the shape, divided by the
        total.  ImageMagick's ``Disk:r`` is a different kernel: binary, taps with u^2 + v^2 <=
        floor(r^2).

    Examples
    --------
    >>> k = disk_kernel(1.0)
    >>> k.shape, round(float(k.sum()), 12)
    ((3, 3), 1.0)
    >>> round(float(k[1, 1] * math.pi), 12)     # the centre pixel is wholly inside: area 1 of pi
    1.0
    >>> disk_kernel(0.5).tolist()
    [[1.0]]
    """
    radius = float(radius)
    if not (math.isfinite(radius) and radius > 0):
        raise ImgconvError(f"lens radius must be a positive number of pixels, got {radius}")
    if blades is not None and (isinstance(blades, bool) or int(blades) != blades or blades < 3):
        raise ImgconvError(f"blades must be a whole number, 3 or more, got {blades}")
    half = math.ceil(radius + 0.5) - 1
    if half > MAX_RADIUS:
        raise ImgconvError(f"lens radius {radius:g} is too large (the kernel radius would be over {MAX_RADIUS})")
    # Pixel centres: x east, y north (up the screen, so row i is at y = half - i).
    y, x = np.mgrid[half:-half - 1:-1, -half:half + 1].astype(np.float64)
    if blades is None:
        area = _disk_coverage(x, y, radius)
    else:
        area = _polygon_coverage(x, y, _regular_polygon(radius, int(blades)))
    # Rounding leaves specks of +-1e-16 (or, at radius 2000, 1e-8) where a square only touches the edge.
    area[area < 64 * np.finfo(float).eps * max(radius * radius, 1.0)] = 0.0
    return area / area.sum()


def _disk_coverage(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Area of each unit square centred at (x, y) inside the disk of radius r about the origin."""
    # The area depends on (|x|, |y|) unordered: computing it so makes the 8-fold symmetry exact.
    x, y = np.maximum(np.abs(x), np.abs(y)), np.minimum(np.abs(x), np.abs(y))
    near = np.hypot(np.maximum(np.abs(x) - 0.5, 0), np.maximum(np.abs(y) - 0.5, 0))
    far = np.hypot(np.abs(x) + 0.5, np.abs(y) + 0.5)
    area = (far <= r).astype(np.float64)
    edge = (near < r) & (far > r)
    xe, ye = x[edge], y[edge]
    area[edge] = (_below_left(xe + 0.5, ye + 0.5, r) - _below_left(xe - 0.5, ye + 0.5, r)
                  - _below_left(xe + 0.5, ye - 0.5, r) + _below_left(xe - 0.5, ye - 0.5, r))
    return area


def _below_left(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Area of the disk of radius r with X <= x and Y <= y, in closed form.

    The disk's vertical chord at t spans [-h(t), h(t)], h = sqrt(r^2 - t^2); the part below y has
    length clip(y + h, 0, 2h).  Where |t| < s = sqrt(r^2 - y^2) that is y + h; elsewhere it is 2h if
    y > 0, else 0.  Integrating with H(t) = (t h(t) + r^2 asin(t / r)) / 2 = the integral of h gives this.
    """
    def big_h(t):
        return 0.5 * (t * np.sqrt(np.maximum(r * r - t * t, 0.0)) + r * r * np.arcsin(np.clip(t / r, -1, 1)))

    x = np.clip(x, -r, r)
    s = np.sqrt(np.maximum(r * r - y * y, 0.0))
    b = np.clip(x, -s, s)
    middle = y * (b + s) + big_h(b) - big_h(-s)
    sides = 2 * ((big_h(np.minimum(x, -s)) - big_h(-r)) + (big_h(np.maximum(x, s)) - big_h(s)))
    return middle + np.where(y > 0, sides, 0.0)


def _regular_polygon(radius: float, n: int) -> np.ndarray:
    """Counter-clockwise corners (x east, y north) of a regular n-gon inscribed in the circle, one corner up.

    Made exactly mirror-symmetric (left-right, and top-bottom for even n), so edges that should be
    horizontal or vertical are exactly so: clipping is ill-conditioned for a nearly parallel edge.
    """
    k = np.arange(n)
    phi = math.pi / 2 + 2 * math.pi * k / n
    x, y = radius * np.cos(phi), radius * np.sin(phi)
    mirror = -k % n
    x, y = 0.5 * (x - x[mirror]), 0.5 * (y + y[mirror])
    if n % 2 == 0:
        mirror = (n // 2 - k) % n
        x, y = 0.5 * (x + x[mirror]), 0.5 * (y - y[mirror])
    return np.stack([x, y], axis=1)


def _polygon_coverage(x: np.ndarray, y: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Area of each unit square centred at (x, y) inside the convex polygon `corners` (counter-clockwise,
    around the origin).

    By Green's theorem the area of the intersection of two convex shapes is the sum of
    cross(a, b) / 2 over its boundary, which is made of the polygon's edges clipped to the square and
    the square's edges clipped to the polygon.  Clipping a segment to a convex shape is a Liang-Barsky
    interval, so many pixels are done at once.
    """
    normals, offsets = _half_planes(corners)
    circumradius = np.hypot(*corners.T).max()
    inradius = (offsets / np.hypot(*normals.T)).min()  # the origin's distance to the nearest edge
    near = np.hypot(np.maximum(np.abs(x) - 0.5, 0), np.maximum(np.abs(y) - 0.5, 0))
    far = np.hypot(np.abs(x) + 0.5, np.abs(y) + 0.5)
    area = (far <= inradius).astype(np.float64)
    maybe = (near < circumradius) & (far > inradius)
    centres = np.stack([x[maybe], y[maybe]], axis=-1)
    area[maybe] = np.concatenate([_square_polygon_areas(chunk, corners)
                                  for chunk in np.array_split(centres, 1 + len(centres) // 65536)])
    return area


def _square_polygon_areas(centres: np.ndarray, corners: np.ndarray) -> np.ndarray:
    normals, offsets = _half_planes(corners)
    squares = centres[:, None, :] + np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)])
    square_normals = np.array([(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)])
    square_offsets = 0.5 + centres @ square_normals.T  # (m, 4)
    # The polygon's edges clipped to each square, plus each square's edges clipped to the polygon.
    area = _clipped_cross(corners[None], np.roll(corners, -1, axis=0)[None], square_normals[None], square_offsets)
    area += _clipped_cross(squares, np.roll(squares, -1, axis=1), normals[None], offsets[None])
    wholly_inside = np.all(squares @ normals.T <= offsets, axis=(1, 2))
    return np.where(wholly_inside, 1.0, area)


def _half_planes(corners: np.ndarray):
    """normals, offsets with the convex polygon = {p : normals @ p <= offsets}."""
    edges = np.roll(corners, -1, axis=0) - corners
    normals = np.stack([edges[:, 1], -edges[:, 0]], axis=1)
    return normals, np.einsum("ij,ij->i", normals, corners)


def _clipped_cross(starts, ends, normals, offsets):
    """Sum over segments of cross(a, b) / 2 for the part of each segment inside {p : normals @ p <= offsets}.

    starts, ends: (m or 1, s, 2); normals: (m or 1, h, 2); offsets: (m or 1, h).  A segment lying on a
    clipping line counts half: the other shape's edge along the same line counts the other half (the
    same direction) or cancels it (the opposite direction, a zero-area contact).
    """
    d = ends - starts
    starts = np.broadcast_to(starts, d.shape)
    num = offsets[:, None, :] - np.einsum("msk,mhk->msh", starts, normals)
    den = np.einsum("msk,mhk->msh", d, normals)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    t0 = np.max(np.where(den < 0, ratio, 0.0), axis=-1, initial=0.0)
    t1 = np.min(np.where(den > 0, ratio, 1.0), axis=-1, initial=1.0)
    parallel = den == 0
    outside = np.any(parallel & (num < 0), axis=-1)
    weight = np.where(np.any(parallel & (num == 0), axis=-1), 0.5, 1.0)
    length = np.where(outside, 0.0, np.maximum(t1 - t0, 0.0))
    cross = starts[..., 0] * d[..., 1] - starts[..., 1] * d[..., 0]
    return 0.5 * np.sum(weight * length * cross, axis=-1)


def lens(radius: float = 5.0, blades: int | None = None) -> Filter:
    """Lens (bokeh) blur: a disk, or a polygonal aperture, with an anti-aliased edge.

    A lens adds light, not sRGB code values, so the command is meant to blur in linear light by
    default (apply's `linear`, on unless --no-linear); bright spots then bloom as they do in a photo.

    Parameters
    ----------
    radius : float
        Radius of the out-of-focus disk in pixels.
    blades : int, optional
        Number of aperture blades (3 or more) for a polygon, one corner up; default a circle.

    Examples
    --------
    imgconv lens in.jpg out.jpg --radius 12 --blades 6
    """
    return Filter("lens", (disk_kernel(radius, blades),))
