"""The uint8 fast path: uint8 images reach the engines unwidened (read a row at a time), integer
results are rounded half-to-even and clipped inside the engines, and `out=` is filled in place."""

import numpy as np
import pytest

import imgconv
from imgconv.convolution import source_for
from imgconv.filters import box_kernel, gaussian_kernel, sharpen_kernel

KERNELS = {"direct": sharpen_kernel(1.5), "separable": gaussian_kernel(1.0), "sat": box_kernel(4)}


def test_uint8_source_is_not_copied(rng):
    image = (rng.random((10, 12, 3)) * 255).astype(np.uint8)
    source = source_for(image, ((1, 1), (1, 1)), "reflect", 0.0)
    assert source.image.dtype == np.uint8 and np.shares_memory(source.image, image)
    # A constant border value a uint8 row cannot hold makes the image float32 (exactness first).
    assert source_for(image, ((1, 1), (1, 1)), "constant", 0.5).image.dtype == np.float32
    assert source_for(image, ((1, 1), (1, 1)), "constant", 7.0).image.dtype == np.uint8


@pytest.mark.parametrize("algo", sorted(KERNELS))
@pytest.mark.parametrize("border", ["reflect", "constant"])
def test_uint8_result_is_the_rounded_clipped_float_result(rng, algo, border):
    image = (rng.random((21, 26, 3)) * 255).astype(np.uint8)
    kernel = KERNELS[algo]
    as_float = imgconv.convolve(image, kernel, algo=algo, border=border, cval=9.0)
    as_uint8 = imgconv.convolve(image, kernel, algo=algo, border=border, cval=9.0, dtype=np.uint8)
    assert as_uint8.dtype == np.uint8
    # The engine rounds its float32 sums by the same rule: exactly the rounded float32 result.
    np.testing.assert_array_equal(as_uint8, np.clip(np.rint(as_float), 0, 255))


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
    """apply_filter(out_dtype=uint8) (engines store uint8 directly for plain filters) == to_dtype(float result),
    exactly: one rounding rule, applied to the same float32 values."""
    from imgconv import filters
    from imgconv.apply import apply_filter
    from imgconv.dtypes import to_dtype

    image = (rng.random((21, 25, 3)) * 255).astype(np.uint8)
    filt = getattr(filters, name)()
    want = to_dtype(apply_filter(image, filt, 255.0), np.uint8)
    got = apply_filter(image, filt, 255.0, out_dtype=np.uint8)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)
