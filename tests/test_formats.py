"""Formats and kept encoder settings: JPEG through imagecodecs (the same pixels and bytes as Pillow), the
input's JPEG quality and subsampling, TIFF compression and predictor, lossless WebP, and the phone formats
(HEIC, AVIF, JPEG XL), each round-tripped as the README's preservation table promises.

Pillow is the oracle for JPEG (its decoder and encoder use the same libjpeg-turbo settings); ImageMagick's
`identify`, when installed, is a second opinion on the quality estimate.
"""

import functools
import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms, JpegImagePlugin

from imgconv.cli import cli
from imgconv.io import jpeg, load, save, settings

from conftest import SAMPLES

PHOTOS = Path("/work/photos")  # real camera photos on the project's machine; the tests skip without them
RNG = np.random.default_rng(5)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def photo(size=(160, 120)):
    """A real photograph (the bundled astronaut), resized: smooth areas, edges and noise, unlike random data."""
    with Image.open(SAMPLES / "astronaut.jpg") as img:
        return np.asarray(img.convert("RGB").resize(size))


def jpeg_bytes(pixels, **params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", **params)
    return buffer.getvalue()


@functools.cache
def srgb_icc():
    """One sRGB profile for the whole run (littleCMS stamps each new one with the time)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_bytes(orientation=1):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Imgconv Camera"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    return exif.tobytes()


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' \
      b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="imgconv-test"/></rdf:RDF></x:xmpmeta>'


# ------------------------------------------------------------------------- JPEG: decoding like Pillow

JPEG_KINDS = {
    "baseline 4:4:4": dict(quality=90, subsampling="4:4:4"),
    "baseline 4:2:2": dict(quality=90, subsampling="4:2:2"),
    "baseline 4:2:0": dict(quality=90, subsampling="4:2:0"),
    "progressive 4:2:0": dict(quality=85, progressive=True),
    "optimised Huffman": dict(quality=75, optimize=True),
    "restart markers": dict(quality=80, restart_marker_blocks=3),
}


@pytest.mark.parametrize("kind", sorted(JPEG_KINDS))
@pytest.mark.parametrize("size", [(160, 120), (37, 23)])  # odd sizes: partial MCUs at the edges
def test_jpeg_pixels_are_pillows_pixels(tmp_path, kind, size):
    path = tmp_path / "in.jpg"
    path.write_bytes(jpeg_bytes(photo(size), **JPEG_KINDS[kind]))
    picture = load(path)
    with Image.open(path) as img:
        assert jpeg.decodes(img)
        expected = np.asarray(img)
    np.testing.assert_array_equal(picture.pixels, expected)


def test_grey_jpeg_pixels_are_pillows_pixels(tmp_path):
    path = tmp_path / "grey.jpg"
    path.write_bytes(jpeg_bytes(photo()[..., 1], quality=90))
    picture = load(path)
    assert picture.pixels.shape == (120, 160, 1)
    np.testing.assert_array_equal(picture.pixels[..., 0], np.asarray(Image.open(path)))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_orientation_matches_pillow_exif_transpose(tmp_path, orientation):
    from PIL import ImageOps

    path = tmp_path / "x.jpg"
    path.write_bytes(jpeg_bytes(photo((40, 24)), quality=95, exif=exif_bytes(orientation)))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(load(path).pixels, expected)


def _camera_photos():
    if not PHOTOS.is_dir():
        return []
    found = {p.resolve() for p in PHOTOS.glob("*.jpg")}
    found |= {p.resolve() for p in PHOTOS.glob("wallpapers/*/contents/images/2560x1600.jpg")}
    return sorted(found)


@pytest.mark.skipif(not _camera_photos(), reason="no camera photos on this machine")
def test_real_photos_decode_exactly_as_pillow_decodes_them():
    """Baseline, progressive, grey, 4:4:4, 4:2:2 and 4:2:0 camera and wallpaper JPEGs."""
    seen = set()
    for path in _camera_photos()[:16]:
        with Image.open(path) as img:
            expected = np.asarray(img)
            seen.add((img.mode, JpegImagePlugin.get_sampling(img), bool(img.info.get("progressive"))))
        got = load(path).pixels
        np.testing.assert_array_equal(got[..., 0] if expected.ndim == 2 else got, expected, err_msg=str(path))
    assert len(seen) >= 3  # several kinds of JPEG, not sixteen of one


def test_cmyk_jpeg_stays_with_pillow(tmp_path):
    path = tmp_path / "cmyk.jpg"
    inks = RNG.integers(0, 256, (16, 24, 4), dtype=np.uint8)
    Image.fromarray(inks, "CMYK").save(path, quality=95)
    with Image.open(path) as img:
        assert not jpeg.decodes(img)
        expected = np.asarray(img)
    picture = load(path)
    assert picture.cmyk
    np.testing.assert_array_equal(picture.pixels, expected)


def test_truncated_jpeg_is_an_error_not_grey_pixels(tmp_path):
    data = jpeg_bytes(photo(), quality=90)
    for cut in (len(data) - 2, len(data) // 2, 700):
        path = tmp_path / f"cut{cut}.jpg"
        path.write_bytes(data[:cut])
        result = run("blur", path, tmp_path / "out.png")
        assert result.exit_code == 1 and "truncated" in result.stderr, result.output
    assert not (tmp_path / "out.png").exists()


def test_bytes_after_the_end_of_the_image_are_ignored_as_pillow_ignores_them(tmp_path):
    path = tmp_path / "trailer.jpg"
    data = jpeg_bytes(photo(), quality=90)
    path.write_bytes(data + b"\0camera maker trailer\xff\xd8 not an image")
    np.testing.assert_array_equal(load(path).pixels, np.asarray(Image.open(io.BytesIO(data))))


# ------------------------------------------------------------------------ JPEG: encoding like Pillow

def _pillow_file(pixels, meta, quality, subsampling):
    params = {k: meta[k] for k in ("icc_profile", "exif", "xmp", "comment", "dpi") if k in meta}
    if subsampling:
        params["subsampling"] = subsampling
    return jpeg_bytes(pixels, quality=quality, **params)


METAS = {
    "none": {},
    "everything": {"icc_profile": srgb_icc(), "exif": exif_bytes(), "xmp": XMP, "comment": b"shot on film",
                   "dpi": (300.4, 72.0)},
    "ICC over three segments": {"icc_profile": (srgb_icc() * 400)[:140000]},
    "dpi only": {"dpi": (96, 96)},
}


@pytest.mark.parametrize("meta", sorted(METAS))
@pytest.mark.parametrize("channels,subsampling", [(3, "4:4:4"), (3, "4:2:2"), (3, "4:2:0"), (3, None), (1, None)])
@pytest.mark.parametrize("quality", [95, 60])
def test_jpeg_files_are_byte_for_byte_what_pillow_writes(meta, channels, subsampling, quality):
    pixels = photo()[..., :channels] if channels == 3 else photo()[..., 1:2]
    sink = io.BytesIO()
    jpeg.encode(np.ascontiguousarray(pixels), sink, quality=quality, subsampling=subsampling, meta=METAS[meta])
    expected = _pillow_file(pixels if channels == 3 else pixels[..., 0], METAS[meta], quality, subsampling)
    assert sink.getvalue() == expected


@pytest.mark.parametrize("view", ["rotated", "flipped", "every other column"])
def test_any_array_layout_is_encoded(tmp_path, view):
    pixels = {"rotated": np.rot90(photo()), "flipped": photo()[:, ::-1], "every other column": photo()[:, ::2]}[view]
    save(pixels, tmp_path / "view.jpg", alpha=False)
    save(np.ascontiguousarray(pixels), tmp_path / "copy.jpg", alpha=False)
    assert (tmp_path / "view.jpg").read_bytes() == (tmp_path / "copy.jpg").read_bytes()


def test_save_writes_metadata_pillow_reads_back(tmp_path):
    out = tmp_path / "out.jpg"
    save(photo(), out, alpha=False, info=METAS["everything"])
    with Image.open(out) as img:
        assert img.info["icc_profile"] == srgb_icc() and img.info["comment"] == b"shot on film"
        assert img.info["dpi"] == (300, 72) and b"imgconv-test" in img.info["xmp"]
        assert img.getexif().get_ifd(0x8769)[0x9003] == "2024:05:06 07:08:09"


def test_oversized_metadata_is_dropped_with_a_note_never_a_failure(tmp_path):
    meta = {"exif": b"Exif\0\0" + b"\0" * 70000, "comment": b"c" * 70000, "xmp": XMP, "dpi": (1e9, 1e9)}
    notes = save(photo(), tmp_path / "out.jpg", alpha=False, info=meta)
    assert any("EXIF of 70,006 bytes is too big" in n for n in notes)
    assert any("comment" in n and "too big" in n for n in notes) and any("dpi" in n for n in notes)
    with Image.open(tmp_path / "out.jpg") as img:
        assert b"imgconv-test" in img.info["xmp"] and "comment" not in img.info and "exif" not in img.info


# ------------------------------------------------------------------ JPEG: quality and subsampling kept

@pytest.mark.parametrize("quality", [5, 30, 50, 51, 75, 87, 95, 98, 100])
def test_quality_estimate_is_exact_for_libjpeg_files(quality):
    with Image.open(io.BytesIO(jpeg_bytes(photo(), quality=quality))) as img:
        estimate = jpeg.estimate_quality(img.quantization)
    with Image.open(io.BytesIO(jpeg_bytes(photo(), quality=estimate))) as again:
        assert again.quantization == img.quantization  # the same tables (98..100 clamp alike at 8 bits)
    assert estimate == quality or quality > 97


def test_quality_estimate_of_grey_files_uses_the_one_table():
    with Image.open(io.BytesIO(jpeg_bytes(photo()[..., 0], quality=70))) as img:
        assert len(img.quantization) == 1 and jpeg.estimate_quality(img.quantization) == 70


@pytest.mark.parametrize("quality", [40, 63, 83, 97])
def test_quality_estimate_of_other_tables_is_never_coarser_than_the_file(quality):
    """Tables near libjpeg's (as cameras write): the lowest quality whose tables are, summed, no coarser."""
    rng = np.random.default_rng(quality)
    tables = [[min(max(v + int(rng.integers(-2, 3)), 1), 255) for v in t] for t in jpeg._standard_tables(quality)]
    total = sum(map(sum, tables))
    estimate = jpeg.estimate_quality(dict(enumerate(tables)))
    assert abs(estimate - quality) <= 2
    assert sum(map(sum, jpeg._standard_tables(estimate))) <= total < sum(map(sum, jpeg._standard_tables(estimate - 1)))


@pytest.mark.skipif(shutil.which("identify") is None or not _camera_photos(), reason="needs ImageMagick and photos")
def test_quality_estimate_of_camera_photos_is_imagemagicks():
    for path in _camera_photos()[:10]:
        theirs = subprocess.run(["identify", "-format", "%Q", str(path)], capture_output=True, text=True)
        if theirs.returncode != 0:
            pytest.skip(f"identify failed: {theirs.stderr}")
        with Image.open(path) as img:
            assert jpeg.estimate_quality(img.quantization) == int(theirs.stdout), path


@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_jpeg_to_jpeg_keeps_quality_and_subsampling(tmp_path, subsampling):
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    src.write_bytes(jpeg_bytes(photo(), quality=72, subsampling=subsampling))
    result = run("blur", src, out, "--sigma", "1", "-v")
    assert result.exit_code == 0, result.output
    assert "quality 72" in result.output and subsampling in result.output
    with Image.open(out) as img, Image.open(src) as original:
        assert JpegImagePlugin.get_sampling(img) == JpegImagePlugin.get_sampling(original)
        assert img.quantization == original.quantization


def test_quality_option_overrides_the_kept_quality_but_not_the_subsampling(tmp_path):
    src, out = tmp_path / "in.jpg", tmp_path / "out.jpg"
    src.write_bytes(jpeg_bytes(photo(), quality=72, subsampling="4:4:4"))
    assert run("blur", src, out, "--quality", "40").exit_code == 0
    with Image.open(out) as img, Image.open(io.BytesIO(jpeg_bytes(photo(), quality=40))) as reference:
        assert img.quantization == reference.quantization and JpegImagePlugin.get_sampling(img) == 0


def test_a_blurred_photo_is_not_larger_than_with_the_old_fixed_quality(tmp_path):
    """A quality-75 camera JPEG re-encoded at 95 grows a lot; at its own quality it does not."""
    src = tmp_path / "in.jpg"
    src.write_bytes(jpeg_bytes(photo((480, 360)), quality=75, subsampling="4:4:4"))
    assert run("blur", src, tmp_path / "kept.jpg", "--sigma", "0.7").exit_code == 0
    assert run("blur", src, tmp_path / "q95.jpg", "--sigma", "0.7", "--quality", "95").exit_code == 0
    assert (tmp_path / "kept.jpg").stat().st_size < 0.7 * (tmp_path / "q95.jpg").stat().st_size


def test_non_jpeg_input_to_jpeg_uses_quality_95_and_4_2_0(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.jpg"
    Image.fromarray(photo()).save(src)
    assert run("blur", src, out).exit_code == 0
    with Image.open(out) as img, Image.open(io.BytesIO(jpeg_bytes(photo(), quality=95))) as reference:
        assert img.quantization == reference.quantization and JpegImagePlugin.get_sampling(img) == 2


def test_settings_of_a_jpeg():
    with Image.open(io.BytesIO(jpeg_bytes(photo(), quality=81, subsampling="4:2:2"))) as img:
        assert settings.of_file("JPEG", b"", img) == {"format": "JPEG", "quality": 81, "subsampling": "4:2:2"}


# ---------------------------------------------------------------------- TIFF compression and predictor

def _tiff_page(path):
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        return int(page.compression), int(page.predictor)


@pytest.mark.parametrize("compression,predictor", [("tiff_lzw", 2), ("tiff_adobe_deflate", 2), ("packbits", 1),
                                                   ("zstd", 2), ("lzma", 1), ("raw", 1)])
def test_tiff_to_tiff_keeps_compression_and_predictor(tmp_path, compression, predictor):
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    Image.fromarray(photo()).save(src, compression=compression,
                                  **({"tiffinfo": {317: predictor}} if predictor > 1 else {}))
    assert run("blur", src, out, "--sigma", "1").exit_code == 0
    assert _tiff_page(out) == _tiff_page(src)


@pytest.mark.parametrize("compression,predictor", [("lzw", 2), ("zstd", 2), ("packbits", 1), ("zlib", 1)])
def test_16_bit_tiff_keeps_compression_and_predictor(tmp_path, compression, predictor):
    import tifffile

    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, photo().astype(np.uint16) * 257, photometric="rgb", compression=compression,
                     predictor=predictor > 1)
    assert run("blur", src, out, "--sigma", "1").exit_code == 0
    assert _tiff_page(out) == _tiff_page(src)
    assert load(out).pixels.dtype == np.uint16


def test_float_tiff_keeps_its_floating_point_predictor(tmp_path):
    import tifffile

    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, photo().astype(np.float32) / 255, photometric="rgb", compression="zlib", predictor=3)
    assert run("blur", src, out).exit_code == 0
    assert _tiff_page(out) == (8, 3)


def test_jpeg_in_tiff_stays_jpeg_in_tiff(tmp_path):
    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    Image.fromarray(photo()).save(src, compression="jpeg", quality=90)
    assert run("blur", src, out, "--sigma", "1").exit_code == 0
    assert _tiff_page(out)[0] == 7


def test_a_tiff_compression_imgconv_cannot_write_becomes_deflate_with_a_note(tmp_path):
    import tifffile

    src, out = tmp_path / "in.tif", tmp_path / "out.tif"
    tifffile.imwrite(src, photo(), photometric="rgb", compression="webp")
    result = run("blur", src, out, "-v")
    assert result.exit_code == 0, result.output
    assert "cannot be written" in result.output and _tiff_page(out)[0] == 8


def test_non_tiff_input_to_tiff_is_deflate(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.tif"
    Image.fromarray(photo()).save(src)
    assert run("blur", src, out).exit_code == 0
    assert _tiff_page(out)[0] == 8


def test_tiff_settings_are_read_from_the_tags():
    assert settings.tiff_settings(5, 2) == {"format": "TIFF", "compression": 5, "predictor": 2, "lossless": True}
    assert settings.tiff_settings(7, None)["lossless"] is False


# ------------------------------------------------------------------------------- WebP stays lossless

def test_lossless_webp_stays_lossless_and_lossy_stays_lossy(tmp_path):
    lossless, lossy = tmp_path / "lossless.webp", tmp_path / "lossy.webp"
    Image.fromarray(photo()).save(lossless, lossless=True)
    Image.fromarray(photo()).save(lossy, quality=80)
    assert settings.webp_is_lossless(lossless.read_bytes()) and not settings.webp_is_lossless(lossy.read_bytes())
    result = run("convolve", lossless, tmp_path / "a.webp", "--kernel", "1", "-v")
    assert result.exit_code == 0 and "lossless" in result.output
    assert settings.webp_is_lossless((tmp_path / "a.webp").read_bytes())
    np.testing.assert_array_equal(load(tmp_path / "a.webp").pixels, photo())  # identity kernel: exact
    assert run("convolve", lossy, tmp_path / "b.webp", "--kernel", "1").exit_code == 0
    assert not settings.webp_is_lossless((tmp_path / "b.webp").read_bytes())
    assert run("convolve", lossless, tmp_path / "c.webp", "--kernel", "1", "--quality", "70").exit_code == 0
    assert not settings.webp_is_lossless((tmp_path / "c.webp").read_bytes())  # --quality asks for lossy


def test_lossless_webp_with_alpha_is_recognised(tmp_path):
    path = tmp_path / "rgba.webp"
    Image.fromarray(np.dstack([photo(), photo()[..., :1]])).save(path, lossless=True)
    assert settings.webp_is_lossless(path.read_bytes())


# ------------------------------------------------------------------------------- phone formats

def test_new_extensions_and_formats_are_known():
    from imgconv.io import output_format

    assert [output_format(f"x.{ext}") for ext in ("heic", "heif", "jxl", "avif")] == ["HEIF", "HEIF", "JXL", "AVIF"]
    assert [output_format("-", fmt) for fmt in ("heic", "jxl", "avif")] == ["HEIF", "JXL", "AVIF"]


PHONE_META = {"icc_profile": srgb_icc(), "exif": exif_bytes(), "xmp": XMP}


def _assert_metadata(info, fmt):
    exif = Image.Exif()
    exif.load(info["exif"])
    assert exif.get(0x010F) == "Imgconv Camera" and exif.get_ifd(0x8769).get(0x9003) == "2024:05:06 07:08:09", fmt
    assert b"imgconv-test" in info["xmp"], fmt
    if fmt != "jxl":
        assert info["icc_profile"] == srgb_icc(), fmt


@pytest.mark.parametrize("ext", ["heic", "avif", "jxl"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_phone_formats_round_trip_size_alpha_and_metadata(tmp_path, ext, channels):
    pixels = np.ascontiguousarray(np.dstack([photo(), photo()[..., :1]])[..., :channels] if channels != 1
                                  else photo()[..., 1:2])
    src, out = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    save(pixels, src, alpha=channels == 4, info=PHONE_META if channels > 1 else {"exif": exif_bytes(), "xmp": XMP})
    result = run("convolve", src, out, "--kernel", "1", "-v")
    assert result.exit_code == 0, result.output
    picture = load(out)
    assert picture.pixels.shape == pixels.shape and picture.pixels.dtype == np.uint8
    assert picture.alpha == (channels == 4)
    error = np.abs(picture.pixels.astype(int) - pixels).mean(axis=(0, 1))
    assert (error < 6).all(), error  # lossy (4:2:0) at quality 95, twice; alpha too (HEIC codes it with HEVC)
    if channels > 1:
        _assert_metadata(picture.info, ext)


def test_heic_10_bit_reads_as_16_bit_with_white_at_65535(tmp_path):
    import pillow_heif

    pixels = np.zeros((16, 24, 3), np.uint16)
    pixels[:8] = 65535
    pixels[8:, :12] = 32768
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(24, 16), data=pixels.tobytes())
    path = tmp_path / "ten.heic"
    heif.save(path, quality=100)
    picture = load(path)
    assert picture.pixels.dtype == np.uint16
    assert picture.pixels[:6, :, :].min() >= 65000 and picture.pixels.max() == 65535


def test_16_bit_survives_heic_as_10_bits(tmp_path):
    pixels = (photo().astype(np.uint32) * 257 + RNG.integers(0, 200, (120, 160, 3))).astype(np.uint16)
    path = tmp_path / "deep.heic"
    notes = save(pixels, path, alpha=False)
    assert any("10 bits" in n for n in notes)
    picture = load(path)
    assert picture.pixels.dtype == np.uint16
    assert np.abs(picture.pixels.astype(float) - pixels).mean() < 65535 * 0.01
    assert len(np.unique(picture.pixels[..., 1] >> 6)) > 256  # more than 8 bits of levels


def test_heic_rotation_is_applied_once(tmp_path):
    """libheif applies the irot box; the EXIF orientation beside it must not rotate the picture again."""
    import pillow_heif

    pixels = np.ascontiguousarray(photo((48, 32)))
    heif = pillow_heif.from_bytes(mode="RGB", size=(48, 32), data=pixels.tobytes())
    path = tmp_path / "turned.heic"
    heif.save(path, quality=95, exif=exif_bytes(orientation=6))  # pillow-heif writes irot for it
    expected = np.asarray(pillow_heif.open_heif(path))
    picture = load(path)
    assert expected.shape[:2] == (48, 32)  # turned a quarter
    np.testing.assert_array_equal(picture.pixels, expected)
    exif = Image.Exif()
    exif.load(picture.info["exif"])
    assert 0x0112 not in exif


def test_jxl_from_a_lossless_input_is_lossless(tmp_path):
    src, out = tmp_path / "in.png", tmp_path / "out.jxl"
    Image.fromarray(photo()).save(src)
    result = run("convolve", src, out, "--kernel", "1", "-v")
    assert result.exit_code == 0 and "lossless" in result.output
    np.testing.assert_array_equal(load(out).pixels, photo())
    assert run("convolve", out, tmp_path / "again.jxl", "--kernel", "1").exit_code == 0  # JXL -> JXL
    np.testing.assert_array_equal(load(tmp_path / "again.jxl").pixels, photo())


def test_jxl_quality_100_is_lossless_and_other_qualities_are_not(tmp_path):
    from imgconv.io import jxl

    src = tmp_path / "in.jpg"
    src.write_bytes(jpeg_bytes(photo(), quality=90))
    for quality, lossless in ((100, True), (90, False)):
        out = tmp_path / f"q{quality}.jxl"
        assert run("convolve", src, out, "--kernel", "1", "--quality", quality).exit_code == 0
        assert jxl.header(out.read_bytes())["xyb"] != lossless
    assert run("convolve", src, tmp_path / "kept.jxl", "--kernel", "1").exit_code == 0  # a JPEG is lossy
    assert jxl.header((tmp_path / "kept.jxl").read_bytes())["xyb"]


@pytest.mark.parametrize("bits", [10, 12, 16])
def test_jxl_deep_samples_are_scaled_to_16_bits(tmp_path, bits):
    import imagecodecs

    top = 2**bits - 1
    pixels = RNG.integers(0, top, (20, 30, 3), endpoint=True).astype(np.uint16)
    pixels[0, 0] = top
    path = tmp_path / "deep.jxl"
    path.write_bytes(imagecodecs.jpegxl_encode(pixels, lossless=True, bitspersample=bits))
    got = load(path).pixels
    np.testing.assert_array_equal(got, (pixels.astype(np.uint32) * 65535 // top).astype(np.uint16))


@pytest.mark.parametrize("shape", [(8, 8, 3), (120, 160, 3), (13, 17, 1), (100, 1000, 3), (3000, 2, 4), (40, 48, 2)])
@pytest.mark.parametrize("container", [False, True])
def test_jxl_header_gives_the_size_before_decoding(shape, container):
    import imagecodecs

    from imgconv.io import jxl

    pixels = RNG.integers(0, 255, shape).astype(np.uint8)
    data = imagecodecs.jpegxl_encode(pixels if shape[2] > 1 else pixels[..., 0], lossless=True, effort=1,
                                     usecontainer=container)
    found = jxl.header(data)
    assert (found["height"], found["width"], found["bits"]) == (*shape[:2], 8) and not found["xyb"]


def test_jxl_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    import imagecodecs

    path = tmp_path / "big.jxl"
    path.write_bytes(imagecodecs.jpegxl_encode(np.zeros((64, 64, 3), np.uint8), lossless=True, effort=1))
    result = run("blur", path, tmp_path / "out.png", "--max-pixels", "4000")
    assert result.exit_code == 1 and "64x64 = 4,096 pixels is over the limit" in result.stderr


def test_jxl_colours_are_converted_to_srgb_from_another_profile(tmp_path):
    """An Adobe RGB (1998) picture: the JPEG XL (tagged sRGB) gets its colours converted, not relabelled."""
    import imagecodecs

    adobe = imagecodecs.cms_profile("rgb", whitepoint=(0.3127, 0.329), primaries=(0.64, 0.33, 0.21, 0.71, 0.15, 0.06),
                                    gamma=2.2)
    green = np.zeros((16, 16, 3), np.uint8)
    green[..., 1] = 200
    notes = save(green, tmp_path / "x.jxl", alpha=False, info={"icc_profile": adobe})
    assert any("converted to sRGB through the ICC profile" in n for n in notes)
    got = load(tmp_path / "x.jxl").pixels.astype(int)
    expected = imagecodecs.cms_transform(green, adobe, imagecodecs.cms_profile("srgb"), colorspace="rgb",
                                         outcolorspace="rgb").astype(int)
    assert got[..., 0].mean() < 10 and np.abs(got - expected).mean() < 3  # Adobe green is beyond sRGB's


def test_avif_and_heic_keep_quality_option(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(photo((320, 240))).save(src)
    sizes = {}
    for ext in ("avif", "heic", "jxl"):
        for quality in (30, 95):
            out = tmp_path / f"q{quality}.{ext}"
            assert run("convolve", src, out, "--kernel", "1", "--quality", quality).exit_code == 0
            sizes[ext, quality] = out.stat().st_size
        assert sizes[ext, 30] < sizes[ext, 95], ext
