"""apply_filter: the alpha rule, grey (luminance) filters and the plumbing around the convolutions.

Alpha rule: a smoothing filter (blur, box) filters alpha too, with colour premultiplied by alpha, so
transparent pixels -- whatever colour they happen to store -- cannot bleed into the edges; every other
filter leaves alpha exactly as it was.  Expected values come from scipy.ndimage and hand formulas.
"""

import numpy as np
import pytest
from scipy import ndimage

from imgconv.apply import apply_filter
from imgconv.engine.planner import Plan
from imgconv.filters import SOBEL_X, SOBEL_Y, blur, box, emboss, gaussian_kernel, sharpen, sobel, unsharp

from conftest import DTYPES, random_image, tolerance

BT601 = (0.299, 0.587, 0.114)


def red_square(dtype, background=(0, 0, 0)):
    """A 24x24 transparent image (storing `background` as its colour) with an opaque red 8x8 square."""
    kind, full = DTYPES[dtype]
    image = np.zeros((24, 24, 4), kind)
    image[..., :3] = np.array(background) * full
    image[8:16, 8:16] = (full, 0, 0, full)
    return image, full


# --- the alpha rule: smoothing filters --------------------------------------------------------------


@pytest.mark.parametrize("background", [(0, 0, 0), (1, 1, 1), (0, 0, 1)], ids=["black", "white", "blue"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("filt", [blur(2.0), box(5)], ids=["blur", "box"])
def test_blurred_red_square_has_no_halo(filt, dtype, background):
    """Wherever the blurred alpha is non-zero the colour is still pure red: no dark (or other) fringe."""
    image, full = red_square(dtype, background)
    out = apply_filter(image, filt, full, alpha=True)
    assert out.shape == image.shape and out.dtype == np.float32
    alpha = out[..., 3]
    visible = alpha > 0
    assert visible.sum() > 64  # the blur spread alpha beyond the square
    np.testing.assert_allclose(out[..., 0][visible], full, rtol=1e-4)
    np.testing.assert_allclose(out[..., 1:3][visible], 0.0, atol=1e-4 * full)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_blur_alpha_and_premultiplied_colour_match_scipy(rng, dtype):
    """alpha' = G*alpha;  colour' = G*(colour * alpha / full) * full / alpha'  (G: the Gaussian)."""
    kind, full = DTYPES[dtype]
    image = random_image(rng, (23, 31, 4), dtype)
    image[:5, :, 3] = 0  # a transparent band
    kernel = gaussian_kernel(1.5)
    out = apply_filter(image, blur(1.5), full, alpha=True, border="nearest")
    a = image[..., 3].astype(float)
    want_alpha = ndimage.convolve(a, kernel, mode="nearest")
    np.testing.assert_allclose(out[..., 3], want_alpha, rtol=0, atol=tolerance(a, kernel))
    shown = want_alpha > 0.05 * full
    for c in range(3):
        premultiplied = ndimage.convolve(image[..., c] * a / full, kernel, mode="nearest")
        want = premultiplied * full / want_alpha
        np.testing.assert_allclose(out[..., c][shown], want[shown], rtol=1e-4, atol=1e-3 * full)


def test_fully_transparent_blur_stays_finite():
    image = np.zeros((10, 10, 4), np.uint8)
    image[..., :3] = 200
    out = apply_filter(image, blur(1.0), 255, alpha=True)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[..., 3], 0.0)


# --- the alpha rule: everything else keeps alpha ------------------------------------------------------


@pytest.mark.parametrize("filt", [sharpen(1.0), emboss(45.0), unsharp(1.0, 1.0, 0.0), sobel("both")],
                         ids=["sharpen", "emboss", "unsharp", "sobel"])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_non_smoothing_filters_keep_alpha_exactly(rng, filt, dtype):
    image = random_image(rng, (23, 31, 4), dtype)
    out = apply_filter(image, filt, DTYPES[dtype][1], alpha=True)
    np.testing.assert_array_equal(out[..., -1], image[..., 3].astype(np.float32))


def test_sharpen_colour_is_not_premultiplied(rng):
    """Sharpen convolves the stored colour as it is, alpha plays no part."""
    image = random_image(rng, (23, 31, 4), "uint8")
    kernel = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float)
    out = apply_filter(image, sharpen(1.0), 255, alpha=True)
    assert out.shape == image.shape
    for c in range(3):
        want = ndimage.convolve(image[..., c].astype(float), kernel, mode="reflect")
        np.testing.assert_allclose(out[..., c], want, rtol=0, atol=tolerance(image, kernel))


def test_without_alpha_flag_the_fourth_channel_is_colour(rng):
    """alpha=False: four channels are all filtered alike (e.g. CMYK or a plain 4-band array)."""
    image = random_image(rng, (12, 13, 4), "uint8")
    out = apply_filter(image, box(3), 255)
    want = ndimage.convolve(image[..., 3].astype(float), np.full((3, 3), 1 / 9), mode="reflect")
    np.testing.assert_allclose(out[..., 3], want, rtol=0, atol=1e-3)


# --- grey filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels, alpha, want", [(1, False, 1), (3, False, 1), (4, True, 2), (2, True, 2)],
                         ids=["grey", "rgb", "rgba", "grey+alpha"])
def test_grey_filter_channel_counts(rng, channels, alpha, want):
    image = random_image(rng, (11, 12, channels), "uint8")
    out = apply_filter(image, sobel("both"), 255, alpha=alpha)
    assert out.shape == (11, 12, want)
    if alpha:
        np.testing.assert_array_equal(out[..., 1], image[..., -1].astype(np.float32))


@pytest.mark.parametrize("channels, alpha", [(3, False), (4, True)])
def test_colour_filters_keep_channel_count(rng, channels, alpha):
    image = random_image(rng, (11, 12, channels), "uint8")
    for filt in (blur(1.0), sharpen(), emboss(), unsharp()):
        assert apply_filter(image, filt, 255, alpha=alpha).shape == image.shape, filt.name


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_sobel_on_rgb_uses_bt601_luminance(rng, dtype):
    kind, full = DTYPES[dtype]
    image = random_image(rng, (23, 31, 3), dtype)
    luma = sum(w * image[..., c].astype(float) for c, w in enumerate(BT601))
    gx = ndimage.convolve(luma, SOBEL_X, mode="mirror")
    gy = ndimage.convolve(luma, SOBEL_Y, mode="mirror")
    out = apply_filter(image, sobel("both"), full, border="mirror")
    np.testing.assert_allclose(out[..., 0], np.hypot(gx, gy) / np.sqrt(20), rtol=0, atol=2e-5 * full)
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), full, kind)], axis=-1)
    out_rgba = apply_filter(rgba, sobel("both"), full, border="mirror", alpha=True)
    np.testing.assert_array_equal(out_rgba[..., :1], out)


# --- plumbing ------------------------------------------------------------------------------------------


def test_on_plan_is_told_each_kernel_and_algo_is_passed_on(rng):
    image = random_image(rng, (16, 17, 3), "uint8")
    plans = []
    apply_filter(image, sobel("both"), 255, on_plan=plans.append)
    assert len(plans) == 2 and all(isinstance(p, Plan) for p in plans)
    plans.clear()
    apply_filter(image, blur(1.0), 255, algo="fft", on_plan=plans.append)
    assert [p.algo for p in plans] == ["fft"]


@pytest.mark.parametrize("algo", ["direct", "fft", "separable", "im2col"])
def test_forced_algo_gives_the_same_pixels(rng, algo):
    image = random_image(rng, (16, 17, 4), "uint16")
    want = apply_filter(image, blur(1.2), 65535, alpha=True, algo="direct")
    got = apply_filter(image, blur(1.2), 65535, alpha=True, algo=algo)
    np.testing.assert_allclose(got, want, rtol=0, atol=0.05)


def test_input_not_modified(rng):
    image = random_image(rng, (10, 11, 4), "float32")
    before = image.copy()
    for filt in (blur(1.0), sharpen(), sobel("x"), unsharp(threshold=0.1)):
        apply_filter(image, filt, 1.0, alpha=True)
    np.testing.assert_array_equal(image, before)


# --- fused kernels (several same-sized kernels, or Sobel's magnitude, in one direct pass) -------------


@pytest.mark.parametrize("algo", ["auto", "direct", "fft", "separable"])
@pytest.mark.parametrize("border", ["reflect", "constant", "wrap"])
def test_sobel_same_pixels_fused_or_not(rng, algo, border):
    """Whether the planner fuses Sobel x/y (and the magnitude) into one pass or not, the pixels are scipy's."""
    image = random_image(rng, (23, 31, 3), "uint8")
    luma = sum(w * image[..., c].astype(float) for c, w in enumerate(BT601))
    gx = ndimage.convolve(luma, SOBEL_X, mode=border, cval=40.0)
    gy = ndimage.convolve(luma, SOBEL_Y, mode=border, cval=40.0)
    for axis, want in (("both", np.hypot(gx, gy) / np.sqrt(20)), ("x", np.abs(gx) / 4), ("y", np.abs(gy) / 4)):
        plans = []
        out = apply_filter(image, sobel(axis), 255, algo=algo, border=border, cval=40.0, on_plan=plans.append)
        assert out.shape == (23, 31, 1) and out.dtype == np.float32
        np.testing.assert_allclose(out[..., 0], want, rtol=0, atol=2e-3, err_msg=f"{axis}: {plans}")
        if algo != "auto":
            assert [p.algo for p in plans] == [algo] * len(sobel(axis).kernels)  # a forced engine is kept


@pytest.mark.parametrize("algo", ["auto", "direct", "im2col"])
def test_several_kernels_same_pixels_fused_or_not(rng, algo):
    """A filter of two same-sized kernels: every response reaches the finish step as scipy computes it
    (combined by their maximum, then scaled and offset)."""
    from imgconv.filters import Filter, Finish

    k1, k2 = rng.standard_normal((2, 5, 5))
    filt = Filter("most", (k1, k2), finish=Finish(combine="max", scale=0.5, offset=0.25))
    image = random_image(rng, (40, 50, 2), "uint16")
    out = apply_filter(image, filt, 65535, algo=algo, border="mirror")
    for c in range(2):
        plane = image[..., c].astype(float)
        most = np.maximum(ndimage.convolve(plane, k1, mode="mirror"), ndimage.convolve(plane, k2, mode="mirror"))
        want = 0.5 * most + 0.25 * 65535
        np.testing.assert_allclose(out[..., c], want, rtol=0, atol=2 * tolerance(image, abs(k1) + abs(k2)))


# --- linear light ------------------------------------------------------------------------------------


def srgb_encode(v):
    """IEC 61966-2-1, by hand."""
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_linear_blur_averages_light(dtype):
    """A fine black/white checkerboard box-blurred in linear light is 50% light: sRGB 0.7354 of white,
    not the 0.5 an average of code values gives."""
    kind, full = DTYPES[dtype]
    board = ((np.indices((16, 16)).sum(axis=0) % 2) * full).astype(kind)
    image = np.repeat(board[..., None], 3, axis=-1)
    out = apply_filter(image, box(2), full, linear=True, border="wrap")
    np.testing.assert_allclose(out, srgb_encode(0.5) * full, rtol=1e-4)
    np.testing.assert_allclose(apply_filter(image, box(2), full, border="wrap"), 0.5 * full, rtol=1e-5)


def test_linear_keeps_alpha_and_ignores_non_smoothing_filters(rng):
    image, full = red_square("uint8", background=(1, 1, 1))
    plain = apply_filter(image, blur(1.5), full, alpha=True)
    linear = apply_filter(image, blur(1.5), full, alpha=True, linear=True)
    np.testing.assert_allclose(linear[..., 3], plain[..., 3], rtol=0, atol=1e-3)  # alpha is not colour
    visible = linear[..., 3] > 0
    np.testing.assert_allclose(linear[..., 0][visible], full, rtol=1e-4)  # still no halo
    np.testing.assert_allclose(linear[..., 1:3][visible], 0.0, atol=0.05)
    other = random_image(rng, (12, 13, 3), "uint8")
    for filt in (sharpen(), sobel("both"), emboss(), unsharp()):
        np.testing.assert_array_equal(apply_filter(other, filt, 255, linear=True), apply_filter(other, filt, 255))
