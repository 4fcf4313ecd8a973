"""Separable engine: a rank-r kernel as r pairs of 1D passes, O(r*(k1+k2)) per pixel instead of k1*k2.

The SVD (see KernelInfo.factors) writes the taps as sum_t outer(column_t, row_t).  Each output row is
made in two steps, so the intermediate image never exists and the padded image is never built:

1. Column pass, straight from the image: the k1 source rows the output row needs (through the border's
   row map, so no padded copy) are combined with the column taps into one row buffer.  Taps are the
   outer loop, four at a time (`acc += w0*r0 + w1*r1 + w2*r2 + w3*r3`, kernel values in registers) and a
   block of CHUNK contiguous values the inner loop, which LLVM turns into AVX FMAs.  A uint8 image is
   widened to float32 inside that loop, one row block at a time.
2. The buffer's left/right borders are gathered through the column map (a border column of the padded
   image, summed down the column taps, is the same gather of the column-pass result), then the row
   pass slides the row taps along it, again four taps per sweep over a CHUNK-sized L1 block, and stores
   the block into the output (rounded and clipped if the output is an integer type).

Rows run in parallel in strips (prange); a strip needs no warm-up rows, since every output row reads
its source rows directly.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from ..border import Source
from ._rows import CHUNK, fill_edges, out_limits, source_row, store

#: Row ranges per thread (prange items): more than one evens out the load when a core is busy elsewhere.
PARTS_PER_THREAD = 2
#: Upper bound of a strip's column-pass tile (per thread).
TILE_BYTES = 8 * 2**20
#: Values per column block in the column pass: k1 blocks of the source stay in L2 while it runs.
COLUMN_CHUNK = 1024


@njit(cache=True, inline="always")
def _axpy4(acc, s0, s1, s2, s3, w0, w1, w2, w3):
    for m in range(acc.shape[0]):
        acc[m] += w0 * s0[m] + w1 * s1[m] + w2 * s2[m] + w3 * s3[m]


@njit(cache=True, inline="always")
def _axpy1(acc, s0, w0):
    for m in range(acc.shape[0]):
        acc[m] += w0 * s0[m]


@njit(cache=True, inline="always")
def _column_pass(image2d, cval_row, rows, i, weights, start, acc):
    """acc = sum_u weights[u] * source row (rows[i + u])[start : start + len(acc)]."""
    n = acc.shape[0]
    acc[:] = 0.0
    k1 = weights.shape[0]
    u = 0
    while u + 4 <= k1:
        s0 = source_row(image2d, cval_row, rows[i + u])[start : start + n]
        s1 = source_row(image2d, cval_row, rows[i + u + 1])[start : start + n]
        s2 = source_row(image2d, cval_row, rows[i + u + 2])[start : start + n]
        s3 = source_row(image2d, cval_row, rows[i + u + 3])[start : start + n]
        _axpy4(acc, s0, s1, s2, s3, weights[u], weights[u + 1], weights[u + 2], weights[u + 3])
        u += 4
    while u < k1:
        _axpy1(acc, source_row(image2d, cval_row, rows[i + u])[start : start + n], weights[u])
        u += 1


@njit(cache=True, inline="always")
def _row_pass(buf, weights, channels, start, acc):
    """acc += sum_v weights[v] * buf[start + v*channels : ... + len(acc)]."""
    n = acc.shape[0]
    k2 = weights.shape[0]
    v = 0
    while v + 4 <= k2:
        a = start + v * channels
        _axpy4(acc, buf[a : a + n], buf[a + channels : a + channels + n],
               buf[a + 2 * channels : a + 2 * channels + n], buf[a + 3 * channels : a + 3 * channels + n],
               weights[v], weights[v + 1], weights[v + 2], weights[v + 3])
        v += 4
    while v < k2:
        a = start + v * channels
        _axpy1(acc, buf[a : a + n], weights[v])
        v += 1


@njit(parallel=True, fastmath=True, cache=True)
def _separable(image2d, cval_row, rows, cols, left, channels, cval, columns, row_taps, parts, strip,
               column_chunk, lo, hi, rounding, out):
    height, span = out.shape  # span = W * C
    rank = columns.shape[0]
    padded_span = cols.shape[0] * channels
    width = span // channels
    base = left * channels
    for part in prange(parts):
        tile = np.empty((rank, strip, padded_span), np.float32)
        acc = np.empty(CHUNK, np.float32)
        end = ((part + 1) * height) // parts
        for top in range((part * height) // parts, end, strip):
            nrows = min(strip, end - top)
            # Column pass, column block by column block: the k1 source rows of a block stay in L2
            # while the block is swept down the strip.
            for t in range(rank):
                for start in range(0, span, column_chunk):
                    n = min(column_chunk, span - start)
                    for r in range(nrows):
                        _column_pass(image2d, cval_row, rows, top + r, columns[t], start,
                                     tile[t, r, base + start : base + start + n])
                edge_value = cval * columns[t].sum()
                for r in range(nrows):
                    fill_edges(tile[t, r], cols, left, width, channels, edge_value)
            # Row pass, row by row, into the output.
            for r in range(nrows):
                row_out = out[top + r]
                for start in range(0, span, CHUNK):
                    n = min(CHUNK, span - start)
                    block = acc[:n]
                    block[:] = 0.0
                    for t in range(rank):
                        _row_pass(tile[t, r], row_taps[t], channels, start, block)
                    store(block, row_out[start : start + n], lo, hi, rounding)


def strip_rows(k1: int, rank: int, padded_span: int) -> int:
    """Rows per strip: twice the kernel height (so re-reading k1-1 rows per strip costs little), at
    least 16, and a tile of at most TILE_BYTES."""
    cap = max(1, TILE_BYTES // (4 * rank * padded_span))
    return max(1, min(max(16, 2 * k1), cap))


def run(padded, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or an integer type) from `padded` (a Source, or a padded array)."""
    src = padded if isinstance(padded, Source) else Source.of_padded(padded)
    columns, rows = plan.factors
    height = out.shape[0]
    lo, hi, rounding = out_limits(out.dtype)
    channels = src.image.shape[2]
    parts = max(1, min(height, get_num_threads() * PARTS_PER_THREAD))
    strip = strip_rows(columns.shape[1], columns.shape[0], len(src.cols) * channels)
    _separable(
        src.image2d, src.cval_row, src.rows, src.cols, src.left, channels, np.float32(src.cval),
        np.ascontiguousarray(columns, np.float32), np.ascontiguousarray(rows, np.float32),
        parts, strip, COLUMN_CHUNK, lo, hi, rounding, out.reshape(height, -1),
    )
