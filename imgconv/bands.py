"""Huge images: filter in horizontal bands, each with a halo of kernel rows, identical to the whole image.

The engines need little memory of their own, but a filter's steps around them (alpha premultiplied,
luminance, linear light, unsharp's difference, the float32 result) each hold an image-sized array.
Run band by band, those arrays are band-sized: peak memory is the decoded input, the output and one
band's workspace, whatever the image's height.

Exactness: output row r reads input rows r - before .. r + after, where (before, after) is the
kernel's padding.  Each band is given those halo rows exactly as the whole-image run would see them
(image rows, or for reflect/mirror/nearest/wrap the border rows imgconv.border.source_index names), so
the band's own border handling only ever touches halo outputs, which are cut away.  A constant border
needs no other rows: bands are cut from the image and the constant is added at true edges only.
"""

from __future__ import annotations

import numpy as np

from .apply import apply_filter
from .border import source_index
from .engine.planner import plan
from .kernel import KernelInfo

#: float32 image-sized arrays a filter may hold at once (source, premultiplied copy, responses, result):
#: the working memory of one row is about this many times its float32 size.
WORKSPACE_ARRAYS = 6


def halo(filt) -> tuple[int, int]:
    """Rows above and below each output row that a filter reads (the widest of its kernels)."""
    pads = [KernelInfo(k, correlate=filt.correlate).padding[0] for k in filt.kernels]
    return max(p[0] for p in pads), max(p[1] for p in pads)


def rows_for_budget(shape, budget_bytes: int) -> int:
    """Band height whose working memory stays under `budget_bytes` (never less than 16 rows)."""
    width = shape[1]
    channels = shape[2] if len(shape) > 2 else 1
    per_row = width * channels * 4 * WORKSPACE_ARRAYS
    return max(16, int(budget_bytes // per_row))


def apply_in_bands(pixels: np.ndarray, filt, full: float, *, rows: int, border="reflect", cval=0.0,
                   out_dtype=None, on_plan=None, **options) -> np.ndarray:
    """apply_filter, `rows` output rows at a time; the result is identical to apply_filter's."""
    height = pixels.shape[0]
    if rows >= height:
        return apply_filter(pixels, filt, full, border=border, cval=cval, out_dtype=out_dtype,
                            on_plan=on_plan, **options)
    if options.get("algo", "auto") == "auto":
        # Bands are shorter than the image: plan once for the whole image so every band runs the
        # engine the whole image would (engines agree only to float32 rounding); that plan is reported.
        whole = plan(KernelInfo(filt.kernels[0], correlate=filt.correlate), pixels.shape,
                     threads=options.get("threads"))
        options["algo"] = whole.algo
        if on_plan:
            on_plan(whole)
            on_plan = None
    before, after = halo(filt)
    row_map = source_index(height, before, after, border)  # padded row -> image row (-1: constant)
    out = None
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        if border == "constant":
            first, last = max(0, top - before), min(height, bottom + after)
            band, skip = pixels[first:last], top - first
        else:
            band, skip = pixels[row_map[top : bottom + before + after]], before
        result = apply_filter(band, filt, full, border=border, cval=cval, out_dtype=out_dtype,
                              on_plan=on_plan if out is None else None, **options)
        if out is None:
            out = np.empty((height,) + result.shape[1:], result.dtype)
        out[top:bottom] = result[skip : skip + bottom - top]
    return out
