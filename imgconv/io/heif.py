"""HEIF/HEIC, the format of every iPhone photo since 2017, through pillow-heif (libheif), imported only when
such a file is read or written.

pillow-heif's own API rather than its Pillow plugin: it gives 10- and 12-bit pictures as 16-bit arrays,
which no Pillow mode holds, and it reads the header before decoding, so the pixel limit is checked first.
libheif applies the file's rotation and mirror (irot/imir boxes) itself; the EXIF orientation a HEIC also
carries is informative only there, so it is dropped, not applied a second time.  16-bit pictures are
written as 10-bit HEIC, HEIF's usual high depth (rounded); ICC profile, EXIF and XMP are carried.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import ImgconvError
from .picture import rescale

#: ftyp brands of HEVC-coded HEIF files (AVIF, also HEIF, is Pillow's own).
BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
#: Depth of the HEIC files written from 16-bit pictures.
WRITE_BITS = 10
#: x265's speed preset: its default (medium) takes 8x as long for files 14% smaller (docs/fidelity.md).
PRESET = "ultrafast"


def recognises(data: bytes) -> bool:
    """An ISO media file whose major or compatible brands say HEVC-coded HEIF."""
    if data[4:8] != b"ftyp" or len(data) < 16:
        return False
    size = int.from_bytes(data[:4], "big")
    brands = [data[8:12]] + [data[i:i + 4] for i in range(16, min(size, len(data), 256), 4)]
    return data[8:12] not in (b"avif", b"avis") and any(brand in BRANDS for brand in brands)


def read(data: bytes, check_size, notes: list):
    """(pixels H x W x C uint8 or uint16, metadata, alpha, lossless=False) of a HEIF's primary image,
    upright."""
    import pillow_heif

    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    check_size(heif.size)  # before decoding: pillow-heif decodes on first access to the pixels
    if len(heif) > 1:
        notes.append(f"only the primary of the {len(heif)} images in this HEIF file is filtered")
    decoded = np.asarray(heif)  # libheif's buffer, read-only
    bits = int(heif.info.get("bit_depth") or 8)
    if decoded.dtype == np.uint16:  # the samples sit in the top `bits` bits: fill the rest so white is 65535
        pixels = decoded | (decoded >> bits)
    else:
        pixels = np.array(decoded)  # a writable copy of libheif's buffer
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    meta = {key: heif.info[key] for key in ("icc_profile", "exif", "xmp") if heif.info.get(key)}
    return pixels, meta, bool(heif.has_alpha), False


def write(sink, pixels: np.ndarray, *, alpha: bool, meta: dict, options: dict, notes: list) -> None:
    """A HEIC of `pixels` (8-bit, or 16-bit written as 10-bit) at options["quality"], to `sink`."""
    import pillow_heif

    if pixels.shape[2] == 2:
        notes.append("HEIF holds no grey+alpha: saved as RGBA")
        pixels = pixels[:, :, [0, 0, 0, 1]]
    if pixels.dtype not in (np.uint8, np.uint16):
        notes.append(f"HEIF holds no {pixels.dtype} samples: saved as 10-bit")
        pixels = rescale(pixels, np.uint16)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    if pixels.dtype == np.uint16:
        if WRITE_BITS < 16:
            notes.append(f"HEIF written with {WRITE_BITS} bits per sample (rounded from 16)")
        top = (pixels.astype(np.uint32) * (2**WRITE_BITS - 1) + 32767) // 65535
        pixels = (top << (16 - WRITE_BITS)).astype(np.uint16)
        mode += ";16"
    height, width = pixels.shape[:2]
    try:
        heif = pillow_heif.from_bytes(mode=mode, size=(width, height), data=np.ascontiguousarray(pixels).tobytes())
        params = {k: meta[k] for k in ("icc_profile", "exif", "xmp") if meta.get(k)}
        heif.save(sink, quality=options["quality"], enc_params={"preset": PRESET}, **params)
    except (ValueError, RuntimeError) as e:
        raise ImgconvError(f"cannot encode a {mode} image as HEIF ({' '.join(str(e).split())})") from None
