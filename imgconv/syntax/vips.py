"""libvips matrix files (``.mat``), as ``vips_matrixload`` reads them and ``vips_conv`` applies them.

Source: https://www.libvips.org/API/current/ctor.Image.matrixload.html and method.Image.conv.html.
The first line is "width height [scale [offset]]" (scale default 1, offset 0); then one row of
numbers per line; numbers are separated by spaces, tabs, commas or double quotes.  libvips computes
``sum(pixel[i] * mask[i]) / scale + offset`` with the mask laid over the image unflipped -- a
correlation, the origin at (height // 2, width // 2), which is scipy's correlate centre.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..errors import ImgconvError
from ..kernel import as_kernel

#: The 8-bit level libvips's offsets are usually written for: 128 is mid-grey.
OFFSET_WHITE = 255.0


def parse_mat(text: str):
    """Parse a libvips matrix file into a KernelFile: taps / scale, correlate=True, offset / 255.

    The offset is read as 8-bit levels (the scale .mat files are written for: 128 is mid-grey) and
    kept as a fraction of white, so it means the same on 16-bit and float images.  libvips ignores
    extra text at the ends of lines; imgconv insists on exactly `width` numbers per row and `height`
    rows, and reports anything else.

    Examples
    --------
    >>> k = parse_mat("3 1 4 128\\n1 2 1\\n")
    >>> k.taps.tolist(), k.correlate, round(k.offset, 4)
    ([[0.25, 0.5, 0.25]], True, 0.502)
    """
    from . import KernelFile

    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ImgconvError("matrix file is empty")
    header = _numbers(lines[0], "matrix header")
    if not 2 <= len(header) <= 4:
        raise ImgconvError(f"matrix header must be 'width height [scale [offset]]', got {lines[0].strip()!r}")
    width, height = header[:2]
    scale, offset = (header[2:] + [1.0, 0.0][len(header) - 2:])[:2]
    if width != int(width) or height != int(height) or width < 1 or height < 1:
        raise ImgconvError(f"matrix width and height must be whole numbers >= 1, got {width:g} {height:g}")
    if scale == 0 or not math.isfinite(scale):
        raise ImgconvError("matrix scale must be a non-zero number")
    if not math.isfinite(offset):
        raise ImgconvError("matrix offset must be a finite number")
    width, height = int(width), int(height)
    rows = [_numbers(line, f"matrix row {i + 1}") for i, line in enumerate(lines[1:])]
    if len(rows) != height:
        raise ImgconvError(f"matrix header says {height} rows, the file has {len(rows)}")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ImgconvError(f"matrix row {i + 1} has {len(row)} numbers; the header says {width}")
    taps = as_kernel(np.array(rows) / scale)
    return KernelFile(taps, correlate=True, offset=offset / OFFSET_WHITE)


def _numbers(line: str, where: str) -> list[float]:
    out = []
    for token in re.split(r'[\s,"]+', line.strip()):
        if not token:
            continue
        try:
            out.append(float(token))
        except ValueError:
            raise ImgconvError(f"{where}: {token!r} is not a number") from None
    return out
