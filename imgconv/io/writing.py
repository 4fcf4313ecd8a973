"""Encoding: a picture as the bytes of a file in any format Pillow writes, keeping what the format can hold.

Pillow encodes everything except 16-bit colour PNG and 16-bit/float colour TIFF (`png`, `tiff`), which it
would reduce to 8 bits.  What a format cannot hold (bit depth, alpha, CMYK, metadata) is converted or
dropped with a note.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImgconvError
from . import logs, metadata, png, tiff
from .atomic import write_atomic
from .colour import check_profile, cmyk_to_rgb
from .picture import rescale

#: Formats that hold an alpha channel; others get the image composited over white.
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP", "GIF", "AVIF", "JPEG2000", "ICO", "ICNS", "TGA", "QOI", "DDS", "SGI"}


def output_format(path, fmt: str | None = None) -> str:
    """Pillow's format name for an output: `fmt` (e.g. "png", "jpg") if given, else the path's
    extension; standard output ("-") defaults to PNG."""
    if fmt is None and str(path) == "-":
        return "PNG"
    ext = "." + fmt.lower().lstrip(".") if fmt else Path(path).suffix.lower()
    name = Image.registered_extensions().get(ext)
    if name is None or name not in Image.SAVE:
        what = f"unknown --format {fmt!r}" if fmt else f"{path}: unknown output extension {ext or '(none)'!r}"
        raise ImgconvError(f"{what}; use e.g. png, jpg, tif, webp")
    return name


def save(pixels: np.ndarray, path, *, alpha: bool, info: dict | None = None, quality: int = 95,
         cmyk: bool = False, strip: bool = False, fmt: str | None = None) -> list:
    """Write `pixels` atomically to `path` ("-": standard output) in format `fmt` or the one its extension
    names; returns notes of anything the format could not hold (bit depth, alpha, metadata), for --verbose."""
    fmt = output_format(path, fmt)
    notes: list = []
    meta = {} if strip else {k: v for k, v in (info or {}).items() if v}
    with logs.as_notes(notes):
        data = encode(pixels, fmt, alpha=alpha, meta=meta, quality=quality, cmyk=cmyk, notes=notes)
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(path, data)
    return notes


def encode(pixels: np.ndarray, fmt: str, *, alpha: bool, meta: dict, quality: int = 95, cmyk: bool = False,
           notes: list | None = None) -> bytes:
    """The bytes of an image file in Pillow format `fmt`."""
    notes = [] if notes is None else notes
    meta = dict(meta)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    channels = pixels.shape[2]
    if not 1 <= channels <= 4 or (alpha and channels not in (2, 4)):
        raise ImgconvError(f"cannot save an image of {channels} channels (alpha={alpha})")
    if cmyk and channels != 4:
        cmyk = False
    if cmyk and fmt not in ("JPEG", "TIFF"):
        pixels, meta = cmyk_to_rgb(pixels, meta, f"{fmt} holds no CMYK", notes)
        cmyk = False
    check_profile(meta, channels - alpha, cmyk, notes)
    wide = pixels.dtype != np.uint8
    if fmt == "PNG" and wide:
        if pixels.dtype != np.uint16:
            notes.append("PNG holds no float or 32-bit samples: saved as 16-bit, clipped to 0..white")
            pixels = rescale(pixels, np.uint16)
        if channels > 1:  # the pixels by imagecodecs, the metadata chunks by Pillow (for a 1x1 stand-in)
            stand_in = _pillow_bytes(Image.new("L", (1, 1)), "PNG", meta, quality, notes)
            return png.encode(pixels, stand_in)
    elif fmt == "TIFF" and wide and channels > 1:
        if pixels.dtype == np.int32:
            pixels = pixels.astype(np.float32)
        metadata.drop_unheld(meta, "TIFF", notes, also=("exif",) if meta.get("exif") else ())
        return tiff.write(pixels, meta, cmyk=cmyk)
    elif wide and not (fmt == "TIFF" or (channels == 1 and pixels.dtype == np.uint16 and fmt in ("PPM",))):
        notes.append(f"{fmt} holds 8 bits per sample: {pixels.dtype} samples reduced to 8 bits (rounded)")
        pixels = rescale(pixels, np.uint8)
    image = _to_pillow(pixels, alpha, cmyk)
    return _pillow_bytes(image, fmt, meta, quality, notes)


def _to_pillow(pixels: np.ndarray, alpha: bool, cmyk: bool) -> Image.Image:
    channels = pixels.shape[2]
    if pixels.dtype != np.uint8:  # one channel here: uint16 -> I;16, int32 -> I, float32 -> F
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "CMYK" if cmyk else "RGBA"}[channels]
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else np.ascontiguousarray(pixels), mode)


def _flatten(image: Image.Image) -> Image.Image:
    """Composite an image with alpha over white (for formats that hold no alpha)."""
    base = Image.new(image.mode[:-1], image.size, 255)
    base.paste(image.convert(image.mode[:-1]), mask=image.getchannel("A"))
    return base


def _pillow_bytes(image: Image.Image, fmt: str, meta: dict, quality: int, notes: list) -> bytes:
    if fmt not in ALPHA_FORMATS and image.mode in ("LA", "RGBA"):
        notes.append(f"{fmt} holds no alpha: composited over white")
        image = _flatten(image)
    if fmt == "GIF" and image.mode in ("RGB", "RGBA"):
        notes.append("GIF holds 256 colours and on/off transparency: colours quantised")
    params = _pillow_params(fmt, meta, quality, notes)
    while True:
        buffer = io.BytesIO()
        try:
            image.save(buffer, format=fmt, **params)
            return buffer.getvalue()
        except (OSError, ValueError, KeyError, TypeError) as e:
            fallback = {"LA": "L", "RGBA": "RGB", "I;16": "L", "I": "L", "F": "L", "CMYK": "RGB", "L": "RGB"}
            if image.mode not in fallback or "cannot write" not in str(e) and "mode" not in str(e):
                raise ImgconvError(f"cannot encode a {image.mode} image as {fmt} ({e})") from None
            target = fallback[image.mode]
            notes.append(f"{fmt} cannot hold a {image.mode} image: saved as {target}")
            if image.mode in ("LA", "RGBA"):
                image = _flatten(image)
            elif image.mode in ("I;16", "I", "F"):
                full = {"I;16": 65535.0, "I": 65535.0, "F": 1.0}[image.mode]
                image = Image.fromarray(rescale(np.asarray(image).astype(np.float32) / full, np.uint8), "L")
            else:
                image = image.convert(target)


def _pillow_params(fmt: str, meta: dict, quality: int, notes: list) -> dict:
    from PIL import PngImagePlugin

    metadata.drop_unheld(meta, fmt, notes)
    params = {k: meta[k] for k in ("icc_profile", "exif", "dpi") if k in meta}
    if fmt in ("JPEG", "WEBP", "AVIF"):
        params["quality"] = quality
    if fmt in ("JPEG", "WEBP", "TIFF", "AVIF") and "xmp" in meta:
        params["xmp"] = meta["xmp"]
    if fmt in ("JPEG", "GIF") and "comment" in meta:
        params["comment"] = meta["comment"]
    if fmt == "PNG":
        params["compress_level"] = 1  # fast; level 6 costs several times longer for a few percent
        text = dict(meta.get("text") or {})
        if "xmp" in meta:
            text["XML:com.adobe.xmp"] = meta["xmp"].decode("utf-8", "replace")
        if text:
            info = PngImagePlugin.PngInfo()
            for key, value in text.items():
                info.add_itxt(str(key)[:79] or "Comment", str(value))
            params["pnginfo"] = info
    if fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
        if "exif" in meta and _has_sub_ifds(meta["exif"]):
            params["compression"] = "raw"  # libtiff's writer cannot store EXIF sub-directories
            notes.append("TIFF written uncompressed to keep the EXIF sub-directories")
        if "xmp" in meta:  # Pillow writes TIFF XMP (tag 700) only as one of the tags it is given as EXIF
            exif = Image.Exif()
            if "exif" in meta:
                exif.load(meta["exif"])
            exif[700] = meta["xmp"]
            params["exif"] = exif.tobytes()
            del params["xmp"]
    return params


def _has_sub_ifds(exif_bytes: bytes) -> bool:
    exif = Image.Exif()
    exif.load(exif_bytes)
    return 0x8769 in exif or 0x8825 in exif
