"""Bad input: one clear line on stderr, no traceback (unless --debug), and the documented exit code.

Exit codes: 0 ok, 1 an input failed (file missing, unreadable, corrupt, too big...), 2 usage error
(bad option value, bad kernel, output name imgconv cannot write).
"""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from imgconv.cli import cli

from conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_clean_error(result, code, *words):
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # nothing escaped click
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (16, 20, 3), dtype=np.uint8)).save(path)
    return path


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width, height, idat=b""):
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(idat)) \
        + _png_chunk(b"IEND", b"")


def _bad_inputs(tmp_path, good):
    """name -> (path, words the message must contain)."""
    cases = {}
    cases["missing file"] = (tmp_path / "nope.png", ["no such file"])
    folder = tmp_path / "folder.png"
    folder.mkdir()
    cases["directory"] = (folder, ["is a directory"])
    text = tmp_path / "notes.png"
    text.write_text("these are not pixels\n")
    cases["not an image"] = (text, ["not an image"])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    cases["empty file"] = (empty, ["empty file"])
    data = good.read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    cases["truncated PNG"] = (truncated, ["truncated"])
    jpeg = (SAMPLES / "coffee.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg[: len(jpeg) // 3])
    cases["truncated JPEG"] = (cut, ["truncated"])
    corrupt = bytearray(data)
    corrupt[60:80] = b"\xff" * 20
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(bytes(corrupt))
    cases["corrupt PNG"] = (bad, ["corrupt"])
    sixteen = tmp_path / "sixteen.png"
    Image.new("RGB", (4, 4)).save(sixteen)
    wide = bytearray(sixteen.read_bytes())
    wide[24:26] = b"\x10\x02"  # claim 16-bit RGB: the IDAT is now far too short
    wide[29:33] = struct.pack(">I", zlib.crc32(bytes(wide[12:29])))
    sixteen.write_bytes(bytes(wide))
    cases["truncated 16-bit PNG"] = (sixteen, ["truncated"])
    lab = tmp_path / "lab16.tif"  # 8-bit CIELAB is converted to sRGB; 16-bit is not read
    tifffile.imwrite(lab, np.zeros((4, 5, 3), np.uint16), photometric="cielab")
    cases["unsupported mode"] = (lab, ["unsupported TIFF (CIELAB"])
    for label, code, words in (("unsupported compression", 9, ["JBIG", "not supported"]),  # JBIG: no decoder
                               ("corrupt JPEG-in-TIFF", 7, ["corrupt", "Not a JPEG file"])):  # Deflate data
        tiff = tmp_path / f"compression{code}.tif"
        tifffile.imwrite(tiff, np.zeros((4, 5, 2), np.uint16), photometric="minisblack", planarconfig="contig",
                         extrasamples=["unspecified"], compression="zlib")
        tiff.write_bytes(tiff.read_bytes().replace(b"\x03\x01\x03\x00\x01\x00\x00\x00\x08\x00",
                                                   b"\x03\x01\x03\x00\x01\x00\x00\x00" + bytes([code, 0])))
        cases[label] = (tiff, words)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(20000, 20000))
    cases["decompression bomb"] = (bomb, ["over the limit", "--max-pixels"])
    logged = tmp_path / "logged.tif"  # found by the fuzz: Pillow *logs* an error about it to stderr first
    buffer = __import__("io").BytesIO()
    tifffile.imwrite(buffer, np.zeros((4, 4, 3), np.float32), photometric="rgb")
    damaged = bytearray(buffer.getvalue()[:106])
    damaged[38], damaged[102] = 54, 7
    logged.write_bytes(bytes(damaged))
    cases["corrupt TIFF that Pillow logs about"] = (logged, ["corrupt"])
    zero = tmp_path / "zero.png"
    zero.write_bytes(_png(0, 7))
    cases["zero-sized image"] = (zero, ["zero width or height"])
    return cases


BAD = ["missing file", "directory", "not an image", "empty file", "truncated PNG", "truncated JPEG", "corrupt PNG",
       "truncated 16-bit PNG", "unsupported mode", "unsupported compression", "corrupt JPEG-in-TIFF",
       "decompression bomb", "zero-sized image", "corrupt TIFF that Pillow logs about"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_1(tmp_path, good, case):
    path, words = _bad_inputs(tmp_path, good)[case]
    out = tmp_path / "out.png"
    assert_clean_error(run("blur", path, out), 1, str(path), *words)
    assert not out.exists()


def test_max_pixels_lowers_and_raises_the_limit(good, tmp_path):
    assert_clean_error(run("blur", good, tmp_path / "a.png", "--max-pixels", "100"), 1, "over the limit of 100")
    assert run("blur", good, tmp_path / "b.png", "--max-pixels", "320").exit_code == 0
    assert run("blur", good, tmp_path / "c.png", "--max-pixels", "0").exit_code == 0  # 0: no limit


@pytest.mark.parametrize("kernel,words", [
    ("", ["empty"]), ("   ;  ; ", ["empty"]), ("1 2; 3", ["different lengths"]), ("1 nan 1", ["NaN"]),
    ("1 inf", ["infinity"]), ("1 x 2", ["'x' is not a number"]), ("1 -1; -1 1", ["sum to zero"]),
])
def test_bad_kernels_are_usage_errors(good, tmp_path, kernel, words):
    result = run("convolve", good, tmp_path / "out.png", "--kernel", kernel, "--normalize")
    assert_clean_error(result, 2, *words)


@pytest.mark.parametrize("sigma,words", [("0", ["positive"]), ("-1", ["positive"]), ("nan", ["positive"]),
                                         ("inf", ["positive"]), ("1e9", ["out of range"])])
def test_bad_sigma_is_a_usage_error(good, tmp_path, sigma, words):
    assert_clean_error(run("blur", good, tmp_path / "out.png", "--sigma", sigma), 2, *words)


def test_box_larger_than_the_image(good, tmp_path):
    assert_clean_error(run("box", good, tmp_path / "out.png", "--size", "17"), 1, "larger than the 20x16 image")
    assert run("box", good, tmp_path / "ok.png", "--size", "16").exit_code == 0


@pytest.mark.parametrize("name", ["out.xyz", "out", "out.svg"])
def test_unknown_output_extension_is_a_usage_error(good, tmp_path, name):
    assert_clean_error(run("blur", good, tmp_path / name), 2, "unknown output extension")


def test_bad_option_value_is_exit_2(good, tmp_path):
    result = run("blur", good, tmp_path / "out.png", "--sigma", "abc")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_unexpected_error_is_one_line_unless_debug(good, tmp_path, monkeypatch):
    import imgconv.job

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(imgconv.job, "apply_in_bands", bug)
    result = run("blur", good, tmp_path / "out.png")
    assert_clean_error(result, 1, "internal error", "ZeroDivisionError: a bug", "--debug")
    debug = run("blur", good, tmp_path / "out.png", "--debug")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr and "a bug" in debug.stderr
    assert not (tmp_path / "out.png").exists()


def test_success_is_exit_0(good, tmp_path):
    result = run("blur", good, tmp_path / "out.png")
    assert result.exit_code == 0 and result.stderr == ""


def test_real_process_error_is_one_rich_line_on_stderr(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "imgconv.cli", "blur", str(tmp_path / "nope.jpg"),
                           str(tmp_path / "out.jpg")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"imgconv: {tmp_path / 'nope.jpg'}: no such file"]
