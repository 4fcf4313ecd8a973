"""The CLI end to end: through click's CliRunner for every command, and once as a real subprocess."""

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

from imgconv import filters
from imgconv.apply import apply_filter
from imgconv.cli import cli
from imgconv.dtypes import to_dtype
from imgconv.filters import gaussian_kernel
from imgconv.io import load

from conftest import SAMPLES


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


@pytest.fixture
def grey(tmp_path):
    """A small random 8-bit grey PNG."""
    pixels = np.random.default_rng(5).integers(0, 256, (24, 32), dtype=np.uint8)
    path = tmp_path / "grey.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


@pytest.mark.parametrize("algo", ["auto", "direct", "separable", "fft", "im2col"])
def test_blur_matches_scipy_for_every_algo(grey, tmp_path, algo):
    path, pixels = grey
    out = tmp_path / f"blur-{algo}.png"
    result = run("blur", path, out, "--sigma", "1.5", "--algo", algo)
    assert result.exit_code == 0, result.output
    expected = np.clip(np.rint(ndimage.convolve(pixels.astype(float), gaussian_kernel(1.5), mode="reflect")), 0, 255)
    got = np.asarray(Image.open(out))
    assert got.dtype == np.uint8 and got.shape == pixels.shape
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_convolve_kernel_string_with_border_and_correlate(grey, tmp_path):
    path, pixels = grey
    out = tmp_path / "k.png"
    result = run("convolve", path, out, "--kernel", "0 0 0 1; 0 0 0 0", "--correlate", "--border", "wrap")
    assert result.exit_code == 0, result.output
    expected = ndimage.correlate(pixels.astype(float), np.array([[0, 0, 0, 1], [0, 0, 0, 0.0]]), mode="wrap")
    assert np.array_equal(np.asarray(Image.open(out)), expected.astype(np.uint8))


def test_kernel_file_with_comments(grey, tmp_path):
    path, pixels = grey
    kfile = tmp_path / "k.txt"
    kfile.write_text("# a 2x3 kernel\n1 2 3  # first row\n4 5 6\n")
    out = tmp_path / "k.png"
    assert run("convolve", path, out, "--kernel-file", kfile, "--normalize").exit_code == 0
    expected = ndimage.convolve(pixels.astype(float), np.arange(1, 7.0).reshape(2, 3) / 21, mode="reflect")
    assert np.abs(np.asarray(Image.open(out)).astype(int) - np.rint(expected)).max() <= 1


def test_forced_algo_that_cannot_run_is_a_clear_error(grey, tmp_path):
    path, _ = grey
    out = tmp_path / "x.png"
    full_rank = "; ".join(" ".join(str((3 * i + 7 * j) % 11) for j in range(5)) for i in range(5))
    result = run("convolve", path, out, "--kernel", full_rank, "--algo", "separable")
    assert result.exit_code != 0
    assert "rank 5" in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert run("sharpen", path, out, "--algo", "sat").exit_code != 0


@pytest.mark.parametrize("command", [
    ["blur", "--sigma", "1"], ["box", "--size", "4"], ["sharpen", "--amount", "0.5"],
    ["unsharp", "--amount", "1.5", "--threshold", "0.02"], ["emboss", "--angle", "135"], ["sobel", "--axis", "x"],
])
def test_every_filter_command_writes_an_image(command, tmp_path):
    out = tmp_path / "out.png"
    result = run(command[0], SAMPLES / "coffee.jpg", out, *command[1:])
    assert result.exit_code == 0, result.output
    with Image.open(out) as img:
        assert img.size == (600, 400)
        assert img.mode == ("L" if command[0] == "sobel" else "RGB")


@pytest.fixture
def rgb(tmp_path):
    """A small random 8-bit RGB PNG."""
    pixels = np.random.default_rng(6).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


#: Each filter command with option values that differ from the defaults and from each other, and the
#: library Filter built with the same values.  Alternatives: the same builder given the values swapped
#: or left at their defaults -- each must give other pixels, so a value that does not reach the filter
#: (or reaches the wrong parameter) fails the test.
OPTION_CASES = {
    "sharpen": (["--amount", "0.3"], dict(amount=0.3), [dict()]),
    "unsharp": (["--sigma", "1.5", "--amount", "0.7", "--threshold", "0.05"],
                dict(sigma=1.5, amount=0.7, threshold=0.05),
                [dict(sigma=0.7, amount=1.5, threshold=0.05), dict(sigma=1.5, amount=0.05, threshold=0.7),
                 dict(sigma=1.5, amount=0.7), dict(sigma=1.5, threshold=0.05), dict(amount=0.7, threshold=0.05)]),
    "emboss": (["--angle", "135", "--strength", "2"], dict(angle=135.0, strength=2.0),
               [dict(angle=2.0, strength=135.0), dict(angle=135.0), dict(strength=2.0)]),
    "blur": (["--sigma", "1.5", "--radius", "2"], dict(sigma=1.5, radius=2),
             [dict(sigma=2.0, radius=1), dict(sigma=1.5), dict(radius=2)]),
    "box": (["--size", "4"], dict(size=4), [dict()]),
    "sobel": (["--axis", "y"], dict(axis="y"), [dict(), dict(axis="x")]),
}


@pytest.mark.parametrize("command", sorted(OPTION_CASES))
def test_option_values_reach_the_pixels(rgb, tmp_path, command):
    """The output equals the library filter built with the same values (imgconv.filters.FILTERS)."""
    path, pixels = rgb
    words, values, alternatives = OPTION_CASES[command]
    out = tmp_path / "out.png"
    result = run(command, path, out, *words)
    assert result.exit_code == 0, result.output
    builder = filters.FILTERS[command]

    def pixels_of(filt):  # uint8 results as the command stores them (the engine's own uint8 rounding)
        filtered = apply_filter(pixels, filt, 255.0, out_dtype=np.uint8)
        return filtered[..., 0] if filt.grey else filtered

    got = np.asarray(Image.open(out))
    np.testing.assert_array_equal(got, pixels_of(builder(**values)))
    for other in alternatives:
        assert not np.array_equal(got, pixels_of(builder(**other))), f"{command}: {other} gives the same pixels"


def test_unsharp_threshold_leaves_some_pixels_alone(rgb):
    """The unsharp case above tests --threshold only if 0.05 keeps some of its pixels and not others
    (ImageMagick's rule: left alone where |2 (image - blur)| < threshold x white)."""
    _, pixels = rgb
    blurred = np.stack([ndimage.convolve(pixels[..., c].astype(float), gaussian_kernel(1.5), mode="reflect")
                        for c in range(3)], axis=-1)
    left_alone = np.abs(2 * (pixels - blurred)) < 0.05 * 255
    assert 0.05 < left_alone.mean() < 0.95


def test_blur_radius_sets_the_kernel_size(grey, tmp_path):
    """--radius 1 with sigma 2: the 3x3 sampled Gaussian written out here, not the 13x13 of radius ceil(3 sigma)."""
    path, pixels = grey
    out = tmp_path / "r1.png"
    assert run("blur", path, out, "--sigma", "2", "--radius", "1").exit_code == 0
    g = np.exp(-np.array([-1.0, 0.0, 1.0]) ** 2 / (2 * 2.0**2))
    exact = ndimage.convolve(pixels.astype(float), np.outer(g, g) / np.outer(g, g).sum(), mode="reflect")
    got = np.asarray(Image.open(out)).astype(float)
    assert np.abs(got - exact).max() <= 0.5 + 1e-3  # the exact value, rounded
    default = ndimage.convolve(pixels.astype(float), gaussian_kernel(2.0), mode="reflect")
    assert np.abs(got - default).max() > 5


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("cval", [0.25, 1.0])
def test_cval_is_a_fraction_of_white(tmp_path, dtype, cval):
    """--border constant --cval C fills beyond the edge with C x white (255 or 65535), as scipy's cval."""
    full = np.iinfo(dtype).max
    pixels = np.random.default_rng(8).integers(0, full + 1, (20, 26), dtype=dtype)
    path, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(pixels).save(path)
    result = run("convolve", path, out, "--kernel", "1 1 1; 1 1 1; 1 1 1", "--normalize", "--border", "constant",
                 "--cval", str(cval))
    assert result.exit_code == 0, result.output
    got = load(out).pixels[..., 0].astype(float)
    exact = ndimage.convolve(pixels.astype(float), np.full((3, 3), 1 / 9), mode="constant", cval=cval * full)
    assert np.abs(got - exact).max() <= 0.5 + 1e-6 * full  # the exact value, rounded (float32 sums)
    black = ndimage.convolve(pixels.astype(float), np.full((3, 3), 1 / 9), mode="constant", cval=0.0)
    assert np.abs(got - black).max() > 0.05 * full  # the border really is not black


def test_threads_option_reaches_the_engine(grey, tmp_path, monkeypatch):
    """--threads N: the engine runs its row blocks on N threads (FFT: a numpy engine, so always
    threaded) and the pixels do not depend on N."""
    import imgconv.engine.fft as fft

    path, _ = grey
    seen = []
    real = fft.run_rows

    def spy(function, height, threads, *args, **kwargs):
        seen.append(threads)
        return real(function, height, threads, *args, **kwargs)

    monkeypatch.setattr(fft, "run_rows", spy)
    outputs = {}
    for threads in ("3", "1"):
        out = tmp_path / f"t{threads}.png"
        result = run("blur", path, out, "--algo", "fft", "--threads", threads, "-v")
        assert result.exit_code == 0, result.output
        assert f"[numpy, {threads} thread(s)]" in result.output
        outputs[threads] = np.asarray(Image.open(out))
    assert seen == [3, 1]
    np.testing.assert_array_equal(outputs["3"], outputs["1"])


def test_verbose_names_engine_and_reason(grey, tmp_path):
    path, _ = grey
    result = run("box", path, tmp_path / "b.png", "--size", "5", "-v")
    assert result.exit_code == 0
    assert "engine " in result.output and "estimates" in result.output and "time" in result.output


def test_existing_output_is_not_overwritten(grey, tmp_path):
    path, pixels = grey
    result = run("blur", path, path)
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert np.array_equal(np.asarray(Image.open(path)), pixels)


def test_kernels_list_and_show():
    listing = run("kernels")
    assert listing.exit_code == 0 and "sobel-x" in listing.output
    shown = run("kernels", "show", "sobel-x")
    assert shown.exit_code == 0
    assert "rank 1" in shown.output and "separable: yes" in shown.output
    sharpen = run("kernels", "show", "sharpen")
    assert "rank 2" in sharpen.output and "separable: no" in sharpen.output
    assert run("kernels", "show", "no-such-kernel").exit_code == 2


def _printed_matrix(lines):
    return np.array([[float(v) for v in line.strip(" []").split()] for line in lines])


def test_kernels_show_a_kernel_string():
    """A kernel string instead of a name: its taps, the rank numpy finds and, for rank 1, factors whose
    outer product is the kernel."""
    text = "1 2 3; 2 4 6"
    shown = run("kernels", "show", text)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    kernel = np.array([[1.0, 2, 3], [2, 4, 6]])
    assert lines[0].startswith(f"{text} 2x3, sum {kernel.sum():g}")
    np.testing.assert_array_equal(_printed_matrix(lines[1:3]), kernel)
    assert lines[3].startswith(f"rank {np.linalg.matrix_rank(kernel)} ") and "separable: yes" in shown.output
    column = _printed_matrix([lines[5].split("=")[1]])[0]
    row = _printed_matrix([lines[6].split("=")[1]])[0]
    np.testing.assert_allclose(np.outer(column, row), kernel, rtol=1e-4)

    full = run("kernels", "show", "1 0 2; 0 1 0; 3 0 1")
    assert full.exit_code == 0
    rank = np.linalg.matrix_rank(np.array([[1, 0, 2], [0, 1, 0], [3, 0, 1]]))
    assert f"rank {rank} " in full.output and f"separable: no (a sum of {rank} separable pairs)" in full.output
    ragged = run("kernels", "show", "1 2; 3")
    assert ragged.exit_code == 2 and "Traceback" not in ragged.output


def test_16_bits_to_jpeg_is_rounded_to_8_bits_with_a_note(tmp_path):
    """The 16-bit result rounded to 8 bits and encoded as Pillow encodes it at quality 95, and a note."""
    src16 = SAMPLES / "camera16.png"
    out = tmp_path / "out.jpg"
    result = run("blur", src16, out, "-v")
    assert result.exit_code == 0, result.output
    assert "JPEG holds 8 bits per sample: uint16 samples reduced to 8 bits (rounded)" in result.output
    picture = load(src16)
    sixteen = to_dtype(apply_filter(picture.pixels, filters.blur(), 65535.0), np.uint16)
    eight = np.rint(sixteen[..., 0].astype(float) * 255 / 65535).astype(np.uint8)
    reference = tmp_path / "reference.jpg"
    Image.fromarray(eight).save(reference, quality=95)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(reference)))


def test_alpha_to_bmp_is_composited_over_white_with_a_note(tmp_path):
    """Composited over white (exact integer arithmetic here), and a note."""
    rgba = SAMPLES / "coffee_rgba.png"
    out = tmp_path / "out.bmp"
    result = run("blur", rgba, out, "-v")
    assert result.exit_code == 0, result.output
    assert "BMP holds no alpha: composited over white" in result.output
    picture = load(rgba)
    blurred = to_dtype(apply_filter(picture.pixels, filters.blur(), 255.0, alpha=True), np.uint8).astype(np.int64)
    colour, alpha = blurred[..., :3], blurred[..., 3:]
    over_white = (colour * alpha + 255 * (255 - alpha) + 127) // 255  # round(x / 255): x / 255 is never n + 1/2
    np.testing.assert_array_equal(np.asarray(Image.open(out)), over_white)


def _webp(pixels, path, **params):
    """Pillow's WebP of `pixels`, decoded."""
    Image.fromarray(pixels).save(path, "WEBP", **params)
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("quality", [None, 60])
def test_webp_quality_from_a_lossy_input_default_95_and_overridable(tmp_path, quality):
    """A JPEG input: the WebP written is Pillow's at --quality (default 95), and another quality differs."""
    src, out = tmp_path / "in.jpg", tmp_path / "out.webp"
    Image.fromarray(np.random.default_rng(9).integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(src, quality=90)
    assert run("convolve", src, out, "--kernel", "1", *(["--quality", quality] if quality else [])).exit_code == 0
    pixels = np.asarray(Image.open(src))
    got = np.asarray(Image.open(out))
    np.testing.assert_array_equal(got, _webp(pixels, tmp_path / "reference.webp", quality=quality or 95))
    assert not np.array_equal(got, _webp(pixels, tmp_path / "other.webp", quality=80))


def test_webp_from_a_lossless_input_is_lossless_unless_quality_is_given(rgb, tmp_path):
    path, pixels = rgb
    out = tmp_path / "out.webp"
    result = run("convolve", path, out, "--kernel", "1", "-v")
    assert result.exit_code == 0 and "lossless" in result.output
    np.testing.assert_array_equal(np.asarray(Image.open(out)), pixels)  # every value kept
    assert run("convolve", path, out, "--kernel", "1", "--quality", "60", "--overwrite").exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), _webp(pixels, tmp_path / "q60.webp", quality=60))


def test_notes_go_to_stderr_when_the_image_goes_to_stdout(tmp_path):
    """`-` as the output: stdout holds exactly the image a file output gets; notes and engine lines go to
    stderr."""
    src16 = SAMPLES / "camera16.png"
    command = [sys.executable, "-m", "imgconv.cli", "blur", str(src16)]
    piped = subprocess.run(command + ["-", "--format", "jpg", "-v"], capture_output=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert b"reduced to 8 bits" in piped.stderr and b"engine" in piped.stderr
    to_file = subprocess.run(command + [str(tmp_path / "out.jpg")], capture_output=True, timeout=300)
    assert to_file.returncode == 0, to_file.stderr
    assert piped.stdout == (tmp_path / "out.jpg").read_bytes()


def test_real_subprocess_on_a_sample(tmp_path):
    out = tmp_path / "astronaut-blur.jpg"
    proc = subprocess.run([sys.executable, "-m", "imgconv.cli", "blur", str(SAMPLES / "astronaut.jpg"), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as img, Image.open(SAMPLES / "astronaut.jpg") as src:
        assert img.size == src.size and img.mode == "RGB"
        # A blur lowers local contrast: the mean absolute horizontal difference drops.
        def roughness(im):
            return np.abs(np.diff(np.asarray(im, np.float32), axis=1)).mean()
        assert roughness(img) < 0.6 * roughness(src)
