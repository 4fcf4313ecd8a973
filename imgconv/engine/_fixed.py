"""Fixed-point arithmetic for uint8 images filtered into uint8 results: the numbers, the promise, the loops.

A uint8 image filtered into a uint8 result never needs float32: OpenCV and Pillow-SIMD work in 16-bit fixed
point, which halves the bytes every pass moves and doubles the values each vector instruction handles.
imgconv does the same, with a stated bound on how far the result can be from the exact one:

    **the promise** -- a uint8 result stored by a fixed-point loop is clip(rint(y)), the exactly rounded
    and clipped value of the exact (real-number) convolution y, except where y lies within DELTA_MAX
    (1/32) of a half-integer; there it may be the other of the two nearest integers.  It is never off
    by more than one.  Integer kernels, and kernels that are an integer kernel times one scale
    (sharpen, Sobel, a 3x3 emboss, [1 2 1]/4 ...), are exact: the bound is 0 (or below 1e-6).

The bound is not a hope: for every kernel the engine computes the worst case of its own arithmetic over
every possible image (`delta`, below) and runs the fixed-point loop only when it is at most DELTA_MAX;
otherwise the float32 loop runs, as for every other type pair.  tests/test_fixed_point.py checks the
bound against float64 scipy on random kernels, adversarial images and real photos.

Two kinds of fixed point:

* Integer kernels (`integer_taps`, the direct engine): taps = scale * I with small integers I.  The sums
  are exact 16-bit integers (|sum| <= 255 * sum|I| <= 32767), 16 values per 256-bit instruction; the
  scale is applied once, in float32, before rounding.
* Separable kernels (`separable_taps`, the separable engine): each 1D factor quantized to 16-bit
  integers, with as many fractional bits as fit.  Pairs of taps are combined by one multiply-add of
  16-bit pairs into 32-bit sums (x86 `pmaddwd`, `vpdpwssd` with AVX-VNNI: 16 multiply-adds per
  instruction): the column pass reads pairs of source rows interleaved (row u, row u+1), the row pass
  pairs of values C apart (the next pixel's same channel).  Between the passes each value is rounded to
  16 bits (7 fractional bits for a normalised kernel).

LLVM does not form `pmaddwd` from such loops on its own (the integer reassociation that runs first takes
the pairs apart), so the pair loop, `dot_pairs`, is written as LLVM IR (a Numba intrinsic): the x86
instruction where the target has AVX2, a portable even/odd-lane formulation elsewhere.  Both compute the
same integers, so the ahead-of-time and jitted builds agree bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .loops import IRLoop, Loop, loop

#: The promise: a fixed-point result is the exact rounding except within DELTA_MAX of a tie.
DELTA_MAX = 1.0 / 32
#: Largest magnitude of a 16-bit weight or intermediate value.
I16 = 32767
#: Largest value of a 32-bit accumulator.
I32 = 2**31 - 1
#: Values per block of dot_pairs: 8 accumulators of 8 32-bit lanes (AVX2, portable) or 4 of 16 (AVX-512);
#: loops read up to BLOCK - 1 values past the end of what they are asked for, so buffers carry BLOCK
#: values of slack.
LANES, UNROLL = 8, 8
BLOCK = LANES * UNROLL
#: Tolerance (relative to the largest tap) for "taps = scale * integers".
INTEGER_TOL = 1e-9
#: Largest white value of the images fixed point runs on.
WHITE = 255


# --- entry loops compiled for uint8 -> uint8 only ----------------------------------------------------


def u8_entry(exports: str):
    """Decorator: an entry loop that only runs on uint8 images into uint8 results (compiled for that pair
    alone)."""
    return lambda function: Loop(function, exports, images=("u1",), results=("u1",))


# --- dot_pairs: the 16-bit pair multiply-add, as LLVM IR ----------------------------------------------


def _pair_sums(buf, offsets, weights, npairs, nblocks) -> np.ndarray:
    """int64 sums over t < npairs of buf[offsets[t] + 2m] * w_t[0] + buf[offsets[t] + 2m + 1] * w_t[1] for
    m < nblocks * BLOCK, where weights[t] (int32) holds the two int16 weights w_t, low half first."""
    n = nblocks * BLOCK
    total = np.zeros(n, np.int64)
    pairs = weights.view(np.int16).reshape(-1, 2)
    for t in range(npairs):
        seg = buf[offsets[t] : offsets[t] + 2 * n].astype(np.int64)
        total += seg[0::2] * pairs[t, 0] + seg[1::2] * pairs[t, 1]
    return total


def _wrap32(values):
    return ((np.asarray(values, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def _dot_pairs_py(acc, first, buf, offsets, weights, npairs, nblocks):
    """acc[m] (= if first, else +=) the pair sums (_pair_sums), wrapping like int32."""
    n = nblocks * BLOCK
    acc[:n] = _wrap32(_pair_sums(buf, offsets, weights, npairs, nblocks) + (0 if first else acc[:n]))


def _dot_pairs_round_py(out, at, buf, offsets, weights, npairs, nblocks, half, shift):
    """out[at + m] = (sum + half) >> shift as int16 (the int32 sum wrapping), for m < nblocks * BLOCK.
    Callers keep the result within int16 (the x86 loop saturates, the portable one wraps)."""
    total = _wrap32(_pair_sums(buf, offsets, weights, npairs, nblocks)).astype(np.int64)
    out[at : at + nblocks * BLOCK] = (_wrap32(total + half).astype(np.int64) >> shift).astype(np.int16)


def _dot_pairs_scale_py(out, at, buf, offsets, weights, npairs, nblocks, scale):
    """out[at + m] = clip(rint(float32(sum) * scale), 0, 255), for m < nblocks * BLOCK."""
    total = _wrap32(_pair_sums(buf, offsets, weights, npairs, nblocks))
    y = np.rint(total.astype(np.float32) * np.float32(scale))
    out[at : at + nblocks * BLOCK] = np.clip(y, 0, 255).astype(np.uint8)


def _build(epilogue: str):
    """The jitted pair loop: a Numba intrinsic emitting the loop nest as LLVM IR (imports Numba).

    For each block of BLOCK values, UNROLL accumulators of LANES int32 lanes stay in registers while
    every pair t adds pmaddwd(16 int16 values at buf + offsets[t] + 2*value, the pair of weights
    broadcast); then the epilogue: "acc" stores (or, with first false, adds to) int32 sums; "round"
    stores int16 (sum + half) >> shift; "scale" stores uint8 clip(rint(float32(sum) * scale)).
    """
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    i1, i8, i16, i32, i64 = ir.IntType(1), ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
    f32 = ir.FloatType()
    out_dtype = {"acc": types.int32, "round": types.int16, "scale": types.uint8}[epilogue]
    #: x86 intrinsics by instruction set: (lanes, pmaddwd, packssdw, packuswb, cvtps2dq)
    natives = {"avx512": (16, "llvm.x86.avx512.pmaddw.d.512", "llvm.x86.avx512.packssdw.512",
                          "llvm.x86.avx512.packuswb.512", "llvm.x86.avx512.mask.cvtps2dq.512"),
               "avx2": (8, "llvm.x86.avx2.pmadd.wd", "llvm.x86.avx2.packssdw", "llvm.x86.avx2.packuswb",
                        "llvm.x86.avx.cvt.ps2dq.256")}

    def emit(context, builder, kinds, args):
        """args: out, at (first value of out written), buf, offsets, weights, npairs, nblocks, extras."""
        out_v, at_v, buf_v, off_v, w_v, npairs_v, nblocks_v = args[:7]
        extra, kinds_extra = args[7:], kinds[7:]
        outp = context.make_array(kinds[0])(context, builder, out_v).data
        outp = builder.gep(outp, [context.cast(builder, at_v, kinds[1], types.int64)])
        bufp = context.make_array(kinds[2])(context, builder, buf_v).data
        offp = context.make_array(kinds[3])(context, builder, off_v).data
        wp = context.make_array(kinds[4])(context, builder, w_v).data
        npairs_v = context.cast(builder, npairs_v, kinds[5], types.int64)
        nblocks_v = context.cast(builder, nblocks_v, kinds[6], types.int64)
        isa = _instruction_set(context)
        lanes = natives[isa][0] if isa in natives else LANES
        unroll = BLOCK // lanes
        vacc = ir.VectorType(i32, lanes)  # int32 sums
        vpair = ir.VectorType(i16, 2 * lanes)  # pairs of int16
        vfloat = ir.VectorType(f32, lanes)
        index = ir.VectorType(i32, lanes)

        def x86(name, result, *arguments):
            return cgutils.get_or_insert_function(builder.module, ir.FunctionType(result, list(arguments)), name)

        if isa in natives:
            _, pmadd_name, packssdw_name, packuswb_name, cvt_name = natives[isa]
            pmadd = x86(pmadd_name, vacc, vpair, vpair)
            packssdw = x86(packssdw_name, vpair, vacc, vacc)
            packuswb = x86(packuswb_name, ir.VectorType(i8, 4 * lanes), vpair, vpair)
            if isa == "avx512":
                cvt_masked = x86(cvt_name, vacc, vfloat, vacc, i16, i32)

                def cvtps2dq(y):  # rounding mode 4: the current one (nearest even), as the 256-bit instruction
                    return builder.call(cvt_masked, [y, ir.Constant(vacc, None), ir.Constant(i16, -1),
                                                     ir.Constant(i32, 4)])
            else:
                cvt_plain = x86(cvt_name, vacc, vfloat)

                def cvtps2dq(y):
                    return builder.call(cvt_plain, [y])
            # The packs work within 128-bit lanes: these shuffles put the groups of 4 values back in order.
            quarters = lanes // 4
            order_q = ir.Constant(ir.VectorType(i32, lanes // 2),
                                  [2 * q for q in range(quarters)] + [2 * q + 1 for q in range(quarters)])
            order_d = ir.Constant(index, [4 * q + part for part in range(4) for q in range(quarters)])
        even = ir.Constant(index, [2 * j for j in range(lanes)])
        odd = ir.Constant(index, [2 * j + 1 for j in range(lanes)])

        def splat(value, vector_type):
            empty = ir.Constant(vector_type, ir.Undefined)
            one = builder.insert_element(empty, value, ir.Constant(i32, 0))
            return builder.shuffle_vector(one, empty, ir.Constant(ir.VectorType(i32, vector_type.count),
                                                                  [0] * vector_type.count))

        def madd(data, wvec):
            if isa in natives:
                return builder.call(pmadd, [data, wvec])
            # Portable: the same integers from the even and odd 16-bit lanes (wrapping int32 sums).
            parts = []
            for half_lanes in (even, odd):
                d = builder.sext(builder.shuffle_vector(data, data, half_lanes), vacc)
                w = builder.sext(builder.shuffle_vector(wvec, wvec, half_lanes), vacc)
                parts.append(builder.mul(d, w))
            total = builder.add(parts[0], parts[1])
            frozen = ir.instructions.Instruction(builder.block, vacc, "freeze", [total])
            builder._insert(frozen)  # keeps later passes from taking the pair sum apart
            return frozen

        first_b = None
        if epilogue == "acc":
            first_b = context.cast(builder, extra[0], kinds_extra[0], types.boolean)
            if first_b.type != i1:
                first_b = builder.icmp_unsigned("!=", first_b, ir.Constant(first_b.type, 0))
        elif epilogue == "round":
            half = splat(context.cast(builder, extra[0], kinds_extra[0], types.int32), vacc)
            shift = splat(context.cast(builder, extra[1], kinds_extra[1], types.int32), vacc)
        else:
            scale = splat(context.cast(builder, extra[0], kinds_extra[0], types.float32), vfloat)
            roundeven = x86(f"llvm.roundeven.v{lanes}f32", vfloat, vfloat)
            zero_i, white_i = ir.Constant(vacc, [0] * lanes), ir.Constant(vacc, [WHITE] * lanes)
        zero = ir.Constant(vacc, None)
        slots = [cgutils.alloca_once(builder, vacc) for _ in range(unroll)]

        def vector_at(block_start, offset, vector_type):
            where = builder.gep(outp, [builder.add(block_start, ir.Constant(i64, offset))])
            return builder.bitcast(where, vector_type.as_pointer())

        with cgutils.for_range(builder, nblocks_v) as block:
            base = builder.mul(block.index, ir.Constant(i64, BLOCK))
            for k in range(unroll):
                if first_b is not None:
                    old = builder.load(vector_at(base, k * lanes, vacc), align=4)
                    builder.store(builder.select(first_b, zero, old), slots[k])
                else:
                    builder.store(zero, slots[k])
            start = builder.mul(base, ir.Constant(i64, 2))
            with cgutils.for_range(builder, npairs_v) as pair:
                offset = builder.load(builder.gep(offp, [pair.index]))
                if offset.type.width < 64:
                    offset = builder.sext(offset, i64)
                wvec = builder.bitcast(splat(builder.load(builder.gep(wp, [pair.index])), vacc), vpair)
                first_value = builder.add(offset, start)
                for k in range(unroll):
                    where = builder.gep(bufp, [builder.add(first_value, ir.Constant(i64, 2 * lanes * k))])
                    data = builder.load(builder.bitcast(where, vpair.as_pointer()), align=2)
                    builder.store(builder.add(builder.load(slots[k]), madd(data, wvec)), slots[k])
            totals = [builder.load(slot) for slot in slots]
            if epilogue == "acc":
                for k, total in enumerate(totals):
                    builder.store(total, vector_at(base, k * lanes, vacc), align=4)
            elif epilogue == "round":
                rounded = [builder.ashr(builder.add(total, half), shift) for total in totals]
                if isa in natives:  # two vectors per saturating pack (exact: the values fit int16)
                    quads = ir.VectorType(i64, lanes // 2)
                    for k in range(0, unroll, 2):
                        both = builder.bitcast(builder.call(packssdw, [rounded[k], rounded[k + 1]]), quads)
                        both = builder.bitcast(builder.shuffle_vector(both, both, order_q), vpair)
                        builder.store(both, vector_at(base, k * lanes, vpair), align=2)
                else:
                    for k, value in enumerate(rounded):
                        small = ir.VectorType(i16, lanes)
                        builder.store(builder.trunc(value, small), vector_at(base, k * lanes, small), align=2)
            else:
                scaled = [builder.fmul(builder.sitofp(total, vfloat), scale) for total in totals]
                if isa in natives:  # rounded to nearest even by the conversion; packs saturate: clip for free
                    values = [cvtps2dq(y) for y in scaled]
                    for k in range(0, unroll, 4):
                        low = builder.call(packssdw, [values[k], values[k + 1]])
                        high = builder.call(packssdw, [values[k + 2], values[k + 3]])
                        words = builder.bitcast(builder.call(packuswb, [low, high]), vacc)
                        builder.store(builder.shuffle_vector(words, words, order_d), vector_at(base, k * lanes, vacc),
                                      align=1)
                else:
                    for k, y in enumerate(scaled):
                        value = builder.fptosi(builder.call(roundeven, [y]), vacc)
                        value = builder.select(builder.icmp_signed("<", value, zero_i), zero_i, value)
                        value = builder.select(builder.icmp_signed(">", value, white_i), white_i, value)
                        small = ir.VectorType(i8, lanes)
                        builder.store(builder.trunc(value, small), vector_at(base, k * lanes, small), align=1)
        return context.get_dummy_value()

    def typed(out, buf, offsets, weights):
        return (isinstance(out, types.Array) and out.dtype == out_dtype and isinstance(buf, types.Array)
                and buf.dtype == types.int16 and isinstance(weights, types.Array) and weights.dtype == types.int32)

    if epilogue == "acc":
        @intrinsic
        def kernel(typingctx, acc, first, buf, offsets, weights, npairs, nblocks):
            if not typed(acc, buf, offsets, weights):
                return None
            sig = types.none(acc, first, buf, offsets, weights, npairs, nblocks)
            order = (0, 2, 3, 4, 5, 6, 1)  # out, buf, offsets, weights, npairs, nblocks, first

            def codegen(c, b, sg, a):
                kinds = [sg.args[j] for j in order]
                return emit(c, b, [kinds[0], types.intp] + kinds[1:],
                            [a[0], c.get_constant(types.intp, 0)] + [a[j] for j in order[1:]])
            return sig, codegen

        def dot_pairs(acc, first, buf, offsets, weights, npairs, nblocks):
            kernel(acc, first, buf, offsets, weights, npairs, nblocks)
        return dot_pairs
    if epilogue == "round":
        @intrinsic
        def kernel(typingctx, out, at, buf, offsets, weights, npairs, nblocks, half, shift):
            if not typed(out, buf, offsets, weights):
                return None
            sig = types.none(out, at, buf, offsets, weights, npairs, nblocks, half, shift)
            return sig, lambda c, b, sg, a: emit(c, b, list(sg.args), list(a))

        def dot_pairs_round(out, at, buf, offsets, weights, npairs, nblocks, half, shift):
            kernel(out, at, buf, offsets, weights, npairs, nblocks, half, shift)
        return dot_pairs_round

    @intrinsic
    def kernel(typingctx, out, at, buf, offsets, weights, npairs, nblocks, scale):
        if not typed(out, buf, offsets, weights):
            return None
        sig = types.none(out, at, buf, offsets, weights, npairs, nblocks, scale)
        return sig, lambda c, b, sg, a: emit(c, b, list(sg.args), list(a))

    def dot_pairs_scale(out, at, buf, offsets, weights, npairs, nblocks, scale):
        kernel(out, at, buf, offsets, weights, npairs, nblocks, scale)
    return dot_pairs_scale


def _instruction_set(context) -> str:
    """"avx512" (AVX-512BW: 512-bit pmaddwd), "avx2", or "portable" for the machine code being generated."""
    if not _has_avx2(context):
        return "portable"
    return "avx512" if "+avx512bw" in _target_features(context).split(",") else "avx2"


def _has_avx2(context) -> bool:
    """Does the machine code being generated target x86 with AVX2 (so llvm.x86.avx2.pmadd.wd exists)?"""
    try:
        import llvmlite.binding as llvm

        codegen = context.codegen()
        features = str(getattr(codegen, "_tm_features", "") or "")
        if not features and getattr(codegen, "_cpu_name", "") == "host":
            features = llvm.get_host_cpu_features().flatten()
        return llvm.get_process_triple().startswith(("x86_64", "i686", "i386")) and "+avx2" in features.split(",")
    except Exception:  # noqa: BLE001 - an unknown codegen: the portable formulation is always right
        return False


def _target_features(context) -> str:
    try:
        import llvmlite.binding as llvm

        codegen = context.codegen()
        features = str(getattr(codegen, "_tm_features", "") or "")
        if not features and getattr(codegen, "_cpu_name", "") == "host":
            features = llvm.get_host_cpu_features().flatten()
        return features
    except Exception:  # noqa: BLE001
        return ""


def int_lanes(context) -> int:
    """int16 lanes per vector of the integer loop: 32 where the target has AVX-512BW, else 16 (LLVM splits
    wider vectors on targets with less, so any choice is correct; this one is fast)."""
    return 32 if "+avx512bw" in _target_features(context).split(",") else 16


#: Accumulators per block of int_taps (each int_lanes(...) values): blocks of 128 or 64 values.
INT_UNROLL = 4


def _int_taps_py(out, at, ring, offsets, weights, count, n, unit, scale, block=64):
    """out[at + m] for m < done = n // block * block (returned; `block` is INT_UNROLL vectors, 64 or 128
    values, fixed when the loop is compiled): s = sum over taps t < count of weights[t] * ring[offsets[t] + m]
    in wrapping int16; clip(s, 0, 255) if unit else clip(rint(float32(s) * scale), 0, 255)."""
    done = n // block * block
    total = np.zeros(done, np.int64)
    for t in range(count):
        total += int(weights[t]) * ring[offsets[t] : offsets[t] + done].astype(np.int64)
    total = ((total + 2**15) % 2**16 - 2**15).astype(np.int16)
    y = total if unit else np.rint(total.astype(np.float32) * np.float32(scale))
    out[at : at + done] = np.clip(y, 0, 255).astype(np.uint8)
    return done


def _build_int_taps():
    """The jitted integer loop (direct.fill_rows_int): INT_UNROLL vectors of int16 sums stay in registers
    while every tap adds weight * 16-bit ring values (vpmullw, vpaddw: 32 values per instruction with
    AVX-512BW), then one store of clipped (or scaled, rounded and clipped) bytes.  Plain LLVM IR, no
    target intrinsics: int16 arithmetic has no reassociation trap (it is exact modulo 2**16)."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    i1, i8, i16, i32, i64 = ir.IntType(1), ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
    f32 = ir.FloatType()

    @intrinsic
    def kernel(typingctx, out, at, ring, offsets, weights, count, n, unit, scale):
        if not (isinstance(out, types.Array) and out.dtype == types.uint8 and isinstance(ring, types.Array)
                and ring.dtype == types.int16 and isinstance(weights, types.Array) and weights.dtype == types.int16):
            return None
        sig = types.int64(out, at, ring, offsets, weights, count, n, unit, scale)

        def codegen(context, builder, signature, args):
            kinds = signature.args
            lanes = int_lanes(context)
            vi16, vi32, vf, vi8 = (ir.VectorType(i16, lanes), ir.VectorType(i32, lanes), ir.VectorType(f32, lanes),
                                   ir.VectorType(i8, lanes))
            outp = context.make_array(kinds[0])(context, builder, args[0]).data
            outp = builder.gep(outp, [context.cast(builder, args[1], kinds[1], types.int64)])
            ringp = context.make_array(kinds[2])(context, builder, args[2]).data
            offp = context.make_array(kinds[3])(context, builder, args[3]).data
            wp = context.make_array(kinds[4])(context, builder, args[4]).data
            count = context.cast(builder, args[5], kinds[5], types.int64)
            block = lanes * INT_UNROLL
            nblocks = builder.udiv(context.cast(builder, args[6], kinds[6], types.int64), ir.Constant(i64, block))
            unit = context.cast(builder, args[7], kinds[7], types.boolean)
            if unit.type != i1:
                unit = builder.icmp_unsigned("!=", unit, ir.Constant(unit.type, 0))
            scale = context.cast(builder, args[8], kinds[8], types.float32)

            def splat(value, vector_type):
                empty = ir.Constant(vector_type, ir.Undefined)
                one = builder.insert_element(empty, value, ir.Constant(i32, 0))
                return builder.shuffle_vector(one, empty, ir.Constant(ir.VectorType(i32, lanes), [0] * lanes))

            scale_v = splat(scale, vf)
            roundeven = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vf, [vf]),
                                                       f"llvm.roundeven.v{lanes}f32")
            lo16, hi16 = ir.Constant(vi16, [0] * lanes), ir.Constant(vi16, [255] * lanes)
            lo32, hi32 = ir.Constant(vi32, [0] * lanes), ir.Constant(vi32, [255] * lanes)
            slots = [cgutils.alloca_once(builder, vi16) for _ in range(INT_UNROLL)]
            with cgutils.for_range(builder, nblocks) as blk:
                base = builder.mul(blk.index, ir.Constant(i64, block))
                for slot in slots:
                    builder.store(ir.Constant(vi16, None), slot)
                with cgutils.for_range(builder, count) as tap:
                    offset = builder.load(builder.gep(offp, [tap.index]))
                    if offset.type.width < 64:
                        offset = builder.sext(offset, i64)
                    weight = splat(builder.load(builder.gep(wp, [tap.index])), vi16)
                    first = builder.add(offset, base)
                    for k, slot in enumerate(slots):
                        where = builder.gep(ringp, [builder.add(first, ir.Constant(i64, k * lanes))])
                        data = builder.load(builder.bitcast(where, vi16.as_pointer()), align=2)
                        builder.store(builder.add(builder.load(slot), builder.mul(data, weight)), slot)
                for k, slot in enumerate(slots):
                    total = builder.load(slot)
                    where = builder.bitcast(builder.gep(outp, [builder.add(base, ir.Constant(i64, k * lanes))]),
                                            vi8.as_pointer())
                    with builder.if_else(unit) as (exact, scaled):
                        with exact:
                            value = builder.select(builder.icmp_signed("<", total, lo16), lo16, total)
                            value = builder.select(builder.icmp_signed(">", value, hi16), hi16, value)
                            builder.store(builder.trunc(value, vi8), where, align=1)
                        with scaled:
                            y = builder.call(roundeven, [builder.fmul(builder.sitofp(total, vf), scale_v)])
                            value = builder.fptosi(y, vi32)
                            value = builder.select(builder.icmp_signed("<", value, lo32), lo32, value)
                            value = builder.select(builder.icmp_signed(">", value, hi32), hi32, value)
                            builder.store(builder.trunc(value, vi8), where, align=1)
            return builder.mul(nblocks, ir.Constant(i64, block))

        return sig, codegen

    def int_taps(out, at, ring, offsets, weights, count, n, unit, scale):
        return kernel(out, at, ring, offsets, weights, count, n, unit, scale)

    return int_taps


#: out[at + m] = an integer kernel's clipped (or scaled) uint8 pixels from int16 ring rows, for the first
#: n // block * block values (returned); see _int_taps_py.
int_taps = IRLoop(_int_taps_py, _build_int_taps)


#: acc[m] (=|+=) sums of pairs of int16 values times pairs of int16 weights (see _dot_pairs_py).
dot_pairs = IRLoop(_dot_pairs_py, lambda: _build("acc"))
#: The same sums rounded to int16: out[at + m] = (sum + half) >> shift.
dot_pairs_round = IRLoop(_dot_pairs_round_py, lambda: _build("round"))
#: The same sums scaled, rounded and clipped to uint8: out[at + m] = clip(rint(float32(sum) * scale), 0, 255).
dot_pairs_scale = IRLoop(_dot_pairs_scale_py, lambda: _build("scale"))


# --- helper loops (inlined into the engines' loop nests) -------------------------------------------------


@loop
def pair_rows(a, b, out):
    """out[2m] = a[m], out[2m + 1] = b[m]: two rows (or a row and itself shifted) as 16-bit pairs."""
    for m in range(a.shape[0]):
        out[2 * m] = a[m]
        out[2 * m + 1] = b[m]


@loop
def round_shift(acc, half, shift, dst):
    """dst[m] = (acc[m] + half) >> shift: an int32 sum rounded (half up) to 16 bits.  NumPy's ufuncs keep
    the arithmetic in 32 bits (Python operators would widen to 64 and defeat the vectorizer)."""
    for m in range(acc.shape[0]):
        dst[m] = np.right_shift(np.add(acc[m], half), shift)


@loop
def store_clamped(acc, dst):
    """dst[m] = acc[m] clipped to 0..255 (an exact integer result)."""
    lo, hi = np.int16(0), np.int16(255)
    for m in range(acc.shape[0]):
        dst[m] = np.minimum(np.maximum(acc[m], lo), hi)


@loop
def store_scaled(acc, scale, dst):
    """dst[m] = clip(rint(acc[m] * scale), 0, 255), the product in float32, rounded half to even."""
    lo, hi = np.int32(0), np.int32(255)
    for m in range(acc.shape[0]):
        dst[m] = np.minimum(np.maximum(np.int32(np.rint(np.float32(acc[m]) * scale)), lo), hi)


@loop
def store_split(acc, low, scale, low_scale, dst):
    """dst[m] = clip(rint(acc[m] * scale + low[m] * low_scale), 0, 255) in float32 (split row weights)."""
    lo, hi = np.int32(0), np.int32(255)
    for m in range(acc.shape[0]):
        y = np.float32(acc[m]) * scale + np.float32(low[m]) * low_scale
        dst[m] = np.minimum(np.maximum(np.int32(np.rint(y)), lo), hi)


# --- plan-time arithmetic: quantization and the bound ----------------------------------------------------


def _bound(error) -> float:
    """WHITE * max(sum of positive, sum of negative) entries of an error kernel E: the largest |sum E x|
    over images x with values in [0, WHITE]."""
    e = np.asarray(error, np.float64)
    return WHITE * max(e[e > 0].sum(), -e[e < 0].sum(), 0.0)


def _outer_error_bound(col_q, row_q, scale, taps) -> float:
    """WHITE * max(sum E+, sum E-) for E = outer(col_q, row_q) * scale - taps, in row blocks."""
    positive = negative = 0.0
    step = max(1, 2**20 // max(1, taps.shape[1]))
    for r in range(0, taps.shape[0], step):
        e = np.outer(col_q[r : r + step].astype(np.float64), row_q.astype(np.float64)) * scale - taps[r : r + step]
        positive += e[e > 0].sum()
        negative -= e[e < 0].sum()
    return WHITE * max(positive, negative)


def _quantize(values, limit_sum: float):
    """(Q, scale): integers Q = round(values * scale) with max|Q| <= I16 and sum|Q| <= limit_sum, the scale
    a power of two when that represents the values exactly (integer kernels stay exact), else as large
    as the limits allow (the most significant bits).  None if no scale fits."""
    values = np.asarray(values, np.float64)
    top, total = float(np.abs(values).max()), float(np.abs(values).sum())
    if top == 0 or not math.isfinite(total):
        return None
    largest = min(I16 / top, limit_sum / total)
    power = 2.0 ** math.floor(math.log2(largest))
    q = np.round(values * power)
    if np.abs(values * power - q).max() <= INTEGER_TOL * top * power:
        return q.astype(np.int64), power
    for scale in (largest * (1 - 1e-12), largest * (1 - 1e-6), power):
        q = np.round(values * scale)
        if np.abs(q).max() <= I16 and np.abs(q).sum() <= limit_sum:
            return q.astype(np.int64), scale
    return None


def pack_pairs(q) -> np.ndarray:
    """int16 weights (padded to an even count with a zero) as int32 pairs, low half first (dot_pairs)."""
    q = np.asarray(q, np.int64)
    if len(q) % 2:
        q = np.append(q, 0)
    return np.ascontiguousarray(q.astype(np.int16)).view(np.int32).copy()


def cached(info, kind: str, make):
    """make(info), computed once per KernelInfo (plans are reused for every file of a batch): kept on the
    object itself, which is frozen and unhashable (it holds arrays)."""
    store = info.__dict__.setdefault("_fixed_point", {})
    if kind not in store:
        store[kind] = make(info)
    return store[kind]


@dataclass(frozen=True)
class SeparableTaps:
    """A rank-1 kernel in 16-bit fixed point, for separable.fill_rows_fixed.

    Column pass: acc = sum_u column[u] * x[u] (exact int32), t = (acc + half) >> shift  (int16);
    row pass:    y = sum_v row[v] * t[v] (int32) * scale   (and, when `row_low` is given, a second sum
                 with the low bits of the row weights, * low_scale, added in float32);
    result = clip(rint(y)).  `delta` bounds |y - exact| for every uint8 image (the promise).
    """

    column: np.ndarray  # int32 packed pairs (dot_pairs)
    row: np.ndarray
    row_low: np.ndarray | None
    shift: int
    scale: float
    low_scale: float
    delta: float

    @property
    def column_pairs(self) -> int:
        return len(self.column)

    @property
    def row_pairs(self) -> int:
        return len(self.row)


def separable_taps(info) -> SeparableTaps | None:
    """The fixed-point form of a rank-1 kernel (KernelInfo) whose bound is within DELTA_MAX, else None.

    The column pass (first, on 8-bit pixels) has room for 16-bit weights using the full int16 range.  Its
    sums are rounded to 16 bits t; the row pass's 32-bit sums then limit the row weights to about
    31 - 15 bits in all (sum|row| * max|t| < 2**31), the main error of wide kernels.  Candidates: t
    rounded as finely as fits, or 1-2 bits coarser (finer row weights); and, only when none of them is
    within the bound, row weights split into high and low 16-bit halves summed separately (twice the
    row-pass work, about 15 more bits).  The unsplit candidate with the smallest bound wins.
    """
    if info.rank != 1:
        return None
    columns, rows = info.factors
    column, row = np.asarray(columns[0], np.float64), np.asarray(rows[0], np.float64)
    # The SVD balances the factors' norms; a largest column tap of 1 instead keeps integer kernels such
    # as Sobel's (1 2 1) x (1 0 -1) integers (times powers of two) in both factors.
    top_column = column[np.abs(column).argmax()]
    column, row = column / top_column, row * top_column
    taps = np.asarray(info.taps, np.float64)
    quant = _quantize(column, I32 / WHITE)
    if quant is None:
        return None
    cq, column_scale = quant
    low, high = -WHITE * int(cq[cq < 0].sum()), WHITE * int(cq[cq > 0].sum())
    finest = 0
    while _t_top(low, high, finest) > I16:
        finest += 1
    top = WHITE * float(np.abs(taps).sum())
    for split in (False, True):
        found = [c for shift in (finest, finest + 1, finest + 2)
                 if (c := _candidate(cq, column_scale, _t_top(low, high, shift), row, taps, top, shift, split))]
        good = [c for c in found if c.delta <= DELTA_MAX]
        if good:
            return min(good, key=lambda c: c.delta)
    return None


def _t_top(low: int, high: int, shift: int) -> int:
    """Largest |t| for column sums in [-low, high] rounded by (acc + half) >> shift."""
    half = (1 << shift) >> 1
    return max(abs((-low + half) >> shift), abs((high + half) >> shift), 1)


def _candidate(cq, column_scale: float, t_top: int, row, taps, top: float, shift: int,
               split: bool) -> SeparableTaps | None:
    """The fixed-point form with column sums rounded by `shift` bits (see separable_taps); values in
    "value units" (the real convolution's): t is the column value / t_unit."""
    t_unit = 2.0**shift / column_scale
    t_exact = shift == 0 or bool(np.all(cq % (1 << shift) == 0))
    found = _row_weights(row, t_top, split)
    if found is None:
        return None
    rq_full, row_scale, low_bits, rq_high, rq_low = found
    e_q = _outer_error_bound(cq, rq_full, 1.0 / (column_scale * row_scale), taps)
    e_t = 0.0 if t_exact else 0.5 * t_unit * float(np.abs(rq_full).sum()) / row_scale
    scale = t_unit * 2.0**low_bits / row_scale
    if split:
        e_f = top * 2.0**-22  # two int32 -> float32 conversions, scales and a sum, each within 2**-24
    elif not _is_power_of_two(scale) or float(np.abs(rq_high).sum()) * t_top >= 2**24:
        e_f = top * 2.0**-23  # float32(scale) and the rounded product
    else:
        e_f = 0.0
    return SeparableTaps(column=pack_pairs(cq), row=pack_pairs(rq_high),
                         row_low=pack_pairs(rq_low) if split else None, shift=shift,
                         scale=scale, low_scale=scale / 2.0**low_bits, delta=float(e_q + e_t + e_f))


def _row_weights(row, t_top: int, split: bool):
    """Row weights for a row pass over 16-bit values up to t_top: (full weights, their scale, low bits,
    high 16-bit weights, low 16-bit weights); unsplit: high = full, no low bits."""
    quant = _quantize(row, I32 / t_top)
    if quant is None:
        return None
    rq, row_scale = quant
    if not split:
        return rq, row_scale, 0, rq, np.zeros_like(rq)
    # Low halves in [-2**(s-1), 2**(s-1)], s as large as their own 32-bit sums allow.
    s = min(15, int(math.floor(math.log2(I32 / (len(row) * t_top)))) + 1)
    if s < 2:
        return None
    full = np.round(row * row_scale * 2.0**s).astype(np.int64)
    high = np.round(full / 2.0**s).astype(np.int64)
    low = full - high * 2**s
    if np.abs(high).max() > I16 or np.abs(high).sum() * t_top > I32:
        return None
    return full, row_scale * 2.0**s, s, high, low


@dataclass(frozen=True)
class IntegerTaps:
    """taps = scale * weights with small integers: exact int16 sums (direct.fill_rows_int)."""

    weights: np.ndarray  # int16, the kernel's shape
    scale: float
    unit: bool  # scale is exactly 1: no float step
    delta: float


def integer_taps(taps) -> IntegerTaps | None:
    """taps as scale * small integers, if they are (within INTEGER_TOL) and every sum of 255-valued
    pixels fits 16 bits; None otherwise.  The scale is the smallest |tap| divided by 1..16."""
    taps = np.asarray(taps, np.float64)
    top = float(np.abs(taps).max())
    nonzero = np.abs(taps[np.abs(taps) > INTEGER_TOL * top])  # 1e-17 of an emboss's cos - sin is a zero
    if nonzero.size == 0:
        return None
    for d in range(1, 17):
        scale = float(nonzero.min()) / d
        q = np.round(taps / scale)
        if np.abs(taps - q * scale).max() > INTEGER_TOL * top:
            continue
        if WHITE * max(q[q > 0].sum(), -q[q < 0].sum()) > I16:
            return None
        if _is_power_of_two(scale):
            float_error = 0.0  # the float32 scale and every product are exact
        else:  # float32(scale) within 2**-24 of scale, and the product rounded once
            float_error = WHITE * float(np.abs(q).sum()) * (abs(float(np.float32(scale)) - scale) + 2.0**-23 * scale)
        delta = _bound(q * scale - taps) + float_error
        if delta > DELTA_MAX:
            return None
        return IntegerTaps(weights=q.astype(np.int16), scale=scale, unit=scale == 1.0, delta=float(delta))
    return None


def _is_power_of_two(x: float) -> bool:
    m, _ = math.frexp(x)
    return x > 0 and m == 0.5
