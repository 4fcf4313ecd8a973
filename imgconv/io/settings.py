"""Encoder settings kept from the input: a filtered file is encoded the way it came.

A JPEG keeps its chroma subsampling and its quality (estimated from the quantisation tables, as
ImageMagick does); a TIFF its compression and predictor; a lossless input stays lossless in a WebP or
JPEG XL output.  `--quality N` overrides the quality, and makes WebP and JPEG XL lossy -- except JPEG XL at
100, which is lossless, as in libjxl's cjxl.  The input's settings are a small dict on the Picture
(`encoding`); `for_output` turns them into the writer's options for one output format.

TIFF settings are TIFF tag values (Compression 259, Predictor 317), so that any TIFF writer -- Pillow's,
tifffile, a streaming one -- can share `tiff_settings` and `tiff_compression`.
"""

from __future__ import annotations

import struct

DEFAULT_QUALITY = 95
#: Formats whose files are lossy (everything else decodes to exactly what was encoded).  JPEG 2000 and
#: HEIF/AVIF may be either; JPEG XL too, but no library at hand says which, so they count as lossy.
LOSSY_FORMATS = {"JPEG", "MPO", "AVIF", "HEIF", "JXL", "JPEG2000"}
#: TIFF compressions (tag 259) that lose information: old-style JPEG, JPEG, WebP, JPEG 2000, JPEG XL.
LOSSY_TIFF = {6, 7, 50001, 34712, 33003, 33005, 50002, 52546}
#: TIFF compressions imgconv's writers write (Pillow's libtiff and tifffile both): none, LZW, JPEG (8-bit
#: only), Deflate, PackBits, LZMA, Zstandard.  Old Deflate (32946) is written as Deflate (8).
WRITABLE_TIFF = {1, 5, 7, 8, 32773, 34925, 50000}
#: Compressions a predictor (horizontal differencing 2, floating point 3) goes with.
PREDICTED_TIFF = {5, 8, 34925, 50000}
TIFF_NAMES = {1: "none", 5: "LZW", 7: "JPEG", 8: "Deflate", 32773: "PackBits", 34925: "LZMA", 50000: "Zstandard"}
#: --compression's choices and their Compression tag values.
COMPRESSION_CHOICES = {"none": 1, "deflate": 8, "lzw": 5, "zstd": 50000, "jpeg": 7}


def of_file(fmt: str, data: bytes, header=None) -> dict:
    """The settings of an input in Pillow format `fmt`; `header` is Pillow's image when it opened the
    file (JPEG quantisation tables, TIFF tags)."""
    if fmt in ("JPEG", "MPO") and header is not None:
        from . import jpeg

        return jpeg.settings(header)
    if fmt == "TIFF" and header is not None:
        tags = header.tag_v2
        return tiff_settings(tags.get(259, 1), tags.get(317, 1))
    if fmt == "WEBP":
        return {"format": "WEBP", "lossless": webp_is_lossless(data)}
    return {"format": fmt, "lossless": fmt not in LOSSY_FORMATS}


def tiff_settings(compression, predictor) -> dict:
    """A TIFF's settings from its Compression and Predictor tag values."""
    compression, predictor = int(compression or 1), int(predictor or 1)
    return {"format": "TIFF", "compression": compression, "predictor": predictor,
            "lossless": compression not in LOSSY_TIFF}


def webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP's (first) image is VP8L, lossless, rather than VP8: the RIFF chunks say so."""
    pos, end = 12, len(data)
    while pos + 8 <= end:
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if kind in (b"VP8L", b"VP8 "):
            return kind == b"VP8L"
        pos = pos + 8 + 16 if kind == b"ANMF" else pos + 8 + size + (size & 1)  # frames: look inside
    return False


def with_compression(kept: dict | None, name: str | None) -> dict | None:
    """The settings for a TIFF output when --compression names one (`COMPRESSION_CHOICES`): that
    compression, with horizontal or floating-point differencing where it goes with one."""
    if name is None:
        return kept
    compression = COMPRESSION_CHOICES[name]
    return {**(kept or {}), **tiff_settings(compression, 2 if compression in PREDICTED_TIFF else 1)}


def tiff_compression(kept: dict | None, dtype, notes: list, default: int = 8) -> tuple[int, int | None]:
    """(compression, predictor or None for the writer's default) for a TIFF output of `dtype` samples:
    the input's, when it was a TIFF and the writer can write it, else `default` (Deflate)."""
    if not kept or kept.get("format") != "TIFF":
        return default, None
    compression = 8 if kept["compression"] == 32946 else kept["compression"]
    if compression not in WRITABLE_TIFF or (compression == 7 and dtype.itemsize != 1):
        notes.append(f"TIFF compression {compression} cannot be written for this image: written with Deflate")
        return default, None
    predictor = kept["predictor"] if compression in PREDICTED_TIFF else 1
    if predictor == 3 and dtype.kind != "f" or predictor == 2 and dtype.kind == "f":
        predictor = 3 if dtype.kind == "f" else 2  # the same differencing, for the output's sample type
    return compression, predictor


def for_output(fmt: str, kept: dict | None, quality: int | None, notes: list) -> dict:
    """The writer options for a `fmt` output: `quality` if the user gave one, else what `kept` (the
    input's settings) implies, else the defaults.  Keys: quality, subsampling, lossless."""
    kept = kept or {}
    same = kept.get("format") == fmt or (fmt == "JPEG" and kept.get("format") == "MPO")
    options = {"quality": quality or DEFAULT_QUALITY}
    if fmt == "JPEG" and same:
        if quality is None and kept.get("quality"):
            options["quality"] = kept["quality"]
        if kept.get("subsampling"):
            options["subsampling"] = kept["subsampling"]
        kept_what = [f"quality {options['quality']}" if quality is None and kept.get("quality") else "",
                     f"{kept['subsampling']} subsampling" if kept.get("subsampling") else ""]
        if any(kept_what):
            notes.append(f"the input's JPEG {' and '.join(w for w in kept_what if w)} kept")
    elif fmt in ("WEBP", "JXL"):
        lossless = quality == 100 if fmt == "JXL" and quality is not None else False
        if quality is None and kept.get("lossless"):
            lossless = True
            notes.append(f"{fmt} written lossless, as the input was lossless")
        options["lossless"] = lossless
    return options
