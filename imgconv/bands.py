"""Huge images: filter in horizontal bands, each with a halo of kernel rows, identical to the whole image.

The engines need little memory of their own, but a filter's steps around them (alpha premultiplied,
luminance, linear light, unsharp's difference, the float32 result) each hold an image-sized array.
Run band by band, those arrays are band-sized.

Exactness: output row r reads input rows r - before .. r + after, where (before, after) is the
kernel's padding.  Each band is given those halo rows exactly as the whole-image run would see them
(image rows, or for reflect/mirror/nearest/wrap the border rows imgconv.border.source_index names), so
the band's own border handling only ever touches halo outputs, which are cut away.  A constant border
needs no other rows: bands are cut from the image and the constant is added at true edges only.
An engine that sums rows in groups (the row-span engine, ROW_GROUP) rounds a row differently at each
place in its group, so a band is computed from the start of the group it begins in (a few rows more).
Bit for bit, then -- except on the FFT engine, whose rounding depends on its transform size (one level).

Rows are pulled, never pushed: a filter's result is a `FilteredRows` that computes any range of its
rows on demand from the rows of what it filters -- an array (`ArrayRows`), a TIFF read band by band
(imgconv.io.tiffrows), or another filter's result (a chain).  Whoever consumes the last one in bands
(apply_in_bands into an array, imgconv.stream into a TIFF file, a Dask worker one band) holds only a
band and its halos at a time, and every consumer gets the same rows.
"""

from __future__ import annotations

import numpy as np

from .apply import apply_filter
from .border import source_index
from .engine import row_group
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


class ArrayRows:
    """The rows of an image already in memory."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels
        self.shape, self.dtype = pixels.shape, pixels.dtype

    def take(self, first: int, last: int) -> np.ndarray:
        return self.pixels[first:last]


def gather(rows, index: np.ndarray) -> np.ndarray:
    """Rows `index` (image row numbers, in any order) of `rows`: one take() per run of nearby rows, so a
    reflected edge costs one read and a wrapped one two, however tall the halo."""
    breaks = np.flatnonzero(np.abs(np.diff(index)) > 1) + 1
    parts = []
    for run in np.split(index, breaks):
        low = int(run.min())
        block = rows.take(low, int(run.max()) + 1)
        parts.append(block if np.array_equal(run, np.arange(low, low + len(run))) else block[run - low])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


class FilteredRows:
    """The rows of `filt` applied to `upstream` (anything with shape, dtype and take(first, last)),
    computed on demand for any range: take(first, last) equals rows first..last-1 of apply_filter on
    the whole upstream image."""

    def __init__(self, upstream, filt, full: float, *, border="reflect", cval=0.0, out_dtype=None,
                 on_plan=None, **options):
        self.upstream, self.filt, self.full = upstream, filt, full
        self.border, self.cval, self.out_dtype = border, cval, out_dtype
        height = upstream.shape[0]
        whole = plan(KernelInfo(filt.kernels[0], correlate=filt.correlate), upstream.shape,
                     algo=options.get("algo", "auto"), threads=options.get("threads"))
        if options.get("algo", "auto") == "auto":
            # Bands are shorter than the image: plan once for the whole image so every band runs the
            # engine the whole image would (engines agree only to float32 rounding); that plan is reported.
            options["algo"] = whole.algo
            if on_plan:
                on_plan(whole)
                on_plan = None
        if whole.runner == "jit":
            # The whole image pays Numba's import once: done here, each band weighs only loading the
            # loops (planner.LOOP_LOAD_SECONDS), so bands run jitted on every core as the image would.
            import numba  # noqa: F401
        self.options, self.on_plan = options, on_plan
        self.before, self.after = halo(filt)
        # A band starts where the whole image's row groups start (engine.row_group): up to group - 1 rows
        # more are computed above it, so the row map reaches that much further up.
        self.group = row_group()
        self.row_map = source_index(height, self.before + self.group - 1, self.after, border)  # -> image row
        channels = upstream.shape[2]
        if filt.grey and channels - options.get("alpha", False) >= 3:
            channels = 1 + options.get("alpha", False)
        self.shape = (height, upstream.shape[1], channels)
        self.dtype = np.dtype(np.float32 if out_dtype is None else out_dtype)

    def take(self, first: int, last: int) -> np.ndarray:
        height = self.shape[0]
        top = first - self.before  # the band's first row (its halo included), moved up to a group's start
        top -= top % self.group
        if self.border == "constant":
            low, high = max(0, top), min(height, last + self.after)
            band, skip = self.upstream.take(low, high), first - low
        else:
            shift = self.before + self.group - 1  # row_map's padded row of image row 0
            band, skip = gather(self.upstream, self.row_map[top + shift : last + self.after + shift]), first - top
        result = apply_filter(band, self.filt, self.full, border=self.border, cval=self.cval,
                              out_dtype=self.out_dtype, on_plan=self.on_plan, **self.options)
        self.on_plan = None  # the plans are told once, for the first band
        return result[skip : skip + last - first]


def apply_in_bands(pixels: np.ndarray, filt, full: float, *, rows: int, border="reflect", cval=0.0,
                   out_dtype=None, on_plan=None, **options) -> np.ndarray:
    """apply_filter, `rows` output rows at a time; the result is identical to apply_filter's."""
    height = pixels.shape[0]
    if rows >= height:
        return apply_filter(pixels, filt, full, border=border, cval=cval, out_dtype=out_dtype,
                            on_plan=on_plan, **options)
    filtered = FilteredRows(ArrayRows(pixels), filt, full, border=border, cval=cval, out_dtype=out_dtype,
                            on_plan=on_plan, **options)
    out = None
    for top in range(0, height, rows):
        result = filtered.take(top, min(height, top + rows))
        if out is None:
            out = np.empty((height,) + result.shape[1:], result.dtype)
        out[top : top + len(result)] = result
    return out
