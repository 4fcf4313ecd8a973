"""JPEG pixels through imagecodecs (libjpeg-turbo), straight into and out of numpy; the header stays Pillow's.

Pillow parses the header (size, mode, EXIF, ICC, XMP, comment, dpi, quantisation tables, subsampling: a
fraction of a millisecond).  imagecodecs decodes the pixels into the array the filters read -- Pillow
would decode into its own 4-byte-per-pixel buffer and copy that into numpy -- and encodes from it, both
without the GIL.  Its encoder writes no metadata, so the segments Pillow would write are made here, in
Pillow's order and layout: a test checks that the files are Pillow's, byte for byte.  CMYK/YCCK (Adobe)
JPEGs stay with Pillow, which knows Adobe's inverted inks.  Measured in docs/fidelity.md.
"""

from __future__ import annotations

import functools
import struct

import numpy as np
from PIL import Image, JpegImagePlugin

#: Pillow's get_sampling() -> the subsampling name Pillow's and imagecodecs' encoders take.
SAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
#: What one JPEG marker segment can carry (its 16-bit length counts itself).
MAX_SEGMENT = 65533
EXIF_HEADER = b"Exif\x00\x00"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
ICC_HEADER = b"ICC_PROFILE\x00"
#: Most bytes of each metadata kind a JPEG holds: EXIF, XMP and the comment in one segment each, the ICC
#: profile in up to 255 numbered ones; dpi: JFIF's 16-bit density.
LIMITS = {"exif": MAX_SEGMENT, "xmp": MAX_SEGMENT - len(XMP_HEADER), "comment": MAX_SEGMENT,
          "icc_profile": 255 * (MAX_SEGMENT - len(ICC_HEADER) - 2), "dpi": 65535}


def decodes(img: Image.Image) -> bool:
    """Whether imagecodecs gives this JPEG's pixels exactly as Pillow would: 8-bit grey or colour."""
    return img.format in ("JPEG", "MPO") and img.mode in ("L", "RGB") and getattr(img, "bits", 8) == 8


def decode(data: bytes) -> np.ndarray:
    """H x W x C uint8 pixels of the (first) image in a JPEG; a file cut short is an error, as in Pillow."""
    import imagecodecs

    if not _complete(data):
        raise OSError("image file is truncated (no end-of-image marker after the image data)")
    pixels = imagecodecs.jpeg8_decode(data)
    return pixels[:, :, np.newaxis] if pixels.ndim == 2 else pixels


def _complete(data: bytes) -> bool:
    """An end-of-image marker follows the first scan.  libjpeg pads a truncated file with grey and only
    warns, which imagecodecs does not report; a marker byte pair FF D9 cannot occur inside scan data."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", pos) != -1
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return False


def settings(img: Image.Image) -> dict:
    """The encoder settings to keep for a JPEG output: quality (estimated) and chroma subsampling."""
    kept = {"format": "JPEG"}
    quantization = getattr(img, "quantization", None)
    if quantization:
        kept["quality"] = estimate_quality(quantization)
    sampling = SAMPLING.get(JpegImagePlugin.get_sampling(img)) if img.mode == "RGB" else None
    if sampling:
        kept["subsampling"] = sampling
    return kept


def estimate_quality(quantization: dict) -> int:
    """The lowest libjpeg quality whose quantisation tables are, summed, no coarser than these, so that a
    re-encoded file is not coarser than its input.  Exact for files libjpeg wrote (Pillow, most software);
    ImageMagick's estimate (sums and a few sampled entries) on every camera photo tried."""
    tables = [list(quantization[key]) for key in sorted(quantization)][:2]
    total = sum(map(sum, tables))
    coarseness = _table_sums(len(tables))  # falls as quality rises: the first quality at or below total
    return int(min(np.searchsorted(-coarseness, -total) + 1, 100))


@functools.cache
def _table_sums(count: int) -> np.ndarray:
    """Summed entries of the first `count` standard tables at qualities 1..100."""
    return np.array([sum(map(sum, _standard_tables(quality)[:count])) for quality in range(1, 101)])


def _standard_tables(quality: int) -> list:
    """libjpeg's luminance and chrominance tables at `quality` (jpeg_quality_scaling, baseline-clamped)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((BASE_TABLES * scale + 50) // 100, 1, 255).tolist()


#: The standard's base quantisation tables (ITU-T T.81 Annex K.1), luminance and chrominance, in natural
#: order; libjpeg scales them by quality.
BASE_TABLES = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
     24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32,
])


def encode(pixels: np.ndarray, sink, *, quality: int, subsampling: str | None, meta: dict) -> None:
    """Write a JPEG of H x W x 1 or 3 uint8 pixels to `sink`: imagecodecs' image, our metadata segments
    in place of its bare JFIF header.  `meta` must fit (see `LIMITS`)."""
    import imagecodecs

    colour = pixels.shape[2] == 3
    pixels = np.ascontiguousarray(pixels if colour else pixels[:, :, 0])  # a no-op for the filters' results
    encoded = imagecodecs.jpeg8_encode(pixels, level=quality,
                                       subsampling=subsampling.replace(":", "") if colour and subsampling else None)
    view = memoryview(encoded)
    start = 2 + 18 if bytes(view[2:4]) == b"\xff\xe0" and bytes(view[6:11]) == b"JFIF\x00" else 2
    sink.write(b"\xff\xd8" + segments(meta))
    sink.write(view[start:])


def segments(meta: dict) -> bytes:
    """The JFIF header and the metadata segments Pillow writes after the start-of-image marker:
    APP0 JFIF (dpi), APP1 Exif, APP1 XMP, APP2 ICC_PROFILE (split in numbered chunks), COM."""
    dpi = [round(d) for d in meta.get("dpi") or (0, 0)]
    units, density = (1, dpi) if dpi[0] > 0 and dpi[1] > 0 else (0, (1, 1))
    out = [_segment(0xE0, b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, units, *density, 0, 0))]
    if meta.get("exif"):
        exif = meta["exif"]
        out.append(_segment(0xE1, exif if exif.startswith(EXIF_HEADER) else EXIF_HEADER + exif))
    if meta.get("xmp"):
        out.append(_segment(0xE1, XMP_HEADER + meta["xmp"]))
    profile = meta.get("icc_profile")
    if profile:
        size = MAX_SEGMENT - len(ICC_HEADER) - 2
        chunks = [profile[i:i + size] for i in range(0, len(profile), size)]
        out += [_segment(0xE2, ICC_HEADER + bytes([n, len(chunks)]) + chunk) for n, chunk in enumerate(chunks, 1)]
    if meta.get("comment"):
        out.append(_segment(0xFE, meta["comment"]))
    return b"".join(out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload
