"""Multi-kernel fusion: several same-sized kernels in one pass (direct) or one GEMM (im2col), optionally
with their gradient magnitude, give the same pixels as separate passes; apply_filter uses it for Sobel."""

import numpy as np
import pytest
from scipy import ndimage

from imgconv.apply import apply_filter
from imgconv.convolution import run_fused, run_plan
from imgconv.engine.planner import plan, should_fuse
from imgconv.filters import SOBEL_X, SOBEL_Y, sobel

from conftest import BORDERS


@pytest.mark.parametrize("algo", ["direct", "im2col"])
@pytest.mark.parametrize("border", BORDERS)
def test_fused_responses_equal_separate_passes(rng, algo, border):
    image = rng.random((19, 23, 3), dtype=np.float32)
    kernels = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]
    plans = [plan(k, image.shape, algo=algo) for k in kernels]
    fused = run_fused(plans, image, border=border, cval=0.3, algo=algo)
    for p, got in zip(plans, fused):
        want = run_plan(p, image, border=border, cval=0.3)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("algo", ["direct", "im2col"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_fused_magnitude_is_scaled_hypot(rng, algo, dtype):
    image = (rng.random((17, 29, 1)) * 200).astype(dtype)
    plans = [plan(SOBEL_X, image.shape), plan(SOBEL_Y, image.shape)]
    got = run_fused(plans, image, border="mirror", magnitude_scale=0.25, algo=algo)
    grey = image[..., 0].astype(np.float64)
    gx, gy = ndimage.convolve(grey, SOBEL_X, mode="mirror"), ndimage.convolve(grey, SOBEL_Y, mode="mirror")
    want = 0.25 * np.hypot(gx, gy)
    np.testing.assert_allclose(got[..., 0], want, rtol=1e-5, atol=1e-3)


def test_sobel_filter_is_fused_and_reports_it(rng):
    image = (rng.random((32, 40, 3)) * 255).astype(np.uint8)
    plans = []
    fused = apply_filter(image, sobel("both"), 255.0, on_plan=plans.append)
    assert len(plans) == 2 and all(p.algo == "direct" and p.reason.startswith("fused") for p in plans)
    separate = apply_filter(image, sobel("both"), 255.0, algo="separable")
    np.testing.assert_allclose(fused, separate, rtol=0, atol=1e-3)
    gemm = apply_filter(image, sobel("both"), 255.0, algo="im2col")
    np.testing.assert_allclose(gemm, separate, rtol=0, atol=1e-3)


def test_should_fuse_rules():
    shape = (100, 100, 1)
    same = [plan(SOBEL_X, shape), plan(SOBEL_Y, shape)]
    assert should_fuse(same, shape, "auto")
    assert should_fuse(same, shape, "im2col")
    assert not should_fuse(same, shape, "fft")
    mixed = [plan(SOBEL_X, shape), plan(np.ones((5, 5)), shape)]
    assert not should_fuse(mixed, shape, "auto")
    assert not should_fuse(same[:1], shape, "auto")


def test_run_many_rejects_mixed_shapes(rng):
    from imgconv.engine import direct, im2col

    image = rng.random((8, 8, 1), dtype=np.float32)
    plans = [plan(np.ones((3, 3)), image.shape), plan(np.ones((5, 5)), image.shape)]
    for engine in (direct, im2col):
        with pytest.raises(ValueError):
            engine.run_many(image, plans, np.empty((2, 8, 8, 1), np.float32))
