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

Rows are worked in blocks (a block needs no warm-up rows, since every output row reads its source rows
directly), and ranges of rows run on several threads when the loop is jitted (imgconv.engine.threads).
"""

import numpy as np

from ..border import Source
from ._rows import CHUNK, comb1, comb2, comb4, comb8, fill_edges, out_limits, source_row, store
from .loops import loop
from .shapes import values
from .threads import run_rows

#: Largest rank run (r column/row pass pairs); beyond it direct or FFT win.
MAX_RANK = 4
#: The cost model on one thread (benchmarks/fit_planner.py): multiply-adds per second of the column and
#: row passes, and seconds per output value of memory traffic and bookkeeping.
RATE = 3.87e10
PER_VALUE = 9.14e-10
NUMBA = True
THREADED = True
#: Upper bound of a block's column-pass tile (per thread).
TILE_BYTES = 8 * 2**20
#: Budget for the k1 source rows one output row reads (L2 is 1 MiB per core on the reference machine).
L2_BYTES = 640 * 2**10
#: Values per column block in the column pass: k1 blocks of the source stay in L2 while it runs.
COLUMN_CHUNK = 2048


@loop
def _column_pass(image2d, cval_row, rows, i, weights, start, acc):
    """acc = sum_u weights[u] * source row (rows[i + u])[start : start + len(acc)]."""
    n = acc.shape[0]
    k1 = weights.shape[0]
    u = 0
    while u + 8 <= k1:
        comb8(acc, u == 0,
              source_row(image2d, cval_row, rows[i + u])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 1])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 2])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 3])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 4])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 5])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 6])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 7])[start : start + n],
              weights[u], weights[u + 1], weights[u + 2], weights[u + 3],
              weights[u + 4], weights[u + 5], weights[u + 6], weights[u + 7])
        u += 8
    if u + 4 <= k1:
        comb4(acc, u == 0,
              source_row(image2d, cval_row, rows[i + u])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 1])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 2])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 3])[start : start + n],
              weights[u], weights[u + 1], weights[u + 2], weights[u + 3])
        u += 4
    if u + 2 <= k1:
        comb2(acc, u == 0,
              source_row(image2d, cval_row, rows[i + u])[start : start + n],
              source_row(image2d, cval_row, rows[i + u + 1])[start : start + n],
              weights[u], weights[u + 1])
        u += 2
    if u < k1:
        comb1(acc, u == 0, source_row(image2d, cval_row, rows[i + u])[start : start + n], weights[u])


@loop
def _row_pass(buf, weights, channels, start, first, acc):
    """acc (=|+=) sum_v weights[v] * buf[start + v*channels : ... + len(acc)]."""
    n = acc.shape[0]
    k2 = weights.shape[0]
    c = channels
    v = 0
    while v + 8 <= k2:
        a = start + v * c
        comb8(acc, first and v == 0, buf[a : a + n], buf[a + c : a + c + n], buf[a + 2 * c : a + 2 * c + n],
              buf[a + 3 * c : a + 3 * c + n], buf[a + 4 * c : a + 4 * c + n], buf[a + 5 * c : a + 5 * c + n],
              buf[a + 6 * c : a + 6 * c + n], buf[a + 7 * c : a + 7 * c + n],
              weights[v], weights[v + 1], weights[v + 2], weights[v + 3],
              weights[v + 4], weights[v + 5], weights[v + 6], weights[v + 7])
        v += 8
    if v + 4 <= k2:
        a = start + v * c
        comb4(acc, first and v == 0, buf[a : a + n], buf[a + c : a + c + n], buf[a + 2 * c : a + 2 * c + n],
              buf[a + 3 * c : a + 3 * c + n], weights[v], weights[v + 1], weights[v + 2], weights[v + 3])
        v += 4
    if v + 2 <= k2:
        a = start + v * c
        comb2(acc, first and v == 0, buf[a : a + n], buf[a + c : a + c + n], weights[v], weights[v + 1])
        v += 2
    if v < k2:
        a = start + v * c
        comb1(acc, first and v == 0, buf[a : a + n], weights[v])


@loop(exports="void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, "
                             "f4, f4[:, ::1], f4[:, ::1], intp, intp, f4, f4, b1, {result}[:, ::1])")
def fill_rows(first, end, image2d, cval_row, rows, cols, left, channels, cval, columns, row_taps, block,
         column_chunk, lo, hi, rounding, out):
    """Output rows first .. end-1."""
    span = out.shape[1]  # W * C
    rank = columns.shape[0]
    padded_span = cols.shape[0] * channels
    width = span // channels
    base = left * channels
    tile = np.empty((rank, block, padded_span), np.float32)
    acc = np.empty(CHUNK, np.float32)
    for top in range(first, end, block):
        nrows = min(block, end - top)
        # Column pass, column chunk by column chunk: the k1 source rows of a chunk stay in L2
        # while the chunk is swept down the block.
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
                chunk = acc[:n]
                for t in range(rank):
                    _row_pass(tile[t, r], row_taps[t], channels, start, t == 0, chunk)
                store(chunk, row_out[start : start + n], lo, hi, rounding)


def block_rows(k1: int, rank: int, padded_span: int, source_row_bytes: int) -> int:
    """Rows per block.  One when the k1 source rows an output row reads fit in L2 together (the next
    output row then finds k1-1 of them still there, and nothing is read twice from memory); otherwise a
    tall block swept column chunk by column chunk (a tile of at most TILE_BYTES per thread), re-reading
    only k1-1 rows per block."""
    if k1 * source_row_bytes <= L2_BYTES:
        return 1
    cap = max(1, TILE_BYTES // (4 * rank * padded_span))
    return max(1, min(max(16, 4 * k1), cap))


def why_not(kernel) -> str | None:
    if not 1 <= kernel.rank <= MAX_RANK:
        return f"the kernel has rank {kernel.rank}; separable runs rank 1 to {MAX_RANK}"
    return None


def work(kernel, shape) -> float:
    """Multiply-adds: rank * (k1 + k2) per output value."""
    return values(shape) * max(1, kernel.rank) * sum(kernel.shape)


def reason(kernel) -> str:
    k = f"{kernel.shape[0]}x{kernel.shape[1]}"
    if kernel.rank == 1:
        return f"{k} kernel is one outer product (rank 1), so a column and a row pass are cheapest"
    return f"{k} kernel has rank {kernel.rank} (SVD), so {kernel.rank} pairs of 1D passes are cheapest"


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or uint8) from `src` (an imgconv.border.Source)."""
    columns, row_taps = plan.factors
    height = out.shape[0]
    lo, hi, rounding = out_limits(out.dtype)
    channels = src.image.shape[2]
    block = block_rows(columns.shape[1], columns.shape[0], len(src.cols) * channels, src.image2d[0].nbytes)
    function = plan.loop(fill_rows, src.image.dtype, out.dtype)
    run_rows(function, height, plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left, channels,
             np.float32(src.cval), np.ascontiguousarray(columns, np.float32),
             np.ascontiguousarray(row_taps, np.float32), block, COLUMN_CHUNK, lo, hi, rounding,
             out.reshape(height, -1))
