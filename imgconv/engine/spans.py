"""Row-span engine: O(kernel height) per pixel for kernels whose rows are runs of equal taps.

A disk, a polygon, a diamond, an octagon or a box is, row by row, a constant run of taps: a sum of
horizontal box segments.  With running (prefix) sums along each padded source row, a run costs two
reads and one multiply-add whatever its length -- a disk of radius r costs O(r) per pixel instead of
the direct loop's O(r^2).  An anti-aliased disk is a constant interior plus a thin edge of partial taps:
the interior runs as spans and the edge taps are added directly, in the same pass.

    out[j] = sum_spans w * (P_u[j + b] - P_u[j + a]) + sum_taps w * row_u[j + v]

where P_u is the prefix sum of padded source row i + u (float32 for uint8 images, exact for rows of up to
EXACT_ROW values, and eight to a vector; float64 for float images, so long rows lose nothing); each
source row's sums are made once, when it enters the ring of the k1 rows an output row reads, and serve
every span on that row.  Colour is interleaved as in the direct engine: a span of
columns [a, b) on an H x (W*C) matrix starts a*C values along.  The decomposition comes from the taps
alone (no filter names): in each kernel row, every maximal run of MIN_SPAN or more equal non-zero taps
is a span, and the rest are taps.
"""

import numpy as np

from ..border import Source
from ._rows import CHUNK, correlate_taps, fetch_row, out_limits, store
from .direct import tap_tables
from .loops import loop
from .shapes import values
from .threads import run_rows

#: The cost model on one thread (benchmarks/fit_planner.py): span and tap updates per second, and
#: seconds per output value of memory traffic, prefix sums and bookkeeping.
RATE = 3.43e10
PER_VALUE = 1.5e-9
NUMBA = True
THREADED = True
#: Shortest run of equal taps worth a span (two reads) rather than taps (one read each).
MIN_SPAN = 3
#: Work of one span relative to one tap (two reads, a subtraction, a multiply-add).
SPAN_COST = 1.5
#: Longest padded row (values) whose float32 prefix sums of uint8 values are exact (255 * n < 2**24).
EXACT_ROW = 2**24 // 255


def decompose(taps: np.ndarray):
    """(spans, rest): spans as (row, first column, end column, value); rest is taps minus the spans."""
    spans = []
    rest = taps.copy()
    for u, row in enumerate(taps):
        v = 0
        while v < len(row):
            end = v + 1
            while end < len(row) and row[end] == row[v]:
                end += 1
            if row[v] != 0 and end - v >= MIN_SPAN:
                spans.append((u, v, end, float(row[v])))
                rest[u, v:end] = 0.0
            v = end
    return spans, rest


def why_not(kernel) -> str | None:
    if not decompose(kernel.taps)[0]:
        return f"no row of the kernel has a run of {MIN_SPAN} or more equal taps"
    return None


def work(kernel, shape) -> float:
    """Span and tap updates: SPAN_COST per span and one per remaining non-zero tap, per output value."""
    spans, rest = decompose(kernel.taps)
    return values(shape) * (SPAN_COST * len(spans) + np.count_nonzero(rest))


def reason(kernel) -> str:
    spans, rest = decompose(kernel.taps)
    return (f"{kernel.shape[0]}x{kernel.shape[1]} kernel is {len(spans)} runs of equal taps "
            f"(+{np.count_nonzero(rest)} single taps): running row sums are cheapest")


@loop
def _prefix(row, channels, sums):
    """sums[q*C + c] = sum of row[q'*C + c] over q' < q (so sums has C more values than row)."""
    for c in range(channels):
        sums[c] = 0.0
    for m in range(row.shape[0]):
        sums[m + channels] = sums[m] + row[m]


@loop
def _add_spans(sums, i, k1, span_u, span_a, span_b, span_w, channels, start, acc):
    """acc += the spans' box sums for outputs start .. start+len(acc)-1 of output row i, four spans per
    sweep over acc (the four weights in registers, acc loaded and stored once per four spans).  Each
    span reads two slices of its row's sums (slices, not computed indices: Numba then knows the indices
    are non-negative, and LLVM vectorises the sweep)."""
    n = acc.shape[0]
    count = span_u.shape[0]
    s = 0
    while s + 4 <= count:
        e0, s0 = _ends(sums, i, k1, span_u, span_a, span_b, channels, start, n, s)
        e1, s1 = _ends(sums, i, k1, span_u, span_a, span_b, channels, start, n, s + 1)
        e2, s2 = _ends(sums, i, k1, span_u, span_a, span_b, channels, start, n, s + 2)
        e3, s3 = _ends(sums, i, k1, span_u, span_a, span_b, channels, start, n, s + 3)
        w0, w1, w2, w3 = span_w[s], span_w[s + 1], span_w[s + 2], span_w[s + 3]
        for m in range(n):
            acc[m] += (w0 * np.float32(e0[m] - s0[m]) + w1 * np.float32(e1[m] - s1[m])) + (
                w2 * np.float32(e2[m] - s2[m]) + w3 * np.float32(e3[m] - s3[m]))
        s += 4
    while s < count:
        e0, s0 = _ends(sums, i, k1, span_u, span_a, span_b, channels, start, n, s)
        w0 = span_w[s]
        for m in range(n):
            acc[m] += w0 * np.float32(e0[m] - s0[m])
        s += 1


@loop
def _ends(sums, i, k1, span_u, span_a, span_b, channels, start, n, s):
    """The slices of sums at span s's end and start columns, for n outputs from `start`."""
    row = sums[(i + span_u[s]) % k1]
    b = start + span_b[s] * channels
    a = start + span_a[s] * channels
    return row[b : b + n], row[a : a + n]


@loop(exports="void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, f4, intp, "
               "intp[::1], intp[::1], intp[::1], f4[::1], intp[::1], intp[::1], f4[::1], {sum}[::1], f4, f4, b1, "
               "{result}[:, ::1])")
def fill_rows(first, end, image2d, cval_row, rows, cols, left, channels, cval, k1, span_u, span_a, span_b, span_w,
              tap_u, tap_off, tap_w, sum_type, lo, hi, rounding, out):
    """Output rows first .. end-1; prefix sums of the type of `sum_type` (an empty array)."""
    if first >= end:
        return
    span = out.shape[1]
    padded_span = cols.shape[0] * channels
    ring = np.empty((k1, padded_span), np.float32)
    sums = np.empty((k1, padded_span + channels), sum_type.dtype)
    acc = np.empty(CHUNK, np.float32)
    for p in range(first, first + k1 - 1):
        fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, ring[p % k1])
        _prefix(ring[p % k1], channels, sums[p % k1])
    for i in range(first, end):
        p = i + k1 - 1
        fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, ring[p % k1])
        _prefix(ring[p % k1], channels, sums[p % k1])
        for start in range(0, span, CHUNK):
            n = min(CHUNK, span - start)
            chunk = acc[:n]
            correlate_taps(ring, i, k1, tap_u, tap_off, tap_w, tap_u.shape[0], start, acc, 0, n)  # assigns
            _add_spans(sums, i, k1, span_u, span_a, span_b, span_w, channels, start, chunk)
            store(chunk, out[i, start : start + n], lo, hi, rounding)


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or uint8) from `src` (an imgconv.border.Source)."""
    channels = src.image.shape[2]
    if src.image.dtype == np.uint8 and len(src.cols) * channels > EXACT_ROW:
        src = Source(src.image.astype(np.float32), src.padding, src.mode, src.cval)  # float64 sums
    spans, rest = decompose(plan.kernel.taps)
    span_u, span_a, span_b = (np.array([s[k] for s in spans], np.intp) for k in range(3))
    span_w = np.array([s[3] for s in spans], np.float32)
    tap_u, tap_off, tap_w, counts = tap_tables([rest], channels)
    count = counts[0]
    height = out.shape[0]
    lo, hi, rounding = out_limits(out.dtype)
    function = plan.loop(fill_rows, src.image.dtype, out.dtype)
    sum_type = np.empty(0, np.float32 if src.image.dtype == np.uint8 else np.float64)
    run_rows(function, height, plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left, channels,
             np.float32(src.cval), plan.kernel.shape[0], span_u, span_a, span_b, span_w,
             np.ascontiguousarray(tap_u[0, :count]), np.ascontiguousarray(tap_off[0, :count]),
             np.ascontiguousarray(tap_w[0, :count]), sum_type, lo, hi, rounding, out.reshape(height, -1))
