"""The uint8 fast path: uint8 images reach the engines unwidened (read a row at a time), integer
results are rounded half-to-even and clipped inside the engines, and `out=` is filled in place.

A uint8 image filtered into uint8 runs in fixed point where the kernel allows (imgconv.engine._fixed,
tests/test_fixed_point.py): exact for integer kernels, within the kernel's bound of the exact rounding
otherwise.  Everywhere else the engine rounds its own float32 sums."""

import numpy as np
import pytest

import imgconv
from imgconv.convolution import source_for
from imgconv.engine import _fixed
from imgconv.filters import box_kernel, gaussian_kernel, sharpen_kernel
from imgconv.kernel import KernelInfo

from conftest import low_rank_kernel, oracle

KERNELS = {"direct": sharpen_kernel(1.5), "separable": gaussian_kernel(1.0), "sat": box_kernel(4)}


def test_uint8_source_is_not_copied(rng):
    image = (rng.random((10, 12, 3)) * 255).astype(np.uint8)
    source = source_for(image, ((1, 1), (1, 1)), "reflect", 0.0)
    assert source.image.dtype == np.uint8 and np.shares_memory(source.image, image)
    # A constant border value a uint8 row cannot hold makes the image float32 (exactness first).
    assert source_for(image, ((1, 1), (1, 1)), "constant", 0.5).image.dtype == np.float32
    assert source_for(image, ((1, 1), (1, 1)), "constant", 7.0).image.dtype == np.uint8


def _float_path_kernel(algo, rng):
    """A kernel no fixed point takes: a non-integer 3x4 (direct), rank 2 (separable), a box (sat)."""
    return {"direct": rng.standard_normal((3, 4)) * 0.3, "separable": low_rank_kernel(rng, (5, 4), 2) * 0.2,
            "sat": box_kernel(4)}[algo]


@pytest.mark.parametrize("algo", sorted(KERNELS))
@pytest.mark.parametrize("border", ["reflect", "constant"])
def test_uint8_result_is_the_rounded_clipped_float_result(rng, algo, border):
    """Kernels the fixed point does not take: the engine rounds its float32 sums, by to_dtype's rule."""
    image = (rng.random((21, 26, 3)) * 255).astype(np.uint8)
    kernel = _float_path_kernel(algo, rng)
    assert _fixed.integer_taps(KernelInfo(kernel).taps) is None or algo == "sat"
    as_float = imgconv.convolve(image, kernel, algo=algo, border=border, cval=9.0)
    as_uint8 = imgconv.convolve(image, kernel, algo=algo, border=border, cval=9.0, dtype=np.uint8)
    assert as_uint8.dtype == np.uint8
    np.testing.assert_array_equal(as_uint8, np.clip(np.rint(as_float), 0, 255))


@pytest.mark.parametrize("algo", ["direct", "separable"])
@pytest.mark.parametrize("border", ["reflect", "constant"])
def test_uint8_fixed_point_result_keeps_the_promise(rng, algo, border):
    """Fixed point: sharpen(1.5) is 0.5 * integers (exact, ties included, as rint does them); a Gaussian
    is within its bound of the exact rounding."""
    image = (rng.random((21, 26, 3)) * 255).astype(np.uint8)
    kernel = KERNELS[algo]
    info = KernelInfo(kernel)
    delta = _fixed.integer_taps(info.taps).delta if algo == "direct" else _fixed.separable_taps(info).delta
    as_uint8 = imgconv.convolve(image, kernel, algo=algo, border=border, cval=9.0, dtype=np.uint8)
    y = oracle(image, kernel, border=border, cval=9.0)
    want = np.clip(np.rint(y), 0, 255)
    near_tie = np.abs(y - np.floor(y) - 0.5) <= delta
    np.testing.assert_array_equal(as_uint8[~near_tie], want[~near_tie])
    assert np.abs(as_uint8.astype(int) - want).max() <= 1


@pytest.mark.parametrize("algo", sorted(KERNELS))
def test_out_is_filled_in_place(rng, algo):
    image = rng.random((15, 17, 2), dtype=np.float32)
    out = np.full(image.shape, np.nan, np.float32)
    result = imgconv.convolve(image, KERNELS[algo], algo=algo, out=out)
    assert np.shares_memory(result, out) and np.isfinite(out).all()
    np.testing.assert_array_equal(out, imgconv.convolve(image, KERNELS[algo], algo=algo))


def test_out_of_the_wrong_shape_is_refused(rng):
    image = rng.random((5, 6, 3), dtype=np.float32)
    with pytest.raises(imgconv.ImgconvError):
        imgconv.convolve(image, np.ones((3, 3)), out=np.empty((5, 6, 2), np.float32))


@pytest.mark.parametrize("name", ["blur", "box", "sharpen", "emboss", "sobel", "unsharp"])
def test_apply_filter_out_dtype_matches_to_dtype(rng, name):
    """apply_filter(out_dtype=uint8) (engines store uint8 directly for plain filters) == to_dtype(float result):
    exactly where the engine rounds float32 sums or exact integers; within the fixed point's bound of it
    where a Gaussian runs in fixed point (blur)."""
    from imgconv import filters
    from imgconv.apply import apply_filter
    from imgconv.dtypes import to_dtype

    image = (rng.random((21, 25, 3)) * 255).astype(np.uint8)
    filt = getattr(filters, name)()
    as_float = apply_filter(image, filt, 255.0)
    want = to_dtype(as_float, np.uint8)
    got = apply_filter(image, filt, 255.0, out_dtype=np.uint8)
    assert got.dtype == np.uint8
    if name == "blur":
        delta = _fixed.separable_taps(KernelInfo(filt.kernels[0])).delta + 1e-4  # + float32's own error
        near_tie = np.abs(as_float - np.floor(as_float) - 0.5) <= delta
        np.testing.assert_array_equal(got[~near_tie], want[~near_tie])
        assert np.abs(got.astype(int) - want).max() <= 1
    else:
        np.testing.assert_array_equal(got, want)
