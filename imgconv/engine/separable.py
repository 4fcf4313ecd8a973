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

A uint8 image filtered into uint8 by a rank-1 kernel runs in 16-bit fixed point instead (fill_rows_fixed,
imgconv.engine._fixed): the column pass multiplies pairs of source rows, the row pass pairs of values C
apart, 16 (32 with AVX-512) multiply-adds per instruction, exact to the bound _fixed.separable_taps
computes for the kernel; kernels whose bound is above _fixed.DELTA_MAX run the float32 loop.
"""

import numpy as np

from ..border import Source
from . import _fixed
from ._fixed import BLOCK, dot_pairs, dot_pairs_round, dot_pairs_scale, pair_rows, store_scaled, store_split, u8_entry
from ._rows import CHUNK, comb1, comb2, comb4, comb8, fill_edges, out_limits, source_row, store
from .loops import loop
from .shapes import values
from .threads import run_rows

#: Largest rank run (r column/row pass pairs); beyond it direct or FFT win.
MAX_RANK = 4
#: The cost model on one thread (benchmarks/fit_planner.py): multiply-adds per second of the column and
#: row passes, and seconds per output value of memory traffic and bookkeeping.
RATE = 2.44e+10
PER_VALUE = 5.29e-10
NUMBA = True
THREADED = True
#: Upper bound of a block's column-pass tile (per thread).
TILE_BYTES = 8 * 2**20
#: Budget for the k1 source rows one output row reads (L2 is 1 MiB per core on the reference machine).
L2_BYTES = 640 * 2**10
#: Values per column block in the column pass: k1 blocks of the source stay in L2 while it runs.
COLUMN_CHUNK = 2048
#: Budget for the pair rows one block of the fixed-point column pass reads (L1 is 48 KiB per core).
FIXED_L1_BYTES = 24 * 2**10


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


@u8_entry("void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, i4[::1], i4, i2, "
          "i4[::1], i4[::1], b1, f4, f4, intp, {result}[:, ::1])")
def fill_rows_fixed(first, end, image2d, cval_row, rows, cols, left, channels, column, shift, edge, row, row_low,
                    split, scale, low_scale, chunk, out):
    """Output rows first .. end-1 of a uint8 image into uint8, in 16-bit fixed point (imgconv.engine._fixed).

    Column pass: pair rows P_u = (padded row u, padded row u+1) interleaved as int16, built once per row
    into a ring; output row i is sum_t dot_pairs(P_(i+2t), column pair t), rounded to int16 (`shift`).
    Row pass: the int16 row's values paired with the same channel of the next pixel (C apart), so pair t
    of the row taps is one more dot_pairs at offset 2*t*C; then scaled in float32, rounded and clipped.
    `edge`: the int16 column-pass value of a constant border column."""
    span = out.shape[1]
    width = span // channels
    padded = cols.shape[0] * channels
    vertical = column.shape[0]
    horizontal = row.shape[0]
    reach = 2 * vertical  # rows i .. i + reach - 1 (the last has weight 0 when the column taps are odd)
    last = rows.shape[0] - 1
    stride = 2 * (span + BLOCK)
    # Slack past each row is read into lanes whose results are thrown away: left as allocated (any int16).
    ring = np.empty(reach * stride, np.int16)
    base = left * channels
    t_row = np.empty(padded + channels + BLOCK, np.int16)
    pairs = np.empty(2 * (padded + BLOCK), np.int16)
    acc = np.empty(chunk, np.int32)
    low = np.empty(chunk, np.int32)
    offsets = np.empty(max(vertical, horizontal), np.intp)
    half = np.int32((1 << shift) >> 1)
    for u in range(first, first + reach - 2):
        a = (u % reach) * stride
        pair_rows(source_row(image2d, cval_row, rows[min(u, last)]),
                  source_row(image2d, cval_row, rows[min(u + 1, last)]), ring[a : a + 2 * span])
    for i in range(first, end):
        u = i + reach - 2
        a = (u % reach) * stride
        pair_rows(source_row(image2d, cval_row, rows[min(u, last)]),
                  source_row(image2d, cval_row, rows[min(u + 1, last)]), ring[a : a + 2 * span])
        for start in range(0, span, chunk):
            n = min(chunk, span - start)
            for t in range(vertical):
                offsets[t] = ((i + 2 * t) % reach) * stride + 2 * start
            # rounded straight into the row (t_row has BLOCK values of slack past the centre)
            dot_pairs_round(t_row, base + start, ring, offsets, column, vertical, (n + BLOCK - 1) // BLOCK,
                            half, shift)
        fill_edges(t_row, cols, left, width, channels, edge)
        pair_rows(t_row[:padded], t_row[channels : padded + channels], pairs[: 2 * padded])
        row_out = out[i]
        for start in range(0, span, chunk):
            n = min(chunk, span - start)
            for t in range(horizontal):
                offsets[t] = 2 * (start + 2 * t * channels)
            full = n // BLOCK
            if split:
                blocks = (n + BLOCK - 1) // BLOCK
                dot_pairs(acc, True, pairs, offsets, row, horizontal, blocks)
                dot_pairs(low, True, pairs, offsets, row_low, horizontal, blocks)
                store_split(acc[:n], low[:n], scale, low_scale, row_out[start : start + n])
                continue
            # whole blocks straight into the output; the last values (never past the row's end) via acc
            dot_pairs_scale(row_out, start, pairs, offsets, row, horizontal, full, scale)
            if full * BLOCK < n:
                for t in range(horizontal):
                    offsets[t] += 2 * full * BLOCK
                dot_pairs(acc, True, pairs, offsets, row, horizontal, 1)
                store_scaled(acc[: n - full * BLOCK], scale, row_out[start + full * BLOCK : start + n])


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


def fixed_point(src: Source, plan, out: np.ndarray):
    """The kernel in 16-bit fixed point (imgconv.engine._fixed.SeparableTaps) when this run can use it:
    a uint8 image (and constant border value) into a uint8 result, a rank-1 kernel within the promise."""
    if src.image.dtype != np.uint8 or out.dtype != np.uint8 or plan.kernel.rank != 1:
        return None
    return _fixed.cached(plan.kernel, "separable", _fixed.separable_taps)


def fixed_chunk(column_pairs: int) -> int:
    """Values per block of a fixed-point pass: the column pass's pair rows for one block stay in L1."""
    return int(min(1024, max(2 * BLOCK, (FIXED_L1_BYTES // (4 * column_pairs)) // BLOCK * BLOCK)))


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or uint8) from `src` (an imgconv.border.Source)."""
    fixed = fixed_point(src, plan, out)
    if fixed is not None:
        _run_fixed(src, plan, fixed, out)
        return
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


def _run_fixed(src: Source, plan, fixed, out: np.ndarray) -> None:
    height = out.shape[0]
    channels = src.image.shape[2]
    column = fixed.column.view(np.int16).astype(np.int64)
    half = (1 << fixed.shift) >> 1
    edge = (int(round(src.cval)) * int(column.sum()) + half) >> fixed.shift  # a constant column, rounded
    row_low = fixed.row_low if fixed.row_low is not None else fixed.row
    function = plan.loop(fill_rows_fixed, src.image.dtype, out.dtype)
    run_rows(function, height, plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left, channels,
             fixed.column, np.int32(fixed.shift), np.int16(edge), fixed.row, row_low, fixed.row_low is not None,
             np.float32(fixed.scale), np.float32(fixed.low_scale), fixed_chunk(fixed.column_pairs),
             out.reshape(height, -1))
