"""Huge images streamed: TIFFs read band by band, filtered and written band by band, identical to the
whole image in memory; the output's layout, compression and metadata; bounded memory; no partial output."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tifffile
from PIL import Image

from imgconv.bands import ArrayRows, FilteredRows, gather
from imgconv.filters import (
    FILTERS,
    Filter,
    blur,
    box,
    dog,
    edges,
    emboss,
    highpass,
    laplacian,
    lens,
    log,
    motion,
    sharpen,
    sobel,
    unsharp,
)
from imgconv.io import load, tiffbands
from imgconv.io.tiffrows import open_rows
from imgconv.job import Job, Options, process_file, run_job

from conftest import BORDERS, SAMPLES

RNG = np.random.default_rng(7)
ASYMMETRIC = Filter("convolve", (np.arange(1.0, 13.0).reshape(4, 3) / 78,))  # even height: unequal halo
convolve = FILTERS["convolve"]
ALL = [blur(2.0), box(8), sharpen(), unsharp(2, 1, 0.02), emboss(30), sobel(), edges("kirsch", "max"),
           motion(9, 30), lens(4), log(2), dog(1, 2), laplacian(2), highpass(3),
           convolve(kernel="1 2 1; 2 4 2; 1 2 1", normalize=True), ASYMMETRIC]


def noise(shape, dtype=np.uint8, smooth=False):
    """Random pixels over the type's range (smoothed for lossy codecs)."""
    if np.dtype(dtype).kind == "f":
        pixels = RNG.random(shape, dtype=np.float32)
    else:
        pixels = RNG.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    if smooth:
        from scipy import ndimage

        pixels = ndimage.uniform_filter(pixels, (7, 7, 1)[: pixels.ndim])
    return pixels


def write(path, pixels, **kwargs):
    """A TIFF by tifffile; pixels H x W x C (C = 1 written as grey)."""
    channels = pixels.shape[2]
    kwargs.setdefault("photometric", "rgb" if channels >= 3 else "minisblack")
    if channels in (2, 4) and kwargs["photometric"] != "separated":
        kwargs.setdefault("extrasamples", ["unassalpha"])
    tifffile.imwrite(path, pixels[..., 0] if channels == 1 else pixels, metadata=None, **kwargs)
    return path


def read(path):
    pixels = tifffile.imread(path)
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels


def both(tmp_path, source, filters, band_rows=7, **options):
    """(whole-image result, streamed result, streamed report): the same job in memory and streamed."""
    whole = tmp_path / "whole.tif"
    streamed = tmp_path / "streamed.tif"
    report = process_file(source, whole, filters, Options(overwrite=True, **options))
    assert not any("streamed" in n for n in report.notes)
    report = process_file(source, streamed, filters, Options(overwrite=True, band_rows=band_rows, **options))
    assert any("streamed in bands" in n for n in report.notes), report.notes
    return read(whole), read(streamed), report


def assert_same(whole, streamed, report, what=None):
    """Bit for bit -- except within one level where the FFT engine ran (the planner picks it for these
    tiny images when the loops are jitted, IMGCONV_JIT=1): its rounding depends on the transform size,
    which a band changes, so an exact tie may round either way."""
    if any(p.algo == "fft" for p in report.plans):
        assert np.abs(whole.astype(np.float64) - streamed).max() <= 1, what
    else:
        assert np.array_equal(whole, streamed), what


# --- reading band by band ---------------------------------------------------------------------------------

LAYOUTS = {
    "rgb strips": dict(shape=(61, 53, 3), rowsperstrip=16),
    "rgb deflate tiles": dict(shape=(61, 53, 3), compression="zlib", tile=(32, 48)),
    "rgb lzw tiles": dict(shape=(61, 53, 3), compression="lzw", tile=(16, 16)),
    "rgb zstd strips": dict(shape=(61, 53, 3), compression="zstd", rowsperstrip=5),
    "rgb packbits": dict(shape=(61, 53, 3), compression="packbits", rowsperstrip=9),
    "rgb jpeg tiles": dict(shape=(61, 53, 3), compression="jpeg", tile=(32, 32), smooth=True),
    "rgb jpeg strips": dict(shape=(61, 53, 3), compression="jpeg", rowsperstrip=16, smooth=True),
    "rgb planar": dict(shape=(61, 53, 3), planarconfig="separate", rowsperstrip=8),
    "rgb planar deflate": dict(shape=(61, 53, 3), planarconfig="separate", compression="zlib", rowsperstrip=8),
    "rgba": dict(shape=(61, 53, 4), compression="zlib", rowsperstrip=16),
    "rgb + unspecified extra": dict(shape=(61, 53, 4), compression="zlib", extrasamples=["unspecified"]),
    "grey": dict(shape=(61, 53, 1)),
    "grey tiles": dict(shape=(61, 53, 1), compression="zlib", tile=(32, 32)),
    "white is zero": dict(shape=(61, 53, 1), photometric="miniswhite", compression="zlib"),
    "grey + alpha": dict(shape=(61, 53, 2), compression="zlib"),
    "cmyk": dict(shape=(61, 53, 4), photometric="separated", compression="zlib"),
    "16-bit rgb": dict(shape=(61, 53, 3), dtype=np.uint16),
    "16-bit rgb tiles": dict(shape=(61, 53, 3), dtype=np.uint16, compression="zlib", tile=(32, 32)),
    "16-bit rgba": dict(shape=(61, 53, 4), dtype=np.uint16, compression="zlib"),
    "16-bit premultiplied": dict(shape=(61, 53, 4), dtype=np.uint16, compression="zlib",
                                 extrasamples=["assocalpha"]),
    "16-bit grey": dict(shape=(61, 53, 1), dtype=np.uint16, compression="lzw"),
    "16-bit white is zero": dict(shape=(61, 53, 1), dtype=np.uint16, photometric="miniswhite"),
    "16-bit cmyk": dict(shape=(61, 53, 4), dtype=np.uint16, photometric="separated"),
    "float rgb": dict(shape=(61, 53, 3), dtype=np.float32),
    "float rgb tiles": dict(shape=(61, 53, 3), dtype=np.float32, compression="zlib", tile=(32, 32)),
    "float grey": dict(shape=(61, 53, 1), dtype=np.float32, compression="zlib"),
    "bigtiff": dict(shape=(61, 53, 3), bigtiff=True, compression="zstd", tile=(16, 32)),
}


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_rows_are_the_rows_load_gives(tmp_path, layout, byteorder):
    kwargs = dict(LAYOUTS[layout])
    if byteorder == ">" and kwargs.get("compression") == "jpeg":
        pytest.skip("libjpeg's bytes have no byte order")
    pixels = noise(kwargs.pop("shape"), kwargs.pop("dtype", np.uint8), kwargs.pop("smooth", False))
    path = write(tmp_path / "in.tif", pixels, byteorder=byteorder, **kwargs)
    whole = load(path)
    with open_rows(path, None) as rows:
        assert rows is not None
        assert (rows.shape, rows.dtype, rows.alpha, rows.cmyk) == (whole.pixels.shape, whole.pixels.dtype,
                                                                   whole.alpha, whole.cmyk)
        assert rows.info == whole.info and rows.encoding == whole.encoding
        assert rows._mapped == (kwargs.get("compression") is None and kwargs.get("planarconfig") != "separate")
        height = rows.shape[0]
        bands = np.concatenate([rows.take(top, min(height, top + 7)) for top in range(0, height, 7)])
        assert np.array_equal(bands, whole.pixels)
        assert np.array_equal(rows.take(3, height - 2), whole.pixels[3:-2])  # across strips and tiles
        assert np.array_equal(rows.take(40, 41), whole.pixels[40:41])


def test_rows_of_files_other_writers_make(tmp_path):
    """Pillow's libtiff (JPEG in YCbCr, LZW), ImageMagick and libvips (tiled JPEG, pyramids, BigTIFF)."""
    photo = SAMPLES / "astronaut.jpg"
    paths = []
    with Image.open(photo) as img:
        for compression in ("jpeg", "tiff_lzw", "tiff_adobe_deflate", None):
            paths.append(tmp_path / f"pil-{compression}.tif")
            img.save(paths[-1], compression=compression)
    for tool, options in [("vips", "[compression=jpeg,tile,tile-width=128,tile-height=128]"),
                          ("vips", "[compression=deflate,tile,pyramid,predictor=horizontal]"),
                          ("vips", "[bigtiff,compression=lzw]"), ("convert", "")]:
        target = tmp_path / f"{tool}-{len(paths)}.tif"
        command = ["vips", "copy", str(photo), f"{target}{options}"] if tool == "vips" else \
            ["/usr/bin/convert", str(photo), "-compress", "JPEG", str(target)]
        if subprocess.run(command, capture_output=True).returncode == 0:
            paths.append(target)
    assert len(paths) >= 4
    for path in paths:
        whole = load(path)
        with open_rows(path, None) as rows:
            assert np.array_equal(np.concatenate([rows.take(0, 200), rows.take(200, 512)]), whole.pixels), path
            assert rows.info == whole.info, path


def test_tiffs_not_streamed_in_are_loaded_whole(tmp_path):
    """A rotated TIFF, a palette, 1-bit, 8-bit premultiplied alpha (Pillow un-premultiplies those its own
    way): open_rows declines, and the job decodes them whole, then still streams its output."""
    pixels = noise((40, 30, 3))
    rotated = write(tmp_path / "rotated.tif", pixels, extratags=[(274, "H", 1, 6, True)])
    Image.fromarray(pixels).convert("P").save(tmp_path / "palette.tif")
    Image.fromarray(pixels[..., 0] > 128).save(tmp_path / "bilevel.tif")
    premultiplied = write(tmp_path / "premultiplied.tif", noise((40, 30, 4)), extrasamples=["assocalpha"])
    for path in (rotated, tmp_path / "palette.tif", tmp_path / "bilevel.tif", premultiplied):
        assert open_rows(path, None) is None, path
        whole, streamed, report = both(tmp_path, path, blur(1.0))
        assert_same(whole, streamed, report)
        assert not any("read band by band" in n for n in report.notes)
    assert open_rows(SAMPLES / "astronaut.jpg", None) is None


def test_gather_takes_runs_of_rows():
    image = np.arange(20)[:, None, None] * np.ones((1, 2, 1))
    rows = ArrayRows(image)
    for index in ([3, 2, 1, 0, 0, 1, 2], [18, 19, 0, 1, 2], [5, 6, 7], [19, 19, 18]):
        assert np.array_equal(gather(rows, np.array(index)), image[index])


# --- identical to the whole image ---------------------------------------------------------------------------

@pytest.mark.parametrize("filt", ALL, ids=lambda f: f.name + str(len(f.kernels)))
def test_every_filter_streams_to_the_whole_image_result(tmp_path, filt):
    source = write(tmp_path / "in.tif", noise((67, 45, 4)), compression="zlib", tile=(16, 16))
    whole, streamed, report = both(tmp_path, source, filt)
    assert_same(whole, streamed, report)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_every_border_depth_and_alpha_streams_to_the_whole_image_result(tmp_path, border, dtype, channels):
    source = write(tmp_path / "in.tif", noise((50, 37, channels), dtype), rowsperstrip=8)
    for filt in (blur(1.5), sobel(), ASYMMETRIC):
        whole, streamed, report = both(tmp_path, source, filt, border=border, cval=0.3)
        assert_same(whole, streamed, report, filt.name)


def test_linear_light_chains_and_bands_taller_than_halos(tmp_path):
    source = write(tmp_path / "in.tif", noise((90, 41, 4), np.uint16), compression="lzw", tile=(32, 16))
    for filters, options in [(blur(2.0), dict(linear=True)), (lens(5), {}),
                             ((blur(1.0), sharpen(0.5), emboss(90)), dict(border="wrap")),
                             ((sobel(), blur(3.0)), dict(border="mirror"))]:
        for band_rows in (1, 5, 64, 89):
            whole, streamed, report = both(tmp_path, source, filters, band_rows=band_rows, **options)
            assert_same(whole, streamed, report, (filters, band_rows))


@pytest.mark.parametrize("name", ["astronaut.jpg", "camera.png", "coffee_rgba.png"])
def test_inputs_decoded_whole_still_stream_the_filter_and_the_output(tmp_path, name):
    whole, streamed, report = both(tmp_path, SAMPLES / name, (unsharp(2, 1), sobel()), band_rows=100)
    assert_same(whole, streamed, report)
    assert not any("read band by band" in n for n in report.notes)


def test_a_budget_too_small_for_the_image_streams_it(tmp_path):
    source = write(tmp_path / "in.tif", noise((300, 200, 3)), compression="zlib")
    report = process_file(source, tmp_path / "a.tif", blur(1.0), Options(max_memory=1 << 20))
    assert (1 << 20) // (200 * 3 * 4 * 6) == 72
    assert any("streamed in bands of 72 rows" in n for n in report.notes), report.notes
    whole = process_file(source, tmp_path / "b.tif", blur(1.0), Options())
    assert not any("streamed" in n for n in whole.notes)
    assert_same(read(tmp_path / "b.tif"), read(tmp_path / "a.tif"), report)


# --- the output file ------------------------------------------------------------------------------------

def layout(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        return dict(compression=page.compression.name, predictor=int(page.predictor), tiled=page.is_tiled,
                    chunks=page.chunks[:2], bigtiff=tif.is_bigtiff)


@pytest.mark.parametrize("compression, predictor", [(None, None), ("zlib", None), ("zlib", 2), ("lzw", 2),
                                                    ("zstd", None), ("packbits", None), ("lzma", None)])
def test_the_output_keeps_the_inputs_compression_and_predictor(tmp_path, compression, predictor):
    source = write(tmp_path / "in.tif", noise((70, 50, 3)), compression=compression, predictor=predictor)
    whole, streamed, report = both(tmp_path, source, blur(1.0))
    assert_same(whole, streamed, report)
    found = layout(tmp_path / "streamed.tif")
    assert found["compression"] == layout(source)["compression"]
    assert found["predictor"] == (predictor or 1)
    assert found["tiled"] == (compression is not None)


def test_uncompressed_output_is_strips_compressed_is_tiles(tmp_path):
    source = write(tmp_path / "in.tif", noise((600, 700, 3)))
    process_file(source, tmp_path / "raw.tif", blur(1.0), Options(band_rows=100))
    assert layout(tmp_path / "raw.tif") == dict(compression="NONE", predictor=1, tiled=False,
                                                chunks=((1 << 20) // 2100, 700), bigtiff=False)
    process_file(source, tmp_path / "zstd.tif", blur(1.0), Options(band_rows=100, compression="zstd"))
    assert layout(tmp_path / "zstd.tif")["chunks"] == (256, 256)
    tiled = write(tmp_path / "tiled.tif", noise((600, 700, 3)), compression="zlib", tile=(128, 64))
    process_file(tiled, tmp_path / "kept.tif", blur(1.0), Options(band_rows=100))
    assert layout(tmp_path / "kept.tif")["chunks"] == (128, 64)  # the input's tiles
    for name in ("raw.tif", "zstd.tif", "kept.tif"):  # libtiff reads them
        with Image.open(tmp_path / name) as img:
            assert np.array_equal(np.asarray(img), read(tmp_path / name))


@pytest.mark.parametrize("choice, expected", [("none", "NONE"), ("deflate", "ADOBE_DEFLATE"), ("lzw", "LZW"),
                                              ("zstd", "ZSTD"), ("jpeg", "JPEG")])
def test_compression_option_overrides_the_inputs(tmp_path, choice, expected):
    source = write(tmp_path / "in.tif", noise((80, 64, 3), smooth=True), compression="zlib")
    whole, streamed, report = both(tmp_path, source, blur(1.0), compression=choice)
    assert layout(tmp_path / "streamed.tif")["compression"] == expected
    assert layout(tmp_path / "whole.tif")["compression"] == expected
    if choice == "jpeg":  # lossy: both close to the filtered image
        assert np.abs(streamed.astype(float) - whole).mean() < 2
        with Image.open(tmp_path / "streamed.tif") as img:  # libtiff reads tifffile's JPEG tiles
            assert np.abs(np.asarray(img).astype(float) - streamed).max() == 0
    else:
        assert_same(whole, streamed, report)


def test_jpeg_compression_of_16_bit_or_alpha_becomes_deflate(tmp_path):
    for pixels in (noise((40, 48, 3), np.uint16), noise((40, 48, 4))):
        source = write(tmp_path / "in.tif", pixels)
        report = process_file(source, tmp_path / "out.tif", blur(1.0),
                              Options(band_rows=8, compression="jpeg", overwrite=True))
        assert layout(tmp_path / "out.tif")["compression"] == "ADOBE_DEFLATE"
        assert any("Deflate" in n for n in report.notes)


def test_metadata_is_carried(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    source = write(tmp_path / "in.tif", noise((60, 40, 3)), compression="zlib", iccprofile=icc,
                   resolution=(300, 300), resolutionunit="INCH", description="an aerial tile",
                   extratags=[(700, "B", len(xmp), xmp, True), (315, "s", 0, "A. Photographer", True),
                              (33432, "s", 0, "CC-BY", True)])
    report = process_file(source, tmp_path / "out.tif", sharpen(), Options(band_rows=9))
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        tags = tif.pages.first.tags
        assert tags[34675].value == icc
        assert bytes(tags[700].value) == xmp
        assert tags[270].value == "an aerial tile"
        assert tags[315].value == "A. Photographer" and tags[33432].value == "CC-BY"
        assert tags[282].value == (300, 1) and tags[296].value == 2
    with Image.open(tmp_path / "out.tif") as img:
        assert img.info["dpi"] == (300, 300)
    assert any("streamed" in n for n in report.notes)
    process_file(source, tmp_path / "stripped.tif", sharpen(), Options(band_rows=9, strip=True))
    with tifffile.TiffFile(tmp_path / "stripped.tif") as tif:
        assert not {34675, 700, 270, 315} & set(tif.pages.first.tags.keys())


def test_grey_result_drops_an_rgb_profile(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = write(tmp_path / "in.tif", noise((60, 40, 3)), iccprofile=icc)
    report = process_file(source, tmp_path / "out.tif", sobel(), Options(band_rows=9))
    assert read(tmp_path / "out.tif").shape == (60, 40, 1)
    assert any("ICC profile dropped" in n for n in report.notes)


def test_bigtiff_past_the_classic_limit(tmp_path, monkeypatch):
    source = write(tmp_path / "in.tif", noise((64, 48, 3)), compression="zlib")
    monkeypatch.setattr(tiffbands, "CLASSIC_LIMIT", 5000)  # as if the image were over 4 GB
    for compression in ("none", "deflate"):
        whole, streamed, report = both(tmp_path, source, blur(1.0), compression=compression)
        assert layout(tmp_path / "streamed.tif")["bigtiff"]
        assert_same(whole, streamed, report)
    monkeypatch.undo()
    both(tmp_path, source, blur(1.0))
    assert not layout(tmp_path / "streamed.tif")["bigtiff"]


# --- refusals, errors, interruptions -------------------------------------------------------------------------

def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "imgconv.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_a_jpeg_too_big_for_its_format_is_refused_from_the_header(tmp_path):
    source = write(tmp_path / "wide.tif", np.zeros((8, 70_000, 1), np.uint8), compression="zlib")
    done = cli("blur", source, tmp_path / "out.jpg", "--band-rows", "4")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"imgconv: {tmp_path / 'out.jpg'}: a JPEG holds at most 65,500 pixels a side; this image is 70,000x8: "
        "write a TIFF (.tif), which is written band by band"]
    assert not (tmp_path / "out.jpg").exists()
    assert cli("blur", source, tmp_path / "out.png", "--band-rows", "4").returncode == 0  # PNG holds it


def test_a_corrupt_tile_midway_leaves_no_output(tmp_path):
    source = write(tmp_path / "in.tif", noise((256, 64, 3)), compression="zlib", tile=(32, 32))
    with tifffile.TiffFile(source) as tif:
        page = tif.pages.first
        offset, count = page.dataoffsets[9], page.databytecounts[9]  # a tile in the fifth row of tiles
    data = bytearray(source.read_bytes())
    data[offset : offset + count] = b"\xff" * count
    source.write_bytes(bytes(data))
    outcome = run_job(Job(str(source), str(tmp_path / "out.tif")), blur(1.0), Options(band_rows=16))
    assert not outcome.ok
    assert outcome.error.startswith(f"{source}: corrupt, truncated or unsupported image (")
    assert "\n" not in outcome.error
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_a_truncated_uncompressed_tiff_is_one_line(tmp_path):
    """Pixels missing from the end of the file: one line saying so, nothing written."""
    source = write(tmp_path / "in.tif", noise((300, 64, 3)), rowsperstrip=10)
    source.write_bytes(source.read_bytes()[:-5000])
    done = cli("blur", source, tmp_path / "out.tif", "--band-rows", "50")
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "truncated" in done.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_an_interrupt_midway_leaves_no_output_and_the_old_file(tmp_path):
    source = write(tmp_path / "in.tif", noise((200, 64, 3)))
    target = tmp_path / "out.tif"
    target.write_bytes(b"the old file")
    told = []

    def interrupt(done, total):
        told.append((done, total))
        if done == 3:
            raise KeyboardInterrupt

    for compression in ("none", "zstd"):
        told.clear()
        with pytest.raises(KeyboardInterrupt):
            process_file(source, target, blur(1.0), Options(band_rows=20, overwrite=True, compression=compression),
                         on_band=interrupt)
        assert told == [(1, 10), (2, 10), (3, 10)]
        assert target.read_bytes() == b"the old file"
        assert sorted(os.listdir(tmp_path)) == ["in.tif", "out.tif"]


def test_every_band_is_told_to_the_progress_bar(tmp_path):
    source = write(tmp_path / "in.tif", noise((100, 64, 3)), compression="zlib")
    told = []
    process_file(source, tmp_path / "out.tif", blur(1.0), Options(band_rows=30), on_band=lambda *a: told.append(a))
    assert told == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_overflow_in_a_band_is_one_line(tmp_path):
    pixels = np.zeros((64, 64, 1), np.float32)
    pixels[50:, ::2] = 3e38  # sharpened, 5 x 3e38 is infinity: only in the fourth band
    source = write(tmp_path / "in.tif", pixels)
    outcome = run_job(Job(str(source), str(tmp_path / "out.tif")), sharpen(), Options(band_rows=16))
    assert not outcome.ok and outcome.error.startswith(f"{source}: the result overflowed")
    assert not (tmp_path / "out.tif").exists()


def test_pixel_limit_is_checked_from_the_header(tmp_path):
    source = write(tmp_path / "in.tif", noise((100, 100, 3)))
    outcome = run_job(Job(str(source), str(tmp_path / "out.tif")), blur(1.0), Options(band_rows=8, max_pixels=5000))
    assert not outcome.ok and "over the limit of 5,000" in outcome.error
    assert not (tmp_path / "out.tif").exists()


def test_filtered_rows_for_any_range():
    image = noise((40, 30, 3))
    filtered = FilteredRows(ArrayRows(image), blur(2.0), 255.0, out_dtype=np.uint8, border="wrap")
    whole = filtered.take(0, 40)
    for first, last in ((0, 1), (5, 17), (39, 40), (10, 40)):
        assert np.array_equal(filtered.take(first, last), whole[first:last])


# --- memory --------------------------------------------------------------------------------------------------

#: Peak resident memory of a fresh process filtering one file, in MiB.  VmHWM is the process's own high-water
#: mark: getrusage's ru_maxrss would carry over the (larger) pytest process that started it.
PEAK = textwrap.dedent(r"""
    import json, re, sys
    from imgconv.filters import blur
    from imgconv.job import Options, process_file
    process_file(sys.argv[1], sys.argv[2], blur(2.0), Options(overwrite=True, **json.loads(sys.argv[3])))
    print(int(re.search(r"VmHWM:\s*(\d+)", open("/proc/self/status").read()).group(1)) // 1024)
""")


def peak_mib(source, target, **options):
    done = subprocess.run([sys.executable, "-c", PEAK, str(source), str(target), json.dumps(options)],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_peak_memory_depends_on_the_band_not_the_image_height(tmp_path, compression):
    """3000-pixel-wide RGB TIFFs 2000 and 8000 rows tall (18 and 72 MB of pixels) in 100-row bands: the
    taller one's peak is within a few MB of the shorter one's, while in memory it is 100+ MB more."""
    peaks = {}
    for height in (2000, 8000):
        source = write(tmp_path / f"{height}.tif", noise((height, 3000, 3), smooth=compression is not None),
                       compression=compression, tile=(256, 256) if compression else None)
        # One engine for both (the jitted planner may pick FFT, whose rounding depends on the band: assert_same)
        peaks[height] = (peak_mib(source, tmp_path / f"{height}-streamed.tif", band_rows=100, algo="separable"),
                         peak_mib(source, tmp_path / f"{height}-whole.tif", max_memory=1 << 40, algo="separable"))
        assert np.array_equal(read(tmp_path / f"{height}-streamed.tif"), read(tmp_path / f"{height}-whole.tif"))
    taller = 6000 * 3000 * 3 / 2**20
    assert peaks[8000][0] - peaks[2000][0] < 0.15 * taller, peaks
    assert peaks[8000][1] - peaks[2000][1] > 1.5 * taller, peaks


def test_big_outputs_are_handed_to_the_disk_as_they_are_written(tmp_path, monkeypatch):
    """FileSink starts writeback of every WRITE_BEHIND bytes written (so the final fsync is short), and
    the file is still exactly right."""
    from imgconv.io import atomic

    advised = []
    real = os.posix_fadvise
    monkeypatch.setattr(atomic.FileSink, "WRITE_BEHIND", 10_000)
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, size, advice: (advised.append((offset, size)),
                                                                               real(fd, offset, size, advice)))
    source = write(tmp_path / "in.tif", noise((200, 64, 3)))
    reference = tmp_path / "reference.tif"
    process_file(source, reference, blur(1.0), Options(algo="separable"))
    for compression in ("none", "zstd"):
        advised.clear()
        target = tmp_path / f"{compression}.tif"
        process_file(source, target, blur(1.0), Options(algo="separable", band_rows=20, compression=compression))
        assert np.array_equal(read(target), read(reference))
        covered = np.zeros(target.stat().st_size, bool)
        for offset, count in advised:
            covered[offset : offset + count] = True
        assert covered.mean() > 0.6, advised


def test_an_unnamed_file_is_linked_not_copied_where_proc_links_are_refused(tmp_path, monkeypatch):
    """Linux 6.18 here refuses linkat through /proc/self/fd with EXDEV: the finished output is then
    linked by AT_EMPTY_PATH (root may), not copied into a named temporary file (twice the writing)."""
    from imgconv.io import atomic

    if not hasattr(os, "O_TMPFILE") or os.geteuid() != 0:
        pytest.skip("needs O_TMPFILE and the right to link by file descriptor")
    real = os.link

    def refused(src, dst, **kwargs):
        if str(src).startswith("/proc/self/fd/"):
            raise OSError(18, "Invalid cross-device link")
        return real(src, dst, **kwargs)

    monkeypatch.setattr(os, "link", refused)
    monkeypatch.setattr(atomic, "_named_temporary", None)  # a copy would call it and fail
    atomic.write_atomic(tmp_path / "out.bin", b"all of it")
    assert (tmp_path / "out.bin").read_bytes() == b"all of it"
    assert os.listdir(tmp_path) == ["out.bin"]
