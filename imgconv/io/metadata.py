"""Metadata: what is read from a file to carry to the output, and what each output format can hold."""

from __future__ import annotations

import math
import re

from PIL import Image

from . import jpeg

#: Metadata each output format can hold (what is not in the set is dropped, with a note).
HOLDS = {
    "JPEG": {"icc_profile", "exif", "xmp", "comment", "dpi"},
    "PNG": {"icc_profile", "exif", "xmp", "text", "dpi"},
    "TIFF": {"icc_profile", "exif", "xmp", "dpi"},
    "WEBP": {"icc_profile", "exif", "xmp"},
    "AVIF": {"icc_profile", "exif", "xmp"},
    "HEIF": {"icc_profile", "exif", "xmp"},
    "JXL": {"icc_profile", "exif", "xmp"},  # the profile by converting the colours to sRGB (see `jxl`)
    "GIF": {"comment"},
    "BMP": {"dpi"},
}
#: The most of each kind of metadata a format's writer stores (bytes; dpi in dots per inch).
LIMITS = {
    "JPEG": jpeg.LIMITS,
    "PNG": {"dpi": 0xFFFFFFFF * 0.0254},  # pHYs: 32-bit pixels per metre
    "BMP": {"dpi": 0x7FFFFFFF * 0.0254},  # signed 32-bit pixels per metre
    "TIFF": {"dpi": 2**31},  # libtiff keeps it as a 32-bit float: larger ones come back as NaN
}
NAMES = {"icc_profile": "ICC profile", "exif": "EXIF", "xmp": "XMP", "text": "PNG text", "comment": "comment",
         "dpi": "dpi"}
#: TIFF tags Pillow lists as EXIF for a TIFF file that describe the file's layout, not the picture.
STRUCTURAL_TAGS = {254, 255, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284,
                   296, 317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 530, 531, 532, 700, 33723, 34675}
XMP_ORIENTATION = (re.compile(rb'\s*tiff:Orientation="[0-9]"'),
                   re.compile(rb"<tiff:Orientation>[0-9]</tiff:Orientation>"))


def read(img: Image.Image) -> dict:
    """What to carry to the output from a file Pillow opened, orientation removed."""
    meta = {}
    for key in ("icc_profile", "comment", "dpi"):
        if img.info.get(key):
            meta[key] = img.info[key]
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if xmp:
        meta["xmp"] = xmp
    try:
        exif = img.getexif()
        if img.format == "TIFF":  # Pillow lists the file's layout tags as EXIF: keep only the picture's
            kept = Image.Exif()
            for tag, value in exif.items():
                if tag in (0x8769, 0x8825):
                    ifd = exif.get_ifd(tag)
                    if ifd:
                        kept[tag] = dict(ifd)
                elif tag not in STRUCTURAL_TAGS:
                    kept[tag] = value
            exif = kept
        if len(exif):
            meta["exif"] = exif.tobytes()
    except Exception:  # noqa: BLE001 - corrupt EXIF is dropped, not fatal
        pass
    if img.format == "PNG":
        text = {k: v for k, v in getattr(img, "text", {}).items() if k != "XML:com.adobe.xmp"}
        if text:
            meta["text"] = text
    return clean(meta)


def clean(meta: dict) -> dict:
    """Drop the orientation (the pixels are upright now) from EXIF and XMP; XMP as bytes."""
    meta = dict(meta)
    if meta.get("exif"):
        try:
            exif = Image.Exif()
            exif.load(meta["exif"])
            if 0x0112 in exif:
                del exif[0x0112]
                meta["exif"] = exif.tobytes()
            if not len(exif):
                del meta["exif"]
        except Exception:  # noqa: BLE001
            del meta["exif"]
    if meta.get("xmp"):
        xmp = meta["xmp"]
        xmp = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
        for pattern in XMP_ORIENTATION:
            xmp = pattern.sub(b"", xmp)
        meta["xmp"] = xmp
    if isinstance(meta.get("comment"), str):
        meta["comment"] = meta["comment"].encode("utf-8")
    return {k: v for k, v in meta.items() if v}


def drop_unheld(meta: dict, fmt: str, notes: list, also=()) -> None:
    """Remove from `meta` what a `fmt` output cannot hold (and what is in `also`), with a note."""
    held = HOLDS.get(fmt, set()) - set(also)
    dropped = [k for k in list(meta) if k not in held]
    for k in dropped:
        del meta[k]
    if dropped:
        names = ", ".join(NAMES.get(k, k) for k in dropped)
        notes.append(f"metadata this {fmt} output cannot hold was dropped: {names}")


def fit(meta: dict, fmt: str, notes: list) -> None:
    """Drop from `meta`, with a note, what is too big for a `fmt` file, and a dpi that is no number of
    dots per inch (zero, negative, infinite): metadata never makes a write fail."""
    limits = LIMITS.get(fmt, {})
    for key in list(meta):
        value, limit = meta[key], limits.get(key, math.inf)
        if key == "dpi":
            try:
                fits = len(value) == 2 and all(math.isfinite(d) and 0 < d <= limit for d in map(float, value))
            except (TypeError, ValueError):
                fits = False
            if not fits:
                del meta[key]
                notes.append(f"dpi {value!r} cannot be stored in a {fmt} file: dropped")
        elif isinstance(value, (bytes, bytearray)) and len(value) > limit:
            del meta[key]
            notes.append(f"{NAMES.get(key, key)} of {len(value):,} bytes is too big for a {fmt} file "
                         f"(at most {int(limit):,}): dropped")
