"""The fixed-point loops for uint8 images into uint8 (imgconv.engine._fixed) and their promise.

The promise (README, _fixed's docstring): a uint8 result is clip(rint(y)) of the exact convolution y, except
where y lies within the kernel's bound `delta` (never more than DELTA_MAX = 1/32) of a half-integer, where
it may be the other neighbour; integer kernels times one scale are exact.

How it is checked, for both kinds of fixed point (separable, direct integer):
  * bit for bit against a NumPy emulation of the same integer arithmetic (this file, from numpy.pad), on
    random, adversarial (0/255 patterns that line up with the quantization error) and photographic images,
    every border mode, grey/RGB/RGBA, thread counts, both runners (test_runners.py covers aot vs jit);
  * the emulation's unrounded value y' against float64 scipy: |y' - y| <= delta everywhere -- the bound
    itself, not only the rounded pixels;
  * the engine's pixels against float64 scipy: equal to clip(rint(y)) away from delta of a tie, never
    more than one off;
  * which kernels get fixed point (every Gaussian from sigma 0.5 to 50, sharpen, Sobel, emboss at 45
    degrees) and that others fall back to float32 (their results then unchanged);
  * dot_pairs (the LLVM IR pair loop) against its NumPy meaning, int16 extremes included, and that on x86
    with AVX2 it is vpmaddwd / vpdpwssd.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import imgconv
from imgconv.convolution import run_plan
from imgconv.engine import _fixed, separable
from imgconv.engine.planner import plan
from imgconv.filters import SOBEL_X, box_kernel, emboss_kernel, gaussian_kernel, sharpen_kernel
from imgconv.filters.sharpen import LAPLACIAN
from imgconv.kernel import KernelInfo

from conftest import BORDERS, NP_PAD_MODE, SAMPLES, low_rank_kernel, padded_oracle

SIGMAS = (0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0, 50.0)
INTEGER_KERNELS = {"sharpen": sharpen_kernel(1.0), "sharpen-1.5": sharpen_kernel(1.5), "sobel": SOBEL_X,
                   "laplacian": LAPLACIAN, "emboss-45": emboss_kernel(45.0), "box-3": box_kernel(3),
                   "smooth-121": np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16, "even-2x3": np.array([[1., -2, 3],
                                                                                                       [0, 4, -1]])}
CVAL = 9.0


# --- emulation of the fixed-point arithmetic in NumPy ------------------------------------------------


def padded(image, info, border, cval=CVAL):
    """int64 padded planes (H', W', C) of an H x W x C uint8 image, as the engines' Source describes."""
    planes = image if image.ndim == 3 else image[:, :, None]
    pads = list(info.padding) + [(0, 0)]
    if border == "constant":
        return np.pad(planes.astype(np.int64), pads, mode="constant", constant_values=int(cval))
    return np.pad(planes.astype(np.int64), pads, mode=NP_PAD_MODE[border])


def emulate_separable(image, kernel, border, cval=CVAL):
    """(uint8 result, unrounded float64 values y') of separable.fill_rows_fixed, from numpy.pad."""
    info = KernelInfo(kernel)
    fixed = _fixed.separable_taps(info)
    k1, k2 = info.shape
    p = padded(image, info, border, cval)
    column = fixed.column.view(np.int16).astype(np.int64)[:k1]
    half = (1 << fixed.shift) >> 1
    t = sum(column[u] * p[u : u + p.shape[0] - k1 + 1] for u in range(k1))
    assert np.abs(t).max() < 2**31
    t = (t + half) >> fixed.shift
    assert np.abs(t).max() <= _fixed.I16
    width = p.shape[1] - k2 + 1

    def row_sum(weights):
        w = weights.view(np.int16).astype(np.int64)[:k2]
        total = sum(w[v] * t[:, v : v + width] for v in range(k2))
        assert np.abs(total).max() < 2**31
        return total.astype(np.float32)

    y = row_sum(fixed.row) * np.float32(fixed.scale)
    if fixed.row_low is not None:
        y = y + row_sum(fixed.row_low) * np.float32(fixed.low_scale)
    out = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return out.reshape(image.shape), y.astype(np.float64).reshape(image.shape)


def emulate_integer(image, kernel, border, cval=CVAL):
    """(uint8 result, unrounded values) of direct.fill_rows_int."""
    info = KernelInfo(kernel)
    fixed = _fixed.integer_taps(info.taps)
    k1, k2 = info.shape
    p = padded(image, info, border, cval)
    h, w = p.shape[0] - k1 + 1, p.shape[1] - k2 + 1
    acc = sum(int(fixed.weights[u, v]) * p[u : u + h, v : v + w] for u in range(k1) for v in range(k2))
    assert np.abs(acc).max() <= _fixed.I16
    y = acc.astype(np.float64) if fixed.unit else (acc.astype(np.float32) * np.float32(fixed.scale)).astype(np.float64)
    return np.clip(np.rint(y), 0, 255).astype(np.uint8).reshape(image.shape), y.reshape(image.shape)


def exact(image, kernel, border, cval=CVAL):
    return padded_oracle(image.astype(np.float64), kernel, border=border, cval=cval)


def engine(image, kernel, algo, border, threads=2, runner="jit", cval=CVAL):
    chosen = dataclasses.replace(plan(kernel, image.shape, algo=algo), runner=runner, threads=threads)
    return run_plan(chosen, image, border=border, cval=cval, dtype=np.uint8)


def check_promise(got, y, delta):
    """got == clip(rint(y)) except within delta of a tie (where it is a neighbour), never more than 1 off."""
    want = np.clip(np.rint(y), 0, 255)
    near_tie = np.abs(y - np.floor(y) - 0.5) <= delta + 1e-9
    off = got.astype(np.int64) - want
    assert not off[~near_tie].any(), f"{np.count_nonzero(off[~near_tie])} values off away from ties"
    assert np.abs(off).max(initial=0) <= 1


# --- images --------------------------------------------------------------------------------------------


def random_u8(rng, shape):
    return rng.integers(0, 256, shape, dtype=np.uint8)


def adversarial(rng, shape, kernel):
    """0/255 images: random, and the sign pattern of the fixed-point error kernel tiled (the worst case)."""
    info = KernelInfo(kernel)
    fixed = _fixed.separable_taps(info)
    k1, k2 = info.shape
    cq = fixed.column.view(np.int16).astype(np.float64)[:k1]
    rq = fixed.row.view(np.int16).astype(np.float64)[:k2]
    error = np.outer(cq, rq) - info.taps * (np.abs(np.outer(cq, rq)).sum() / np.abs(info.taps).sum())
    pattern = np.where(error > 0, 255, 0).astype(np.uint8)  # x = 255 where the error adds, 0 where it takes
    tiled = np.tile(pattern, (shape[0] // k1 + 1, shape[1] // k2 + 1))[: shape[0], : shape[1]]
    image = np.repeat(tiled[:, :, None], shape[2], axis=2) if len(shape) == 3 else tiled
    image = image.copy()
    image.reshape(-1)[::7] = rng.integers(0, 2, image.size // 7 + (image.size % 7 > 0)) * 255
    return image


def photo(shape):
    """A crop of the bundled photograph (tiled when wider or taller), with `shape`'s channels."""
    from PIL import Image

    with Image.open(SAMPLES / "astronaut.jpg") as im:
        pixels = np.asarray(im.convert("RGBA"))
    h, w = shape[:2]
    pixels = np.tile(pixels, (h // 400 + 1, w // 350 + 1, 1))
    channels = shape[2] if len(shape) == 3 else 1
    crop = pixels[100 : 100 + h, 150 : 150 + w, :channels]
    return np.ascontiguousarray(crop if len(shape) == 3 else crop[..., 0])


# --- which kernels run in fixed point ---------------------------------------------------------------------


@pytest.mark.parametrize("sigma", SIGMAS)
def test_every_gaussian_runs_in_fixed_point_within_the_promise(sigma):
    fixed = _fixed.separable_taps(KernelInfo(gaussian_kernel(sigma)))
    assert fixed is not None and 0 < fixed.delta <= _fixed.DELTA_MAX


@pytest.mark.parametrize("name", sorted(INTEGER_KERNELS))
def test_integer_kernels_are_exact(name):
    fixed = _fixed.integer_taps(KernelInfo(INTEGER_KERNELS[name]).taps)
    assert fixed is not None
    assert fixed.delta <= 1e-4  # float32 scale only: 0 when the scale is a power of two
    if name in ("sharpen", "sobel", "laplacian", "even-2x3", "sharpen-1.5", "smooth-121"):
        assert fixed.delta == 0


def test_kernels_that_are_not_integers_or_separable_use_float32(rng):
    assert _fixed.integer_taps(KernelInfo(gaussian_kernel(1.0)).taps) is None
    assert _fixed.integer_taps(KernelInfo(emboss_kernel(30.0)).taps) is None  # cos, sin incommensurate
    assert _fixed.integer_taps(KernelInfo(np.full((13, 13), 1.0)).taps) is None  # 255 * 169 overflows int16
    assert _fixed.separable_taps(KernelInfo(low_rank_kernel(rng, (5, 5), 2))) is None  # rank 2
    # A uint8 image into float32, or float32 into uint8, is not fixed point.
    info = plan(gaussian_kernel(1.0), (8, 8, 3), algo="separable")
    source = imgconv.convolution.source_for(np.zeros((8, 8, 3), np.uint8), info.kernel.padding)
    assert separable.fixed_point(source, info, np.zeros((8, 8, 3), np.float32)) is None
    assert separable.fixed_point(source, info, np.zeros((8, 8, 3), np.uint8)) is not None


def test_float_fallback_is_unchanged(rng):
    """A kernel the fixed point refuses gives exactly the rounded float32 result, as before."""
    image = random_u8(rng, (21, 26, 3))
    kernel = low_rank_kernel(rng, (5, 5), 2)
    as_float = imgconv.convolve(image, kernel, algo="separable")
    assert np.array_equal(imgconv.convolve(image, kernel, algo="separable", dtype=np.uint8),
                          np.clip(np.rint(as_float), 0, 255))


# --- the separable fixed point ----------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 5.0, 20.0])
@pytest.mark.parametrize("border", BORDERS)
def test_separable_matches_its_emulation_and_keeps_the_bound(rng, sigma, border):
    kernel = gaussian_kernel(sigma)
    delta = _fixed.separable_taps(KernelInfo(kernel)).delta
    shapes = [(23, 31, 3), (9, 5, 1), (3, 2, 4), (41, 67, 3)]
    for shape in shapes:
        for image in (random_u8(rng, shape), adversarial(rng, shape, kernel), photo(shape)):
            got = engine(image, kernel, "separable", border, threads=3)
            want, y_fixed = emulate_separable(image, kernel, border)
            assert np.array_equal(got, want), f"{shape} differs from the emulation"
            y = exact(image, kernel, border)
            assert np.abs(y_fixed - y).max() <= delta, f"{shape}: bound {delta} broken"
            check_promise(got, y, delta)


@pytest.mark.parametrize("shape", [(5, 5), (7, 3), (1, 9), (9, 1), (4, 6), (15, 15)])
def test_separable_random_rank_one_kernels(rng, shape):
    """Random rank-1 kernels (mixed signs, even sizes, gain 0.5 to 2): fixed point when within the bound
    (the bound is absolute, so it grows with the kernel's gain sum|taps|), checked alike."""
    used = 0
    for _ in range(6):
        kernel = np.outer(rng.standard_normal(shape[0]), rng.standard_normal(shape[1]))
        kernel *= rng.uniform(0.5, 2.0) / np.abs(kernel).sum()
        fixed = _fixed.separable_taps(KernelInfo(kernel))
        if fixed is None:
            continue
        used += 1
        for border in ("reflect", "wrap", "constant"):
            image = random_u8(rng, (19, 23, 3))
            got = engine(image, kernel, "separable", border)
            want, y_fixed = emulate_separable(image, kernel, border)
            assert np.array_equal(got, want)
            y = exact(image, kernel, border)
            assert np.abs(y_fixed - y).max() <= fixed.delta
            check_promise(got, y, fixed.delta)
    assert used >= 3


def test_separable_on_a_photo_rarely_differs_from_exact_rounding():
    """On a real photo the fixed point is off by one for a small fraction of values (the bound is a
    worst case): measured here, and in the README, as a rate."""
    image = photo((300, 300, 3))
    for sigma in (1.0, 2.0, 5.0):
        kernel = gaussian_kernel(sigma)
        got = engine(image, kernel, "separable", "reflect")
        y = exact(image, kernel, "reflect")
        rate = np.count_nonzero(got != np.clip(np.rint(y), 0, 255)) / got.size
        assert rate < 0.01, f"sigma {sigma}: {rate:.2%} of values off by one"


# --- the integer direct loop ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(INTEGER_KERNELS))
@pytest.mark.parametrize("border", BORDERS)
def test_integer_direct_matches_its_emulation_and_exact_rounding(rng, name, border):
    kernel = INTEGER_KERNELS[name]
    delta = _fixed.integer_taps(KernelInfo(kernel).taps).delta
    for shape in [(23, 31, 3), (9, 5, 1), (3, 2, 4), (1, 1, 3), (40, 1100, 3)]:
        for image in (random_u8(rng, shape), photo(shape)):
            got = engine(image, kernel, "direct", border, threads=3)
            want, y_fixed = emulate_integer(image, kernel, border)
            assert np.array_equal(got, want)
            y = exact(image, kernel, border)
            assert np.abs(y_fixed - y).max() <= delta + 1e-9
            check_promise(got, y, delta)


def test_integer_direct_saturates_instead_of_wrapping(rng):
    """The largest sums an int16 holds: 255 * 128 (a kernel whose positive taps sum to 128)."""
    kernel = np.zeros((3, 3))
    kernel[1, 1] = 128.0
    kernel[0, 0] = -1.0
    assert _fixed.integer_taps(KernelInfo(kernel).taps) is not None
    image = np.full((6, 7, 3), 255, np.uint8)
    image[0, 0] = 0
    got = engine(image, kernel, "direct", "reflect")
    assert np.array_equal(got, np.clip(np.rint(exact(image, kernel, "reflect")), 0, 255))
    kernel[1, 1] = 129.0  # 255 * 129 > 32767: refused
    assert _fixed.integer_taps(KernelInfo(kernel).taps) is None


# --- dot_pairs ------------------------------------------------------------------------------------------


def pair_case(rng, npairs=5, nblocks=3, extreme=False):
    n = nblocks * _fixed.BLOCK
    length = 2 * n + 2 * npairs * 37 + 16
    if extreme:
        buf = rng.choice(np.array([-32768, 32767, -1, 0, 1], np.int16), length)
        weights = rng.choice(np.array([-32768, 32767, -1, 1], np.int16), (npairs, 2))
    else:
        buf = rng.integers(-32768, 32768, length).astype(np.int16)
        weights = rng.integers(-32768, 32768, (npairs, 2)).astype(np.int16)
    offsets = np.array([37 * t + (t % 2) for t in range(npairs)], np.intp)  # odd offsets: unaligned
    return buf, offsets, weights.view(np.int32).ravel().copy(), npairs, nblocks


@pytest.mark.parametrize("extreme", [False, True])
def test_dot_pairs_loops_compute_their_numpy_meaning(rng, extreme):
    buf, offsets, weights, npairs, nblocks = pair_case(rng, extreme=extreme)
    n = nblocks * _fixed.BLOCK
    for first in (True, False):
        start = rng.integers(-1000, 1000, n + 5).astype(np.int32)
        got, want = start.copy(), start.copy()
        _fixed.dot_pairs.jitted(got, first, buf, offsets, weights, npairs, nblocks)
        _fixed.dot_pairs.py_func(want, first, buf, offsets, weights, npairs, nblocks)
        assert np.array_equal(got, want)
    got, want = np.zeros(n + 9, np.int16), np.zeros(n + 9, np.int16)
    # (shift 17: any int32 sum fits int16 afterwards, as the engine guarantees for its sums)
    _fixed.dot_pairs_round.jitted(got, 3, buf, offsets, weights, npairs, nblocks, np.int32(1 << 16), np.int32(17))
    _fixed.dot_pairs_round.py_func(want, 3, buf, offsets, weights, npairs, nblocks, 1 << 16, 17)
    assert np.array_equal(got, want)
    got, want = np.zeros(n + 9, np.uint8), np.zeros(n + 9, np.uint8)
    scale = np.float32(1.0 / 3e6)
    _fixed.dot_pairs_scale.jitted(got, 2, buf, offsets, weights, npairs, nblocks, scale)
    _fixed.dot_pairs_scale.py_func(want, 2, buf, offsets, weights, npairs, nblocks, scale)
    assert np.array_equal(got, want)


def test_dot_pairs_is_pmaddwd_on_x86():
    """The point of writing it in LLVM IR: one pmaddwd (vpdpwssd with AVX-VNNI) per 16 multiply-adds."""
    import llvmlite.binding as llvm

    if not llvm.get_process_triple().startswith("x86_64") or not llvm.get_host_cpu_features().get("avx2"):
        pytest.skip("pmaddwd needs x86 with AVX2")
    buf, offsets, weights, npairs, nblocks = pair_case(np.random.default_rng(0))
    dispatcher = _fixed.dot_pairs.jitted
    dispatcher(np.zeros(nblocks * _fixed.BLOCK, np.int32), True, buf, offsets, weights, npairs, nblocks)
    asm = dispatcher.inspect_asm(dispatcher.signatures[0])
    assert "vpmaddwd" in asm or "vpdpwssd" in asm
    assert "vpmulld" not in asm


def test_portable_pair_loops_compute_the_same(rng, monkeypatch):
    """The formulation used where the target has no AVX2 (even/odd lanes, no x86 intrinsics) gives the
    same integers and pixels as the x86 one."""
    from numba import njit

    monkeypatch.setattr(_fixed, "_has_avx2", lambda context: False)
    buf, offsets, weights, npairs, nblocks = pair_case(rng, extreme=True)
    n = nblocks * _fixed.BLOCK
    portable = {kind: njit(_fixed._build(kind)) for kind in ("acc", "round", "scale")}
    got, want = np.zeros(n, np.int32), np.zeros(n, np.int32)
    portable["acc"](got, True, buf, offsets, weights, npairs, nblocks)
    _fixed.dot_pairs.py_func(want, True, buf, offsets, weights, npairs, nblocks)
    assert np.array_equal(got, want)
    got, want = np.zeros(n, np.int16), np.zeros(n, np.int16)
    portable["round"](got, 0, buf, offsets, weights, npairs, nblocks, np.int32(1 << 16), np.int32(17))
    _fixed.dot_pairs_round.py_func(want, 0, buf, offsets, weights, npairs, nblocks, 1 << 16, 17)
    assert np.array_equal(got, want)
    got, want = np.zeros(n, np.uint8), np.zeros(n, np.uint8)
    portable["scale"](got, 0, buf, offsets, weights, npairs, nblocks, np.float32(1.0 / 3e6))
    _fixed.dot_pairs_scale.py_func(want, 0, buf, offsets, weights, npairs, nblocks, np.float32(1.0 / 3e6))
    assert np.array_equal(got, want)


@pytest.mark.parametrize("lanes", [16, 32])
@pytest.mark.parametrize("unit", [True, False])
def test_integer_loop_computes_its_numpy_meaning(rng, monkeypatch, lanes, unit):
    """int_taps (the integer direct loop) at either vector width: the same pixels as its NumPy meaning,
    on sums as large as the engine allows (255 * 128) that clip at both ends of uint8."""
    from numba import njit

    monkeypatch.setattr(_fixed, "int_lanes", lambda context: lanes)
    loop = njit(_fixed._build_int_taps())
    ring = rng.integers(0, 256, 3000).astype(np.int16)
    offsets = np.array([0, 7, 311, 1000, 1500], np.intp)
    weights = np.array([25, -40, 60, 1, -2], np.int16)
    n = 700
    got, want = np.zeros(n + 3, np.uint8), np.zeros(n + 3, np.uint8)
    done = loop(got, 3, ring, offsets, weights, len(weights), n, unit, np.float32(0.37))
    block = lanes * _fixed.INT_UNROLL
    assert done == n // block * block
    assert _fixed.int_taps.py_func(want, 3, ring, offsets, weights, len(weights), n, unit, 0.37, block) == done
    assert np.array_equal(got, want)
