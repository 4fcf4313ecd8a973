"""TIFF files Pillow cannot hold: 16-bit colour, float colour, 16-bit grey+alpha, float64/float16 -- via tifffile.

tifffile is imported here and only here, so `imgconv --help` and every 8-bit image never pay for it; it
decodes every TIFF compression (LZW, Deflate, PackBits, JPEG, ZStandard...) through imagecodecs.
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
