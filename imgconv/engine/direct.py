"""Direct engine: the textbook sliding dot product, O(k1*k2) per pixel, no extra memory.

An interleaved HxWxC image is treated as an H x (W*C) matrix; a tap at column v then reads the row
shifted by v*C, so colour needs no planar copy.  Each thread keeps a ring of the k1 padded rows the
current output row needs, gathered through the border's index maps (imgconv.border.Source), so the
padded image is never built and each source row is read from memory once per strip.

The loop nest is blocked for registers and caches:
  * taps are the outer loop and a CHUNK of contiguous outputs (8 KiB, in L1) the inner loop, which LLVM
    turns into AVX FMAs; zero taps are skipped;
  * taps are taken eight (four, two) at a time, `acc += w0*s0 + ... + w7*s7`: the eight kernel values sit
    in registers and the accumulator is loaded and stored once per eight taps instead of every tap, and
    the first sweep assigns instead of adding to a zeroed block (a 3x3 sharpen, 5 non-zero taps, is two
    sweeps; a dense 15x15 is 29 sweeps of eight taps instead of 225);
  * several kernels of the same size can run in the same pass over the image (`run_many`), sharing the
    ring of padded rows: Sobel x and y, with their gradient magnitude computed before the store, read
    and write the image once.
Ranges of rows run on several threads when the loop is jitted (imgconv.engine.threads); each range warms
its ring with k1-1 rows.

A uint8 image filtered into uint8 by an integer kernel times one scale (sharpen, Sobel, Laplacian, a 45
degree emboss, small integer blurs) runs fill_rows_int instead: the same ring as int16 rows, every tap's
product summed exactly in int16 registers (imgconv.engine._fixed.int_taps: 32 values per instruction with
AVX-512), then clipped, or scaled in float32 and rounded, straight into the output row.
"""

import numpy as np

from ..border import Source
from . import _fixed
from ._fixed import int_taps, u8_entry
from ._rows import CHUNK, U, correlate_taps, fetch_row, out_limits, store, sweep_taps
from .loops import loop
from .shapes import values
from .threads import run_rows

#: The cost model on one thread (benchmarks/fit_planner.py): multiply-adds per second (non-zero taps),
#: and seconds per output value of memory traffic and bookkeeping.
RATE = 1.89e+10
PER_VALUE = 7.78e-11
NUMBA = True
THREADED = True
#: combine codes for fill_rows: write every kernel's response, or sqrt(sum of squares) * scale.
STACK, MAGNITUDE = 0, 1
#: int16 values per block of the integer loop (8 KiB, in L1).
INT_CHUNK = 4096


@loop(exports="void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, "
                             "f4, intp, intp[:, ::1], intp[:, ::1], f4[:, ::1], intp[::1], intp, f4, f4, f4, b1, "
                             "{result}[:, :, ::1])")
def fill_rows(first, end, image2d, cval_row, rows, cols, left, channels, cval, k1, tap_u, tap_off, tap_w, counts,
              combine, scale, lo, hi, rounding, out):
    """Output rows first .. end-1 of every kernel (out is K x H x W*C), or of their magnitude (1 x H x W*C)."""
    if first >= end:
        return
    kernels = tap_u.shape[0]
    span = out.shape[2]
    padded_span = cols.shape[0] * channels
    ring = np.empty((k1, padded_span), np.float32)
    acc = np.empty((kernels, CHUNK), np.float32)
    for p in range(first, first + k1 - 1):
        fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, ring[p % k1])
    for i in range(first, end):
        p = i + k1 - 1
        fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, ring[p % k1])
        for start in range(0, span, CHUNK):
            n = min(CHUNK, span - start)
            if combine == STACK and not rounding:
                # float output: accumulate straight into it (no chunk to copy out afterwards)
                for k in range(kernels):
                    correlate_taps(ring, i, k1, tap_u[k], tap_off[k], tap_w[k], counts[k], start, out[k, i], start, n)
                continue
            for k in range(kernels):
                correlate_taps(ring, i, k1, tap_u[k], tap_off[k], tap_w[k], counts[k], start, acc[k], 0, n)
            if combine == MAGNITUDE:
                total = acc[0, :n]
                for m in range(n):
                    total[m] = total[m] * total[m]
                for k in range(1, kernels):
                    other = acc[k, :n]
                    for m in range(n):
                        total[m] += other[m] * other[m]
                for m in range(n):
                    total[m] = np.sqrt(total[m]) * scale
                store(total, out[0, i, start : start + n], lo, hi, rounding)
            else:
                for k in range(kernels):
                    store(acc[k, :n], out[k, i, start : start + n], lo, hi, rounding)


# The integer loop's last sweep (one to four taps) stores the pixels itself: the int16 sums never make the
# round trip through acc, and a second loop over the block is saved (~15% of a 3x3 filter).


@loop
def _out(v, unit, scale, dst, at):
    """dst[at] = the exact int16 sum v clipped to 0..255, or v * scale rounded half to even, clipped."""
    if unit:
        dst[at] = np.minimum(np.maximum(np.int16(v), np.int16(0)), np.int16(255))
    else:
        dst[at] = np.minimum(np.maximum(np.int32(np.rint(np.float32(np.int16(v)) * scale)), np.int32(0)),
                             np.int32(255))


@loop
def _last1(acc, n, first, src, r0, a0, w0, unit, scale, dst, at):
    for m in range(n):
        v = w0 * src[r0, U(a0 + m)]
        _out(v if first else v + acc[m], unit, scale, dst, U(at + m))


@loop
def _last2(acc, n, first, src, r0, a0, r1, a1, w0, w1, unit, scale, dst, at):
    for m in range(n):
        v = w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)]
        _out(v if first else v + acc[m], unit, scale, dst, U(at + m))


@loop
def _last3(acc, n, first, src, r0, a0, r1, a1, r2, a2, w0, w1, w2, unit, scale, dst, at):
    for m in range(n):
        v = w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)] + w2 * src[r2, U(a2 + m)]
        _out(v if first else v + acc[m], unit, scale, dst, U(at + m))


@loop
def _last4(acc, n, first, src, r0, a0, r1, a1, r2, a2, r3, a3, w0, w1, w2, w3, unit, scale, dst, at):
    for m in range(n):
        v = w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)] + w2 * src[r2, U(a2 + m)] + w3 * src[r3, U(a3 + m)]
        _out(v if first else v + acc[m], unit, scale, dst, U(at + m))


@loop
def _correlate_store(ring, i, k1, tap_u, tap_off, tap_w, count, start, acc, n, unit, scale, dst):
    """dst[start : start + n] = the integer kernel's output pixels (see fill_rows_int): sweeps of eight or
    four taps into acc, then the last one to four taps and the store in one sweep."""
    j = sweep_taps(ring, i, k1, tap_u, tap_off, tap_w, count, start, acc, 0, n, 1)  # one to four left
    rest = count - j
    if rest == 4:
        _last4(acc, n, j == 0, ring, (i + tap_u[j]) % k1, start + tap_off[j], (i + tap_u[j + 1]) % k1,
               start + tap_off[j + 1], (i + tap_u[j + 2]) % k1, start + tap_off[j + 2], (i + tap_u[j + 3]) % k1,
               start + tap_off[j + 3], tap_w[j], tap_w[j + 1], tap_w[j + 2], tap_w[j + 3], unit, scale, dst, start)
    elif rest == 3:
        _last3(acc, n, j == 0, ring, (i + tap_u[j]) % k1, start + tap_off[j], (i + tap_u[j + 1]) % k1,
               start + tap_off[j + 1], (i + tap_u[j + 2]) % k1, start + tap_off[j + 2], tap_w[j], tap_w[j + 1],
               tap_w[j + 2], unit, scale, dst, start)
    elif rest == 2:
        _last2(acc, n, j == 0, ring, (i + tap_u[j]) % k1, start + tap_off[j], (i + tap_u[j + 1]) % k1,
               start + tap_off[j + 1], tap_w[j], tap_w[j + 1], unit, scale, dst, start)
    else:
        _last1(acc, n, j == 0, ring, (i + tap_u[j]) % k1, start + tap_off[j], tap_w[j], unit, scale, dst, start)


@u8_entry("void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, i2, intp, "
          "intp[::1], intp[::1], i2[::1], intp, b1, f4, {result}[:, ::1])")
def fill_rows_int(first, end, image2d, cval_row, rows, cols, left, channels, cval, k1, tap_u, tap_off, tap_w, count,
                  unit, scale, out):
    """Output rows first .. end-1 of a uint8 image into uint8 for an integer kernel times `scale`
    (imgconv.engine._fixed.integer_taps): the same loop nest as fill_rows on a ring of int16 rows, the
    sums exact in int16 (16 values per 256-bit multiply-add), then clipped (`unit`: the scale is 1) or
    scaled in float32 and rounded."""
    if first >= end:
        return
    span = out.shape[1]
    padded_span = cols.shape[0] * channels
    ring = np.empty((k1, padded_span), np.int16)
    flat = ring.reshape(-1)
    acc = np.empty(INT_CHUNK, np.int16)
    offsets = np.empty(max(1, count), np.intp)
    for p in range(first, first + k1 - 1):
        fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, ring[p % k1])
    for i in range(first, end):
        p = i + k1 - 1
        fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, ring[p % k1])
        row_out = out[i]
        for j in range(count):
            offsets[j] = ((i + tap_u[j]) % k1) * padded_span + tap_off[j]
        # whole blocks with the sums in registers (int_taps), the last values by the Numba loop
        done = int_taps(row_out, 0, flat, offsets, tap_w, count, span, unit, scale)
        for start in range(done, span, INT_CHUNK):
            _correlate_store(ring, i, k1, tap_u, tap_off, tap_w, count, start, acc, min(INT_CHUNK, span - start),
                             unit, scale, row_out)


def tap_tables(taps_list, channels: int):
    """Per kernel, its non-zero taps as (row u, offset v*channels, weight) tables padded to one length."""
    entries = [[(u, v * channels, w) for (u, v), w in np.ndenumerate(t) if w != 0.0] for t in taps_list]
    longest = max(1, max(len(e) for e in entries))
    tap_u = np.zeros((len(entries), longest), np.intp)
    tap_off = np.zeros((len(entries), longest), np.intp)
    tap_w = np.zeros((len(entries), longest), np.float32)
    for k, e in enumerate(entries):
        for j, (u, off, w) in enumerate(e):
            tap_u[k, j], tap_off[k, j], tap_w[k, j] = u, off, w
    return tap_u, tap_off, tap_w, np.array([len(e) for e in entries], np.intp)


def why_not(kernel) -> str | None:
    return None  # any kernel


def work(kernel, shape) -> float:
    """Multiply-adds: one per non-zero tap per output value."""
    return values(shape) * max(1, kernel.nonzero_taps)


def reason(kernel) -> str:
    k = f"{kernel.shape[0]}x{kernel.shape[1]}"
    return f"{k} kernel of rank {kernel.rank} is small enough that the direct loop is cheapest"


def _launch(src: Source, plan, taps_list, combine, scale, out3d):
    channels = src.image.shape[2]
    tap_u, tap_off, tap_w, counts = tap_tables(taps_list, channels)
    lo, hi, rounding = out_limits(out3d.dtype)
    function = plan.loop(fill_rows, src.image.dtype, out3d.dtype)
    run_rows(function, out3d.shape[1], plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left,
             channels, np.float32(src.cval), taps_list[0].shape[0], tap_u, tap_off, tap_w, counts, combine,
             np.float32(scale), lo, hi, rounding, out3d)


def integer(src: Source, plan, out: np.ndarray):
    """The kernel as exact 16-bit integers (imgconv.engine._fixed.IntegerTaps) when this run can use them:
    a uint8 image (and constant border value) into a uint8 result, an integer kernel times one scale."""
    if src.image.dtype != np.uint8 or out.dtype != np.uint8:
        return None
    return _fixed.cached(plan.kernel, "integer", lambda info: _fixed.integer_taps(info.taps))


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or an integer type) from `src` (an imgconv.border.Source)."""
    fixed = integer(src, plan, out)
    if fixed is not None:
        tap_u, tap_off, tap_w, counts = tap_tables([fixed.weights], src.image.shape[2])
        height = out.shape[0]
        function = plan.loop(fill_rows_int, src.image.dtype, out.dtype)
        run_rows(function, height, plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left,
                 src.image.shape[2], np.int16(round(src.cval)), fixed.weights.shape[0], tap_u[0], tap_off[0],
                 tap_w[0].astype(np.int16), counts[0], fixed.unit, np.float32(fixed.scale), out.reshape(height, -1))
        return
    _launch(src, plan, [plan.kernel.taps], STACK, 1.0, out.reshape(1, out.shape[0], -1))


def run_many(src: Source, plans, out: np.ndarray, magnitude_scale=None) -> None:
    """Several same-sized kernels in one pass over the image (they share the ring of padded rows).

    With `magnitude_scale` None, out is K x H x W x C and out[k] receives plans[k]'s response; otherwise
    out is H x W x C and receives sqrt(sum_k response_k**2) * magnitude_scale (Sobel's gradient magnitude).
    """
    taps_list = [p.kernel.taps for p in plans]
    if len({t.shape for t in taps_list}) != 1:
        raise ValueError("run_many needs kernels of one shape")
    if magnitude_scale is None:
        _launch(src, plans[0], taps_list, STACK, 1.0, out.reshape(len(plans), out.shape[1], -1))
    else:
        _launch(src, plans[0], taps_list, MAGNITUDE, magnitude_scale, out.reshape(1, out.shape[0], -1))
