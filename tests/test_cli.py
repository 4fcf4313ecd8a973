"""The CLI end to end: through click's CliRunner for every command, and once as a real subprocess."""

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

from imgconv.cli import cli
from imgconv.filters import gaussian_kernel

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
