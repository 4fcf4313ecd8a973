"""The planner: which engines can run a kernel, that a forced engine is honoured or refused clearly,
and the choice for kernels whose best engine is not in doubt.  No timing is asserted: estimates are
only checked to exist, be positive and cover exactly the runnable engines."""

import math

import numpy as np
import pytest

import imgconv
from imgconv import ALGORITHMS, ImgconvError
from imgconv.engine.planner import Plan, plan
from imgconv.engine.separable import MAX_RANK as MAX_SEPARABLE_RANK
from imgconv.filters import box_kernel, gaussian_kernel, sharpen_kernel
from imgconv.kernel import KernelInfo

from conftest import low_rank_kernel

SHAPE = (480, 640, 3)


def runnable(kernel):
    """Engines that can run `kernel`, decided from numpy (not from the planner's own checks)."""
    kernel = np.asarray(kernel, np.float64)
    engines = {"direct", "im2col", "fft"}
    if 1 <= np.linalg.matrix_rank(kernel) <= MAX_SEPARABLE_RANK:
        engines.add("separable")
    if kernel.flat[0] != 0 and np.all(kernel == kernel.flat[0]):
        engines.add("sat")
    if any(_has_run(row) for row in kernel):
        engines.add("spans")
    return engines


def _has_run(row, length=3):
    """Three or more equal non-zero taps side by side."""
    return any(row[i] != 0 and np.all(row[i : i + length] == row[i]) for i in range(len(row) - length + 1))


def test_algorithms():
    assert set(ALGORITHMS) == {"direct", "im2col", "separable", "fft", "sat", "spans"}


@pytest.mark.parametrize("size", [21, 31, 101])
def test_large_box_plans_sat(size):
    """(Up to ~15x15 a box is in doubt: separable's uint8 fixed point runs it 2.5x faster than sat, while
    sat is ~1.1x faster on float32 -- the planner does not know the type.)"""
    chosen = plan(box_kernel(size), SHAPE)
    assert isinstance(chosen, Plan)
    assert chosen.algo == "sat"
    assert "box" in chosen.reason


@pytest.mark.parametrize("sigma", [1.5, 2.0, 5.0])
def test_gaussian_plans_separable(sigma):
    chosen = plan(gaussian_kernel(sigma), SHAPE)
    assert chosen.algo == "separable"
    assert chosen.rank == 1
    assert "rank 1" in chosen.reason


@pytest.mark.parametrize("name, kernel", [
    ("box-3", box_kernel(3)),
    ("box-31", box_kernel(31)),
    ("gaussian", gaussian_kernel(2.0)),
    ("sharpen", sharpen_kernel(1.0)),
    ("random-5x5", np.random.default_rng(0).standard_normal((5, 5))),
    ("rank-3-9x9", low_rank_kernel(np.random.default_rng(1), (9, 9), 3)),
    ("zeros", np.zeros((3, 3))),
])
def test_estimates_cover_exactly_the_runnable_engines(name, kernel):
    chosen = plan(kernel, SHAPE)
    assert set(chosen.estimates) == runnable(kernel)
    assert all(isinstance(t, float) and t > 0 and math.isfinite(t) for t in chosen.estimates.values())
    assert chosen.algo in chosen.estimates
    # auto picks the cheapest of its own estimates (whatever they are).
    assert chosen.estimates[chosen.algo] == min(chosen.estimates.values())
    # Every engine is named in describe(), with the choice first.
    text = chosen.describe()
    assert text.startswith(chosen.algo) and all(a in text for a in chosen.estimates)


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_forced_algo_is_respected(algo):
    kernel = box_kernel(5)  # a box runs on every engine
    chosen = plan(kernel, SHAPE, algo=algo)
    assert chosen.algo == algo
    assert "forced" in chosen.reason
    assert set(chosen.estimates) == set(ALGORITHMS)


def test_forced_algo_needs_a_runnable_kernel(rng):
    with pytest.raises(ImgconvError, match="separable"):
        plan(rng.standard_normal((7, 7)), SHAPE, algo="separable")
    with pytest.raises(ImgconvError, match="sat"):
        plan(gaussian_kernel(1.0), SHAPE, algo="sat")
    # Rank 4 (the largest separable runs) is accepted.
    assert plan(low_rank_kernel(rng, (7, 7), MAX_SEPARABLE_RANK), SHAPE, algo="separable").algo == "separable"


@pytest.mark.parametrize("algo", ["winograd", "", "Direct", "fft2"])
def test_unknown_algo_raises(algo):
    with pytest.raises(ImgconvError, match="unknown algorithm"):
        plan(box_kernel(3), SHAPE, algo=algo)


def test_plan_accepts_kernel_info_and_correlate(rng):
    kernel = rng.standard_normal((4, 3))
    info = KernelInfo(kernel, correlate=True)
    assert plan(info, SHAPE).kernel is info
    planned = plan(kernel, SHAPE, correlate=True).kernel
    np.testing.assert_array_equal(planned.taps, kernel)
    np.testing.assert_array_equal(plan(kernel, SHAPE).kernel.taps, kernel[::-1, ::-1])


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 4), (23, 31), (2000, 3, 2)])
def test_plan_for_any_image_shape(shape):
    for kernel in (box_kernel(9), gaussian_kernel(1.0), sharpen_kernel(1.0)):
        chosen = plan(kernel, shape)
        assert chosen.algo in runnable(kernel)


def test_plan_rank_and_factors_come_from_the_kernel():
    chosen = plan(sharpen_kernel(1.0), SHAPE)
    assert chosen.rank == 2
    columns, rows = chosen.factors
    rebuilt = sum(np.outer(c, r) for c, r in zip(columns, rows))
    np.testing.assert_allclose(rebuilt, sharpen_kernel(1.0)[::-1, ::-1], atol=1e-12)


def test_library_exports_plan():
    assert imgconv.plan is plan
