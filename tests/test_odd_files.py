"""Odd and broken files found by running a public corpus (Pillow's Tests/images, see tests/run_corpus.py)
through every command: each must give a correct output or one clean error line, never a traceback, an
internal error, a hang, stray stderr output from a C library or a partial file.

No corpus file is committed: each case is rebuilt here, a few hundred bytes, from what made the original
odd (the originals are in Pillow 13.0.0's Tests/images, MIT-CMU licence, named where they are used).
"""

import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

from imgconv.cli import cli
from imgconv.io import load

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_process(*args):
    """A real process: what C libraries write to file descriptor 2 is seen too."""
    return subprocess.run([sys.executable, "-m", "imgconv.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


# ------------------------------------------------------------------------------------ absurd dpi

def _jpeg_with_exif_resolution(path, resolution):
    """A JPEG whose JFIF header gives no unit, so Pillow takes its dpi from EXIF XResolution/YResolution."""
    exif = Image.Exif()
    exif[0x011A] = exif[0x011B] = resolution
    exif[0x0128] = 2  # inches
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(path, exif=exif.tobytes())


@pytest.mark.parametrize("ext", ["png", "tif", "bmp", "jpg"])
def test_absurd_dpi_is_dropped_with_a_note_never_a_failure(tmp_path, ext):
    """Pillow's exif_gps.jpg: an EXIF resolution of 2**32 - 1 dpi, which overflowed PNG's pHYs writer."""
    src, out = tmp_path / "in.jpg", tmp_path / f"out.{ext}"
    _jpeg_with_exif_resolution(src, 4294967295)
    with Image.open(src) as img:
        assert img.info["dpi"][0] > 1e9  # what made Pillow's pHYs writer overflow
    result = run("blur", src, out, "-v")
    assert result.exit_code == 0, result.output
    assert "dpi" in result.output and "dropped" in result.output
    if ext != "jpg":  # a JPEG keeps the EXIF tags, where Pillow finds the dpi again
        dpi = load(out).info.get("dpi")
        assert dpi is None or dpi[0] < 1000, dpi  # none, or BMP's default 96


def test_a_sane_dpi_is_kept(tmp_path):
    src, out = tmp_path / "in.jpg", tmp_path / "out.png"
    _jpeg_with_exif_resolution(src, 300)
    assert run("blur", src, out).exit_code == 0
    assert [round(d) for d in load(out).info["dpi"]] == [300, 300]


# ----------------------------------------------------------------------------------- CIELAB TIFF

def _lab_tiff(path, lab):
    """8-bit CIELAB as TIFF stores it: L 0..255 for 0..100, a and b signed bytes."""
    pixels = np.empty((6, 8, 3), np.uint8)
    pixels[:] = [lab[0], lab[1] & 0xFF, lab[2] & 0xFF]
    tifffile.imwrite(path, pixels, photometric="cielab")


@pytest.mark.parametrize("lab,rgb", [((128, 100, 0), (255, 0, 124)), ((128, -100, 0), (0, 152, 117)),
                                     ((255, 0, 0), (255, 255, 255))])
def test_lab_tiff_is_converted_to_srgb(tmp_path, lab, rgb):
    """Pillow's lab.tif, lab-red.tif, lab-green.tif: L 50, a +-100 and white.  Photoshop's sRGB for them
    (noted in Pillow's Tests/test_format_lab.py), within 3."""
    src, out = tmp_path / "lab.tif", tmp_path / "out.png"
    _lab_tiff(src, lab)
    result = run("convolve", src, out, "--kernel", "1", "-v")
    assert result.exit_code == 0, result.output
    assert "CIELAB image converted to sRGB" in result.output
    got = np.asarray(Image.open(out))
    assert got.shape == (6, 8, 3) and np.abs(got.astype(int) - rgb).max() <= 3


def test_16_bit_lab_tiff_is_one_clear_line(tmp_path):
    src = tmp_path / "lab16.tif"
    tifffile.imwrite(src, np.zeros((4, 5, 3), np.uint16), photometric="cielab")
    result = run("blur", src, tmp_path / "out.png")
    assert result.exit_code == 1 and "unsupported TIFF (CIELAB" in result.stderr


# --------------------------------------------------------------- TIFF codecs Pillow's libtiff lacks

@pytest.mark.parametrize("compression", ["webp", "jpegxl", "jpeg2000", "lerc"])
def test_tiff_compressions_libtiff_lacks_are_read_by_tifffile_silently(tmp_path, compression):
    """Pillow's hopper_webp.tif: 'decoder error -2' and libtiff's own line on stderr."""
    pixels = np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    src, out = tmp_path / f"{compression}.tif", tmp_path / "out.png"
    try:
        tifffile.imwrite(src, pixels, photometric="rgb", compression=compression)
    except (ValueError, KeyError, ImportError) as e:
        pytest.skip(f"tifffile cannot write {compression} here: {e}")
    proc = run_process("convolve", src, out, "--kernel", "1")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # libtiff used to print here
    expected = tifffile.imread(src)
    np.testing.assert_array_equal(load(out).pixels, expected)


def test_a_broken_webp_tiff_is_one_line_on_the_real_stderr(tmp_path):
    src = tmp_path / "broken.tif"
    tifffile.imwrite(src, np.zeros((24, 32, 3), np.uint8), photometric="rgb", compression="webp")
    data = bytearray(src.read_bytes())
    data[8:40] = b"\x55" * 32  # the WebP strip
    src.write_bytes(bytes(data))
    proc = run_process("blur", src, tmp_path / "out.png")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith(f"imgconv: {src}") and not (tmp_path / "out.png").exists()


# ----------------------------------------------------------------------- images inside the file

def _icns_with_jpeg2000(width, height):
    """An ICNS whose 256x256 icon is a JPEG 2000 header claiming width x height: what made Pillow's
    oom-8ed3316a4109213ca96fb8a256a0bfefdece1461.icns take 23 s (and gigabytes) to be refused."""
    ihdr = struct.pack(">IIHBBBB", height, width, 3, 7, 7, 0, 0)
    siz = struct.pack(">HHIIIIIIIIH", 38 + 3 * 3, 0, width, height, 0, 0, width, height, 0, 0, 3) + b"\x07\x01\x01" * 3
    codestream = b"\xff\x4f\xff\x51" + siz
    jp2 = (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + struct.pack(">I4s4sI4s", 20, b"ftyp", b"jp2 ", 0, b"jp2 ")
           + struct.pack(">I4s", 8 + 8 + len(ihdr), b"jp2h") + struct.pack(">I4s", 8 + len(ihdr), b"ihdr") + ihdr
           + struct.pack(">I4s", 8 + len(codestream), b"jp2c") + codestream)
    element = b"ic08" + struct.pack(">I", 8 + len(jp2)) + jp2
    return b"icns" + struct.pack(">I", 8 + len(element)) + element


def test_icon_whose_embedded_image_is_a_bomb_is_refused_at_once(tmp_path):
    src = tmp_path / "bomb.icns"
    src.write_bytes(_icns_with_jpeg2000(256, 1014197964))
    with Image.open(src) as img:
        assert img.size == (256, 256)  # the icon's own header is harmless
    start = time.perf_counter()
    result = run("blur", src, tmp_path / "out.png")
    assert time.perf_counter() - start < 10
    assert result.exit_code == 1 and "inside the file is over the limit" in result.stderr, result.output
    assert "--max-pixels" in result.stderr


def test_the_inner_limit_is_the_max_pixels_option(tmp_path):
    src = tmp_path / "icon.icns"
    src.write_bytes(_icns_with_jpeg2000(256, 300))  # 76,800 pixels inside a 256x256 icon
    result = run("blur", src, tmp_path / "out.png", "--max-pixels", "70000")
    assert result.exit_code == 1 and "over the limit of 70,000" in result.stderr


# ------------------------------------------------------------------ messages from the libraries

def test_a_cut_heic_is_one_line_though_libheif_writes_two(tmp_path):
    """Found by the fuzz: libheif's message for a cut file ends in a newline and a parenthesis."""
    from imgconv.io import save

    whole = tmp_path / "whole.heic"
    save(np.random.default_rng(11).integers(0, 256, (12, 16, 3), dtype=np.uint8), whole, alpha=False)
    data = whole.read_bytes()
    failures = 0
    for cut in range(300, len(data), max(1, (len(data) - 300) // 12)):
        src = tmp_path / "cut.heic"
        src.write_bytes(data[:cut])
        result = run("blur", src, tmp_path / "out.png", "--overwrite")
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            failures += 1
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert failures > 0


# --------------------------------------------------------------- a damaged LZW strip

def _damaged_lzw_tiffs(tmp_path):
    """LZW TIFFs (OpenCV writes LZW) with a few bytes of their strips changed, one after another."""
    import random

    import cv2

    pixels = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    pixels[10:30] = 123
    whole = tmp_path / "whole.tif"
    cv2.imwrite(str(whole), pixels)
    data = whole.read_bytes()
    for seed in range(60):
        pick = random.Random(seed)
        damaged = bytearray(data)
        for _ in range(pick.randint(1, 6)):
            damaged[pick.randrange(200, len(damaged))] = pick.randrange(256)
        path = tmp_path / f"damaged{seed}.tif"
        path.write_bytes(bytes(damaged))
        yield path


def test_a_damaged_lzw_tiff_is_one_error_line_with_libtiffs_reason(tmp_path):
    """libtiff's error handler prints "Using code not yet in table." on file descriptor 2 for a damaged LZW
    strip (found by the fuzz tests): that goes into the one error line, not onto stderr beside it."""
    for src in _damaged_lzw_tiffs(tmp_path):
        check = subprocess.run([sys.executable, "-c", f"from PIL import Image; Image.open({str(src)!r}).load()"],
                               capture_output=True, text=True)
        if "Using code not yet in table" in check.stderr:  # a file that makes libtiff print
            break
    else:
        pytest.fail("no damaged LZW TIFF made libtiff print: the test has nothing to check")
    proc = run_process("blur", src, tmp_path / "out.png")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("imgconv: "), proc.stderr
    assert "libtiff: Using code not yet in table" in proc.stderr
    assert not (tmp_path / "out.png").exists()


def test_captures_of_file_descriptor_2_nest():
    """The fuzz tests capture what reaches file descriptor 2 around a whole command, inside which imgconv
    captures libtiff's lines around a decode: each sees what was written while it was the innermost."""
    import os

    from imgconv.io.logs import c_stderr

    outer, inner = [], []
    with c_stderr(outer):
        os.write(2, b"before\n")
        with c_stderr(inner):
            os.write(2, b"libtiff: inside\n")
        os.write(2, b"after\n")
    assert outer == ["before", "after"] and inner == ["libtiff: inside"]
