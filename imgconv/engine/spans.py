"""Row-span engine: O(kernel height) per pixel for kernels whose rows are runs of equal taps.

A disk, a polygon, a diamond, an octagon or a box is, row by row, a constant run of taps: a sum of
horizontal box segments.  With running (prefix) sums along each padded source row, a run costs two
reads and one multiply-add whatever its length -- a disk of radius r costs O(r) per pixel instead of
the direct loop's O(r^2).  An anti-aliased disk is a constant interior plus a thin edge of partial taps:
the interior runs as spans and the edge taps are added directly, in the same pass.

    out[j] = sum_spans w * (P_u[j + b] - P_u[j + a]) + sum_taps w * row_u[j + v]

where P_u is the prefix sum of padded source row i + u (float32 for uint8 images: exact integers; float64
for float images).  Colour is interleaved as in the direct engine: a span of columns [a, b) on an
H x (W*C) matrix starts a*C values along.  The decomposition comes from the taps alone (no filter names):
in each kernel row, every maximal run of MIN_SPAN or more equal non-zero taps is a span, and the rest
are taps.

A disk of radius 20 is 39 spans and 160 edge taps: ~240 vector loads and multiply-adds per 16 output
values, so the loop nest is built for the load ports, not for memory:
  * the image is cut into vertical strips (strip_bytes(): a thread's ring of padded rows and their sums
    stays in its L2 cache), each with its own prefix sums (exact over a strip; the halo is summed twice);
  * ROWS output rows x BLOCK values are summed at once in registers (`accumulate`, LLVM IR: 16-lane
    float32 vectors and fused multiply-adds).  Output row i + t reads kernel row
    u from source row i + t + u, so a tap position or span on one source row is loaded once and added,
    with each row's own weight, to every row of the group that uses it (a disk's edge runs down several
    rows in the same columns: ~0.6 of the loads for ROWS = 4);
  * items are taken band by band of BAND source rows, each band along the whole strip, so the lines a
    block reads are mostly those the block before it read, still in L1 (the sums go to memory between
    bands: a few aligned loads and stores per band).
Most loads are unaligned (a tap's offset is v*C values), and a 64-byte load across two cache lines costs
two; the loads, not the multiply-adds, bound the loop.
"""

import functools
from pathlib import Path

import numpy as np

from ..border import Source
from ._rows import out_limits, source_row, store
from .loops import IRLoop, loop
from .shapes import values
from .threads import run_rows

#: The cost model on one thread: span and tap updates per second, and seconds per output value of memory
#: traffic, prefix sums and bookkeeping.  Fitted by benchmarks/fit_planner.py --engine spans (one thread,
#: ahead of time, best of 5, NNLS on relative error) to disks of radius 3 to 50 and a 31x31 box on 1080p and
#: 4K RGB images, float32 -> float32, uint8 -> float32 and uint8 -> uint8 (median error 11%).
RATE = 2.85e+10
PER_VALUE = 1.09e-09
NUMBA = True
THREADED = True
#: Shortest run of equal taps worth a span (two reads) rather than taps (one read each).
MIN_SPAN = 3
#: Work of one span relative to one tap (a subtraction and a multiply-add against a multiply-add).
SPAN_COST = 2.0
#: Longest padded strip row (values) whose float32 prefix sums of uint8 values are exact (255 * n < 2**24).
EXACT_ROW = 2**24 // 255
#: float32 lanes per vector (one AVX-512 register; LLVM splits it where vectors are narrower).
LANES = 16
#: Vectors per output row, and output rows, summed at once: ROWS * VECTORS accumulators in registers.
VECTORS = 4
ROWS = 4
#: The registry's name for it: a band of rows gets the whole image's bits only if it starts on a multiple.
ROW_GROUP = ROWS
#: Output values per row of one block.
BLOCK = LANES * VECTORS
#: Source rows whose items the block loop takes together, block by block along the strip (the lines of
#: one band near a block stay in L1 for the next block).
BAND = 8
#: Bytes of one thread's ring of padded strip rows and their prefix sums, kept in its L2 cache: this part of
#: the core's L2 (Linux says how big; else 1 MiB).  On this machine's 2 MiB, 1.5 MiB against 1 MiB was, at
#: radius 50 on one thread, 3% faster on uint8 and 9% on float32 (whose sums take 8 bytes).
STRIP_SHARE = 0.75
STRIP_BYTES = None  # None: STRIP_SHARE of the L2 cache
#: Where Linux describes the first core's caches.
CACHES = Path("/sys/devices/system/cpu/cpu0/cache")


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
    return float(values(shape) * (SPAN_COST * len(spans) + np.count_nonzero(rest)))


def reason(kernel) -> str:
    spans, rest = decompose(kernel.taps)
    return (f"{kernel.shape[0]}x{kernel.shape[1]} kernel is {len(spans)} runs of equal taps "
            f"(+{np.count_nonzero(rest)} single taps): running row sums are cheapest")


# --- accumulate: the sums of ROWS output rows in registers, as LLVM IR ---------------------------------


def _accumulate_py(acc, stride, blocks, sums, ring, span_lo, span_hi, span_w, span_groups, tap_at, tap_w, tap_groups):
    """What `accumulate` computes, in NumPy (for the tests): for t < ROWS and m < blocks * BLOCK,
    acc[t*stride + m] = sum_s span_w[s*ROWS + t] * (sums[span_hi[s] + m] - sums[span_lo[s] + m])
                        + sum_q tap_w[q*ROWS + t] * ring[tap_at[q] + m]
    over the weights that are not zero (the groups say which: see _grouped; the loop adds only those)."""
    n = blocks * BLOCK
    for t in range(ROWS):
        total = np.zeros(n, np.float64)
        for s, (lo, hi) in enumerate(zip(span_lo, span_hi)):
            if span_w[s * ROWS + t] != 0:
                total += np.float64(span_w[s * ROWS + t]) * (sums[hi : hi + n].astype(np.float64) - sums[lo : lo + n])
        for q, at in enumerate(tap_at):
            if tap_w[q * ROWS + t] != 0:
                total += np.float64(tap_w[q * ROWS + t]) * ring[at : at + n]
        acc[t * stride : t * stride + n] = total


def _build_accumulate():
    """The block loop as LLVM IR (imports Numba).  Band by band of BAND source rows, block by block of
    BLOCK values along the strip: a block's ROWS x VECTORS vectors of 16 float32 sums come from `acc`
    (zero for the first band), stay in registers while the band's items are added, and go back.  A band's
    lines near one block are mostly those of the block before, so they are still in L1 (taking all source
    rows for one block before the next, as this loop did before, read them from L2: 10% slower at radius
    50).  Items come in groups by which of the ROWS output rows use them (bits of the group number): each
    item's vectors are loaded once -- a tap's values, or a span's difference of two prefix sums (in float64
    for float64 sums, then rounded to float32) -- and added with a fused multiply-add to the sums of every
    row in its group.  llvm.fma is exact fused multiply-add on every target, so both builds give the same
    bits."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    i32, i64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
    vf = ir.VectorType(f32, LANES)

    @intrinsic
    def kernel(typingctx, acc, stride, blocks, sums, ring, span_lo, span_hi, span_w, span_groups, tap_at, tap_w,
               tap_groups):
        sig = types.none(acc, stride, blocks, sums, ring, span_lo, span_hi, span_w, span_groups, tap_at, tap_w,
                         tap_groups)

        def codegen(context, builder, signature, args):
            kinds = signature.args
            data = [context.make_array(kind)(context, builder, value).data if isinstance(kind, types.Array) else None
                    for kind, value in zip(kinds, args)]
            lengths = {k: cgutils.unpack_tuple(builder, context.make_array(kinds[k])(context, builder, args[k]).shape,
                                               1)[0] for k in (8, 11)}
            accp, sumsp, ringp = data[0], data[3], data[4]
            stride_v = context.cast(builder, args[1], kinds[1], types.int64)
            blocks_v = context.cast(builder, args[2], kinds[2], types.int64)
            vs = ir.VectorType(sumsp.type.pointee, LANES)
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vf, [vf, vf, vf]),
                                                 f"llvm.fma.v{LANES}f32")
            slots = [[cgutils.alloca_once(builder, vf) for _ in range(VECTORS)] for _ in range(ROWS)]
            lane_zero = ir.Constant(ir.VectorType(i32, LANES), [0] * LANES)

            def load(pointer, index):
                return builder.load(builder.gep(pointer, [index]))

            def vector(base, at, k, vtype):
                where = builder.gep(base, [builder.add(at, ir.Constant(i64, k * LANES))])
                align = 8 if isinstance(vtype.element, ir.DoubleType) else 4
                return builder.load(builder.bitcast(where, vtype.as_pointer()), align=align)

            def band_items(band, bands, groups, weights, values):
                """Band `band` of BAND source rows (if this kind of item, which has `bands`, has it): for each
                group g of items (rows t in the bits of g), load each item's vectors once, add them times the
                item's weight of row t to row t's sums."""
                with builder.if_then(builder.icmp_unsigned("<", band, bands)):
                    at = builder.mul(band, ir.Constant(i64, 2**ROWS))
                    for g in range(1, 2**ROWS):
                        first = load(groups, builder.add(at, ir.Constant(i64, g)))
                        end = load(groups, builder.add(at, ir.Constant(i64, g + 1)))
                        with cgutils.for_range(builder, builder.sub(end, first)) as step:
                            item = builder.add(first, step.index)
                            vectors = values(item)
                            for t in (t for t in range(ROWS) if g >> t & 1):
                                index = builder.add(builder.mul(item, ir.Constant(i64, ROWS)), ir.Constant(i64, t))
                                one = builder.insert_element(ir.Constant(vf, ir.Undefined), load(weights, index),
                                                             ir.Constant(i32, 0))
                                weight = builder.shuffle_vector(one, ir.Constant(vf, ir.Undefined), lane_zero)
                                for slot, value in zip(slots[t], vectors):
                                    builder.store(builder.call(fma, [weight, value, builder.load(slot)]), slot)

            def acc_vector(t, base, k):
                first = builder.add(builder.mul(stride_v, ir.Constant(i64, t)), base)
                where = builder.gep(accp, [builder.add(first, ir.Constant(i64, k * LANES))])
                return builder.bitcast(where, vf.as_pointer())

            # groups holds 2**ROWS ends per band and a leading 0
            span_bands, tap_bands = (builder.udiv(builder.sub(lengths[k], ir.Constant(i64, 1)),
                                                  ir.Constant(i64, 2**ROWS)) for k in (8, 11))
            all_bands = builder.select(builder.icmp_unsigned(">", span_bands, tap_bands), span_bands, tap_bands)
            all_bands = builder.select(builder.icmp_unsigned(">", all_bands, ir.Constant(i64, 1)), all_bands,
                                       ir.Constant(i64, 1))  # at least one pass, which zeroes the sums
            with cgutils.for_range(builder, all_bands) as bnd, cgutils.for_range(builder, blocks_v) as blk:
                base = builder.mul(blk.index, ir.Constant(i64, BLOCK))
                is_first = builder.icmp_unsigned("==", bnd.index, ir.Constant(i64, 0))
                for t, row in enumerate(slots):
                    for k, slot in enumerate(row):
                        old = builder.load(acc_vector(t, base, k), align=4)
                        builder.store(builder.select(is_first, ir.Constant(vf, None), old), slot)

                def span_values(item):
                    hi = builder.add(load(data[6], item), base)
                    lo = builder.add(load(data[5], item), base)
                    diffs = [builder.fsub(vector(sumsp, hi, k, vs), vector(sumsp, lo, k, vs))
                             for k in range(VECTORS)]
                    return [builder.fptrunc(d, vf) if vs != vf else d for d in diffs]

                def tap_values(item):
                    at = builder.add(load(data[9], item), base)
                    return [vector(ringp, at, k, vf) for k in range(VECTORS)]

                band_items(bnd.index, span_bands, data[8], data[7], span_values)
                band_items(bnd.index, tap_bands, data[11], data[10], tap_values)
                for t, row in enumerate(slots):
                    for k, slot in enumerate(row):
                        builder.store(builder.load(slot), acc_vector(t, base, k), align=4)
            return context.get_dummy_value()

        return sig, codegen

    def accumulate(acc, stride, blocks, sums, ring, span_lo, span_hi, span_w, span_groups, tap_at, tap_w,
                   tap_groups):
        kernel(acc, stride, blocks, sums, ring, span_lo, span_hi, span_w, span_groups, tap_at, tap_w, tap_groups)

    return accumulate


#: ROWS output rows of a strip, blocks * BLOCK values each, summed in registers (see _accumulate_py).
accumulate = IRLoop(_accumulate_py, _build_accumulate)


# --- the loop nest --------------------------------------------------------------------------------------


@loop
def _prefix(row, channels, sums):
    """sums[q*C + c] = sum of row[q'*C + c] over q' < q (so sums has C more values than row).  Three or
    four channels keep their running sums in registers: their add chains then overlap."""
    n = row.shape[0] // channels
    if channels == 3:
        s0 = s1 = s2 = sums[0] * 0
        for q in range(n):
            m = 3 * q
            sums[m], sums[m + 1], sums[m + 2] = s0, s1, s2
            s0 += row[m]
            s1 += row[m + 1]
            s2 += row[m + 2]
        sums[3 * n], sums[3 * n + 1], sums[3 * n + 2] = s0, s1, s2
    elif channels == 4:
        s0 = s1 = s2 = s3 = sums[0] * 0
        for q in range(n):
            m = 4 * q
            sums[m], sums[m + 1], sums[m + 2], sums[m + 3] = s0, s1, s2, s3
            s0 += row[m]
            s1 += row[m + 1]
            s2 += row[m + 2]
            s3 += row[m + 3]
        sums[4 * n], sums[4 * n + 1], sums[4 * n + 2], sums[4 * n + 3] = s0, s1, s2, s3
    else:
        for c in range(channels):
            sums[c] = 0.0
        for m in range(row.shape[0]):
            sums[m + channels] = sums[m] + row[m]


@loop
def _gather(src, col, channels, cval, buf, at):
    """One pixel of a padded row's border: image column `col`, or cval where col < 0."""
    for c in range(channels):
        buf[at + c] = cval if col < 0 else src[col * channels + c]


@loop
def _fetch_strip(image2d, cval_row, rows, cols, left, channels, cval, p, q0, buf):
    """Padded columns q0 .. q0 + len(buf)/C - 1 of padded row p, widened to float32, into buf: the
    image's columns copied as one block, the border's gathered through the column map."""
    src = source_row(image2d, cval_row, rows[p])
    q1 = q0 + buf.shape[0] // channels
    c0 = max(q0, left)
    c1 = max(c0, min(q1, left + src.shape[0] // channels))
    dst = buf[(c0 - q0) * channels : (c1 - q0) * channels]
    centre = src[(c0 - left) * channels : (c1 - left) * channels]
    for m in range(dst.shape[0]):
        dst[m] = centre[m]
    for q in range(q0, min(c0, q1)):
        _gather(src, cols[q], channels, cval, buf, (q - q0) * channels)
    for q in range(max(c1, q0), q1):
        _gather(src, cols[q], channels, cval, buf, (q - q0) * channels)


@loop
def _load(image2d, cval_row, rows, cols, left, channels, cval, p, q0, padded, ring, sums):
    """Padded row p's strip (`padded` values from padded column q0) and its prefix sums into their ring slots."""
    slot = p % ring.shape[0]
    _fetch_strip(image2d, cval_row, rows, cols, left, channels, cval, p, q0, ring[slot, :padded])
    _prefix(ring[slot, :padded], channels, sums[slot])


@loop
def _offsets(i, depth, length, item_d, item_off, out):
    """out[s] = where item s (source row i + item_d[s], offset item_off[s]) is in the flattened ring of `depth`
    rows of `length` values."""
    for s in range(item_d.shape[0]):
        out[s] = ((i + item_d[s]) % depth) * length + item_off[s]


@loop
def _advance(out, step, total):
    """_offsets for source rows `step` values (ROWS ring rows) further on, from the ones before: out[s] + step,
    wrapped around the ring of `total` values (no division per item: 3% of the loop at radius 50)."""
    for s in range(out.shape[0]):
        at = out[s] + step
        out[s] = at - total if at >= total else at


@loop(exports="void(intp, intp, {image}[:, ::1], {image}[::1], intp[::1], intp[::1], intp, intp, f4, intp, "
               "intp[::1], intp[::1], intp[::1], f4[::1], intp[::1], intp[::1], intp[::1], f4[::1], intp[::1], "
               "{sum}[::1], intp, f4, f4, b1, {result}[:, ::1])")
def fill_rows(first, end, image2d, cval_row, rows, cols, left, channels, cval, k1, span_d, span_a, span_b, span_w,
              span_groups, tap_d, tap_off, tap_w, tap_groups, sum_type, strip, lo, hi, rounding, out):
    """Output rows first .. end-1, strip by strip (`strip` output values, a multiple of C), ROWS rows at a
    time, from the items of `tables` (offsets in values: columns times C); sums of the type of `sum_type`."""
    if first >= end:
        return
    span = out.shape[1]
    halo = cols.shape[0] * channels - span
    depth = k1 + ROWS - 1
    length = strip + halo + channels + BLOCK  # slack: a block's lanes past the strip read it, never stored
    ring = np.zeros((depth, length), np.float32)
    sums = np.zeros((depth, length), sum_type.dtype)
    flat_ring, flat_sums = ring.reshape(-1), sums.reshape(-1)
    acc = np.empty((ROWS, strip + BLOCK), np.float32)
    flat_acc = acc.reshape(-1)
    lo_at = np.empty(span_d.shape[0], np.intp)
    hi_at = np.empty(span_d.shape[0], np.intp)
    tap_at = np.empty(tap_d.shape[0], np.intp)
    for s0 in range(0, span, strip):
        width = min(strip, span - s0)
        padded = width + halo
        for p in range(first, first + k1 - 1):
            _load(image2d, cval_row, rows, cols, left, channels, cval, p, s0 // channels, padded, ring, sums)
        for i in range(first, end, ROWS):
            count = min(ROWS, end - i)
            for p in range(i + k1 - 1, i + k1 - 1 + count):
                _load(image2d, cval_row, rows, cols, left, channels, cval, p, s0 // channels, padded, ring, sums)
            if i == first:
                _offsets(i, depth, length, span_d, span_a, lo_at)
                _offsets(i, depth, length, span_d, span_b, hi_at)
                _offsets(i, depth, length, tap_d, tap_off, tap_at)
            else:
                for at in (lo_at, hi_at, tap_at):
                    _advance(at, ROWS * length, depth * length)
            accumulate(flat_acc, acc.shape[1], (width + BLOCK - 1) // BLOCK, flat_sums, flat_ring, lo_at, hi_at,
                       span_w, span_groups, tap_at, tap_w, tap_groups)
            for t in range(count):
                store(acc[t, :width], out[i + t, s0 : s0 + width], lo, hi, rounding)


def _grouped(items: dict):
    """items {(source row d, offsets...): ROWS weights} -> (keys, weights, groups): keys sorted by band of
    BAND source rows, then by group (the bits of the rows t with a non-zero weight), then by position;
    weights ROWS per key; groups[b * 2**ROWS + g + 1] = the end of band b's group g (groups[0] = 0)."""
    def band_group(key):
        return key[0] // BAND * 2**ROWS + sum(1 << t for t, w in enumerate(items[key]) if w != 0)

    keys = sorted(items, key=lambda key: (band_group(key), key))
    bands = 1 + max((key[0] for key in keys), default=0) // BAND
    counts = np.bincount([band_group(key) for key in keys], minlength=bands * 2**ROWS)
    weights = np.array([items[key] for key in keys], np.float32).reshape(-1)
    return keys, weights, np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)


def tables(taps: np.ndarray, channels: int):
    """The kernel as the loop reads it, for ROWS output rows at once (offsets in values: columns times C).

    Output row i + t reads kernel row u from source row i + t + u, so one load from source row i + d serves
    kernel row d - t of every row t: each tap position (d, v) and each span (d, a, b) is loaded once, with
    ROWS weights (zero where row t has no such tap or span).  Returns span_d, span_a, span_b, span_w,
    span_groups, tap_d, tap_off, tap_w, tap_groups (see _grouped)."""
    spans, rest = decompose(taps)
    span_items, tap_items = {}, {}
    for u, a, b, w in spans:
        for t in range(ROWS):
            span_items.setdefault((u + t, a * channels, b * channels), [0.0] * ROWS)[t] = w
    for u, v in zip(*np.nonzero(rest)):
        for t in range(ROWS):
            tap_items.setdefault((int(u) + t, int(v) * channels), [0.0] * ROWS)[t] = float(rest[u, v])
    span_keys, span_w, span_groups = _grouped(span_items)
    tap_keys, tap_w, tap_groups = _grouped(tap_items)
    span_d, span_a, span_b = (np.array([key[k] for key in span_keys], np.intp).reshape(-1) for k in range(3))
    tap_d, tap_off = (np.array([key[k] for key in tap_keys], np.intp).reshape(-1) for k in range(2))
    return span_d, span_a, span_b, span_w, span_groups, tap_d, tap_off, tap_w, tap_groups


@functools.cache
def strip_bytes() -> int:
    """STRIP_SHARE of one core's L2 cache as Linux's sysfs gives it (1 MiB where it does not)."""
    for index in sorted(CACHES.glob("index*")):
        try:
            level, kind = (index / "level").read_text().strip(), (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if level == "2" and kind in ("Unified", "Data") and size[:-1].isdigit() and size[-1] in "KM":
            return int(int(size[:-1]) * (1024 if size[-1] == "K" else 1024**2) * STRIP_SHARE)
    return 1 << 20


def strip_width(k1: int, halo: int, channels: int, sum_bytes: int) -> int:
    """Output values per strip: the ring of k1 + ROWS - 1 strip rows and their sums fill strip_bytes(); a
    multiple of BLOCK * C (whole blocks, and every strip starts on channel 0)."""
    unit = BLOCK * channels
    fit = (STRIP_BYTES or strip_bytes()) // ((k1 + ROWS - 1) * (4 + sum_bytes)) - halo
    return max(unit, fit // unit * unit)


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or uint8) from `src` (an imgconv.border.Source)."""
    channels = src.image.shape[2]
    k1 = plan.kernel.shape[0]
    halo = (len(src.cols) - src.image.shape[1]) * channels
    strip = strip_width(k1, halo, channels, 4 if src.image.dtype == np.uint8 else 8)
    if src.image.dtype == np.uint8 and strip + halo > EXACT_ROW:  # float32 sums would round: float64 instead
        src = Source(src.image.astype(np.float32), src.padding, src.mode, src.cval)
        strip = strip_width(k1, halo, channels, 8)
    kernel = tables(plan.kernel.taps, channels)
    height = out.shape[0]
    lo, hi, rounding = out_limits(out.dtype)
    function = plan.loop(fill_rows, src.image.dtype, out.dtype)
    sum_type = np.empty(0, np.float32 if src.image.dtype == np.uint8 else np.float64)
    run_rows(function, height, plan.threads, src.image2d, src.cval_row, src.rows, src.cols, src.left, channels,
             np.float32(src.cval), k1, *kernel, sum_type, strip, lo, hi, rounding, out.reshape(height, -1),
             align=ROWS)  # a row's sums are added in an order that depends on its place in its group of ROWS
