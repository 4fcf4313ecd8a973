"""Fidelity: what a file holds comes out the other side -- bit depth, mode, alpha, orientation, metadata.

Test images are made in tmp_path.  OpenCV (a test dependency) is the independent oracle for 16-bit
colour PNG and TIFF, which Pillow reads only as 8 bits (Pillow issue #7723).
"""

import functools
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from imgconv.apply import apply_filter
from imgconv.cli import cli
from imgconv.errors import ImgconvError
from imgconv.filters import blur, box, emboss, sharpen, sobel
from imgconv.io import FULL, load, png, save, to_dtype
from imgconv.job import Options, process_file
from imgconv.srgb import linear_to_srgb, srgb_to_linear

from conftest import SAMPLES

RNG = np.random.default_rng(7)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def random_image(dtype, channels, shape=(13, 17)):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.random((*shape, channels), dtype=np.float32)
    return RNG.integers(0, np.iinfo(dtype).max, (*shape, channels), endpoint=True, dtype=dtype)


# ------------------------------------------------------------------------------------------ bit depth

ROUND_TRIPS = [(np.uint8, c, ext) for c in (1, 2, 3, 4) for ext in ("png", "tif")]
ROUND_TRIPS += [(np.uint16, c, ext) for c in (1, 2, 3, 4) for ext in ("png", "tif")]
ROUND_TRIPS += [(np.float32, c, "tif") for c in (1, 2, 3, 4)]


@pytest.mark.parametrize("dtype,channels,ext", ROUND_TRIPS)
def test_save_then_load_is_exact_in_every_depth_and_layout(tmp_path, dtype, channels, ext):
    pixels = random_image(dtype, channels)
    path = tmp_path / f"x.{ext}"
    save(pixels, path, alpha=channels in (2, 4))
    picture = load(path)
    assert picture.pixels.dtype == pixels.dtype
    assert picture.alpha == (channels in (2, 4))
    np.testing.assert_array_equal(picture.pixels, pixels)


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_stays_16_bit_through_the_cli(tmp_path, ext, channels):
    pixels = random_image(np.uint16, channels, (24, 20))
    src, out = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    save(pixels, src, alpha=channels == 4)
    result = run("blur", src, out, "--sigma", "1")
    assert result.exit_code == 0, result.output
    got = load(out).pixels
    assert got.dtype == np.uint16 and got.shape == pixels.shape
    expected = apply_filter(pixels, blur(1.0), 65535.0, alpha=channels == 4)
    assert np.abs(got.astype(np.float64) - expected).max() <= 0.5 + 1e-3  # rounded, not truncated
    assert len(np.unique(got[..., 0] & 0xFF)) > 200  # the low byte carries information: not 8-bit data * 257


def test_float_tiff_stays_float_and_is_not_clipped(tmp_path):
    pixels = (RNG.random((10, 12, 3), dtype=np.float32) * 4 - 1).astype(np.float32)  # -1 .. 3
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    save(pixels, src, alpha=False)
    assert run("convolve", src, out, "--kernel", "1").exit_code == 0
    got = load(out).pixels
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, pixels, atol=1e-6)
    assert got.min() < 0 and got.max() > 1


def test_to_dtype_rounds_and_clips():
    values = np.array([-3.0, 0.4, 0.6, 1.5, 2.5, 254.6, 300.0])
    np.testing.assert_array_equal(to_dtype(values, np.uint8), [0, 0, 1, 2, 2, 255, 255])
    np.testing.assert_array_equal(to_dtype(values * 300, np.uint16), [0, 120, 180, 450, 750, 65535, 65535])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_to_dtype_one_pass_loop_equals_the_numpy_rule(rng, dtype):
    """A C-contiguous float32 result goes through the compiled loop (when built), a strided one through
    numpy: the same values, ties to even, clipped; infinity and NaN refused by both."""
    top = np.iinfo(dtype).max
    values = (rng.standard_normal((23, 31, 3)) * top).astype(np.float32)
    values[0, :6, 0] = [0.5, 1.5, 2.5, -0.5, top + 0.5, top - 0.5]
    want = np.clip(np.rint(values.astype(np.float64)), 0, top).astype(dtype)
    np.testing.assert_array_equal(to_dtype(values, dtype), want)
    np.testing.assert_array_equal(to_dtype(values[:, ::2], dtype), want[:, ::2])
    assert to_dtype(np.empty((0, 4), np.float32), dtype).shape == (0, 4)
    for bad in (np.inf, -np.inf, np.nan):
        broken = values.copy()
        broken[-1, -1, -1] = bad
        with pytest.raises(ImgconvError, match="overflowed"):
            to_dtype(broken, dtype)


def test_filtering_rounds_instead_of_truncating(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(np.full((5, 5), 1, np.uint8)).save(src)
    assert run("convolve", src, out, "--kernel", "0.6").exit_code == 0  # 0.6 -> 1, truncation gives 0
    assert np.asarray(Image.open(out)).min() == 1
    assert run("convolve", src, tmp_path / "big.png", "--kernel", "400").exit_code == 0  # 400 -> 255
    assert np.asarray(Image.open(tmp_path / "big.png")).min() == 255


# ---------------------------------------------------------------------- 16-bit PNG and TIFF codecs

@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_png_matches_opencv_both_ways(tmp_path, channels):
    pixels = random_image(np.uint16, channels, (31, 45))
    pixels[5:20, 5:30] = pixels[5, 5]  # flat areas: runs for the encoder's run-length matching
    ours = tmp_path / "ours.png"
    save(pixels, ours, alpha=channels in (2, 4))
    theirs = cv2.imread(str(ours), cv2.IMREAD_UNCHANGED)
    theirs = theirs[..., np.newaxis] if theirs.ndim == 2 else theirs
    bgr = {1: [0], 2: [0, 3], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]  # OpenCV reads grey+alpha as BGRA
    np.testing.assert_array_equal(theirs[..., bgr], pixels)
    if channels != 2:  # OpenCV writes no grey+alpha PNG
        cv_file = tmp_path / "cv.png"
        cv2.imwrite(str(cv_file), pixels[..., bgr] if channels > 2 else pixels[..., 0])
        np.testing.assert_array_equal(load(cv_file).pixels, pixels)


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _interlaced_png16(pixels: np.ndarray) -> bytes:
    """An Adam7-interlaced 16-bit PNG, built by hand (no library at hand writes one), every row Sub-filtered."""
    height, width, channels = pixels.shape
    raw = b""
    for x0, y0, dx, dy in ADAM7:
        sub = pixels[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        rows = np.ascontiguousarray(sub, ">u2").view(np.uint8).reshape(sub.shape[0], -1)
        filtered = rows.copy()
        filtered[:, 2 * channels:] = rows[:, 2 * channels:] - rows[:, :-2 * channels]  # Sub, mod 256
        raw += b"".join(b"\x01" + r.tobytes() for r in filtered)
    header = struct.pack(">IIBBBBB", width, height, 16, {2: 4, 3: 2, 4: 6}[channels], 0, 0, 1)
    return png.SIGNATURE + png.chunk(b"IHDR", header) + png.chunk(b"IDAT", zlib.compress(raw)) \
        + png.chunk(b"IEND", b"")


@pytest.mark.parametrize("channels", [2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (9, 17), (16, 16)])
def test_16_bit_png_reads_interlaced_files_without_a_note(tmp_path, shape, channels):
    pixels = random_image(np.uint16, channels, shape)
    path = tmp_path / "interlaced.png"
    path.write_bytes(_interlaced_png16(pixels))
    picture = load(path)
    np.testing.assert_array_equal(picture.pixels, pixels)
    assert picture.notes == []  # libpng's warning about interlace handling is not the file's problem


def test_16_bit_png_with_a_transparent_colour_gets_alpha(tmp_path):
    pixels = random_image(np.uint16, 3, (6, 7))
    pixels[0, 0] = (1, 2, 3)
    path = tmp_path / "trns.png"
    save(pixels, path, alpha=False)
    data = path.read_bytes()
    path.write_bytes(data[:33] + png.chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3)) + data[33:])
    picture = load(path)
    assert picture.alpha and picture.pixels.shape == (6, 7, 4) and "transparent colour" in picture.notes[0]
    assert picture.pixels[0, 0, 3] == 0 and (picture.pixels[1:, :, 3] == 65535).all()
    np.testing.assert_array_equal(picture.pixels[..., :3], pixels)


def test_16_bit_png_metadata_after_the_image_data_is_read(tmp_path):
    path = tmp_path / "late.png"
    save(random_image(np.uint16, 3), path, alpha=False)
    data = path.read_bytes()
    late = png.chunk(b"tEXt", b"Title\0written last") + png.chunk(b"eXIf", _exif(1).tobytes()[6:])
    path.write_bytes(data[:-12] + late + data[-12:])  # before IEND
    info = load(path).info
    assert info["text"] == {"Title": "written last"} and _loaded(info["exif"]).get(0x010F) == "Imgconv Camera"


def test_16_bit_lzw_tiff_is_read_exactly(tmp_path):
    pixels = random_image(np.uint16, 3, (40, 50))
    pixels[10:30] = 1234  # runs long enough for the LZW table to grow past 9 bits
    path = tmp_path / "lzw.tif"
    cv2.imwrite(str(path), pixels[..., ::-1])  # OpenCV writes LZW with a predictor
    assert tifffile.TiffFile(path).pages[0].compression == 5
    np.testing.assert_array_equal(load(path).pixels, pixels)


@pytest.mark.parametrize("compression", ["lzw", "packbits", "zstd", "lzma", "deflate"])
def test_16_bit_tiff_in_every_common_compression_is_read_exactly(tmp_path, compression):
    pixels = random_image(np.uint16, 4, (40, 50))
    path = tmp_path / f"{compression}.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", extrasamples=["unassalpha"], compression=compression)
    picture = load(path)
    assert picture.alpha
    np.testing.assert_array_equal(picture.pixels, pixels)


# ----------------------------------------------------------------------------------------------- modes

def _mode_image(mode):
    rgb = Image.fromarray(random_image(np.uint8, 3, (12, 16)))
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "I":
        return Image.fromarray(RNG.integers(0, 65535, (12, 16), dtype=np.int32), "I")
    if mode == "F":
        return Image.fromarray(RNG.random((12, 16), dtype=np.float32), "F")
    if mode == "I;16":
        return Image.fromarray(RNG.integers(0, 65535, (12, 16), dtype=np.uint16))
    return rgb.convert(mode)


MODES = [  # mode, file, output mode expected, note expected in --verbose
    ("1", "png", "L", "1-bit"), ("L", "png", "L", None), ("LA", "png", "LA", None), ("RGB", "png", "RGB", None),
    ("RGBA", "png", "RGBA", None), ("P", "png", "RGB", "palette"), ("CMYK", "jpg", "CMYK", None),
    ("CMYK", "tif", "CMYK", None), ("I;16", "png", "I;16", None), ("I", "tif", "I", "32-bit"),
    ("F", "tif", "F", None),
]


@pytest.mark.parametrize("mode,ext,out_mode,note", MODES)
def test_every_mode_is_filtered_and_kept(tmp_path, mode, ext, out_mode, note):
    """Mode and pixels: the file's pixels as Pillow reads them (converted to the mode imgconv filters
    in), blurred by the library filter in their own scale and type; JPEG output compared with Pillow's
    encoding of those pixels at the quality asked for."""
    src, out = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    _mode_image(mode).save(src)
    result = run("blur", src, out, "--sigma", "1", "-v", *(["--quality", "95"] if ext == "jpg" else []))
    assert result.exit_code == 0, result.output
    with Image.open(out) as img:
        assert img.mode == out_mode and img.size == (16, 12)
        got = np.asarray(img)
    if note:
        assert note in result.output
    with Image.open(src) as img:
        source = np.asarray(img.convert(out_mode) if mode in ("1", "P") else img)
    planes = source if source.ndim == 3 else source[..., np.newaxis]
    full = {np.uint8: 255.0, np.uint16: 65535.0, np.int32: 65535.0, np.float32: 1.0}[planes.dtype.type]
    # the result in the image's own type as the engine stores it (uint8 -> uint8 runs in fixed point)
    expected = apply_filter(planes, blur(1.0), full, alpha=out_mode in ("LA", "RGBA"), out_dtype=planes.dtype)
    expected = expected if source.ndim == 3 else expected[..., 0]
    if ext == "jpg":  # lossy: the same pixels through Pillow's encoder at that quality
        buffer = io.BytesIO()
        Image.fromarray(expected, out_mode).save(buffer, "JPEG", quality=95)
        expected = np.asarray(Image.open(buffer))
    np.testing.assert_array_equal(got, expected)


def test_palette_with_transparency_becomes_rgba_and_says_so(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    image = _mode_image("P")
    image.info["transparency"] = 0
    image.save(src, transparency=0)
    result = run("blur", src, out, "-v")
    assert result.exit_code == 0
    assert Image.open(out).mode == "RGBA" and "palette (P) image converted to RGBA" in result.output


def test_cmyk_is_filtered_in_its_own_space(tmp_path):
    """CMYK inks are blurred as they are (a blur commutes with the per-channel ink values)."""
    inks = random_image(np.uint8, 4, (12, 16))
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    Image.fromarray(inks, "CMYK").save(src)
    assert run("blur", src, out, "--sigma", "1").exit_code == 0
    # (the uint8 result as the engine stores it: in fixed point for a Gaussian, see README "uint8 in, uint8 out")
    expected = apply_filter(inks, blur(1.0), 255.0, out_dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)


def test_cmyk_to_png_is_converted_through_its_icc_profile(tmp_path):
    src, out = tmp_path / "in.jpg", tmp_path / "out.png"
    profile = _cmyk_profile()
    image = Image.fromarray(random_image(np.uint8, 4, (12, 16)), "CMYK")
    if profile is None:
        image.save(src)
        expect = "without colour management"
    else:
        image.save(src, icc_profile=profile)
        expect = "through the image's ICC profile"
    result = run("blur", src, out, "-v")
    assert result.exit_code == 0 and expect in result.output
    assert Image.open(out).mode == "RGB"


def _cmyk_profile():
    for path in ("/usr/share/color/icc/ghostscript/default_cmyk.icc",
                 "/usr/share/color/icc/colord/FOGRA39L_coated.icc"):
        try:
            return open(path, "rb").read()
        except OSError:
            pass
    return None


def test_sobel_on_cmyk_uses_rgb_luminance(tmp_path):
    src, out = tmp_path / "in.tif", tmp_path / "out.png"
    Image.fromarray(random_image(np.uint8, 4, (12, 16)), "CMYK").save(src)
    result = run("sobel", src, out, "-v")
    assert result.exit_code == 0 and "luminance" in result.output
    assert Image.open(out).mode == "L"


# ----------------------------------------------------------------------------------------------- alpha

def _red_square(size=40, inset=12, dtype=np.uint8):
    full = np.iinfo(dtype).max
    pixels = np.zeros((size, size, 4), dtype)  # transparent *black* everywhere: the trap
    pixels[inset:-inset, inset:-inset] = (full, 0, 0, full)
    return pixels


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("command", [["blur", "--sigma", "3"], ["box", "--size", "7"]])
def test_blurred_red_square_on_transparent_background_has_no_dark_halo(tmp_path, dtype, command):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    save(_red_square(dtype=dtype), src, alpha=True)
    assert run(command[0], src, out, *command[1:]).exit_code == 0
    got = load(out).pixels.astype(np.float64) / FULL[np.dtype(dtype)]
    visible = got[..., 3] > 1 / 255
    assert 0 < visible.mean() < 1 and (got[..., 3][visible] < 0.99).any()  # alpha itself was blurred
    red, green, blue = got[..., 0][visible], got[..., 1][visible], got[..., 2][visible]
    assert red.min() > 0.99 and green.max() < 0.01 and blue.max() < 0.01  # pure red to the very edge


@pytest.mark.parametrize("filt", [sharpen(1.0), emboss(45.0, 1.0), sobel("both")])
def test_non_smoothing_filters_keep_alpha_exactly(filt):
    pixels = random_image(np.uint8, 4, (20, 20))
    result = apply_filter(pixels, filt, 255.0, alpha=True)
    np.testing.assert_array_equal(result[..., -1], pixels[..., -1])


# ----------------------------------------------------------------------------------- orientation, EXIF

def _exif(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Imgconv Camera"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    return exif


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif"])
def test_exif_orientation_is_applied_and_reset_other_tags_kept(tmp_path, ext):
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:5, :5] = 255  # a white corner, top left as stored
    src, out = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    exif = _exif(6).tobytes()  # as bytes: Pillow's TIFF writer drops an Exif object's sub-IFDs
    Image.fromarray(pixels).save(src, exif=exif, **({"quality": 100} if ext in ("jpg", "webp") else {}))
    assert run("convolve", src, out, "--kernel", "1").exit_code == 0
    with Image.open(out) as img:
        upright = np.asarray(img.convert("L"))
        exif = img.getexif()
    assert upright.shape == (30, 20)  # orientation 6: rotated a quarter turn clockwise on load
    assert upright[:5, -5:].mean() > 200 and upright[:5, :5].mean() < 50  # the corner went top right
    assert exif.get(0x0112, 1) == 1
    assert exif.get(0x010F) == "Imgconv Camera"
    assert exif.get_ifd(0x8769).get(0x9003) == "2024:05:06 07:08:09"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16_bit_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    pixels = random_image(np.uint16, 3, (6, 9))
    exif = _exif(orientation).tobytes()
    path = tmp_path / "x.png"
    save(pixels, path, alpha=False, info={"exif": exif})
    eight = Image.fromarray((pixels >> 8).astype(np.uint8))
    buffer = io.BytesIO()
    eight.save(buffer, "PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(buffer)))
    picture = load(path)
    np.testing.assert_array_equal(picture.pixels >> 8, expected)
    kept = _loaded(picture.info["exif"])
    assert 0x0112 not in kept and kept.get(0x010F) == "Imgconv Camera"  # orientation reset, the rest kept


def _loaded(exif_bytes):
    exif = Image.Exif()
    exif.load(exif_bytes)
    return exif


def test_16_bit_tiff_orientation_is_applied(tmp_path):
    pixels = random_image(np.uint16, 3, (6, 9))
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, pixels, photometric="rgb", extratags=[(274, "H", 1, 8, True)])
    np.testing.assert_array_equal(load(path).pixels, np.rot90(pixels, 1))


# -------------------------------------------------------------------------------------------- metadata

@functools.cache
def _srgb_icc():
    """One sRGB profile for the whole run: littleCMS stamps each new one with the time (a flaky test before)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' \
      b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="imgconv-test"/></rdf:RDF></x:xmpmeta>'


def _save_with_metadata(path, pixels):
    """ICC profile, EXIF (with an Exif sub-IFD) and XMP, each the way Pillow writes it for the format."""
    exif = _exif(1)
    params = {"icc_profile": _srgb_icc(), "exif": exif.tobytes(), "xmp": XMP}
    if path.suffix == ".png":
        params["pnginfo"] = PngImagePlugin.PngInfo()
        params["pnginfo"].add_itxt("XML:com.adobe.xmp", XMP.decode())
    if path.suffix == ".tif":  # Pillow writes TIFF XMP only as tag 700 among the EXIF tags
        exif[700] = params.pop("xmp")
        params["exif"] = exif.tobytes()
    Image.fromarray(pixels).save(path, **params)


@pytest.mark.parametrize("ext", ["jpg", "png", "tif", "webp"])
def test_icc_exif_xmp_carried_to_the_same_format(tmp_path, ext):
    src, out = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    _save_with_metadata(src, random_image(np.uint8, 3))
    assert run("blur", src, out, "--sigma", "0.7").exit_code == 0
    with Image.open(out) as img:
        assert img.info.get("icc_profile") == _srgb_icc()
        assert img.getexif().get(0x010F) == "Imgconv Camera"
        assert img.getexif().get_ifd(0x8769).get(0x9003) == "2024:05:06 07:08:09"
        xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp", "")
        assert b"imgconv-test" in (xmp if isinstance(xmp, bytes) else xmp.encode())


def test_icc_and_xmp_carried_from_jpeg_to_png_and_dropped_where_a_format_cannot(tmp_path):
    src = tmp_path / "in.jpg"
    _save_with_metadata(src, random_image(np.uint8, 3))
    assert run("blur", src, tmp_path / "out.png").exit_code == 0
    assert Image.open(tmp_path / "out.png").info.get("icc_profile") == _srgb_icc()
    result = run("blur", src, tmp_path / "out.bmp", "-v")
    assert result.exit_code == 0 and "cannot hold was dropped" in result.output


def test_png_text_chunks_carried(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Harbour at dawn")
    info.add_itxt("Description", "Ünïcode text")
    Image.fromarray(random_image(np.uint8, 3)).save(src, pnginfo=info)
    assert run("sharpen", src, out).exit_code == 0
    with Image.open(out) as img:
        img.load()
        assert img.text["Title"] == "Harbour at dawn" and img.text["Description"] == "Ünïcode text"


def test_16_bit_png_carries_icc_exif_text_and_dpi(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    meta = {"icc_profile": _srgb_icc(), "exif": _exif(1).tobytes(), "text": {"Title": "sixteen"}, "xmp": XMP,
            "dpi": (300.0, 300.0)}
    save(random_image(np.uint16, 3), src, alpha=False, info=meta)
    assert run("blur", src, out).exit_code == 0
    info = load(out).info
    assert info["icc_profile"] == _srgb_icc() and info["text"] == {"Title": "sixteen"}
    assert _loaded(info["exif"]).get(0x010F) == "Imgconv Camera" and b"imgconv-test" in info["xmp"]
    assert [round(d) for d in info["dpi"]] == [300, 300]
    with Image.open(out) as img:  # Pillow reads our chunks too
        assert img.info["icc_profile"] == _srgb_icc() and round(img.info["dpi"][0]) == 300


def test_16_bit_tiff_carries_icc_and_xmp(tmp_path):
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, random_image(np.uint16, 3), photometric="rgb", iccprofile=_srgb_icc(),
                     extratags=[(700, "B", len(XMP), XMP, True)])
    assert run("blur", src, out).exit_code == 0
    info = load(out).info
    assert info["icc_profile"] == _srgb_icc() and b"imgconv-test" in info["xmp"]


def test_jpeg_comment_carried(tmp_path):
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    Image.fromarray(random_image(np.uint8, 3)).save(src, comment=b"shot on film")
    assert run("blur", src, out).exit_code == 0
    assert Image.open(out).info.get("comment") == b"shot on film"


def test_rgb_profile_is_dropped_from_a_grey_result(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(random_image(np.uint8, 3)).save(src, icc_profile=_srgb_icc())
    result = run("sobel", src, out, "-v")
    assert result.exit_code == 0 and "ICC profile dropped" in result.output
    assert "icc_profile" not in Image.open(out).info


def test_strip_drops_all_metadata(tmp_path):
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    Image.fromarray(random_image(np.uint8, 3)).save(src, icc_profile=_srgb_icc(), exif=_exif(1), xmp=XMP,
                                                    comment=b"note")
    assert run("blur", src, out, "--strip").exit_code == 0
    with Image.open(out) as img:
        assert not len(img.getexif()) and not img.info.get("icc_profile")
        assert "xmp" not in img.info and "comment" not in img.info


@pytest.mark.parametrize("quality", [None, 60])
def test_jpeg_quality_default_95_and_overridable(tmp_path, quality):
    src, out = tmp_path / "in.png", tmp_path / "out.jpg"
    Image.fromarray(random_image(np.uint8, 3, (32, 32))).save(src)
    args = ["--quality", quality] if quality else []
    assert run("convolve", src, out, "--kernel", "1", *args).exit_code == 0
    reference = io.BytesIO()
    Image.open(src).save(reference, "JPEG", quality=quality or 95)
    assert Image.open(out).quantization == Image.open(reference).quantization


# ------------------------------------------------------------------------------------------- --linear

def test_srgb_transfer_functions_are_inverse():
    v = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(v)), v, atol=2e-6)
    assert abs(float(srgb_to_linear(np.float32(0.5))) - 0.21404) < 1e-4


def test_linear_blur_averages_light_not_code_values(tmp_path):
    stripes = np.zeros((16, 16), np.uint8)
    stripes[:, ::2] = 255  # black and white columns: the eye sees ~half the light, i.e. sRGB 188
    src = tmp_path / "in.png"
    Image.fromarray(stripes).save(src)
    assert run("box", src, tmp_path / "plain.png", "--size", "2", "--border", "wrap").exit_code == 0
    assert run("box", src, tmp_path / "linear.png", "--size", "2", "--border", "wrap", "--linear").exit_code == 0
    assert np.asarray(Image.open(tmp_path / "plain.png")).mean() == pytest.approx(127.5, abs=0.6)
    assert np.asarray(Image.open(tmp_path / "linear.png")).mean() == pytest.approx(187.5, abs=0.6)


def test_linear_is_only_for_blurs_and_leaves_alpha_alone():
    pixels = random_image(np.uint8, 4, (16, 16))
    np.testing.assert_array_equal(apply_filter(pixels, sharpen(1.0), 255.0, alpha=True, linear=True),
                                  apply_filter(pixels, sharpen(1.0), 255.0, alpha=True))
    plain = apply_filter(pixels, box(3), 255.0, alpha=True)
    linear = apply_filter(pixels, box(3), 255.0, alpha=True, linear=True)
    np.testing.assert_allclose(linear[..., 3], plain[..., 3], atol=1e-3)
    assert np.abs(linear[..., :3] - plain[..., :3]).max() > 5


def test_linear_on_a_float_image_is_a_note_not_an_error(tmp_path):
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    save(random_image(np.float32, 1), src, alpha=False)
    report = process_file(src, out, blur(1.0), Options(linear=True))
    assert any("--linear" in n for n in report.notes)


# ------------------------------------------------------------------------------ samples, end to end

@pytest.mark.parametrize("name,mode,dtype", [("camera16.png", "I;16", np.uint16), ("coffee_rgba.png", "RGBA", np.uint8),
                                              ("camera.png", "L", np.uint8), ("astronaut.jpg", "RGB", np.uint8)])
def test_samples_keep_mode_and_depth(tmp_path, name, mode, dtype):
    out = tmp_path / ("out" + name[name.index("."):])
    assert run("blur", SAMPLES / name, out).exit_code == 0
    assert Image.open(out).mode == mode and load(out).pixels.dtype == dtype


# ------------------------------------------------------------------------------------- lazy imports

def test_tifffile_and_imagecodecs_are_imported_only_for_the_files_that_need_them(tmp_path):
    import subprocess
    import sys

    script = f"""
import sys
from click.testing import CliRunner
from imgconv.cli import cli
from imgconv.errors import ImgconvError
CliRunner().invoke(cli, ["--help"])
wide = ("tifffile", "imagecodecs")
assert not any(m in sys.modules for m in wide + ("numba",)), "imported for --help"
from imgconv.io import load, save
def through(name):
    picture = load({str(SAMPLES)!r} + "/" + name)
    save(picture.pixels, {str(tmp_path)!r} + "/out-" + name, alpha=picture.alpha, info=picture.info)
    return picture
for name in ("camera.png", "camera16.png", "coffee_rgba.png"):
    picture = through(name)
assert not any(m in sys.modules for m in wide), "imported for 8-bit and 16-bit grey PNG"
assert not any(m.startswith(("pillow_heif", "imagecodecs")) for m in sys.modules), "a plugin imported for PNG"
save(picture.pixels.astype("uint16") * 257, {str(tmp_path / "wide.png")!r}, alpha=True)
assert "imagecodecs" in sys.modules and "tifffile" not in sys.modules, "16-bit RGBA PNG needs no tifffile"
through("coffee.jpg")
assert "tifffile" not in sys.modules and "pillow_heif" not in sys.modules, "imported for a JPEG"
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_only_the_first_frame_of_an_animation_and_it_says_so(tmp_path):
    src, out = tmp_path / "in.gif", tmp_path / "out.png"
    frames = [Image.fromarray(random_image(np.uint8, 3)) for _ in range(3)]
    frames[0].save(src, save_all=True, append_images=frames[1:])
    result = run("blur", src, out, "-v")
    assert result.exit_code == 0 and "only the first of 3 frames" in result.output


def test_16_bit_cmyk_tiff_stays_16_bit_cmyk(tmp_path):
    inks = random_image(np.uint16, 4, (10, 14))
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, inks, photometric="separated")
    assert run("blur", src, out, "--sigma", "1").exit_code == 0
    picture = load(out)
    assert picture.cmyk and picture.pixels.dtype == np.uint16
    expected = to_dtype(apply_filter(inks, blur(1.0), 65535.0), np.uint16)
    np.testing.assert_array_equal(picture.pixels, expected)
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].photometric.name == "SEPARATED"


def test_to_dtype_refuses_non_finite_results_and_keeps_matching_types():
    from imgconv.errors import ImgconvError
    from imgconv.io import to_dtype

    with pytest.raises(ImgconvError, match="overflowed"):
        to_dtype(np.array([1.0, np.nan], np.float32), np.uint8)
    with pytest.raises(ImgconvError, match="overflowed"):
        to_dtype(np.array([np.inf], np.float32), np.float32)
    already = np.arange(5, dtype=np.uint8)
    assert to_dtype(already, np.uint8) is already
