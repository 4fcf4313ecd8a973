"""Row helpers shared by the Numba engines: read a padded row through imgconv.border.Source's index maps,
and store a float32 row into the output's type.

Nothing here knows a border mode: a padded row is the image row `rows[p]` (or the cval row when -1),
copied into the middle of a buffer, and its left/right edges are gathered from the buffer itself through
`cols` (or set to a constant where cols is -1).  These are helper loops (imgconv.engine.loops): LLVM
inlines them into each engine's loop nest.
"""

import numpy as np

from .loops import loop

#: Floats per block of an output row accumulated in L1 while every tap is added to it (8 KiB).
CHUNK = 2048


@loop
def source_row(image2d, cval_row, r):
    """Row r of the image as a 1D array, or the cval row for r < 0 (constant border)."""
    if r < 0:
        return cval_row
    return image2d[r]


@loop
def fill_edges(buf, cols, left, width, channels, value):
    """buf holds a padded row whose centre (columns left .. left+width-1) is filled; fill the edges."""
    for q in range(left):
        src = cols[q]
        for c in range(channels):
            buf[q * channels + c] = value if src < 0 else buf[(left + src) * channels + c]
    for q in range(left + width, cols.shape[0]):
        src = cols[q]
        for c in range(channels):
            buf[q * channels + c] = value if src < 0 else buf[(left + src) * channels + c]


@loop
def fetch_row(image2d, cval_row, rows, cols, left, channels, cval, p, buf):
    """Padded row p (widened to float32) into buf, which holds len(cols) * channels values."""
    src = source_row(image2d, cval_row, rows[p])
    n = src.shape[0]
    centre = buf[left * channels : left * channels + n]
    for m in range(n):
        centre[m] = src[m]
    fill_edges(buf, cols, left, n // channels, channels, cval)


@loop
def store(acc, dst, lo, hi, rounding):
    """dst[:] = acc, rounded half-to-even and clipped to [lo, hi] when rounding (integer outputs)."""
    n = acc.shape[0]
    if rounding:
        for m in range(n):
            dst[m] = min(max(np.rint(acc[m]), lo), hi)
    else:
        for m in range(n):
            dst[m] = acc[m]


def out_limits(dtype):
    """(lo, hi, rounding) for store(): an integer output type is rounded and clipped to its range."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return np.float32(info.min), np.float32(info.max), True
    return np.float32(-np.inf), np.float32(np.inf), False


# Weighted sums of shifted rows, the inner loops of every engine: acc (=|+=) sum_j w_j * s_j.
# `first` (loop-invariant, so LLVM unswitches it) assigns instead of adding: no pass to zero acc.
# Taking eight or four source rows per sweep keeps the weights in registers and loads/stores the
# accumulator once per eight taps instead of once per tap (register blocking along the taps).


@loop
def comb8(acc, first, s0, s1, s2, s3, s4, s5, s6, s7, w0, w1, w2, w3, w4, w5, w6, w7):
    n = acc.shape[0]
    if first:
        for m in range(n):
            acc[m] = (w0 * s0[m] + w1 * s1[m] + w2 * s2[m] + w3 * s3[m]) + (
                w4 * s4[m] + w5 * s5[m] + w6 * s6[m] + w7 * s7[m])
    else:
        for m in range(n):
            acc[m] += (w0 * s0[m] + w1 * s1[m] + w2 * s2[m] + w3 * s3[m]) + (
                w4 * s4[m] + w5 * s5[m] + w6 * s6[m] + w7 * s7[m])


@loop
def comb4(acc, first, s0, s1, s2, s3, w0, w1, w2, w3):
    n = acc.shape[0]
    if first:
        for m in range(n):
            acc[m] = w0 * s0[m] + w1 * s1[m] + w2 * s2[m] + w3 * s3[m]
    else:
        for m in range(n):
            acc[m] += w0 * s0[m] + w1 * s1[m] + w2 * s2[m] + w3 * s3[m]


@loop
def comb2(acc, first, s0, s1, w0, w1):
    n = acc.shape[0]
    if first:
        for m in range(n):
            acc[m] = w0 * s0[m] + w1 * s1[m]
    else:
        for m in range(n):
            acc[m] += w0 * s0[m] + w1 * s1[m]


@loop
def comb1(acc, first, s0, w0):
    n = acc.shape[0]
    if first:
        for m in range(n):
            acc[m] = w0 * s0[m]
    else:
        for m in range(n):
            acc[m] += w0 * s0[m]


# The same sums reading taps at (row, offset) of a 2D ring and writing acc[at : at + n]: no array views are
# made per block, so no reference counting runs in the loop nest (a view per tap per block of a 4K row
# cost ~10% of a 3x3 filter in NRT_incref/decref).  Indices are made unsigned (U) so that Numba adds no
# negative-index wraparound, which would turn every load into a gather.

U = np.uint64


@loop
def comb8_at(acc, at, n, first, src, r0, a0, r1, a1, r2, a2, r3, a3, r4, a4, r5, a5, r6, a6, r7, a7,
             w0, w1, w2, w3, w4, w5, w6, w7):
    if first:
        for m in range(n):
            acc[U(at + m)] = (w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)] + w2 * src[r2, U(a2 + m)]
                              + w3 * src[r3, U(a3 + m)]) + (w4 * src[r4, U(a4 + m)] + w5 * src[r5, U(a5 + m)]
                                                            + w6 * src[r6, U(a6 + m)] + w7 * src[r7, U(a7 + m)])
    else:
        for m in range(n):
            acc[U(at + m)] += (w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)] + w2 * src[r2, U(a2 + m)]
                               + w3 * src[r3, U(a3 + m)]) + (w4 * src[r4, U(a4 + m)] + w5 * src[r5, U(a5 + m)]
                                                             + w6 * src[r6, U(a6 + m)] + w7 * src[r7, U(a7 + m)])


@loop
def comb4_at(acc, at, n, first, src, r0, a0, r1, a1, r2, a2, r3, a3, w0, w1, w2, w3):
    if first:
        for m in range(n):
            acc[U(at + m)] = (w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)] + w2 * src[r2, U(a2 + m)]
                              + w3 * src[r3, U(a3 + m)])
    else:
        for m in range(n):
            acc[U(at + m)] += (w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)] + w2 * src[r2, U(a2 + m)]
                               + w3 * src[r3, U(a3 + m)])


@loop
def comb2_at(acc, at, n, first, src, r0, a0, r1, a1, w0, w1):
    if first:
        for m in range(n):
            acc[U(at + m)] = w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)]
    else:
        for m in range(n):
            acc[U(at + m)] += w0 * src[r0, U(a0 + m)] + w1 * src[r1, U(a1 + m)]


@loop
def comb1_at(acc, at, n, first, src, r0, a0, w0):
    if first:
        for m in range(n):
            acc[U(at + m)] = w0 * src[r0, U(a0 + m)]
    else:
        for m in range(n):
            acc[U(at + m)] += w0 * src[r0, U(a0 + m)]


@loop
def sweep_taps(ring, i, k1, tap_u, tap_off, tap_w, count, start, acc, at, n, keep):
    """Sweeps of eight, then four, of a kernel's taps into acc[at : at + n] (the first sweep assigning),
    leaving at least `keep` taps for the caller; returns how many taps were added."""
    j = 0
    while count - j >= 8 + keep:
        comb8_at(acc, at, n, j == 0, ring,
                 (i + tap_u[j]) % k1, start + tap_off[j], (i + tap_u[j + 1]) % k1, start + tap_off[j + 1],
                 (i + tap_u[j + 2]) % k1, start + tap_off[j + 2], (i + tap_u[j + 3]) % k1, start + tap_off[j + 3],
                 (i + tap_u[j + 4]) % k1, start + tap_off[j + 4], (i + tap_u[j + 5]) % k1, start + tap_off[j + 5],
                 (i + tap_u[j + 6]) % k1, start + tap_off[j + 6], (i + tap_u[j + 7]) % k1, start + tap_off[j + 7],
                 tap_w[j], tap_w[j + 1], tap_w[j + 2], tap_w[j + 3],
                 tap_w[j + 4], tap_w[j + 5], tap_w[j + 6], tap_w[j + 7])
        j += 8
    if count - j >= 4 + keep:
        comb4_at(acc, at, n, j == 0, ring,
                 (i + tap_u[j]) % k1, start + tap_off[j], (i + tap_u[j + 1]) % k1, start + tap_off[j + 1],
                 (i + tap_u[j + 2]) % k1, start + tap_off[j + 2], (i + tap_u[j + 3]) % k1, start + tap_off[j + 3],
                 tap_w[j], tap_w[j + 1], tap_w[j + 2], tap_w[j + 3])
        j += 4
    return j


@loop
def correlate_taps(ring, i, k1, tap_u, tap_off, tap_w, count, start, acc, at, n):
    """acc[at : at + n] = sum over a kernel's `count` non-zero taps of weight * shifted ring row, for
    outputs start .. start+n-1 of output row i, from a ring of the k1 padded rows it reads (the direct
    engine).  Eight, four, two or one taps per sweep over acc, the first sweep assigning;
    taps are read as (ring row, offset) pairs: no views in the loop nest."""
    if count == 0:
        for m in range(n):
            acc[at + m] = 0
        return
    j = sweep_taps(ring, i, k1, tap_u, tap_off, tap_w, count, start, acc, at, n, 0)
    if j + 2 <= count:
        comb2_at(acc, at, n, j == 0, ring, (i + tap_u[j]) % k1, start + tap_off[j],
                 (i + tap_u[j + 1]) % k1, start + tap_off[j + 1], tap_w[j], tap_w[j + 1])
        j += 2
    if j < count:
        comb1_at(acc, at, n, j == 0, ring, (i + tap_u[j]) % k1, start + tap_off[j], tap_w[j])
