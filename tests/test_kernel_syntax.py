"""Kernel syntaxes from ImageMagick and libvips (imgconv.syntax), checked against ImageMagick itself where
/usr/bin/convert is installed (the taps it prints, and its convolution of an image), against the
documented formulas always, and through imgconv.convolve against scipy.ndimage with `origin=`."""

import doctest
import importlib
import math
import re
import subprocess

import numpy as np
import pytest
from scipy import ndimage
from test_new_filters import MAGICK, needs_magick

import imgconv
from imgconv import ImgconvError
from imgconv.apply import apply_filter
from imgconv.filters import custom
from imgconv.kernel import parse_kernel
from imgconv.syntax import KernelFile, load_kernel, parse_mat, scale_kernel
from imgconv.syntax.imagemagick import MagickKernel, read_kernel

from conftest import BORDERS, random_image, tolerance

SQ2 = math.sqrt(2)


def magick_kernel(spec, scale=None):
    """(values with NaN, (row, column) origin) as ImageMagick prints the kernel it builds from `spec`."""
    cmd = [str(MAGICK), "-precision", "17", "xc:"]
    if scale is not None:
        cmd += ["-define", f"convolve:scale={scale}"]
    cmd += ["-define", "morphology:showKernel=1", "-morphology", "Convolve", spec, "null:"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    m = re.search(r'Kernel "[^"]*" of size (\d+)x(\d+)([+-]\d+)([+-]\d+)', err)
    assert m, err
    width, height, x, y = (int(g) for g in m.groups())
    rows = [line.split(":", 1)[1].split() for line in err.splitlines() if re.match(r"\s*\d+:", line)]
    values = np.array([[float(v) for v in row] for row in rows])
    assert values.shape == (height, width), err
    return values, (y, x)


def assert_same_kernel(ours: MagickKernel, theirs):
    values, origin = theirs
    assert ours.values.shape == values.shape and ours.origin == origin
    np.testing.assert_array_equal(np.isnan(ours.values), np.isnan(values))
    np.testing.assert_allclose(np.nan_to_num(ours.values), np.nan_to_num(values), rtol=1e-13, atol=1e-16)


NAMED_SPECS = [
    "Gaussian:0x2", "Gaussian:0x0.7", "Gaussian:3x1.5", "Gaussian:0.5x1", "Gaussian", "Gaussian:3x0.4",
    "gaussian:0x1", "LoG:0x2", "LoG:0x1.4", "LoG:4x1", "LoG", "DoG:0,1,2", "DoG:0,2,1", "DoG:3,1,1.6",
    "DoG:0,0,2", "Blur:0x3", "Blur:0x3,90", "Blur:5x2,180", "Blur:2x1,270", "Blur:0x0.5+90", "Blur:0x1,-90",
    "Comet:0x3", "Comet:0x3,90", "Comet:0x3,180", "Comet:5x2,270", "Comet:7x2",
    *[f"Laplacian:{v}" for v in (0, 1, 2, 3, 5, 7, 15, 19)],
    "Sobel", *[f"Sobel:{a}" for a in (45, 90, 135, 180, 225, 270, 315, -90, 30, 100)], "SOBEL:90",
    "Roberts", "Roberts:45", "Roberts:135", "Prewitt", "Prewitt:30", "Compass", "Compass:90",
    "Kirsch", "Kirsch:45", "Kirsch:315", "FreiChen", "FreiChen:5", "FreiChen:45", "FreiChen:1,90",
    *[f"FreiChen:{t}" for t in (0, 1, 2, 11, 12, 13, 14, 15, 16, 17, 18, 19)],
    "Disk", "Disk:5.3", "Disk:2", "Disk:1.5,2", "Disk:0.5", "Diamond", "Diamond:2", "Diamond:3,0.5",
    "Square", "Square:3", "Square:1.5", "Octagon", "Octagon:3", "Octagon:1", "Ring", "Ring:2,4", "Ring:4,2",
    "Ring:2.5,3.5,2", "Plus", "Plus:3", "Cross:2", "Unity", "Unity:0.5", "Rectangle:3x2+2+1", "Rectangle:4x3",
    "Rectangle:5",
]
ARRAY_SPECS = [
    "3x3: 1,2,1 2,4,2 1,2,1", "3: 1 2 1 2 4 2 1 2 1", "5x3+1+1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",
    "4x3+3+2: 1 2 3 4 5 6 7 8 9 10 11 12", "3x2: 1 nan 2 - 3 4", "2x1: 1 -1", "1x4: 1 2 3 4",
    "3x3+0+2: 0.5 -1e-3 2e1 +3 .25 4 5 6 7",
]


@needs_magick
@pytest.mark.parametrize("spec", NAMED_SPECS + ARRAY_SPECS)
def test_kernels_equal_imagemagicks_own(spec):
    theirs = magick_kernel(spec)
    radius = re.match(r"(?:Disk|Ring|Diamond|Octagon|Gaussian):([\d.]+)", spec)
    if radius and float(radius[1]) % 1 and theirs[0].shape[0] % 2 == 0:
        pytest.skip("this ImageMagick sizes a fractional radius r as int(2r + 1), an even size whose extra "
                    "taps it never sets (uninitialised memory); its source and documentation say 2 floor(r) + 1")
    assert_same_kernel(read_kernel(spec), theirs)


# --- the documented formulas, without ImageMagick ---------------------------------------------------


def optimal_width(sigma, dims):
    """gem.c's rule written out: the last odd width (from 5) whose edge tap / sum >= 1/65535, minus nothing."""
    best = 3
    for width in range(5, 4001, 2):
        j = width // 2
        g = [math.exp(-(i * i) / (2 * sigma * sigma)) for i in range(-j, j + 1)]
        total = sum(g) ** dims
        if g[-1] / total < 1 / 65535:
            return best
        best = width
    raise AssertionError("no width")


def test_large_gaussians_are_cut_short_as_imagemagick_does():
    """Its auto width compares one edge tap with the whole 2D sum, so a wide Gaussian stops early:
    sigma 400 gets 253 taps (ImageMagick 6.9 prints the same), though 1D Blur:0x400 gets 2315."""
    assert read_kernel("Gaussian:0x400").values.shape == (optimal_width(400, 2),) * 2 == (253, 253)
    assert read_kernel("Blur:0x400").values.shape == (1, optimal_width(400, 1)) == (1, 2315)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.3])
def test_gaussian_formula(sigma):
    k = read_kernel(f"Gaussian:0x{sigma}")
    size = optimal_width(sigma, 2)
    assert k.values.shape == (size, size) and k.origin == (size // 2, size // 2)
    u = np.arange(size) - size // 2
    g = np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma**2))
    g[g / (2 * math.pi * sigma**2) < 1e-12] = 0
    np.testing.assert_allclose(k.values, g / g.sum(), rtol=1e-12, atol=1e-300)
    assert read_kernel(f"Gaussian:4x{sigma}").values.shape == (9, 9)  # an explicit radius: 2 r + 1


def test_log_and_dog_scale_positive_and_negative_taps_separately():
    """ImageMagick's LoG/DoG: (1 - R) e^-R and G1 - G2 shapes, positive taps summing to 1, negative to -1."""
    sigma = 1.4
    k = read_kernel(f"LoG:5x{sigma}").values
    u = np.arange(11) - 5
    big_r = (u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma**2)
    shape = (1 - big_r) * np.exp(-big_r)
    want = np.where(shape > 0, shape / shape[shape > 0].sum(), -shape / shape[shape < 0].sum())
    np.testing.assert_allclose(k, want, rtol=1e-12, atol=1e-15)
    d = read_kernel("DoG:4,1,2").values
    r2 = u[1:-1, None] ** 2 + u[None, 1:-1] ** 2
    diff = np.exp(-r2 / 2) / (2 * math.pi) - np.exp(-r2 / 8) / (8 * math.pi)
    want = np.where(diff > 0, diff / diff[diff > 0].sum(), -diff / diff[diff < 0].sum())
    np.testing.assert_allclose(d, want, rtol=1e-12, atol=1e-15)
    assert d[d > 0].sum() == pytest.approx(1) and d[d < 0].sum() == pytest.approx(-1)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_blur_and_comet_formula(sigma):
    """Gaussians at thirds of a pixel summed into each tap ("KernelRank 3"); Comet is the one-sided half,
    its origin the first tap; 90 degrees makes a column."""
    width = optimal_width(sigma, 1)
    s = 3 * sigma
    v = (3 * width - 1) // 2
    want = np.zeros(width)
    for u in range(-v, v + 1):
        want[(u + v) // 3] += math.exp(-u * u / (2 * s * s))
    blur = read_kernel(f"Blur:0x{sigma}")
    assert blur.origin == (0, width // 2)
    np.testing.assert_allclose(blur.values[0], want / want.sum(), rtol=1e-12)
    np.testing.assert_allclose(read_kernel(f"Blur:0x{sigma},90").values[:, 0], want / want.sum(), rtol=1e-12)
    cw = (width - 1) // 2 + 1
    comet = np.zeros(cw)
    for u in range(3 * cw):
        comet[u // 3] += math.exp(-u * u / (2 * s * s))
    k = read_kernel(f"Comet:0x{sigma}")
    assert k.origin == (0, 0)
    np.testing.assert_allclose(k.values[0], comet / comet.sum(), rtol=1e-12)
    k = read_kernel(f"Comet:0x{sigma},180")
    assert k.origin == (0, cw - 1)
    np.testing.assert_allclose(k.values[0], comet[::-1] / comet.sum(), rtol=1e-12)


def test_shapes_formula():
    def shape(spec):
        k = read_kernel(spec)
        return ~np.isnan(k.values), k

    inside, k = shape("Disk:5.3")
    u = np.arange(11) - 5
    np.testing.assert_array_equal(inside, u[:, None] ** 2 + u[None, :] ** 2 <= 28)  # int(5.3^2)
    assert np.all(k.values[inside] == 1)
    inside, _ = shape("Diamond:2")
    u = np.arange(5) - 2
    np.testing.assert_array_equal(inside, np.abs(u[:, None]) + np.abs(u[None, :]) <= 2)
    inside, _ = shape("Octagon:3")
    u = np.arange(7) - 3
    np.testing.assert_array_equal(inside, np.abs(u[:, None]) + np.abs(u[None, :]) <= 4)
    inside, k = shape("Ring:2,4,3")
    u = np.arange(9) - 4
    r2 = u[:, None] ** 2 + u[None, :] ** 2
    np.testing.assert_array_equal(inside, (r2 > 4) & (r2 <= 16))
    assert np.all(k.values[inside] == 3)
    assert read_kernel("Square:3").values.tolist() == np.ones((7, 7)).tolist()
    _, k = shape("Disk:2,0.5")
    assert np.nanmax(k.values) == 0.5
    # Fractional radii: size 2 floor(r) + 1, limits int(r^2).
    inside, _ = shape("Disk:1.5")
    assert inside.shape == (3, 3) and inside.all()  # u^2 + v^2 <= 2
    inside, _ = shape("Ring:2.5,3.5")
    u = np.arange(7) - 3
    r2 = u[:, None] ** 2 + u[None, :] ** 2
    np.testing.assert_array_equal(inside, (r2 > 6) & (r2 <= 12))


def test_edge_kernels_formula():
    sobel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_array_equal(read_kernel("Sobel").values, sobel)
    np.testing.assert_array_equal(read_kernel("Sobel:90").values, np.rot90(sobel, -1))  # clockwise
    np.testing.assert_array_equal(read_kernel("Sobel:180").values, sobel[::-1, ::-1])
    np.testing.assert_array_equal(read_kernel("Sobel:45").values, [[2, 1, 0], [1, 0, -1], [0, -1, -2]])
    np.testing.assert_array_equal(read_kernel("Kirsch:45").values, [[5, 5, -3], [5, 0, -3], [-3, -3, -3]])
    np.testing.assert_array_equal(read_kernel("Roberts:45").values, [[1, 0, 0], [0, -1, 0], [0, 0, 0]])
    # FreiChen's "/ 2*sqrt(2)" is, in C, * sqrt(2) / 2.
    np.testing.assert_allclose(read_kernel("FreiChen:1").values,
                               np.array([[1, 0, -1], [SQ2, 0, -SQ2], [1, 0, -1]]) * SQ2 / 2, rtol=1e-15)
    np.testing.assert_allclose(read_kernel("FreiChen:17").values, np.array([[1, -2, 1], [-2, 4, -2], [-1, -2, 1]]) / 6)
    np.testing.assert_array_equal(read_kernel("Laplacian:15").values,
                                  [[0, 0, -1, 0, 0], [0, -1, -2, -1, 0], [-1, -2, 16, -2, -1],
                                   [0, -1, -2, -1, 0], [0, 0, -1, 0, 0]])


def test_array_syntax_forms():
    k = read_kernel("3x2: 1 nan 2 - 3 4")
    assert k.origin == (0, 1) and np.isnan(k.values[0, 1]) and np.isnan(k.values[1, 0])
    # Origin row 0 of 2: one zero row above centres it.
    np.testing.assert_array_equal(parse_kernel("3x2: 1 nan 2 - 3 4"), [[0, 0, 0], [1, 0, 2], [0, 3, 4]])
    assert read_kernel("2x1: 1 -1").origin == (0, 0)  # even sizes: the tap left of centre
    assert read_kernel(" ;3x3:\n1 2 1\n2 4 2\n1 2 1; ").values.shape == (3, 3)  # spare ';' and newlines
    np.testing.assert_array_equal(parse_kernel("3: 1,2,1, 2,4,2, 1,2,1"), [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_plain_syntax_is_still_plain():
    """imgconv's own rows-of-numbers syntax is untouched, comments with ':' included."""
    np.testing.assert_array_equal(parse_kernel("# kernel: a box\n1 1\n1 1\n"), np.ones((2, 2)))
    np.testing.assert_array_equal(parse_kernel("1 2; 3 4"), [[1, 2], [3, 4]])
    with pytest.raises(ImgconvError, match="NaN or infinity"):
        parse_kernel("inf 1")


# --- origins: through imgconv.convolve against scipy's origin= and ImageMagick's own convolution ------


ORIGIN_SPECS = [("4x3+3+2: 1 2 3 4 5 6 7 8 9 10 11 12", 4, 3, 3, 2),
                ("4x3+0+0: 1 -2 3 4 5 6 7 -8 9 10 11 12", 4, 3, 0, 0),
                ("5x2+1+1: 1 2 3 4 5 6 7 8 9 10", 5, 2, 1, 1),
                ("3x3+2+0: 1 2 3 4 5 6 7 8 9", 3, 3, 2, 0),
                ("2x2: 1 2 3 4", 2, 2, 0, 0),
                ("1x5+0+4: 1 2 3 4 5", 1, 5, 0, 4)]


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("spec, w, h, x, y", ORIGIN_SPECS)
def test_origin_is_honoured_exactly(rng, spec, w, h, x, y, border, correlate):
    """scipy's origin shifts a kernel from its centre (H // 2, W // 2): origin = (y - H // 2, x - W // 2)."""
    values = np.array([float(v) for v in spec.split(":")[1].split()]).reshape(h, w)
    image = random_image(rng, (19, 23), "float32")
    op = ndimage.correlate if correlate else ndimage.convolve
    want = op(image.astype(np.float64), values, mode=border, cval=0.3, origin=(y - h // 2, x - w // 2))
    got = imgconv.convolve(image, parse_kernel(spec), border=border, cval=0.3, correlate=correlate)
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(image, values))


@needs_magick
@pytest.mark.parametrize("method", ["Convolve", "Correlate"])
@pytest.mark.parametrize("spec", [s for s, *_ in ORIGIN_SPECS[:3]] + ["Comet:0x2", "Comet:0x2,90", "Blur:0x1.5,90"])
def test_convolution_equals_imagemagicks(tmp_path, rng, spec, method):
    """A 16-bit image convolved by ImageMagick (edge pixels repeated: 'nearest') and by imgconv."""
    from PIL import Image

    pixels = rng.integers(0, 65536, (21, 26)).astype(np.uint16)
    src, dst = tmp_path / "in.pgm", tmp_path / "out.pgm"
    Image.fromarray(pixels).save(src)
    # Positive taps normalised, so ImageMagick's integer result is never clipped.
    subprocess.run([MAGICK, src, "-define", "convolve:scale=!", "-morphology", method, spec, "-depth", "16", dst],
                   check=True)
    theirs = np.asarray(Image.open(dst)).astype(np.float64)
    taps = scale_kernel(parse_kernel(spec), "!")
    ours = imgconv.convolve(pixels, taps, border="nearest", correlate=method == "Correlate")
    assert np.abs(ours - theirs).max() <= 1.0  # ImageMagick rounds to integers


# --- scaling -----------------------------------------------------------------------------------------


SCALE_CASES = [("3x3: 1,2,1 2,4,2 1,2,1", "!"), ("3x3: 1,2,1 2,4,2 1,2,1", "50%!"), ("3x3: 1,2,1 2,4,2 1,2,1", "2"),
               ("3x3: 1,2,1 2,4,2 1,2,1", "-1!,100%"), ("3x3: 1,2,1 2,4,2 1,2,1", "0.5,1.5"),
               ("Laplacian:0", "!"), ("Laplacian:0", "^"), ("3x3: 1 -2 3 -4 5 -6 7 -8 1", "^"),
               ("3x3: 1 -2 3 -4 5 -6 7 -8 1", "!"), ("Sobel", "25%!"), ("Gaussian:0x1", ",100%")]


@needs_magick
@pytest.mark.parametrize("spec, scale", SCALE_CASES)
def test_scale_equals_imagemagicks(spec, scale):
    values, origin = magick_kernel(spec, scale)
    assert origin == ((values.shape[0] - 1) // 2, (values.shape[1] - 1) // 2)  # odd, centred: taps == values
    np.testing.assert_allclose(scale_kernel(parse_kernel(spec), scale), values, rtol=1e-13, atol=1e-16)


def test_scale_formula():
    k = np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])
    np.testing.assert_allclose(scale_kernel(k, "!"), k / 16)
    np.testing.assert_allclose(scale_kernel(k, "50%!"), k / 32)
    np.testing.assert_allclose(scale_kernel(k, "3"), 3 * k)
    identity = np.zeros((3, 3))
    identity[1, 1] = 1
    np.testing.assert_allclose(scale_kernel(k, "-100!,200%"), 2 * identity - k / 16)  # sharpen from a blur
    np.testing.assert_allclose(scale_kernel(k, ",100%"), k + identity)
    lap = np.array([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    np.testing.assert_allclose(scale_kernel(lap, "!"), lap / 8)  # zero-sum: by the positive sum
    mixed = np.array([[3.0, -1.0, 1.0]])
    np.testing.assert_allclose(scale_kernel(mixed, "^"), [[0.75, -1.0, 0.25]])


# --- libvips .mat and .npy files -----------------------------------------------------------------------


def test_mat_files(tmp_path):
    k = parse_mat("3 3 16 128\n1 2 1\n2 4 2\n1 2 1\n")
    assert isinstance(k, KernelFile) and k.correlate and k.offset == pytest.approx(128 / 255)
    np.testing.assert_allclose(k.taps, np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    k = parse_mat('2 1\n"0.5","-1.5"\n\n')  # defaults: scale 1, offset 0; quotes and commas separate
    assert k.offset == 0 and k.taps.tolist() == [[0.5, -1.5]]
    path = tmp_path / "emboss.mat"
    path.write_text("3 3 1 128\n-1 -1 0\n-1 0 1\n0 1 1\n")
    assert load_kernel(path).taps.tolist() == [[-1, -1, 0], [-1, 0, 1], [0, 1, 1]]


@pytest.mark.parametrize("border", BORDERS)
def test_mat_kernel_filters_like_libvips(rng, tmp_path, border):
    """sum(pixel[i] * mask[i]) / scale + offset: a correlation, the offset in 8-bit levels."""
    path = tmp_path / "k.mat"
    path.write_text("4 3 6 100\n1 0 -1 2\n0 3 0 0\n-2 0 1 1\n")
    spec = load_kernel(path)
    image = random_image(rng, (17, 20, 3), "uint16")
    got = apply_filter(image, custom(spec.taps, correlate=spec.correlate, offset=spec.offset), 65535,
                       border=border)
    mask = np.array([[1, 0, -1, 2], [0, 3, 0, 0], [-2, 0, 1, 1]], np.float64)
    for c in range(3):
        want = ndimage.correlate(image[..., c].astype(float), mask, mode=border) / 6 + 100 / 255 * 65535
        np.testing.assert_allclose(got[..., c], want, rtol=0, atol=tolerance(image, mask / 6) + 0.01)


def test_npy_and_text_files(tmp_path):
    kernel = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "k.npy", kernel)
    loaded = load_kernel(tmp_path / "k.npy")
    assert not loaded.correlate and loaded.offset == 0
    np.testing.assert_array_equal(loaded.taps, kernel)
    (tmp_path / "k.txt").write_text("Disk:1")
    np.testing.assert_array_equal(load_kernel(tmp_path / "k.txt").taps, [[0, 1, 0], [1, 1, 1], [0, 1, 0]])


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("3\n1 2 3\n", "width height"), ("3 1 0\n1 2 3\n", "scale"), ("3 1 1 2 9\n1 2 3\n", "width height"),
    ("2.5 1\n1 2\n", "whole numbers"), ("0 1\n\n", "whole numbers"), ("3 2\n1 2 3\n", "2 rows"),
    ("3 2\n1 2 3\n4 5\n", "row 2 has 2"), ("2 1\n1 x\n", "'x' is not a number"), ("2 1 a\n1 1\n", "'a'"),
    ("2 1\n1 2\n3 4\n", "1 rows"),
])
def test_bad_mat_files(text, message):
    with pytest.raises(ImgconvError, match=message):
        parse_mat(text)


def test_bad_npy_files(tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    for name in ("cube.npy", "objects.npy", "junk.npy", "missing.npy"):
        with pytest.raises(ImgconvError):
            load_kernel(tmp_path / name)


# --- bad ImageMagick strings -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("Nosuch:3", "unknown kernel name 'Nosuch'"),
    ("Edges", "unknown kernel name"),
    ("Sobel:1,2", "Sobel takes at most 1 argument"),
    ("Disk:5,1,2", "Disk takes at most 2 arguments"),
    ("Gaussian:0x2x3", "Gaussian takes at most 2 arguments"),
    ("Gaussian:0xa", "cannot read"),
    ("Gaussian:1 2", "cannot read"),
    ("Rectangle:1x2+3+4+5", "too many arguments"),
    ("3x3: 1 2 x 4 5 6 7 8 9", "'x' is not a number"),
    ("3x3: 1 2 3", "needs 9 values, got 3"),
    ("3x3: 1 2 3 4 5 6 7 8 9 10", "needs 9 values, got 10"),
    ("3x3+3+0: 1 2 3 4 5 6 7 8 9", "origin \\+3\\+0 is outside the 3x3 kernel"),
    ("3x3+0+5: 1 2 3 4 5 6 7 8 9", "outside"),
    ("3x3-1+0: 1 2 3 4 5 6 7 8 9", "outside"),
    ("Rectangle:3x2+3+0", "outside"),
    ("3.5x3: 1 2 3", "whole numbers"),
    ("0x3: 1", "at least 1"),
    ("ax3: 1", "unknown kernel name"),
    ("2x1: nan -", "no values"),
    ("3x1: 1 inf 2", "not a finite number"),
    ("Gaussian:0x2;Disk", "lists"),
    ("Sobel:45@", "rotation lists"),
    ("3x3@: 1 2 3 4 5 6 7 8 9", "rotation lists"),
    ("Gaussian:0x2!", "unexpected"),
    ("Blur:0x3,45", "only 3x3 kernels by 45 degrees"),
    ("Comet:0x3,45", "only 3x3 kernels by 45 degrees"),
    ("FreiChen:10", "list of nine"),
    ("Laplacian:4", "type must be one of"),
    ("Rectangle:3x2,90", "outside"),
    ("Disk:1e999", "not a finite number"),
    ("Disk:1e300", "more than 4001 taps"),
    ("Gaussian:3000x1", "more than 4001 taps"),
    ("Square:2001", "more than 4001 taps"),
    ("Comet:5000x1", "more than 4001 taps"),
    ("Rectangle:5000x3", "more than 4001 taps"),
    ("Ring:1,3000", "more than 4001 taps"),  # Rectangle takes no angle: its xi is an origin -- 90 is outside
])
def test_bad_strings(text, message):
    with pytest.raises(ImgconvError, match=message):
        parse_kernel(text)


def test_bad_scale_specs():
    k = np.ones((3, 3))
    for spec, message in [("!^", "not both"), ("1,2,3", "at most two"), ("abc", "cannot read"),
                          ("!", None)]:
        if message is None:
            scale_kernel(k, spec)
        else:
            with pytest.raises(ImgconvError, match=message):
                scale_kernel(k, spec)
    with pytest.raises(ImgconvError, match="all zero"):
        scale_kernel(np.zeros((3, 3)), "!")


def test_cli_accepts_imagemagick_kernels_and_reports_bad_ones(tmp_path):
    from click.testing import CliRunner
    from PIL import Image

    from imgconv.cli import cli

    pixels = np.random.default_rng(3).integers(0, 256, (20, 24), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "in.png")
    result = CliRunner().invoke(cli, ["convolve", str(tmp_path / "in.png"), str(tmp_path / "out.png"),
                                      "--kernel", "3x1+0+0: 1 1 2", "--normalize"])
    assert result.exit_code == 0, result.output
    want = ndimage.convolve(pixels.astype(float), np.array([[1, 1, 2]]) / 4, mode="reflect", origin=(0, -1))
    assert np.abs(np.asarray(Image.open(tmp_path / "out.png")).astype(float) - np.rint(want)).max() <= 1
    result = CliRunner().invoke(cli, ["kernels", "show", "Disk:5.3"])
    assert result.exit_code == 0 and "11x11" in result.output
    for bad in ("Nosuch:2", "3x3: 1 2"):
        result = CliRunner().invoke(cli, ["kernels", "show", bad])
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.parametrize("module", ["imgconv.syntax.imagemagick", "imgconv.syntax.vips"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
