"""TIFF files Pillow cannot hold: 16-bit colour, float colour, 16-bit grey+alpha, float64/float16 -- via tifffile.

tifffile (pure Python, numpy only, ~250 KB) is imported here and only here, so `imgconv --help` and
every 8-bit image never pay for it.  Without the optional `imagecodecs` package tifffile decodes
uncompressed, Deflate/zlib and LZMA TIFFs; an LZW, PackBits or JPEG-compressed 16-bit colour TIFF then
would need `imagecodecs` (a 26 MB binary wheel); imgconv instead registers its own LZW decoder (a
small Numba loop, LZW being the most common TIFF compression: Photoshop, GIMP, libtiff, OpenCV) and
tifffile's own pure-Python PackBits decoder.  Anything else (JPEG-in-TIFF, ...) fails with a message
naming `pip install imagecodecs`, rather than being read as 8 bits.
"""

from __future__ import annotations

import io

import numpy as np

from ..errors import ImgconvError

#: TIFF tags Pillow lists as EXIF for a TIFF file that describe the file's layout, not the picture.
STRUCTURAL_TAGS = {254, 255, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284,
                   296, 317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 530, 531, 532, 700, 33723, 34675}


class TiffError(ValueError):
    """tifffile could not read the file (corrupt, truncated, or a compression it cannot decode)."""


def read(data: bytes, check_size=None):
    """(pixels H x W x C, photometric name, extrasamples, metadata) of the first image in a TIFF.

    metadata: icc_profile, xmp, dpi and the orientation tag (applied by the caller)."""
    import tifffile

    _register_decoders()
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            if check_size is not None:  # before decoding: a header may claim any size
                check_size((int(page.imagewidth), int(page.imagelength)))
            pixels = page.asarray()
            axes = page.axes
            photometric = page.photometric.name
            extra = tuple(int(e) for e in (page.extrasamples or ()))
            meta = _page_meta(page)
    except (MemoryError, ImgconvError):
        raise
    except Exception as e:  # noqa: BLE001 - untrusted bytes: any failure of the decoder means "unreadable"
        message = str(e).strip("'\"")
        if len(message) < 8:  # e.g. a bare IndexError(0) from deep inside the parser
            message = f"{type(e).__name__} {message}".strip()
        if "imagecodecs" in message:
            message += " (pip install imagecodecs to read it)"
        raise TiffError(message or type(e).__name__) from None
    pixels = _to_yxs(pixels, axes)
    return pixels, photometric, extra, meta


def _page_meta(page) -> dict:
    tags = page.tags
    meta = {}
    for code, key in ((34675, "icc_profile"), (700, "xmp")):
        if code in tags:
            value = tags[code].value
            meta[key] = bytes(value) if not isinstance(value, str) else value.encode("utf-8")
    if 274 in tags:
        meta["orientation"] = int(tags[274].value)
    if 282 in tags and 283 in tags and int(getattr(tags.get(296), "value", 2)) == 2:
        try:
            meta["dpi"] = tuple(float(n) / float(d) for n, d in (tags[282].value, tags[283].value))
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    return meta


def _to_yxs(pixels: np.ndarray, axes: str) -> np.ndarray:
    """Reorder tifffile's axes (e.g. 'SYX' for planar files) to rows, columns, samples."""
    keep = [a for a in axes if a in "YXS"]
    for i, a in reversed(list(enumerate(axes))):  # drop any extra axis (depth, pages) by taking index 0
        if a not in "YXS":
            pixels = pixels.take(0, axis=i)
    order = [keep.index(a) for a in "YXS" if a in keep]
    pixels = pixels.transpose(order)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3:
        raise TiffError(f"unsupported TIFF layout {axes!r}")
    return pixels


def write(pixels: np.ndarray, meta: dict, *, cmyk: bool = False) -> bytes:
    """A Deflate-compressed TIFF of an H x W x C array (uint16 or float32) with ICC, XMP and dpi."""
    import tifffile

    channels = pixels.shape[2]
    if cmyk:
        photometric, extrasamples = "separated", ()
    elif channels >= 3:
        photometric, extrasamples = "rgb", ("unassalpha",) * (channels - 3)
    else:
        photometric, extrasamples = "minisblack", ("unassalpha",) * (channels - 1)
    kwargs = {}
    if meta.get("icc_profile"):
        kwargs["iccprofile"] = meta["icc_profile"]
    if meta.get("dpi"):
        kwargs["resolution"] = tuple(float(d) for d in meta["dpi"])
        kwargs["resolutionunit"] = "INCH"
    extratags = []
    if meta.get("xmp"):
        xmp = meta["xmp"] if isinstance(meta["xmp"], bytes) else str(meta["xmp"]).encode("utf-8")
        extratags.append((700, "B", len(xmp), xmp, True))
    out = io.BytesIO()
    tifffile.imwrite(out, pixels if channels > 1 else pixels[:, :, 0], photometric=photometric,
                     extrasamples=extrasamples or None, compression="zlib",
                     predictor=pixels.dtype.kind in "ui", extratags=extratags, metadata=None, **kwargs)
    return out.getvalue()


# --------------------------------------------------------------------------------------- LZW and PackBits

def _lzw_py(src, limit):  # pragma: no cover - the Numba version runs instead
    """TIFF LZW (MSB-first codes of 9..12 bits, "early change"); (bytes written, status).

    status: 0 finished (EOI or end of data), 1 output limit reached, -1 corrupt stream.  Each table entry
    is a run of bytes already written: the previous entry plus the next byte, so (start, length) suffices.
    """
    out = np.empty(limit, np.uint8)
    starts = np.zeros(4096, np.int64)
    lengths = np.zeros(4096, np.int64)
    nbits = src.size * 8
    bitpos = 0
    pos = 0
    width = 9
    next_code = 258
    prev_start = -1
    prev_len = 0
    while bitpos + width <= nbits:
        code = 0
        for k in range(width):
            bit = bitpos + k
            code = (code << 1) | ((src[bit >> 3] >> (7 - (bit & 7))) & 1)
        bitpos += width
        if code == 256:
            width = 9
            next_code = 258
            prev_start = -1
            continue
        if code == 257:
            return out, pos, 0
        start = pos
        if code < 256:
            length = 1
            if pos >= limit:
                return out, pos, 1
            out[pos] = code
            pos += 1
        elif code < next_code and prev_start >= 0:
            length = lengths[code]
            source = starts[code]
            for j in range(length):
                if pos >= limit:
                    return out, pos, 1
                out[pos] = out[source + j]
                pos += 1
        elif code == next_code and prev_start >= 0:
            length = prev_len + 1
            for j in range(prev_len):
                if pos >= limit:
                    return out, pos, 1
                out[pos] = out[prev_start + j]
                pos += 1
            if pos >= limit:
                return out, pos, 1
            out[pos] = out[prev_start]
            pos += 1
        else:
            return out, pos, -1
        if prev_start >= 0 and next_code < 4096:
            starts[next_code] = prev_start
            lengths[next_code] = prev_len + 1
            next_code += 1
        prev_start = start
        prev_len = length
        if next_code >= 2047:
            width = 12
        elif next_code >= 1023:
            width = 11
        elif next_code >= 511:
            width = 10
        else:
            width = 9
    return out, pos, 0


_lzw_jit = None


def lzw_decode(data, out=None) -> bytes:
    """Decode TIFF LZW data (`out`: the expected size in bytes, as tifffile passes it)."""
    global _lzw_jit
    if _lzw_jit is None:
        from numba import njit

        _lzw_jit = njit(cache=True, nogil=True)(_lzw_py)
    src = np.frombuffer(bytes(data), np.uint8)
    if src.size >= 2 and src[0] == 0 and src[1] & 1:
        raise ValueError("old-style (LSB-first) LZW TIFF is not supported; pip install imagecodecs")
    limit = out if isinstance(out, int) and out > 0 else max(1 << 16, 8 * src.size)
    while True:
        buffer, written, status = _lzw_jit(src, limit)
        if status == -1:
            raise ValueError("corrupt LZW data")
        if status == 1 and not (isinstance(out, int) and out > 0):
            limit *= 4  # size not given: grow and decode again
            continue
        return buffer[:written].tobytes()


_registered = False


def _register_decoders() -> None:
    """Teach tifffile LZW and PackBits when imagecodecs (which it would use) is not installed."""
    global _registered
    if _registered:
        return
    _registered = True
    try:
        import imagecodecs  # noqa: F401

        return
    except ImportError:
        pass
    import tifffile

    codecs = getattr(tifffile.TIFF.DECOMPRESSORS, "_codecs", None)
    if isinstance(codecs, dict):
        codecs.setdefault(5, lzw_decode)
        try:
            from tifffile import _imagecodecs

            codecs.setdefault(32773, _imagecodecs.packbits_decode)
        except (ImportError, AttributeError):
            pass
