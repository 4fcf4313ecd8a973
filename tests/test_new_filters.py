"""The filters of issue 14: each kernel builder against its documented formula, computed here another
way (numerical integration, closed forms, hand-written taps, ImageMagick's own output where it is
installed), and each filter's pixels through apply_filter against scipy.ndimage on every border mode."""

import doctest
import importlib
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, ndimage

from imgconv import ImgconvError
from imgconv.apply import apply_filter
from imgconv.filters import disk_kernel, lens, motion, motion_kernel

from conftest import BORDERS, random_image, tolerance

MAGICK = Path("/usr/bin/convert")


def magick_available():
    if not MAGICK.exists():
        return False
    try:
        return "ImageMagick" in subprocess.run([MAGICK, "-version"], capture_output=True, text=True).stdout
    except OSError:
        return False


needs_magick = pytest.mark.skipif(not magick_available(), reason="ImageMagick's /usr/bin/convert is not installed")


def scipy_pixels(image, kernel, border, cval=0.0):
    """scipy.ndimage.convolve per channel, float64."""
    image = np.asarray(image, np.float64)
    return np.stack([ndimage.convolve(image[..., c], kernel, mode=border, cval=cval)
                     for c in range(image.shape[-1])], axis=-1)


def tent(t):
    return np.maximum(0.0, 1.0 - np.abs(t))


def centroid(kernel):
    """(x, y) centre of mass relative to the kernel's centre, x east (columns), y down (rows)."""
    rows, cols = np.indices(kernel.shape)
    c = (np.array(kernel.shape) - 1) / 2
    total = kernel.sum()
    return np.array([((cols - c[1]) * kernel).sum() / total, ((rows - c[0]) * kernel).sum() / total])


# --- motion_kernel -------------------------------------------------------------------------------


def test_motion_kernel_by_hand():
    """Horizontal integer streaks: L + 1 taps, half-weight ends, trailing behind the direction of motion."""
    np.testing.assert_allclose(motion_kernel(2, 0), [[0.25, 0.5, 0.25, 0, 0]], atol=1e-15)
    np.testing.assert_allclose(motion_kernel(2, 180), [[0, 0, 0.25, 0.5, 0.25]], atol=1e-15)
    np.testing.assert_allclose(motion_kernel(2, 0, centered=True), [[0.25, 0.5, 0.25]], atol=1e-15)
    np.testing.assert_allclose(motion_kernel(4, 0, centered=True), [[0.125, 0.25, 0.25, 0.25, 0.125]], atol=1e-15)
    # Moving up the screen (90 degrees): the trail is below the point, i.e. in the higher rows.
    np.testing.assert_allclose(motion_kernel(1, 90), [[0], [0.5], [0.5]], atol=1e-15)
    np.testing.assert_allclose(motion_kernel(1, 270), [[0.5], [0.5], [0]], atol=1e-15)
    assert motion_kernel(0, 33).tolist() == [[1.0]]
    # Half a pixel: the end is shared between the two pixels it falls between, like a tent would.
    np.testing.assert_allclose(motion_kernel(0.5, 0), [[0.25, 0.75, 0]], atol=1e-15)


def motion_oracle(length, angle, centered, shape):
    """Each tap as (1 / L) * integral over the segment of tent(x_tap - x(s)) tent(y_tap - y(s)), by quad."""
    theta = math.radians(angle)
    d = np.array([math.cos(theta), -math.sin(theta)])  # (x east, y down the rows)
    start, end = (-length / 2 * d, length / 2 * d) if centered else (np.zeros(2), -length * d)
    c = (np.array(shape) - 1) // 2
    out = np.zeros(shape)
    for i in range(shape[0]):
        for j in range(shape[1]):
            def f(s):
                p = start + s * (end - start)
                return tent(j - c[1] - p[0]) * tent(i - c[0] - p[1])
            # The tents' kinks along the segment, so quad integrates smooth pieces.
            kinks = [(centre + k - a) / (b - a) for centre, a, b in ((j - c[1], start[0], end[0]),
                                                                     (i - c[0], start[1], end[1]))
                     if a != b for k in (-1, 0, 1)]
            kinks = [t for t in kinks if 0 < t < 1]
            out[i, j] = integrate.quad(f, 0, 1, points=kinks or None, limit=400, epsabs=1e-13, epsrel=1e-13)[0]
    return out


@pytest.mark.parametrize("length, angle, centered", [
    (7, 30, False), (5.5, 117, True), (3, 45, False), (9.25, -20, False), (4, 0.5, True), (6, 200, False),
])
def test_motion_kernel_is_the_integral_of_tents_along_the_segment(length, angle, centered):
    kernel = motion_kernel(length, angle, centered)
    assert kernel.shape[0] % 2 == 1 and kernel.shape[1] % 2 == 1
    assert kernel.sum() == pytest.approx(1.0, abs=1e-14)
    want = motion_oracle(length, angle, centered, kernel.shape)
    # The oracle sums to 1 only if the kernel's window holds every tap the segment touches.
    assert want.sum() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(kernel, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("angle", [0, 10, 45, 90, 135, 200, 300, 359])
@pytest.mark.parametrize("length", [1, 6.4, 15])
def test_motion_centroid_is_the_middle_of_the_streak(length, angle):
    """Linear interpolation keeps the centre of mass: exactly the segment's midpoint, L/2 behind the point."""
    theta = math.radians(angle)
    behind = -np.array([math.cos(theta), -math.sin(theta)])
    np.testing.assert_allclose(centroid(motion_kernel(length, angle)), length / 2 * behind, atol=1e-12)
    np.testing.assert_allclose(centroid(motion_kernel(length, angle, centered=True)), [0, 0], atol=1e-12)


@pytest.mark.parametrize("angle", [0, 17, 45, 90, 150])
def test_motion_kernel_symmetries(angle):
    k = motion_kernel(8.3, angle)
    np.testing.assert_allclose(motion_kernel(8.3, angle + 180), k[::-1, ::-1], atol=1e-14)
    np.testing.assert_allclose(motion_kernel(8.3, -90 - angle), k.T, atol=1e-14)
    c = motion_kernel(8.3, angle, centered=True)
    np.testing.assert_allclose(c, c[::-1, ::-1], atol=1e-14)


@needs_magick
@pytest.mark.parametrize("angle", [0, 30, 90, 135, 250])
def test_motion_streak_trails_on_the_same_side_as_imagemagicks(tmp_path, angle):
    """ImageMagick's -motion-blur measures its angle clockwise; its streak and ours lie on the same side."""
    image = np.zeros((41, 41), np.uint8)
    image[20, 20] = 255
    src, dst = tmp_path / "dot.pgm", tmp_path / "out.pgm"
    from PIL import Image
    Image.fromarray(image).save(src)
    subprocess.run([MAGICK, src, "-motion-blur", f"0x3{-angle:+d}", "-depth", "16", dst], check=True)
    theirs = np.asarray(Image.open(dst), np.float64)
    ours = motion_kernel(10, angle)
    a, b = centroid(theirs), centroid(ours)
    assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.99


@pytest.mark.parametrize("bad", [dict(length=-1, angle=0), dict(length=float("nan"), angle=0),
                                 dict(length=float("inf"), angle=0), dict(length=3, angle=float("nan")),
                                 dict(length=5000, angle=0)])
def test_motion_kernel_rejects(bad):
    with pytest.raises(ImgconvError):
        motion_kernel(**bad)


# --- disk_kernel ---------------------------------------------------------------------------------


def disk_chord(r):
    def chord(x):
        h = math.sqrt(max(r * r - x * x, 0.0))
        return -h, h
    return chord


def regular_polygon(r, n):
    phi = np.radians(90 + 360 * np.arange(n) / n)
    return r * np.stack([np.cos(phi), np.sin(phi)], axis=1)


def polygon_chord(corners):
    """A convex polygon's vertical chord at x, from its half-planes (corners counter-clockwise)."""
    edges = np.roll(corners, -1, axis=0) - corners

    def chord(x):
        lo, hi = -np.inf, np.inf
        for (vx, vy), (ex, ey) in zip(corners, edges):
            # inside: cross(e, p - v) = ex (y - vy) - ey (x - vx) >= 0
            rhs = ey * (x - vx)
            if ex > 1e-12:
                lo = max(lo, vy + rhs / ex)
            elif ex < -1e-12:
                hi = min(hi, vy + rhs / ex)
            elif rhs > 0:  # a vertical edge, x on its outer side
                return 0.0, 0.0
        return lo, max(lo, hi)
    return chord


def area_by_quadrature(chord, x0, x1, y0, y1):
    def length(x):
        lo, hi = chord(x)
        return max(0.0, min(y1, hi) - max(y0, lo))
    return integrate.quad(length, x0, x1, limit=200, epsabs=1e-12, epsrel=1e-12)[0]


def unnormalised(kernel):
    """Back to areas: the kernel divided by its (exactly 1-area) interior tap."""
    return kernel / kernel.max()


@pytest.mark.parametrize("radius, blades", [(1.0, None), (2.3, None), (4.5, None), (3.0, 3), (3.7, 5),
                                            (3.0, 6), (2.5, 4), (5.2, 7)])
def test_disk_taps_are_pixel_areas_inside_the_shape(radius, blades):
    kernel = disk_kernel(radius, blades)
    k = math.ceil(radius + 0.5) - 1
    assert kernel.shape == (2 * k + 1, 2 * k + 1)
    chord = disk_chord(radius) if blades is None else polygon_chord(regular_polygon(radius, blades))
    areas = unnormalised(kernel)
    for i in range(kernel.shape[0]):
        for j in range(kernel.shape[1]):
            x, y = j - k, k - i  # y up the screen
            want = area_by_quadrature(chord, x - 0.5, x + 0.5, y - 0.5, y + 0.5)
            assert areas[i, j] == pytest.approx(want, abs=1e-9), (i, j)


@pytest.mark.parametrize("radius", [1.0, 2.5, 7.3, 20.0, 64.9])
def test_disk_total_area_is_pi_r_squared(radius):
    """Interior taps are exactly equal, so 1 / interior tap is the summed area: pi r^2."""
    kernel = disk_kernel(radius)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-13)
    assert 1 / kernel.max() == pytest.approx(math.pi * radius * radius, rel=1e-12)
    np.testing.assert_array_equal(kernel, kernel.T)
    np.testing.assert_allclose(kernel, kernel[::-1], atol=1e-16)
    np.testing.assert_allclose(kernel, kernel[:, ::-1], atol=1e-16)


@pytest.mark.parametrize("blades", [3, 4, 5, 6, 8, 9])
def test_polygon_total_area(blades):
    radius = 6.2
    kernel = disk_kernel(radius, blades)
    area = blades / 2 * radius * radius * math.sin(2 * math.pi / blades)
    assert 1 / kernel.max() == pytest.approx(area, rel=1e-12)
    np.testing.assert_allclose(kernel, kernel[:, ::-1], atol=1e-16)  # corner up: mirror-symmetric


def test_polygon_edges_on_pixel_boundaries():
    """A hexagon whose vertical sides lie exactly on pixel edges, a triangle whose base does: no double counting."""
    hexagon = disk_kernel(4.5 / math.cos(math.pi / 6), 6)
    assert 1 / hexagon.max() == pytest.approx(3 * math.sqrt(3) / 2 * (4.5 / math.cos(math.pi / 6)) ** 2, rel=1e-12)
    triangle = disk_kernel(3.0, 3)  # base at y = -1.5
    assert not triangle[-2:].any()  # rows below the base are empty
    # Row y = -1 (y from -1.5 to -0.5) by hand: the right side is x = (3 - y) / sqrt(3); it leaves the pixel
    # column x in [1.5, 2.5] at y_c = 3 - 2.5 sqrt(3) and crosses column [2.5, 3.5] only below y_c.
    s3, y_c = math.sqrt(3), 3 - 2.5 * math.sqrt(3)
    antiderivative = lambda y: (3 * y - y * y / 2) / s3 - 1.5 * y  # of (3 - y) / sqrt(3) - 1.5
    column_2 = (y_c + 1.5) + antiderivative(-0.5) - antiderivative(y_c)
    column_3 = 0.5 * (y_c + 1.5) * (4.5 / s3 - 2.5)
    np.testing.assert_allclose(triangle[4] / triangle.max(), [column_3, column_2, 1, 1, 1, column_2, column_3],
                               atol=1e-12)


@pytest.mark.parametrize("corners", [
    [(-1.5, -1.5), (1.5, -1.5), (1.5, 1.5), (-1.5, 1.5)],
    [(-2.0, -1.0), (2.0, -1.0), (2.0, 1.0), (-2.0, 1.0)],
    [(0.0, 3.0), (-2.5, -1.5), (2.5, -1.5)],
    [(0.0, 2.2), (-1.5, 0.3), (-1.5, -1.5), (2.5, -1.5), (2.5, 0.5)],
], ids=["square", "rectangle", "triangle", "pentagon"])
def test_polygon_clipping_counts_shared_edges_once(corners):
    """Polygons whose edges lie exactly on pixel edges (the clipping's degenerate case), via the helper:
    a pixel that only touches the shape gets exactly 0; one sharing an edge with it is counted once."""
    from imgconv.filters.lens import _polygon_coverage

    y, x = np.mgrid[3:-4:-1, -3:4].astype(float)
    corners = np.array(corners)
    got = _polygon_coverage(x, y, corners)
    chord = polygon_chord(corners)
    for i, j in np.ndindex(x.shape):
        want = area_by_quadrature(chord, x[i, j] - 0.5, x[i, j] + 0.5, y[i, j] - 0.5, y[i, j] + 0.5)
        assert got[i, j] == pytest.approx(want, abs=1e-12), (i, j)


@pytest.mark.parametrize("radius, blades", [(12.3, None), (30.0, None), (9.5, 5)])
def test_disk_rows_are_constant_runs_plus_edges(radius, blades):
    """Every tap is 0, the interior value exactly, or a partial edge value: what the row-span engine relies on."""
    kernel = disk_kernel(radius, blades)
    interior = kernel.max()
    partial = (kernel > 0) & (kernel < interior)
    full = kernel == interior
    assert full.sum() > partial.sum()
    for row_full in full:
        cols = np.flatnonzero(row_full)
        if len(cols):
            assert np.all(np.diff(cols) == 1)  # one contiguous run per row


def test_tiny_disks_are_the_identity():
    assert disk_kernel(0.5).tolist() == [[1.0]]
    assert disk_kernel(0.1, 5).tolist() == [[1.0]]
    assert disk_kernel(0.51).shape == (3, 3)


@pytest.mark.parametrize("bad", [dict(radius=0), dict(radius=-2), dict(radius=float("nan")),
                                 dict(radius=float("inf")), dict(radius=3, blades=2), dict(radius=3, blades=4.5),
                                 dict(radius=3, blades=True), dict(radius=3000)])
def test_disk_kernel_rejects(bad):
    with pytest.raises(ImgconvError):
        disk_kernel(**bad)


# --- motion and lens through the engines ---------------------------------------------------------


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("make", [lambda: motion(9.0, 33.0), lambda: motion(6.0, 90.0, centered=True),
                                  lambda: lens(4.2), lambda: lens(5.0, 6)], ids=["motion", "motion-centred",
                                                                                  "lens", "lens-hexagon"])
def test_blur_filters_match_scipy(rng, border, make):
    filt = make()
    assert filt.smooths  # a weighted average: alpha is filtered with colour
    image = random_image(rng, (37, 41, 3), "uint8")
    kernel = filt.kernels[0]
    got = apply_filter(image, filt, 255, border=border, cval=40.0)
    np.testing.assert_allclose(got, scipy_pixels(image, kernel, border, 40.0), rtol=0,
                               atol=tolerance(image, kernel) * max(1, kernel.size / 128))


@pytest.mark.parametrize("name", ["motion", "lens"])
def test_docstring_examples(name):
    # import_module: `imgconv.filters.motion` as an attribute is the filter function, not the module.
    result = doctest.testmod(importlib.import_module(f"imgconv.filters.{name}"))
    assert result.attempted > 0 and result.failed == 0
