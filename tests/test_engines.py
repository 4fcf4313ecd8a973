"""Every engine against the scipy.ndimage oracle, and against each other.

The contract (imgconv.convolve's docstring): per channel, the result equals
`scipy.ndimage.convolve(channel, kernel, mode=border, cval=cval)` (or `correlate` with correlate=True)
to float32 rounding -- see conftest.tolerance for what "float32 rounding" allows and why.

Layout of this file:
  * the full matrix: engine x kernel shape (1x1 .. 15x15, even, non-square) x border x convolve/correlate,
    each over grey/RGB/RGBA and uint8/uint16/float32 inputs, on a small 23x31 image;
  * tiny images (1x1 and a few pixels) with kernels larger than the image, and very large kernels
    whose padding is many times the image (against conftest.padded_oracle, see its docstring);
  * engines agree with each other; separable on rank-2/3 kernels; the errors a forced engine raises;
  * engine internals that only show on some shapes (FFT overlap-save blocks, im2col blocks, direct's
    row blocks, views);
  * convolve's dtype= (integer results, rounded and clipped) and out= (including out=image).
"""

import numpy as np
import pytest

import imgconv
from imgconv import ImgconvError
from imgconv.engine.separable import MAX_RANK as MAX_SEPARABLE_RANK

from conftest import (
    BORDERS,
    DTYPES,
    LAYOUTS,
    low_rank_kernel,
    oracle,
    padded_oracle,
    random_image,
    runs_kernel,
    tolerance,
)

#: Kernel shapes from the issue: 1x1 to 15x15, odd, even and non-square.
KERNEL_SHAPES = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 2), (2, 7), (6, 6), (7, 7), (15, 15), (1, 9), (9, 1)]
IMAGE_HW = (23, 31)
#: A non-zero constant so that 'constant' is not confused with zero padding.
CVAL = 0.37
#: Engines that take any kernel (separable needs rank <= MAX_SEPARABLE_RANK, sat a box, spans runs of
#: three or more equal taps in a row).
GENERAL_ENGINES = ("direct", "im2col", "fft")
ALL_ENGINES = GENERAL_ENGINES + ("separable", "sat", "spans")


def shape_id(shape):
    return f"{shape[0]}x{shape[1]}"


def cval_for(dtype):
    """A non-zero cval on the image's own scale."""
    return CVAL * DTYPES[dtype][1]


def check_all_inputs(rng, kernel, algo, border, correlate, hw=IMAGE_HW):
    """Convolve grey/RGB/RGBA images of every dtype; return a list of failure descriptions."""
    failures = []
    for layout, channels in LAYOUTS.items():
        for dtype in DTYPES:
            image = random_image(rng, hw + channels, dtype)
            cval = cval_for(dtype)
            got = imgconv.convolve(image, kernel, algo=algo, border=border, cval=cval, correlate=correlate)
            want = oracle(image, kernel, border=border, cval=cval, correlate=correlate)
            if got.shape != image.shape or got.dtype != np.float32:
                failures.append(f"{layout}/{dtype}: got {got.dtype}{got.shape}, want float32{image.shape}")
                continue
            err = float(np.abs(got - want).max())
            tol = tolerance(np.maximum(image, cval), kernel)
            if not err <= tol:
                failures.append(f"{layout}/{dtype}: max error {err:.3g} > tolerance {tol:.3g}")
    return failures


# --- the full matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", KERNEL_SHAPES, ids=shape_id)
@pytest.mark.parametrize("algo", GENERAL_ENGINES)
def test_general_engine_matches_scipy(rng, algo, kshape, border, correlate):
    kernel = rng.standard_normal(kshape)
    failures = check_all_inputs(rng, kernel, algo, border, correlate)
    assert not failures, f"{algo} {shape_id(kshape)} {border}: " + "; ".join(failures)


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", KERNEL_SHAPES, ids=shape_id)
def test_separable_matches_scipy(rng, kshape, border, correlate):
    """Low-rank kernels of every shape (rank 2 where the shape allows, else 1)."""
    kernel = low_rank_kernel(rng, kshape, min(2, *kshape))
    failures = check_all_inputs(rng, kernel, "separable", border, correlate)
    assert not failures, f"separable {shape_id(kshape)} {border}: " + "; ".join(failures)


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", KERNEL_SHAPES, ids=shape_id)
def test_sat_matches_scipy_on_boxes(rng, kshape, border, correlate):
    """Mean boxes (1/(k1*k2)) of every shape; the weight is not a power of two, so scaling is tested too."""
    kernel = np.full(kshape, 1.0 / (kshape[0] * kshape[1]))
    failures = check_all_inputs(rng, kernel, "sat", border, correlate)
    assert not failures, f"sat {shape_id(kshape)} {border}: " + "; ".join(failures)


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [k for k in KERNEL_SHAPES if k[1] >= 3] + [(11, 17)], ids=shape_id)
def test_spans_matches_scipy(rng, kshape, border, correlate):
    """Kernels whose rows hold runs of equal taps among single taps (spans and taps in one pass)."""
    failures = check_all_inputs(rng, runs_kernel(rng, kshape), "spans", border, correlate)
    assert not failures, f"spans {shape_id(kshape)} {border}: " + "; ".join(failures)


@pytest.mark.parametrize("border", BORDERS)
def test_spans_strips_and_row_groups(rng, border, monkeypatch):
    """Images cut into several strips (each with its own prefix sums and halo, the last one partial) and
    heights that leave a partial group of rows, on one and two threads: still scipy's result."""
    from imgconv.engine import spans
    from imgconv.filters import disk_kernel

    monkeypatch.setattr(spans, "STRIP_BYTES", 1 << 14)
    kernels = [disk_kernel(4.5), runs_kernel(rng, (6, 9))]
    for hw in ((13, 150), (spans.ROWS + 1, 97)):
        for kernel in kernels:
            for layout, dtype in (((3,), "uint8"), ((), "float32"), ((4,), "uint16")):
                image = random_image(rng, hw + layout, dtype)
                cval = cval_for(dtype)
                for threads in (1, 2):
                    got = imgconv.convolve(image, kernel, algo="spans", border=border, cval=cval, threads=threads)
                    want = oracle(image, kernel, border=border, cval=cval)
                    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(np.maximum(image, cval), kernel),
                                               err_msg=f"{hw} {layout} {dtype} {threads} thread(s)")


def test_spans_strips_fill_three_quarters_of_the_l2_cache_linux_describes(tmp_path, monkeypatch):
    from imgconv.engine import spans

    for name, level, kind, size in (("index0", 1, "Data", "48K"), ("index1", 1, "Instruction", "32K"),
                                    ("index2", 2, "Unified", "2048K"), ("index3", 3, "Unified", "300M")):
        (tmp_path / name).mkdir()
        for field, value in (("level", level), ("type", kind), ("size", size)):
            (tmp_path / name / field).write_text(f"{value}\n")
    monkeypatch.setattr(spans, "CACHES", tmp_path)
    spans.strip_bytes.cache_clear()
    try:
        assert spans.strip_bytes() == 3 << 19
        (tmp_path / "index2" / "size").write_text("1M\n")
        spans.strip_bytes.cache_clear()
        assert spans.strip_bytes() == 3 << 18
        monkeypatch.setattr(spans, "CACHES", tmp_path / "missing")
        spans.strip_bytes.cache_clear()
        assert spans.strip_bytes() == 1 << 20
    finally:
        spans.strip_bytes.cache_clear()


def test_spans_accumulate_matches_its_definition(rng):
    """The block loop (LLVM IR) against its NumPy definition, for float32 and float64 sums: items shared by
    several output rows, each row with its own weight (some zero)."""
    from imgconv.engine import spans

    def items(count, positions):
        weights = rng.standard_normal((count, spans.ROWS)) * (rng.random((count, spans.ROWS)) < 0.6)
        return spans._grouped({positions(): list(w) for w in weights})

    blocks, stride = 3, 3 * spans.BLOCK + 5
    for sum_type in (np.float32, np.float64):
        sums = rng.integers(0, 10**5, 4000).astype(sum_type)
        ring = rng.random(4000, dtype=np.float32)
        span_keys, span_w, span_groups = items(9, lambda: (int(rng.integers(0, 1000)), int(rng.integers(1000, 2000))))
        tap_keys, tap_w, tap_groups = items(20, lambda: (int(rng.integers(0, 3000)),))
        lo, hi = (np.array([key[k] for key in span_keys], np.intp) for k in range(2))
        taps = np.array([key[0] for key in tap_keys], np.intp)
        got = np.zeros(spans.ROWS * stride, np.float32)
        want = np.zeros(spans.ROWS * stride, np.float32)
        args = (stride, blocks, sums, ring, lo, hi, span_w, span_groups, taps, tap_w, tap_groups)
        spans.accumulate.jitted(got, *args)
        spans.accumulate.py_func(want, *args)
        assert np.abs(want).max() > 1e4
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.abs(want).max())


def test_spans_refuses_kernels_without_runs(rng):
    with pytest.raises(ImgconvError, match="spans"):
        imgconv.convolve(random_image(rng, IMAGE_HW, "uint8"), rng.standard_normal((5, 5)), algo="spans")


@pytest.mark.parametrize("border", BORDERS)
def test_sat_unnormalised_and_negative_boxes(rng, border):
    """A box is any constant: a plain sum (weight 1) and a negative weight work too."""
    image = random_image(rng, IMAGE_HW + (3,), "uint16")
    for kernel in (np.ones((5, 4)), np.full((3, 6), -2.5)):
        got = imgconv.convolve(image, kernel, algo="sat", border=border, cval=1000.0)
        want = oracle(image, kernel, border=border, cval=1000.0)
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(image, kernel))


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("algo", GENERAL_ENGINES + ("separable",))
def test_auto_matches_scipy(rng, algo, correlate):
    """algo='auto' (whatever the planner picks) is held to the same contract."""
    for kshape in ((3, 3), (4, 4), (7, 7)):
        kernel = rng.standard_normal(kshape) if algo != "separable" else low_rank_kernel(rng, kshape, 1)
        image = random_image(rng, IMAGE_HW + (3,), "uint8")
        got = imgconv.convolve(image, kernel, border="mirror", correlate=correlate)
        want = oracle(image, kernel, border="mirror", correlate=correlate)
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(image, kernel))


# --- tiny images and kernels larger than the image -------------------------------------------------

TINY_IMAGES = [(1, 1), (1, 4), (3, 1), (2, 3), (4, 3)]
BIG_KERNELS = [(15, 15), (9, 1), (1, 9), (6, 6), (2, 2), (1, 1)]


def runnable_kernels(rng, kshape):
    """(algo, kernel) pairs covering every engine for this shape."""
    pairs = [(algo, rng.standard_normal(kshape)) for algo in GENERAL_ENGINES]
    pairs.append(("separable", low_rank_kernel(rng, kshape, min(2, *kshape))))
    pairs.append(("sat", np.full(kshape, 1.0 / (kshape[0] * kshape[1]))))
    if kshape[1] >= 3:
        pairs.append(("spans", runs_kernel(rng, kshape)))
    return pairs


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", BIG_KERNELS, ids=shape_id)
def test_kernels_larger_than_tiny_images(rng, kshape, border, correlate):
    """Padding wider than the image (up to 7 pixels each side of a 1x1 image) repeats the border pattern."""
    failures = []
    for hw in TINY_IMAGES:
        for algo, kernel in runnable_kernels(rng, kshape):
            for channels in ((), (4,)):
                image = random_image(rng, hw + channels, "float32")
                got = imgconv.convolve(image, kernel, algo=algo, border=border, cval=CVAL, correlate=correlate)
                want = oracle(image, kernel, border=border, cval=CVAL, correlate=correlate)
                err = float(np.abs(got - want).max())
                if got.shape != image.shape or not err <= tolerance(np.maximum(image, CVAL), kernel):
                    failures.append(f"{algo} on {hw + channels}: shape {got.shape}, error {err:.3g}")
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("hw", [(4, 3), (2, 5), (1, 1)], ids=shape_id)
def test_padding_many_times_the_image(rng, hw, border):
    """Kernels 8-40x the image: checked against numpy.pad (scipy's 2D reflect is wrong here, see conftest)."""
    image = random_image(rng, hw + (3,), "float32")
    for kshape in ((40, 3), (3, 40), (31, 31), (32, 17)):
        taps = kshape[0] * kshape[1]
        pairs = runnable_kernels(rng, kshape)
        for algo, kernel in pairs:
            for correlate in (False, True):
                got = imgconv.convolve(image, kernel, algo=algo, border=border, cval=CVAL, correlate=correlate)
                want = padded_oracle(image, kernel, border=border, cval=CVAL, correlate=correlate)
                # Hundreds of taps: the float32 summation bound grows with the tap count (conftest.tolerance).
                tol = tolerance(np.maximum(image, CVAL), kernel) * max(1.0, taps / 128)
                np.testing.assert_allclose(got, want, rtol=0, atol=tol,
                                           err_msg=f"{algo} {shape_id(kshape)} correlate={correlate}")


# --- engines agree with each other --------------------------------------------------------------


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [(3, 3), (4, 4), (5, 2), (15, 15)], ids=shape_id)
def test_engines_agree(rng, kshape, border):
    """On one random RGB image, every engine that can run the kernel gives the same answer."""
    image = random_image(rng, IMAGE_HW + (3,), "uint8")
    kernels = {
        "box": np.full(kshape, 1.0 / (kshape[0] * kshape[1])),
        "rank-1": low_rank_kernel(rng, kshape, 1),
        "random": rng.standard_normal(kshape),
    }
    for name, kernel in kernels.items():
        full_rank = np.linalg.matrix_rank(kernel)
        is_box = name == "box"
        algos = list(GENERAL_ENGINES)
        if full_rank <= MAX_SEPARABLE_RANK:
            algos.append("separable")
        if is_box:
            algos.append("sat")
        if is_box and kshape[1] >= 3:
            algos.append("spans")
        results = {a: imgconv.convolve(image, kernel, algo=a, border=border, cval=CVAL * 255) for a in algos}
        reference = results["direct"]
        for algo, result in results.items():
            np.testing.assert_allclose(result, reference, rtol=0, atol=2 * tolerance(image, kernel),
                                       err_msg=f"{algo} vs direct on the {name} kernel")
        assert len(results) >= 3


# --- separable on low-rank kernels, and the engines' refusals --------------------------------------


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("rank", [2, 3])
@pytest.mark.parametrize("kshape", [(5, 5), (7, 7), (6, 4), (15, 15)], ids=shape_id)
def test_separable_runs_rank_2_and_3(rng, kshape, rank, correlate):
    kernel = low_rank_kernel(rng, kshape, rank)
    assert np.linalg.matrix_rank(kernel) == rank
    image = random_image(rng, IMAGE_HW + (3,), "uint8")
    for border in BORDERS:
        got = imgconv.convolve(image, kernel, algo="separable", border=border, cval=99.0, correlate=correlate)
        want = oracle(image, kernel, border=border, cval=99.0, correlate=correlate)
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(image, kernel), err_msg=border)


@pytest.mark.parametrize("kshape", [(5, 5), (7, 7), (15, 15), (6, 9)], ids=shape_id)
def test_separable_refuses_full_rank_kernels(rng, kshape):
    """No silent fallback: forcing separable on a rank-5+ kernel is the user's error, said clearly."""
    kernel = rng.standard_normal(kshape)
    assert np.linalg.matrix_rank(kernel) == min(kshape) > MAX_SEPARABLE_RANK
    image = random_image(rng, IMAGE_HW, "uint8")
    with pytest.raises(ImgconvError, match="separable") as excinfo:
        imgconv.convolve(image, kernel, algo="separable")
    assert "rank" in str(excinfo.value)


def test_separable_refuses_all_zero_kernel(rng):
    with pytest.raises(ImgconvError, match="rank 0"):
        imgconv.convolve(random_image(rng, IMAGE_HW, "uint8"), np.zeros((3, 3)), algo="separable")


@pytest.mark.parametrize("kernel", [
    [[1, 1, 1], [1, 2, 1], [1, 1, 1]],
    [[0, 0], [0, 0]],
    [[1, -1]],
    [[1 / 9] * 3] * 2 + [[1 / 9, 1 / 9, 1 / 9 + 1e-9]],
], ids=["centre-heavy", "zeros", "sign", "almost-box"])
def test_sat_refuses_non_box(rng, kernel):
    with pytest.raises(ImgconvError, match="sat"):
        imgconv.convolve(random_image(rng, IMAGE_HW, "uint8"), kernel, algo="sat")


def test_all_zero_kernel_gives_zeros(rng):
    """Degenerate but legal for the general engines (and what scipy returns)."""
    image = random_image(rng, IMAGE_HW + (3,), "uint8")
    for algo in GENERAL_ENGINES:
        np.testing.assert_array_equal(imgconv.convolve(image, np.zeros((4, 3)), algo=algo), 0.0)


# --- convolve's argument checks -------------------------------------------------------------------


def test_unknown_border_and_algo_raise(rng):
    image = random_image(rng, IMAGE_HW, "uint8")
    with pytest.raises(ImgconvError, match="border"):
        imgconv.convolve(image, np.ones((3, 3)), border="periodic")
    with pytest.raises(ImgconvError, match="algorithm"):
        imgconv.convolve(image, np.ones((3, 3)), algo="winograd")


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((2, 2, 2, 2)), np.zeros((0, 4)), np.zeros((3, 0, 3))],
                         ids=["1d", "4d", "empty-rows", "empty-cols"])
def test_bad_image_shapes_raise(bad):
    with pytest.raises(ImgconvError, match="image"):
        imgconv.convolve(bad, np.ones((3, 3)))


def test_bad_kernels_raise(rng):
    image = random_image(rng, IMAGE_HW, "uint8")
    for kernel in ([], [[1, 2], [3]], [[np.nan, 1.0]], [[[1.0]]]):
        with pytest.raises(ImgconvError):
            imgconv.convolve(image, kernel)


def test_input_is_not_modified(rng):
    image = random_image(rng, IMAGE_HW + (3,), "float32")
    before = image.copy()
    for algo in GENERAL_ENGINES:
        imgconv.convolve(image, rng.standard_normal((3, 3)), algo=algo, border="constant", cval=5.0)
    np.testing.assert_array_equal(image, before)


# --- shapes that exercise engine internals ----------------------------------------------------------


@pytest.mark.parametrize("algo", GENERAL_ENGINES + ("separable",))
def test_wide_rows_and_non_contiguous_views(rng, algo):
    """A row of 3 x 700 values spans two of direct's 2048-value blocks; a strided view must be read right."""
    kernel = low_rank_kernel(rng, (3, 4), 2)
    wide = random_image(rng, (5, 700, 3), "uint8")
    np.testing.assert_allclose(imgconv.convolve(wide, kernel, algo=algo, border="wrap"),
                               oracle(wide, kernel, border="wrap"), rtol=0, atol=tolerance(wide, kernel))
    view = random_image(rng, (23, 62, 4), "float32")[:, ::2, ::-1]
    np.testing.assert_allclose(imgconv.convolve(view, kernel, algo=algo, border="reflect"),
                               oracle(view, kernel, border="reflect"), rtol=0, atol=tolerance(view, kernel))


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [(7, 5), (4, 6), (21, 3)], ids=shape_id)
def test_fft_over_several_overlap_save_blocks(rng, kshape, border, correlate):
    """An image several of the FFT's overlap-save blocks tall (the last one partial), on 1 and 3 threads:
    every block boundary must match scipy on every border mode (odd, even and tall kernels)."""
    from imgconv.engine.fft import block_shape

    height, width = 150, 37
    step, _, _ = block_shape(height, width, *kshape)
    assert height // step >= 2 and height % step, "the image must span at least 3 blocks, the last partial"
    kernel = rng.standard_normal(kshape)
    for layout, dtype in (("grey", "float32"), ("rgb", "uint8")):
        image = random_image(rng, (height, width) + LAYOUTS[layout], dtype)
        cval = cval_for(dtype)
        want = oracle(image, kernel, border=border, cval=cval, correlate=correlate)
        for threads in (1, 3):
            got = imgconv.convolve(image, kernel, algo="fft", border=border, cval=cval, correlate=correlate,
                                   threads=threads)
            np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(np.maximum(image, cval), kernel),
                                       err_msg=f"{layout}/{dtype}, {threads} thread(s)")


@pytest.mark.parametrize("block_bytes", [1, 31 * 3 * 12 * 4 * 5], ids=["one-row-blocks", "five-row-blocks"])
def test_im2col_in_blocks(rng, monkeypatch, block_bytes):
    """Force im2col's patch buffer to hold 1 or 5 rows so the image runs in many blocks (last one partial)."""
    import imgconv.engine.im2col as im2col

    monkeypatch.setattr(im2col, "BLOCK_BYTES", block_bytes)
    kernel = rng.standard_normal((3, 4))
    image = random_image(rng, IMAGE_HW + (3,), "uint8")
    got = imgconv.convolve(image, kernel, algo="im2col", border="mirror")
    np.testing.assert_allclose(got, oracle(image, kernel, border="mirror"), rtol=0, atol=tolerance(image, kernel))


@pytest.mark.parametrize("algo", ["sat", "separable", "direct", "spans"])
def test_tall_image_many_row_ranges(rng, algo):
    """Taller than threads * strips-per-thread rows, so every row range of the threaded engines has work."""
    kernel = np.full((7, 5), 1 / 35)
    image = random_image(rng, (203, 9, 2), "uint16")
    got = imgconv.convolve(image, kernel, algo=algo, border="nearest")
    np.testing.assert_allclose(got, oracle(image, kernel, border="nearest"), rtol=0, atol=tolerance(image, kernel))


@pytest.mark.parametrize("algo", ALL_ENGINES)
@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_constant_border_cval_outside_the_dtype(rng, algo, dtype):
    """cval is a float on the output's scale: fractional, negative or above white, whatever the input type."""
    special = {"sat": np.full((5, 4), 0.05), "spans": runs_kernel(rng, (5, 4))}
    kernel = special.get(algo, low_rank_kernel(rng, (5, 4), 2))
    image = random_image(rng, (9, 11, 3), dtype)
    full = DTYPES[dtype][1]
    for cval in (-3.5, 0.5, 1.25 * full + 0.75):
        got = imgconv.convolve(image, kernel, algo=algo, border="constant", cval=cval)
        want = oracle(image, kernel, border="constant", cval=cval)
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(np.maximum(image, abs(cval)), kernel),
                                   err_msg=f"cval={cval}")


# --- integer results (convolve's dtype=): rounded half-to-even and clipped, straight from the engine ----


def expected_integer(want, dtype):
    info = np.iinfo(dtype)
    return np.clip(np.rint(want), info.min, info.max)


@pytest.mark.parametrize("algo, out_dtype", [(a, np.uint8) for a in ALL_ENGINES] + [
    (a, np.uint16) for a in ("fft", "im2col")], ids=lambda x: x if isinstance(x, str) else np.dtype(x).name)
def test_integer_output_is_rounded_and_clipped(rng, algo, out_dtype):
    """The kernel's gain (1.6, or -1.3 for sat) pushes results below 0 and above white, so clipping shows.

    Rounding is only checked away from .5 ties (within float32 tolerance of a tie either way is right).
    Output type == input type.  uint16 only on the numpy engines: on the Numba engines every (input,
    output) type pair is one more compilation, 5-13 s each on a cold cache, and the store is generic.
    """
    image = random_image(rng, (23, 31, 3), "uint8" if out_dtype is np.uint8 else "uint16")
    if algo == "sat":
        kernels = [np.full((3, 4), 1.6 / 12), np.full((2, 2), -1.3 / 4)]
    elif algo == "spans":
        kernels = [np.full((3, 4), 1.6 / 12), runs_kernel(rng, (5, 4)) * 0.3]
    else:
        kernels = [low_rank_kernel(rng, (3, 4), 2) * 0.5 + 0.1, low_rank_kernel(rng, (5, 2), 1)]
    for kernel in kernels:
        for border in ("reflect", "constant"):
            got = imgconv.convolve(image, kernel, algo=algo, border=border, cval=7.0, dtype=out_dtype)
            assert got.dtype == out_dtype and got.shape == image.shape
            want = oracle(image, kernel, border=border, cval=7.0)
            near_tie = np.abs(want - np.floor(want) - 0.5) < tolerance(image, kernel)
            np.testing.assert_array_equal(got[~near_tie], expected_integer(want, out_dtype)[~near_tie],
                                          err_msg=f"{kernel.shape} {border}")
            info = np.iinfo(out_dtype)
            clipped = np.clip(want[near_tie], info.min, info.max)
            assert (np.abs(got[near_tie] - clipped) <= 0.5 + tolerance(image, kernel)).all()
            assert (want < info.min).any() or (want > info.max).any()


# --- convolve(out=) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ALL_ENGINES)
def test_out_is_filled_in_place(rng, algo):
    image = random_image(rng, IMAGE_HW + (3,), "float32")
    kernel = np.full((5, 4), 0.05)
    out = np.full(image.shape, np.nan, np.float32)
    result = imgconv.convolve(image, kernel, algo=algo, out=out)
    assert np.shares_memory(result, out)
    np.testing.assert_allclose(out, oracle(image, kernel), rtol=0, atol=tolerance(image, kernel))
    with pytest.raises(ImgconvError, match="out"):
        imgconv.convolve(image, kernel, algo=algo, out=np.empty((23, 30, 3), np.float32))


@pytest.mark.parametrize("layout", ["grey", "rgb"])
@pytest.mark.parametrize("algo", ALL_ENGINES)
def test_out_may_be_the_image_itself(rng, algo, layout):
    """convolve(image, k, out=image) filters in place: every output must still see the original pixels."""
    image = random_image(rng, (200, 31) + LAYOUTS[layout], "float32")
    kernel = np.full((5, 4), 0.05)
    want = oracle(image, kernel)
    imgconv.convolve(image, kernel, algo=algo, out=image)
    np.testing.assert_allclose(image, want, rtol=0, atol=tolerance(want, kernel))
