"""Summed-area engine for box kernels: O(1) per pixel whatever the box size (a 301x301 box costs what a
3x3 does).

A box sum is a difference of summed areas, computed here as running sums in both directions, the way
the integral image is used without ever storing it (float64, twice the image):
  * vertically, a row of column totals over the current k1 rows is updated by adding the source row
    that enters the box and subtracting the one that leaves it (vectorised, straight from the image
    through the border's row map, so a uint8 image is read as uint8);
  * horizontally, the padded row of column totals (its borders gathered through the column map) is
    swept once with one running sum per channel, kept in registers for 1, 3 and 4 channels so the
    channels' add chains overlap.
All sums are float64 and restart at every block of BLOCK rows, so the running updates lose nothing
measurable even on huge images.  Blocks start at fixed rows (multiples of BLOCK), so the result does not
depend on how rows are shared between threads.
"""

import numpy as np

from ..border import Source
from ._rows import fill_edges, out_limits, source_row, store
from .loops import loop
from .shapes import values
from .threads import run_rows

#: The cost model on one thread (benchmarks/fit_planner.py): output values per second from the running
#: sums, and seconds per output value of memory traffic.
RATE = 1.25e+12
PER_VALUE = 1.77e-09
NUMBA = True
THREADED = True
#: Rows between restarts of the running column sums (bounds float64 drift; costs k1 rows per restart).
BLOCK = 256


@loop
def _add_row(total, src, sign):
    for m in range(total.shape[0]):
        total[m] += sign * np.float64(src[m])


@loop
def _slide_row(total, enter, leave):
    for m in range(total.shape[0]):
        total[m] += np.float64(enter[m]) - np.float64(leave[m])


@loop
def _row_sums(cs, k2, channels, width, scale, acc):
    """acc[j*C + c] = scale * sum_{v<k2} cs[(j + v)*C + c]; cs has C spare values at the end."""
    if channels == 3:
        s0 = s1 = s2 = 0.0
        for v in range(k2):
            s0 += cs[3 * v]
            s1 += cs[3 * v + 1]
            s2 += cs[3 * v + 2]
        for j in range(width):
            b = 3 * j
            e = b + 3 * k2
            acc[b] = s0 * scale
            acc[b + 1] = s1 * scale
            acc[b + 2] = s2 * scale
            s0 += cs[e] - cs[b]
            s1 += cs[e + 1] - cs[b + 1]
            s2 += cs[e + 2] - cs[b + 2]
    elif channels == 4:
        s0 = s1 = s2 = s3 = 0.0
        for v in range(k2):
            s0 += cs[4 * v]
            s1 += cs[4 * v + 1]
            s2 += cs[4 * v + 2]
            s3 += cs[4 * v + 3]
        for j in range(width):
            b = 4 * j
            e = b + 4 * k2
            acc[b] = s0 * scale
            acc[b + 1] = s1 * scale
            acc[b + 2] = s2 * scale
            acc[b + 3] = s3 * scale
            s0 += cs[e] - cs[b]
            s1 += cs[e + 1] - cs[b + 1]
            s2 += cs[e + 2] - cs[b + 2]
            s3 += cs[e + 3] - cs[b + 3]
    else:
        for c in range(channels):
            s = 0.0
            for v in range(k2):
                s += cs[v * channels + c]
            for j in range(width):
                b = j * channels + c
                acc[b] = s * scale
                s += cs[b + k2 * channels] - cs[b]


@loop(exports="void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, f8, intp, intp, "
               "f8, intp, f4, f4, b1, {result}[:, ::1])")
def fill_rows(first, end, image2d, cval_row, rows, cols, left, channels, cval, k1, k2, scale, block,
              lo, hi, rounding, out):
    """Output rows first .. end-1; `first` is a multiple of `block`."""
    span = out.shape[1]
    padded_span = cols.shape[0] * channels
    width = span // channels
    base = left * channels
    totals = np.zeros(padded_span + channels, np.float64)  # + channels: the last slide reads past
    centre = totals[base : base + span]
    acc = np.empty(span, np.float32)
    for top in range(first, end, block):
        centre[:] = 0.0
        for u in range(k1):
            _add_row(centre, source_row(image2d, cval_row, rows[top + u]), 1.0)
        for i in range(top, min(top + block, end)):
            if i > top:
                _slide_row(centre, source_row(image2d, cval_row, rows[i + k1 - 1]),
                           source_row(image2d, cval_row, rows[i - 1]))
            fill_edges(totals, cols, left, width, channels, cval * k1)
            _row_sums(totals, k2, channels, width, scale, acc)
            store(acc, out[i], lo, hi, rounding)


def why_not(kernel) -> str | None:
    if not kernel.is_box:
        return "sat runs only box kernels (all taps equal)"
    return None


def work(kernel, shape) -> float:
    """One running-sum update per output value, whatever the box size."""
    return values(shape)


def reason(kernel) -> str:
    return f"{kernel.shape[0]}x{kernel.shape[1]} box kernel: summed areas cost O(1) per pixel"


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or uint8) from `src` (an imgconv.border.Source)."""
    taps = plan.kernel.taps
    height = out.shape[0]
    lo, hi, rounding = out_limits(out.dtype)
    function = plan.loop(fill_rows, src.image.dtype, out.dtype)
    run_rows(function, height, plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left,
             src.image.shape[2], float(src.cval), taps.shape[0], taps.shape[1], float(taps.flat[0]), BLOCK,
             lo, hi, rounding, out.reshape(height, -1), align=BLOCK)
