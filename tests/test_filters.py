"""Filters: the kernels each one builds (against hand-derived values) and what they do to pixels
(through apply_filter, against scipy.ndimage with the kernel written out by hand)."""

import itertools
import math

import numpy as np
import pytest
from scipy import ndimage

from imgconv import ImgconvError
from imgconv.apply import apply_filter
from imgconv.filters import (BUILTIN_KERNELS, LAPLACIAN, SOBEL_X, SOBEL_Y, blur, box, box_kernel, emboss,
                             emboss_kernel, gaussian_kernel, sharpen, sharpen_kernel, sobel, unsharp)

from conftest import BORDERS, DTYPES, random_image, tolerance

#: Tolerance for results on the image's own scale (float32 arithmetic on values up to `full`).
REL = 1e-5


def grey(rng, shape, dtype="uint8"):
    return random_image(rng, shape + (1,), dtype)


# --- sharpen -------------------------------------------------------------------------------------------


def test_sharpen_kernel_amount_1():
    np.testing.assert_array_equal(sharpen_kernel(1.0), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(sharpen().kernels[0], [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])


@pytest.mark.parametrize("amount", [0.0, 0.5, 2.0])
def test_sharpen_kernel_amounts(amount):
    a = amount
    np.testing.assert_allclose(sharpen_kernel(amount), [[0, -a, 0], [-a, 1 + 4 * a, -a], [0, -a, 0]])
    assert sharpen_kernel(amount).sum() == pytest.approx(1.0)  # brightness kept


def test_laplacian():
    np.testing.assert_array_equal(LAPLACIAN, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])


@pytest.mark.parametrize("border", BORDERS)
def test_sharpen_pixels_match_scipy(rng, border):
    image = random_image(rng, (23, 31, 3), "uint8")
    kernel = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float64)
    got = apply_filter(image, sharpen(1.0), 255, border=border, cval=10.0)
    for c in range(3):
        want = ndimage.convolve(image[..., c].astype(float), kernel, mode=border, cval=10.0)
        np.testing.assert_allclose(got[..., c], want, rtol=0, atol=tolerance(image, kernel))


# --- gaussian blur ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma, radius", [(0.3, 1), (0.5, 2), (1.0, 3), (1.5, 5), (2.0, 6), (1.1, 4), (3.7, 12)])
def test_gaussian_kernel_by_hand(sigma, radius):
    """2*ceil(3 sigma)+1 taps each way, sampled exp(-x^2 / 2 sigma^2), outer product, sum 1."""
    kernel = gaussian_kernel(sigma)
    assert kernel.shape == (2 * radius + 1, 2 * radius + 1)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    x = np.arange(-radius, radius + 1)
    g = np.exp(-(x**2) / (2 * sigma**2))
    np.testing.assert_allclose(kernel, np.outer(g, g) / g.sum() ** 2, rtol=1e-12)
    np.testing.assert_array_equal(kernel, kernel.T)
    np.testing.assert_array_equal(kernel, kernel[::-1, ::-1])


def test_gaussian_explicit_radius():
    kernel = gaussian_kernel(2.0, radius=2)
    assert kernel.shape == (5, 5) and kernel.sum() == pytest.approx(1.0)
    assert gaussian_kernel(1.0, radius=0).tolist() == [[1.0]]


@pytest.mark.parametrize("border", ["reflect", "constant", "wrap"])
def test_blur_pixels_match_scipy(rng, border):
    image = random_image(rng, (23, 31, 3), "uint16")
    x = np.arange(-6, 7)
    g = np.exp(-(x**2) / 8.0)
    kernel = np.outer(g, g) / g.sum() ** 2
    got = apply_filter(image, blur(2.0), 65535, border=border, cval=300.0)
    for c in range(3):
        want = ndimage.convolve(image[..., c].astype(float), kernel, mode=border, cval=300.0)
        np.testing.assert_allclose(got[..., c], want, rtol=0, atol=tolerance(image, kernel))


# --- box ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 4, 31])
def test_box_kernel(size):
    kernel = box_kernel(size)
    assert kernel.shape == (size, size)
    np.testing.assert_allclose(kernel, 1.0 / size**2, rtol=1e-15)
    assert kernel.sum() == pytest.approx(1.0)


def test_box_pixels_are_neighbourhood_means(rng):
    """Each output of a 3x3 box is the plain mean of the 3x3 block around it (interior pixels)."""
    image = random_image(rng, (9, 10, 2), "uint8")
    got = apply_filter(image, box(3), 255)
    for i, j in itertools.product(range(1, 8), range(1, 9)):
        want = image[i - 1 : i + 2, j - 1 : j + 2].reshape(9, 2).astype(float).mean(axis=0)
        np.testing.assert_allclose(got[i, j], want, rtol=0, atol=1e-4)


# --- sobel -------------------------------------------------------------------------------------------


def test_sobel_kernels():
    np.testing.assert_array_equal(SOBEL_X, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(SOBEL_Y, [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])


def vertical_edge(dtype, shape=(9, 10)):
    kind, full = DTYPES[dtype]
    image = np.zeros(shape + (1,), kind)
    image[:, shape[1] // 2 :] = full
    return image, full


def brute_force_strongest(kernels):
    """Largest gradient magnitude over every black/white 3x3 neighbourhood, via scipy on each pattern."""
    best = 0.0
    for bits in itertools.product((0.0, 1.0), repeat=9):
        patch = np.array(bits).reshape(3, 3)
        responses = [ndimage.convolve(patch, k, mode="constant")[1, 1] for k in kernels]
        best = max(best, math.hypot(*responses))
    return best


def test_strongest_edge_by_hand():
    """Sobel x/y: a straight black/white edge gives 1+2+1 = 4.  Both: the best pattern is a white top row
    plus one white side pixel, gx = 2, gy = 4, so sqrt(20) (brute force over the 512 patterns agrees)."""
    assert brute_force_strongest([SOBEL_X]) == 4.0
    assert brute_force_strongest([SOBEL_Y]) == 4.0
    assert brute_force_strongest([SOBEL_X, SOBEL_Y]) == pytest.approx(math.sqrt(20))


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_sobel_hard_edge_reaches_full_range(dtype):
    image, full = vertical_edge(dtype)
    out = apply_filter(image, sobel("x"), full)
    assert out.shape == image.shape
    assert out.max() == pytest.approx(full, rel=REL)
    assert out.max() <= full * (1 + REL)
    # The edge only: flat areas give exactly 0; 'y' sees nothing in a vertical edge.
    assert out[:, :3].max() == 0.0 and out[:, -3:].max() == 0.0
    assert apply_filter(image, sobel("y"), full).max() == 0.0
    transposed = np.ascontiguousarray(image.transpose(1, 0, 2))
    assert apply_filter(transposed, sobel("y"), full).max() == pytest.approx(full, rel=REL)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_sobel_both_strongest_pattern_reaches_full_range(dtype):
    """White where row < 3 or (row == 3 and col <= 3): pixel (3, 4) sees the sqrt(20) pattern."""
    kind, full = DTYPES[dtype]
    rows, cols = np.mgrid[0:8, 0:9]
    image = np.where((rows < 3) | ((rows == 3) & (cols <= 3)), full, 0).astype(kind)[..., None]
    out = apply_filter(image, sobel("both"), full)
    assert out[3, 4, 0] == pytest.approx(full, rel=REL)
    assert out.max() <= full * (1 + REL)
    # A straight edge is then 4 / sqrt(20) of white.
    edge, _ = vertical_edge(dtype)
    assert apply_filter(edge, sobel("both"), full).max() == pytest.approx(full * 4 / math.sqrt(20), rel=REL)


@pytest.mark.parametrize("axis", ["x", "y", "both"])
@pytest.mark.parametrize("border", BORDERS)
def test_sobel_never_exceeds_full_range(rng, axis, border):
    """Random black/white and random-grey images, every border: the output stays within [0, full]."""
    for image in (rng.integers(0, 2, (30, 30, 1)).astype(np.uint8) * 255, random_image(rng, (30, 30, 1), "uint8")):
        out = apply_filter(image, sobel(axis), 255, border=border, cval=255.0)
        assert out.min() >= 0.0 and out.max() <= 255 * (1 + REL)


def test_sobel_matches_scipy_gradient(rng):
    image = grey(rng, (23, 31))
    g = image[..., 0].astype(float)
    gx = ndimage.convolve(g, SOBEL_X, mode="reflect")
    gy = ndimage.convolve(g, SOBEL_Y, mode="reflect")
    np.testing.assert_allclose(apply_filter(image, sobel("x"), 255)[..., 0], np.abs(gx) / 4, atol=1e-3)
    np.testing.assert_allclose(apply_filter(image, sobel("both"), 255)[..., 0], np.hypot(gx, gy) / math.sqrt(20),
                               atol=1e-3)


def test_sobel_signs():
    """SOBEL_X responds positively where the image brightens towards +x (east), SOBEL_Y towards +row."""
    ramp = np.tile(np.arange(7.0), (7, 1))
    assert ndimage.convolve(ramp, SOBEL_X)[3, 3] > 0
    assert ndimage.convolve(ramp.T, SOBEL_Y)[3, 3] > 0


# --- emboss -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("angle", [0.0, 45.0, 90.0, 200.0])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_emboss_flat_image_is_mid_grey(dtype, angle):
    kind, full = DTYPES[dtype]
    for value in (0, full, full // 3 if kind is not np.float32 else 0.3):
        image = np.full((8, 9, 3), value, kind)
        for border in ("reflect", "nearest", "wrap", "mirror"):
            out = apply_filter(image, emboss(angle, 1.5), full, border=border)
            np.testing.assert_allclose(out, 0.5 * full, rtol=0, atol=full * REL)


def test_emboss_kernel_by_hand():
    """Lit from the east (0 degrees): Sobel x / 8; from the north (90): -Sobel y / 8 (up is -row)."""
    np.testing.assert_allclose(emboss_kernel(0.0, 1.0), SOBEL_X / 8, atol=1e-15)
    np.testing.assert_allclose(emboss_kernel(90.0, 1.0), -SOBEL_Y / 8, atol=1e-15)
    np.testing.assert_allclose(emboss_kernel(0.0, 2.0), SOBEL_X / 4, atol=1e-15)
    assert emboss_kernel(37.0, 1.0).sum() == pytest.approx(0.0, abs=1e-15)


def test_emboss_pixels_match_scipy(rng):
    image = random_image(rng, (23, 31, 3), "uint8")
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    kernel = 2.0 * (c * SOBEL_X - s * SOBEL_Y) / 8
    got = apply_filter(image, emboss(30.0, 2.0), 255)
    for ch in range(3):
        want = ndimage.convolve(image[..., ch].astype(float), kernel, mode="reflect") + 127.5
        np.testing.assert_allclose(got[..., ch], want, rtol=0, atol=tolerance(image, kernel))


def test_emboss_strongest_east_edge_spans_black_to_white():
    """At 0 degrees, strength 1, a hard vertical edge swings exactly to black and white."""
    image, full = vertical_edge("uint8")
    brightening = apply_filter(image, emboss(0.0, 1.0), full)  # dark west, white east: lit side
    assert brightening.max() == pytest.approx(255.0, abs=1e-4) and brightening.min() == pytest.approx(127.5)
    darkening = apply_filter(np.ascontiguousarray(image[:, ::-1]), emboss(0.0, 1.0), full)
    assert darkening.min() == pytest.approx(0.0, abs=1e-4) and darkening.max() == pytest.approx(127.5)


# --- unsharp --------------------------------------------------------------------------------------------


def test_unsharp_threshold_leaves_small_detail_untouched(rng):
    """Detail of at most +-3 grey levels on a flat 128 is below a 5% threshold: output == input exactly."""
    image = (128 + rng.integers(-3, 4, (20, 20, 3))).astype(np.uint8)
    out = apply_filter(image, unsharp(sigma=1.0, amount=2.0, threshold=0.05), 255)
    np.testing.assert_array_equal(out, image.astype(np.float32))
    # Without the threshold the same detail is amplified.
    assert np.abs(apply_filter(image, unsharp(1.0, 2.0, 0.0), 255) - image).max() > 1.0


def test_unsharp_matches_hand_formula(rng):
    """ImageMagick's rule: out = src + amount * d where |2 d| >= threshold * full, d = src - gaussian(src);
    src elsewhere (magick/effect.c, UnsharpMaskImage)."""
    image = random_image(rng, (23, 31, 3), "uint8")
    amount, threshold = 1.5, 0.1
    out = apply_filter(image, unsharp(1.0, amount, threshold), 255)
    x = np.arange(-3, 4)
    g = np.exp(-(x**2) / 2.0)
    kernel = np.outer(g, g) / g.sum() ** 2
    for c in range(3):
        src = image[..., c].astype(float)
        d = src - ndimage.convolve(src, kernel, mode="reflect")
        big = np.abs(2 * d) >= threshold * 255
        clear = np.abs(np.abs(2 * d) - threshold * 255) > 1e-3  # away from the threshold's float32 knife-edge
        want = np.where(big, src + amount * d, src)
        np.testing.assert_allclose(out[..., c][clear], want[clear], rtol=0, atol=1e-3)


# --- invalid parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: gaussian_kernel(0.0),
    lambda: gaussian_kernel(-1.0),
    lambda: gaussian_kernel(float("nan")),
    lambda: gaussian_kernel(float("inf")),
    lambda: gaussian_kernel(1000.0),
    lambda: gaussian_kernel(1.0, radius=-1),
    lambda: blur(0.0),
    lambda: box_kernel(0),
    lambda: box(-3),
    lambda: sobel("z"),
    lambda: sobel(""),
    lambda: unsharp(threshold=-0.1),
    lambda: unsharp(threshold=1.5),
    lambda: unsharp(threshold=float("nan")),
    lambda: unsharp(sigma=0.0),
], ids=["sigma-0", "sigma-negative", "sigma-nan", "sigma-inf", "radius-too-big", "radius-negative",
        "blur-sigma-0", "box-0", "box-negative", "sobel-z", "sobel-empty", "threshold-negative",
        "threshold-above-1", "threshold-nan", "unsharp-sigma-0"])
def test_invalid_parameters_raise(make):
    with pytest.raises(ImgconvError):
        make()


# --- filter properties ------------------------------------------------------------------------------


def test_which_filters_smooth():
    """Weighted averages filter alpha too; every other filter keeps it (see apply)."""
    assert blur(1.0).smooths and box(3).smooths
    for filt in (sharpen(1.0), emboss(), sobel("x"), unsharp(), unsharp(threshold=0.1)):
        assert not filt.smooths, filt.name
    assert sobel("both").grey and not blur(1.0).grey


def test_builtin_kernels_are_valid():
    for name, (make, _) in BUILTIN_KERNELS.items():
        kernel = np.asarray(make())
        assert kernel.ndim == 2 and np.isfinite(kernel).all() and kernel.any(), name
    assert np.asarray(BUILTIN_KERNELS["gaussian"][0]()).shape == (13, 13)
    assert np.asarray(BUILTIN_KERNELS["box-31"][0]()).shape == (31, 31)


def test_box_size_is_bounded_where_the_box_is_built():
    from imgconv.filters.box import MAX_SIZE

    assert box_kernel(MAX_SIZE).shape == (MAX_SIZE, MAX_SIZE)
    for size in (0, MAX_SIZE + 1):
        with pytest.raises(ImgconvError, match="box size"):
            box_kernel(size)
