"""Formats read and written by a library imgconv loads only when such a file is met or written: HEIF/HEIC
(pillow-heif) and JPEG XL (imagecodecs).  Pillow does not know them until then, so their extensions and
signatures are listed here.  AVIF is Pillow's own."""

from __future__ import annotations

from . import heif, jxl

#: Output extension -> format name.
EXTENSIONS = {".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF", ".jxl": "JXL"}
#: Format name -> its module: recognises(data); read(data, check_size, notes) -> (pixels, metadata, alpha,
#: lossless); write(sink, pixels, *, alpha, meta, options, notes).
FORMATS = {"HEIF": heif, "JXL": jxl}


def identify(data: bytes) -> str | None:
    """The format name of a file only a plugin reads, from its first bytes."""
    for name, module in FORMATS.items():
        if module.recognises(data):
            return name
    return None
