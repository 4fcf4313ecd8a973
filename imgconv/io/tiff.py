"""TIFF files Pillow cannot hold: 16-bit colour, float colour, 16-bit grey+alpha, float64/float16 -- via tifffile.

tifffile is imported here and only here, so `imgconv --help` and every 8-bit image never pay for it; it
decodes every TIFF compression (LZW, Deflate, PackBits, JPEG, ZStandard, WebP...) through imagecodecs,
and reads the TIFFs whose compression Pillow's libtiff cannot decode.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from ..errors import ImgconvError
from . import settings
from .picture import FULL, to_dtype

#: Photometric interpretation -> colour samples per pixel.
BASE_SAMPLES = {"MINISBLACK": 1, "MINISWHITE": 1, "RGB": 3, "SEPARATED": 4}


def read(data: bytes, name: str, check_size, notes: list):
    """(pixels H x W x C, metadata, alpha, cmyk, settings) of the first image in a TIFF, in black-is-zero,
    alpha not premultiplied.  metadata: icc_profile, xmp, dpi and the orientation tag (applied by the
    caller); settings: compression and predictor (`settings.tiff_settings`)."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages.first
        check_size((int(page.imagewidth), int(page.imagelength)))  # before decoding: a header may claim any size
        pixels = _to_yxs(page.asarray(), page.axes, name)
        kind = layout(page, name, notes, samples=pixels.shape[2])
        meta = page_meta(page)
        kept = settings.tiff_settings(page.compression, page.predictor)
    return convert(pixels, kind), meta, kind.alpha, kind.cmyk, kept


@dataclass(frozen=True)
class Layout:
    """How a TIFF's samples become imgconv's pixels: which to keep, in what type, and what to undo."""

    keep: int  # samples kept (colour, then alpha if any); the rest are dropped
    alpha: bool
    associated: bool  # the alpha is premultiplied: un-premultiply
    cmyk: bool
    invert: bool  # white is zero: invert the first sample
    dtype: np.dtype  # uint8, uint16 or float32


def layout(page, name: str, notes: list, samples: int | None = None, photometric: str | None = None) -> Layout:
    """The Layout of a tifffile page's pixels (`samples` per pixel and `photometric` as decoded, if not
    the page's own); the notes say what converting changes.  An unsupported colour space is an ImgconvError."""
    photometric = photometric or page.photometric.name
    samples = int(page.samplesperpixel) if samples is None else samples
    extra = tuple(int(e) for e in (page.extrasamples or ()))
    base = BASE_SAMPLES.get(photometric)
    if base is None or samples < base or (photometric == "SEPARATED" and samples != 4):
        raise ImgconvError(f"{name}: unsupported TIFF ({photometric} with {samples} samples)")
    alpha = photometric != "SEPARATED" and bool(extra) and extra[0] in (1, 2) and samples > base
    keep = base + alpha
    if samples > keep:
        notes.append(f"{samples - keep} extra sample(s) per pixel dropped")
    dtype = np.dtype(page.dtype).newbyteorder("=")
    if dtype not in (np.uint8, np.uint16, np.float32):
        if dtype.kind != "f":
            notes.append(f"{dtype} samples filtered and saved as 32-bit float")
        dtype = np.dtype(np.float32)
    if photometric == "MINISWHITE":
        notes.append("white-is-zero image inverted to black-is-zero")
    if alpha and extra[0] == 1:
        notes.append("premultiplied alpha un-premultiplied")
    return Layout(keep, alpha, alpha and extra[0] == 1, photometric == "SEPARATED", photometric == "MINISWHITE",
                  dtype)


def convert(pixels: np.ndarray, kind: Layout) -> np.ndarray:
    """Rows x columns x samples as decoded -> imgconv's pixels (whole image or any band of rows)."""
    pixels = pixels[:, :, : kind.keep]
    if pixels.dtype != kind.dtype:
        pixels = pixels.astype(kind.dtype)
    full = FULL[pixels.dtype]
    if kind.invert:
        pixels = pixels.copy() if not pixels.flags.writeable else pixels
        pixels[..., :1] = (full - pixels[..., :1]) if pixels.dtype.kind == "f" else ~pixels[..., :1]
    if kind.associated:  # un-premultiply
        a = pixels[..., -1:].astype(np.float32)
        colour = np.divide(pixels[..., :-1].astype(np.float32) * full, a,
                           out=np.zeros_like(a.repeat(kind.keep - 1, -1)), where=a > 0)
        pixels = np.concatenate([to_dtype(colour, pixels.dtype), pixels[..., -1:]], axis=-1)
    return pixels


def page_meta(page) -> dict:
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


def _to_yxs(pixels: np.ndarray, axes: str, name: str) -> np.ndarray:
    """Reorder tifffile's axes (e.g. 'SYX' for planar files) to rows, columns, samples."""
    keep = [a for a in axes if a in "YXS"]
    for i, a in reversed(list(enumerate(axes))):  # drop any extra axis (depth, pages) by taking index 0
        if a not in "YXS":
            pixels = pixels.take(0, axis=i)
    pixels = pixels.transpose([keep.index(a) for a in "YXS" if a in keep])
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3:
        raise ImgconvError(f"{name}: unsupported TIFF layout {axes!r}")
    return pixels


def write(sink, pixels: np.ndarray, meta: dict, *, cmyk: bool = False, compression: int = 8,
          predictor: int | None = None) -> None:
    """Write a TIFF of an H x W x C array (uint16 or float32) to `sink`, with ICC, XMP and dpi.
    compression, predictor: TIFF tag values (see `settings.tiff_compression`); predictor None: horizontal
    differencing for integer samples."""
    import tifffile

    channels = pixels.shape[2]
    if predictor is None:
        predictor = 2 if pixels.dtype.kind in "ui" else 1
    tifffile.imwrite(sink, pixels if channels > 1 else pixels[:, :, 0],
                     compression=compression if compression != 1 else None,
                     predictor=predictor if predictor > 1 else None, **tags(meta, channels, cmyk))


def tags(meta: dict, channels: int, cmyk: bool) -> dict:
    """tifffile's write() arguments for the colour space and the metadata (ICC, XMP, dpi) of an image
    with `channels` samples per pixel (the last one alpha when there are 2 or 4, unless `cmyk`)."""
    if cmyk:
        photometric, extrasamples = "separated", ()
    elif channels >= 3:
        photometric, extrasamples = "rgb", ("unassalpha",) * (channels - 3)
    else:
        photometric, extrasamples = "minisblack", ("unassalpha",) * (channels - 1)
    kwargs = {"photometric": photometric, "extrasamples": extrasamples or None, "metadata": None}
    if meta.get("icc_profile"):
        kwargs["iccprofile"] = meta["icc_profile"]
    if meta.get("dpi"):
        kwargs["resolution"] = tuple(float(d) for d in meta["dpi"])
        kwargs["resolutionunit"] = "INCH"
    kwargs["extratags"] = []
    if meta.get("xmp"):
        xmp = meta["xmp"] if isinstance(meta["xmp"], bytes) else str(meta["xmp"]).encode("utf-8")
        kwargs["extratags"].append((700, "B", len(xmp), xmp, True))
    return kwargs
