"""Deconvolution: imgconv.deconvolve against scikit-image and independent float64 references, the PSF specs
and files (imgconv.psf), bad input, and `imgconv deblur` on every image type imgconv reads."""

import math
import os

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage
from skimage.restoration import richardson_lucy, wiener

import imgconv
from imgconv.border import pad
from imgconv.cli import cli
from imgconv.deconvolution import DEFAULT_BALANCE, DEFAULT_LAMBDA, rl, steps
from imgconv.deconvolution import wiener as wiener_module
from imgconv.errors import ImgconvError
from imgconv.filters import gaussian_kernel
from imgconv.psf import FWHM_PER_SIGMA, centred, load_psf

from conftest import BORDERS

RTOL = 1e-4  # the target: equal to 1e-4, relative to the result's largest value


def relative_error(got, want):
    return float(np.abs(np.asarray(got, np.float64) - want).max() / np.abs(want).max())


def dense_psf(rng, shape):
    psf = rng.random(shape) + 0.05
    return psf / psf.sum()


def scene(rng, shape):
    """A test image with edges and texture in 0.05..1: smoothed noise plus bright rectangles."""
    base = ndimage.gaussian_filter(rng.random(shape), 1.0)
    base = (base - base.min()) / (base.max() - base.min())
    base[shape[0] // 4 : shape[0] // 2, shape[1] // 5 : shape[1] // 2] = 1.0
    return (0.05 + 0.9 * base).astype(np.float32)


def blur(image, psf, border="reflect"):
    if image.ndim == 3:
        return np.stack([blur(image[..., c], psf, border) for c in range(image.shape[2])], axis=-1)
    return ndimage.convolve(image.astype(np.float64), psf, mode=border).astype(np.float32)


# --- Richardson-Lucy against scikit-image ------------------------------------------------------------


@pytest.mark.parametrize("psf_kind, algo", [("gaussian", "auto"), ("gaussian", "direct"), ("dense", "auto"),
                                            ("dense", "fft"), ("wide", "auto")])
@pytest.mark.parametrize("iterations", [1, 10, 30])
def test_rl_equals_scikit_image(rng, psf_kind, algo, iterations):
    """Same float image, PSF and padding (zeros: scikit-image's 'same' convolution), same start (0.5)."""
    psf = {"gaussian": gaussian_kernel(1.5), "dense": dense_psf(rng, (7, 7)),
           "wide": dense_psf(rng, (5, 9))}[psf_kind]
    image = blur(scene(rng, (48, 56)), psf)
    ours = imgconv.deconvolve(image, psf, iterations=iterations, accelerate=False, border="constant",
                              initial=0.5, algo=algo)
    theirs = richardson_lucy(image, psf.astype(np.float32), num_iter=iterations, clip=False)
    assert ours.dtype == np.float32 and ours.shape == image.shape
    assert relative_error(ours, theirs) < RTOL


def test_rl_equals_scikit_image_per_channel(rng):
    psf = gaussian_kernel(2.0)
    image = blur(scene(rng, (40, 44, 3)), psf)
    ours = imgconv.deconvolve(image, psf, iterations=15, accelerate=False, border="constant", initial=0.5)
    theirs = np.stack([richardson_lucy(image[..., c], psf.astype(np.float32), num_iter=15, clip=False)
                       for c in range(3)], axis=-1)
    assert relative_error(ours, theirs) < RTOL


def test_per_pixel_steps_split_between_threads_equal_numpy(rng, monkeypatch):
    """Each step over ranges on several threads: every value as numpy computes it, the sums over all ranges."""
    monkeypatch.setattr(steps, "cores", lambda: 3)
    n = 5 * steps.SERIAL_VALUES + 7
    observed, blurred = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    want = observed / (blurred + steps.EPS)
    steps.ratio(observed, blurred)
    np.testing.assert_array_equal(blurred, want)
    estimate, correction = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32) + 0.5
    old = estimate.copy()
    change, size = steps.multiply(estimate, correction)
    np.testing.assert_array_equal(estimate, old * correction)
    assert change == pytest.approx(np.sum((estimate.astype(np.float64) - old) ** 2), rel=1e-9)
    assert size == pytest.approx(np.sum(old.astype(np.float64) ** 2), rel=1e-9)


# --- every variant against an independent float64 implementation --------------------------------------


def reference(observed, psf, iterations, *, accelerate, lam=None, border="reflect", cval=0.0, initial=None):
    """Richardson-Lucy written out with scipy.ndimage in float64, one channel: the formulas of the papers."""
    y = observed.astype(np.float64)
    x = y.copy() if initial is None else np.full_like(y, initial)
    eps = rl.TV_EPS_PER_LAMBDA * (lam or 0.0) * y.max()
    adjoint_cval = 0.0 if border == "constant" else cval

    def phi(x):
        ratio = y / (ndimage.convolve(x, psf, mode=border, cval=cval) + 1e-12)
        factor = ndimage.correlate(ratio, psf, mode=border, cval=adjoint_cval)
        if lam:  # Dey et al.: divide by 1 - lambda div(grad x / |grad x|)
            gx = np.zeros_like(x)
            gy = np.zeros_like(x)
            gx[:, :-1] = np.diff(x, axis=1)
            gy[:-1] = np.diff(x, axis=0)
            norm = np.sqrt(gx**2 + gy**2 + eps**2)
            ux, uy = gx / norm, gy / norm
            div = ux + uy
            div[:, 1:] -= ux[:, :-1]
            div[1:] -= uy[:-1]
            factor = factor / (1 - lam * div)
        return x * factor

    if not accelerate:
        for _ in range(iterations):
            x = phi(x)
        return x
    predicted, g_previous = x, None  # Biggs & Andrews 1997, section 3
    for _ in range(iterations):
        new = phi(predicted)
        g = new - predicted
        alpha = 0.0
        if g_previous is not None and (g_previous**2).sum() > 0:
            alpha = min(max((g * g_previous).sum() / (g_previous**2).sum(), 0.0), 1.0)
        predicted = np.maximum(new + alpha * (new - x), 0.0)
        x, g_previous = new, g
    return x


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("accelerate, lam", [(False, None), (True, None), (False, 0.01), (True, 0.01)])
def test_every_variant_equals_the_float64_reference(rng, border, accelerate, lam):
    psf = dense_psf(rng, (5, 5)) if border in ("wrap", "nearest") else gaussian_kernel(1.2)
    cval = 0.3 if border == "constant" else 0.0
    image = blur(scene(rng, (36, 41)), psf, "reflect")
    ours = imgconv.deconvolve(image, psf, iterations=12, accelerate=accelerate,
                              regularize="tv" if lam else None, lam=lam or DEFAULT_LAMBDA, border=border, cval=cval)
    want = reference(image, psf, 12, accelerate=accelerate, lam=lam, border=border, cval=cval)
    assert relative_error(ours, want) < RTOL


def test_even_sized_psf_is_its_own_adjoint_and_does_not_shift(rng):
    """An even PSF's origin is at k // 2 for both convolutions, so RL does not drift by a pixel per step."""
    psf = dense_psf(rng, (4, 6))
    image = blur(scene(rng, (40, 40)), psf, "constant")
    ours = imgconv.deconvolve(image, psf, iterations=10, accelerate=False, border="constant")
    assert relative_error(ours, reference(image, psf, 10, accelerate=False, border="constant")) < RTOL


# --- what acceleration and TV are for ---------------------------------------------------------------


def psnr(estimate, truth):
    return 10 * math.log10(1.0 / float(np.mean((np.asarray(estimate, np.float64) - truth) ** 2)))


def test_acceleration_needs_fewer_iterations(rng):
    truth = scene(rng, (64, 64))
    image = blur(truth, gaussian_kernel(2.0))
    plain = [psnr(imgconv.deconvolve(image, "gaussian:2", iterations=n, accelerate=False), truth) for n in (20, 60)]
    fast = psnr(imgconv.deconvolve(image, "gaussian:2", iterations=20), truth)
    assert fast > plain[1] > plain[0] + 0.5  # 20 extrapolated steps get further than 60 plain ones


def test_tv_suppresses_noise_that_plain_rl_amplifies(rng):
    truth = scene(rng, (64, 64))
    image = np.clip(blur(truth, gaussian_kernel(1.5)) + rng.normal(0, 0.03, truth.shape), 0, 1).astype(np.float32)
    plain = psnr(imgconv.deconvolve(image, "gaussian:1.5", iterations=60), truth)
    tv = psnr(imgconv.deconvolve(image, "gaussian:1.5", iterations=60, regularize="tv", lam=0.02), truth)
    assert tv > plain + 0.5


def test_reflect_border_keeps_the_edges_that_zero_padding_ruins(rng):
    truth = scene(rng, (64, 64))
    image = blur(truth, gaussian_kernel(2.0), "reflect")
    band = np.ones(truth.shape, bool)
    band[6:-6, 6:-6] = False

    def edge_psnr(border):
        return psnr(imgconv.deconvolve(image, "gaussian:2", iterations=20, border=border)[band], truth[band])

    assert edge_psnr("reflect") > edge_psnr("constant") + 3


def test_tolerance_stops_early_and_reports_each_iteration(rng):
    image = blur(scene(rng, (40, 40)), gaussian_kernel(1.5))
    seen, stats, last = [], {}, {}

    def on_iteration(k, change, x):
        seen.append((k, change, x.shape))
        last["x"] = x.copy()

    result = imgconv.deconvolve(image, "gaussian:1.5", iterations=200, tolerance=2e-3, on_iteration=on_iteration,
                                stats=stats)
    assert np.array_equal(last["x"], result)
    ks = [k for k, _, _ in seen]
    assert {shape for _, _, shape in seen} == {(40, 40)}
    assert ks == list(range(1, len(seen) + 1)) and len(seen) < 200 and stats["iterations"] == len(seen)
    assert seen[-1][1] < 2e-3 <= seen[-2][1]


def test_gaussian_psf_runs_separable_and_a_dense_one_does_not(rng):
    """Both convolutions of an iteration are planned once, through the planner (on a photo-sized image)."""
    image = np.ones((600, 800, 3), np.float32)
    for psf, engines in ((gaussian_kernel(2.0), {"separable"}), (dense_psf(rng, (15, 15)), {"direct", "fft"})):
        stats = {}
        imgconv.deconvolve(image, psf, iterations=1, stats=stats)
        forward, adjoint = stats["plans"]
        assert {forward.algo, adjoint.algo} <= engines and not forward.kernel.correlate and adjoint.kernel.correlate


def test_library_keeps_the_input_and_its_shape(rng):
    image = (scene(rng, (30, 34)) * 255).astype(np.uint8)
    before = image.copy()
    out = imgconv.deconvolve(image, gaussian_kernel(1.0), iterations=3)
    assert np.array_equal(image, before) and out.shape == image.shape and out.dtype == np.float32
    as_float = imgconv.deconvolve(image.astype(np.float32), gaussian_kernel(1.0), iterations=3)
    assert np.array_equal(out, as_float)  # uint8 in is the same numbers as float in
    assert imgconv.deconvolve(image[..., None], gaussian_kernel(1.0), iterations=3).shape == (30, 34, 1)


# --- Wiener against scikit-image ----------------------------------------------------------------------


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("balance", [0.001, 0.1])
def test_wiener_equals_scikit_image(rng, border, balance):
    """scikit-image's wiener on the image padded as imgconv pads it (nothing for wrap), cropped back."""
    psf = dense_psf(rng, (5, 7))
    image = blur(scene(rng, (37, 45, 3)), psf)
    ours = imgconv.deconvolve(image, psf, method="wiener", balance=balance, border=border, cval=0.2)
    (top, bottom), (left, right) = wiener_module.padding(image.shape, psf.shape, border)
    if border == "wrap":
        assert top == bottom == left == right == 0
    theirs = np.empty_like(ours)
    for c in range(3):
        padded = pad(image[..., c : c + 1], ((top, bottom), (left, right)), border, 0.2)[..., 0]
        theirs[..., c] = wiener(padded, psf, balance, clip=False)[top : top + 37, left : left + 45]
    assert relative_error(ours, theirs) < RTOL


def test_wiener_restores_a_blurred_image(rng):
    truth = scene(rng, (64, 64))
    image = blur(truth, gaussian_kernel(1.5))
    restored = imgconv.deconvolve(image, "gaussian:1.5", method="wiener", balance=1e-3)
    assert psnr(restored, truth) > psnr(image, truth) + 5


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("psf, message", [
    (np.zeros((0, 3)), "non-empty"),
    (np.array([[0.2, -0.1, 0.2]]), "negative"),
    (np.zeros((3, 3)), "all zeros"),
    (np.array([[0.2, np.nan, 0.2]]), "NaN"),
    (np.ones((3, 3, 3)), "2D"),
    (np.ones((41, 3)), "larger than the image"),
    ("gaussian:abc", "not a number"),
    ("gaussian:-1", "sigma must be a positive number"),
    ("blob:3", "not a PSF spec"),
    ("no/such/file.png", "not a PSF spec"),
])
def test_bad_psf_is_one_clear_error(psf, message):
    with pytest.raises(ImgconvError, match=message):
        imgconv.deconvolve(np.ones((40, 40), np.float32), psf)


@pytest.mark.parametrize("options, message", [
    (dict(iterations=0), "iterations"),
    (dict(iterations=-3), "iterations"),
    (dict(iterations=2.5), "iterations"),
    (dict(method="blind"), "unknown method"),
    (dict(border="zero"), "unknown border"),
    (dict(regularize="l1"), "unknown regularization"),
    (dict(regularize="tv", lam=0.3), "lambda"),
    (dict(regularize="tv", lam=0.0), "lambda"),
    (dict(tolerance=-1.0), "tolerance"),
    (dict(method="wiener", balance=0.0), "balance"),
    (dict(initial="zeros"), "initial"),
])
def test_bad_options_are_one_clear_error(options, message):
    with pytest.raises(ImgconvError, match=message):
        imgconv.deconvolve(np.ones((20, 20), np.float32), gaussian_kernel(1.0), **options)


def test_numpy_scalars_are_numbers_too():
    image = np.ones((20, 20), np.float32)
    imgconv.deconvolve(image, gaussian_kernel(1.0), iterations=np.int64(2), tolerance=np.float64(0.1),
                       regularize="tv", lam=np.float32(0.01))
    imgconv.deconvolve(image, gaussian_kernel(1.0), method="wiener", balance=np.float32(0.1))


def test_nan_image_is_an_error():
    image = np.ones((20, 20), np.float32)
    image[3, 4] = np.nan
    with pytest.raises(ImgconvError, match="NaN"):
        imgconv.deconvolve(image, gaussian_kernel(1.0))


# --- PSF specs and files ------------------------------------------------------------------------------


def test_gaussian_specs_are_the_blur_filters_kernel():
    assert np.allclose(load_psf("gaussian:2"), gaussian_kernel(2.0), rtol=1e-12, atol=0)
    assert np.allclose(load_psf("gaussian:sigma=1.5"), gaussian_kernel(1.5), rtol=1e-12, atol=0)
    assert np.allclose(load_psf(f"gaussian:fwhm={3 * FWHM_PER_SIGMA}"), gaussian_kernel(3.0))
    assert math.isclose(FWHM_PER_SIGMA, 2.3548200450309493)


def test_motion_and_disk_specs_are_the_blur_filters_kernels():
    from imgconv.filters import disk_kernel, motion_kernel

    assert np.allclose(load_psf("motion:15,30"), motion_kernel(15, 30, centered=False), rtol=1e-12, atol=1e-15)
    assert np.allclose(load_psf("disk:4"), disk_kernel(4), rtol=1e-12, atol=1e-15)
    for spec, message in [("motion:5", "LENGTH,ANGLE"), ("motion:-1,0", ">= 0"), ("disk:-2", "positive"),
                          ("disk:3,5", "disk:RADIUS")]:
        with pytest.raises(ImgconvError, match=message):
            load_psf(spec)


@pytest.mark.parametrize("spec", ["motion:9,30", "disk:3"])
def test_motion_and_disk_blur_are_undone(rng, spec):
    truth = scene(rng, (72, 80))
    image = blur(truth, load_psf(spec))
    restored = imgconv.deconvolve(image, spec, iterations=30)
    assert psnr(restored, truth) > psnr(image, truth) + 3


def test_npy_and_kernel_text_files_are_normalised_as_they_are(tmp_path, rng):
    kernel = rng.random((3, 4)) * 7
    np.save(tmp_path / "k.npy", kernel)
    (tmp_path / "k.txt").write_text("# a kernel\n1 2 1\n2 4 2\n1 2 1\n")
    assert np.allclose(load_psf(str(tmp_path / "k.npy")), kernel / kernel.sum())
    assert np.allclose(load_psf(str(tmp_path / "k.txt")), np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)


def test_psf_image_is_normalised_and_centred_on_its_centroid(tmp_path):
    star = np.zeros((9, 12), np.uint8)
    star[1:4, 6:10] = [[10, 20, 10, 0], [20, 200, 60, 20], [10, 20, 10, 0]]  # off-centre, lopsided
    Image.fromarray(star).save(tmp_path / "star.png")
    psf = load_psf(str(tmp_path / "star.png"))
    assert math.isclose(psf.sum(), 1.0) and psf.shape[0] % 2 == 1 and psf.shape[1] % 2 == 1
    rows, cols = np.indices(psf.shape)
    centroid = ((rows * psf).sum(), (cols * psf).sum())
    assert abs(centroid[0] - psf.shape[0] // 2) <= 0.5 and abs(centroid[1] - psf.shape[1] // 2) <= 0.5
    assert np.allclose(psf[psf > 0], star[star > 0] / star.sum())  # the same values, only moved


@pytest.mark.parametrize("kind", ["png16", "tiff-float", "rgba"])
def test_psf_image_in_other_depths_and_layouts(tmp_path, kind):
    g = gaussian_kernel(1.5)
    if kind == "png16":
        path = tmp_path / "psf.png"
        Image.fromarray((g / g.max() * 65535).astype(np.uint16)).save(path)
    elif kind == "tiff-float":
        path = tmp_path / "psf.tif"
        tifffile.imwrite(path, g.astype(np.float32))
    else:  # colour channels are averaged, alpha ignored
        path = tmp_path / "psf.png"
        rgb = np.repeat((g / g.max() * 255).round().astype(np.uint8)[..., None], 3, axis=2)
        Image.fromarray(np.dstack([rgb, np.full(g.shape, 128, np.uint8)]), "RGBA").save(path)
    assert np.abs(load_psf(str(path)) - g).max() < 2e-3 * g.max()


def test_centred_leaves_a_centred_psf_alone():
    g = gaussian_kernel(1.0)
    assert np.array_equal(centred(g), g)
    assert centred(np.array([[0.0, 0.0, 1.0]])).tolist() == [[0.0, 0.0, 1.0, 0.0, 0.0]]


def test_bad_psf_files(tmp_path):
    (tmp_path / "ragged.txt").write_text("1 2\n3\n")
    np.save(tmp_path / "neg.npy", -np.ones((3, 3)))
    (tmp_path / "black.png").write_bytes(b"")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "black.png")
    for name, message in [("ragged.txt", "different lengths"), ("neg.npy", "negative"), ("black.png", "all zeros")]:
        with pytest.raises(ImgconvError, match=message):
            load_psf(str(tmp_path / name))


# --- the command ----------------------------------------------------------------------------------------


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(path, pixels):
    """Save an image as imgconv would find it: PNG/JPEG by Pillow, TIFF by tifffile (16-bit RGB, float)."""
    if path.suffix == ".tif":
        tifffile.imwrite(path, pixels, photometric="rgb" if pixels.ndim == 3 else "minisblack")
    else:
        Image.fromarray(pixels).save(path)


def read(path):
    return tifffile.imread(path) if path.suffix == ".tif" else np.asarray(Image.open(path))


LAYOUTS = {  # name -> (dtype, channels, extension)
    "grey8": (np.uint8, None, ".png"), "rgb8-jpeg": (np.uint8, 3, ".jpg"), "rgba8": (np.uint8, 4, ".png"),
    "grey16": (np.uint16, None, ".png"), "rgb16": (np.uint16, 3, ".tif"), "float-grey": (np.float32, None, ".tif"),
    "float-rgb": (np.float32, 3, ".tif"),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_deblur_every_image_type(tmp_path, rng, layout):
    """The type and layout are kept, alpha is untouched, and the result is closer to the sharp image."""
    dtype, channels, ext = LAYOUTS[layout]
    full = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}[dtype]
    shape = (48, 52) if channels is None else (48, 52, channels)
    truth = scene(rng, shape)
    blurred = blur(truth, gaussian_kernel(1.5))
    if channels == 4:
        blurred[..., 3] = truth[..., 3] = rng.random((48, 52))  # alpha: anything, kept exactly
    pixels = (blurred * full).round().astype(dtype) if dtype != np.float32 else blurred
    source, target = tmp_path / f"in{ext}", tmp_path / f"out{ext}"
    write(source, pixels)
    result = run("deblur", source, target, "--psf", "gaussian:1.5", "--regularize", "tv")
    assert result.exit_code == 0, result.output
    out = read(target)
    assert out.dtype == dtype and out.shape == pixels.shape
    colour = slice(0, 3) if channels == 4 else slice(None)
    if channels == 4:
        assert np.array_equal(out[..., 3], pixels[..., 3])
    before = psnr(read(source)[..., colour] / full, truth[..., colour])
    assert psnr(out[..., colour] / full, truth[..., colour]) > before + 1


def test_deblur_batch_and_methods(tmp_path, rng):
    truth = scene(rng, (40, 40))
    for name in ("a", "b"):
        write(tmp_path / f"{name}.png", (blur(truth, gaussian_kernel(1.0)) * 255).round().astype(np.uint8))
    result = run("deblur", tmp_path / "a.png", tmp_path / "b.png", "--out-dir", tmp_path / "out",
                 "--psf", "gaussian:1", "--method", "wiener", "--balance", "0.005", "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.png"]
    result = run("deblur", tmp_path / "a.png", tmp_path / "c.png", "--psf", "gaussian:1", "--iterations", "5",
                 "--no-accelerate", "--tolerance", "0.001", "--border", "mirror", "-v")
    assert result.exit_code == 0 and "Richardson-Lucy" in result.output and "engine separable" in result.output


@pytest.mark.parametrize("args, message", [
    (["--psf", "gaussian:0"], "sigma"),
    (["--psf", "nonsense"], "not a PSF spec"),
    (["--psf", "BAD.npy"], "negative"),
    (["--psf", "gaussian:30"], "larger than the image"),
    (["--psf", "gaussian:1", "--iterations", "0"], "iterations"),
    (["--psf", "gaussian:1", "--method", "wiener", "--iterations", "5"], "not used by --method wiener"),
    (["--psf", "gaussian:1", "--balance", "0.1"], "not used by --method rl"),
    (["--psf", "gaussian:1", "--lambda", "0.01"], "needs --regularize tv"),
    (["--psf", "gaussian:1", "--regularize", "tv", "--lambda", "1"], "lambda must be between"),
    (["--psf", "gaussian:1", "--method", "wiener", "--balance", "inf"], "--balance must be a positive number"),
    (["--psf", "gaussian:1", "--tolerance", "nan"], "tolerance"),
])
def test_deblur_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, message):
    write(tmp_path / "in.png", np.full((20, 20), 100, np.uint8))
    np.save(tmp_path / "BAD.npy", -np.ones((3, 3)))
    os.chdir(tmp_path)
    result = run("deblur", "in.png", "out.png", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert not (tmp_path / "out.png").exists()


def test_psf_larger_than_one_input_of_a_batch_stops_it_before_any_work(tmp_path):
    write(tmp_path / "big.png", np.full((60, 60), 100, np.uint8))
    write(tmp_path / "small.png", np.full((12, 12), 100, np.uint8))
    result = run("deblur", tmp_path / "*.png", "--out-dir", tmp_path / "out", "--psf", "gaussian:3")
    assert result.exit_code == 2 and "small.png: the PSF (19x19) is larger than the image (12x12)" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_defaults_are_the_library_defaults():
    params = {p.name: p.default for p in cli.commands["deblur"].params}
    assert params["lam"] == DEFAULT_LAMBDA and params["balance"] == DEFAULT_BALANCE and params["iterations"] == 20


def test_progress_bar_over_iterations_on_a_terminal(tmp_path):
    import pty
    import re
    import subprocess
    import sys

    write(tmp_path / "in.png", (scene(np.random.default_rng(0), (64, 64)) * 255).astype(np.uint8))
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "imgconv.cli", "deblur", str(tmp_path / "in.png"),
                             str(tmp_path / "out.png"), "--psf", "gaussian:1", "--iterations", "7"],
                            stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=120) == 0
    os.close(leader)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace"))
    assert "deblurring" in shown and "7/7" in shown


def test_deblur_keeps_the_input_jpegs_quality_subsampling_and_metadata(tmp_path, rng):
    """Deblur saves through the same step as every filter: the input's encoder settings survive."""
    from PIL import JpegImagePlugin

    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    exif = Image.Exif()
    exif[0x010E] = "a blurred photo"
    pixels = ndimage.gaussian_filter(rng.integers(0, 256, (48, 64, 3)).astype(np.float32), (2, 2, 0))
    Image.fromarray(pixels.astype(np.uint8)).save(src, quality=70, subsampling=2, exif=exif)
    assert run("deblur", src, out, "--psf", "gaussian:1", "--iterations", 3).exit_code == 0
    with Image.open(src) as before, Image.open(out) as after:
        assert after.quantization == before.quantization
        assert JpegImagePlugin.get_sampling(after) == JpegImagePlugin.get_sampling(before) == 2
        assert after.getexif()[0x010E] == "a blurred photo"
