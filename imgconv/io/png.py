"""PNG chunks, and 16-bit colour PNG through imagecodecs.

Pillow 13 reads a 16-bit RGB/RGBA/grey+alpha PNG as 8 bits and cannot write one (Pillow issue #7723),
so for those files imagecodecs (libpng) does the pixels, imported only then.  The metadata stays with
Pillow, so that it is read and written by the same code as for every other PNG: Pillow reads or writes
the metadata chunks of a 1x1 stand-in image, and they are moved between it and the real file here.

Every PNG's chunk CRCs are checked before decoding: Pillow does not check the image data's.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The chunks carrying what imgconv keeps: ICC profile, EXIF, dpi, text (XMP is an iTXt chunk).
METADATA = {b"iCCP", b"eXIf", b"pHYs", b"tEXt", b"zTXt", b"iTXt"}


class PNGError(ValueError):
    """A corrupt, truncated or unsupported PNG."""


def chunks(data: bytes):
    """(type, payload) for every chunk, CRC checked, up to IEND."""
    if data[:8] != SIGNATURE:
        raise PNGError("not a PNG file")
    pos = 8
    while True:
        if pos + 8 > len(data):
            raise PNGError("truncated PNG (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 8 + length
        if length > 2**31 - 1 or end + 4 > len(data):
            raise PNGError("truncated PNG (a chunk runs past the end of the file)")
        payload = data[pos + 8:end]
        if zlib.crc32(kind + payload) != struct.unpack(">I", data[end:end + 4])[0]:
            raise PNGError(f"corrupt PNG (bad CRC in {kind.decode('latin-1')!r} chunk)")
        yield kind, payload
        if kind == b"IEND":
            return
        pos = end + 4


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def is_wide(data: bytes) -> bool:
    """16 bits per sample and more than one sample (what Pillow would read as 8 bits)."""
    return data[12:16] == b"IHDR" and data[24] == 16 and data[25] in (2, 4, 6)


def decode(data: bytes) -> np.ndarray:
    """The pixels of a 16-bit PNG, H x W x C native uint16 (a tRNS colour becomes an alpha channel)."""
    import imagecodecs

    pixels = imagecodecs.png_decode(data)
    return pixels[:, :, np.newaxis] if pixels.ndim == 2 else pixels


def _metadata_chunks(data: bytes) -> bytes:
    return b"".join(chunk(kind, payload) for kind, payload in chunks(data) if kind in METADATA)


_ONE_PIXEL = (chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)), chunk(b"IDAT", zlib.compress(b"\0\0")))


def metadata_image(data: bytes) -> Image.Image:
    """A 1x1 PNG with `data`'s metadata chunks, for Pillow to read them: from the real file Pillow
    would decode all the pixels (to 8 bits) to reach the chunks after the image data."""
    header, pixel = _ONE_PIXEL
    return Image.open(io.BytesIO(SIGNATURE + header + _metadata_chunks(data) + pixel + chunk(b"IEND", b"")))


def encode(sink, pixels: np.ndarray, stand_in: bytes) -> None:
    """Write a 16-bit PNG of H x W x C uint16 pixels (C = 2, 3 or 4) to `sink`, with the metadata chunks of
    `stand_in`, a PNG Pillow wrote.  zlib level 1 with run-length matching and the Up filter: fastest to
    write and to read back, files within 5% of the smallest settings; measured in docs/fidelity.md."""
    import imagecodecs

    encoded = imagecodecs.png_encode(np.ascontiguousarray(pixels), level=1, strategy=imagecodecs.PNG.STRATEGY.RLE,
                                     filter=imagecodecs.PNG.FILTER.UP)
    ihdr_end = 8 + 25  # imagecodecs writes IHDR first and every other chunk after it
    view = memoryview(encoded)
    sink.write(view[:ihdr_end])
    sink.write(_metadata_chunks(stand_in))
    sink.write(view[ihdr_end:])
