"""imgconv.kernel: parsing a user's kernel, normalising it, and KernelInfo's analysis (taps, origin,
SVD rank and factors, box-ness), checked against numpy and scipy rather than against itself."""

import numpy as np
import pytest
from scipy import ndimage

from imgconv import ImgconvError
from imgconv.filters import SOBEL_X, SOBEL_Y, box_kernel, gaussian_kernel, sharpen_kernel
from imgconv.kernel import KernelInfo, as_kernel, normalized, parse_kernel

from conftest import low_rank_kernel

GAUSSIAN_3x3 = [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]


# --- parse_kernel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "1 2 1; 2 4 2; 1 2 1",
    "1 2 1\n2 4 2\n1 2 1\n",
    "1,2,1; 2,4,2; 1,2,1",
    "1, 2, 1\n2, 4, 2\n1, 2, 1",
    "# a Gaussian\n1 2 1  # top\n\n2 4 2;\n   1 2 1   # bottom; not a row\n# end",
    "1 2 1;2 4 2;1 2 1;",
    "1 2 1\r\n2 4 2\r\n1 2 1\r\n",
    "1.0 2e0 1; +2 4.000 2; 1 2. .1e1",
], ids=["semicolons", "newlines", "commas", "comma-space", "comments", "trailing-sep", "crlf", "float-forms"])
def test_parse_kernel_forms(text):
    got = parse_kernel(text)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, GAUSSIAN_3x3)


def test_parse_single_row_and_negative_numbers():
    np.testing.assert_array_equal(parse_kernel("-1 0 1"), [[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(parse_kernel("-0.5; 1.5; -2"), [[-0.5], [1.5], [-2.0]])
    np.testing.assert_array_equal(parse_kernel("3"), [[3.0]])


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n ; ;\n", "empty"),
    ("# only a comment\n", "empty"),
    ("1 2 3; 4 5", "different lengths"),
    ("1 2\n3 4 5\n", "different lengths"),
    ("1 x 2", "'x' is not a number"),
    ("1 2; 3 four", "'four' is not a number"),
    ("1 2; 3 0x10", "not a number"),
    ("1 nan; 2 3", "NaN or infinity"),
    ("inf 1", "NaN or infinity"),
    ("1 -inf", "NaN or infinity"),
    ("1e999 1", "NaN or infinity"),
])
def test_parse_kernel_errors(text, message):
    with pytest.raises(ImgconvError, match=message):
        parse_kernel(text)


@pytest.mark.parametrize("bad", [[], [[]], [[1, 2], [3]], "abc", [[[1.0]]], [[1.0, float("nan")]],
                                 np.array([[np.inf]]), None])
def test_as_kernel_errors(bad):
    with pytest.raises(ImgconvError):
        as_kernel(bad)


def test_as_kernel_makes_2d_float64():
    got = as_kernel([1, 2, 3])
    assert got.shape == (1, 3) and got.dtype == np.float64
    got = as_kernel(np.array([[1, 2], [3, 4]], np.uint8))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[1, 2], [3, 4]])


# --- normalized --------------------------------------------------------------------------------------


def test_normalized_sums_to_one_and_keeps_shape():
    got = normalized(np.array(GAUSSIAN_3x3))
    np.testing.assert_allclose(got, np.array(GAUSSIAN_3x3) / 16.0, rtol=1e-15)
    got = normalized(np.array([[2.0, -1.0, 3.0]]))
    np.testing.assert_allclose(got, [[0.5, -0.25, 0.75]], rtol=1e-15)


@pytest.mark.parametrize("kernel", [SOBEL_X, [[1.0, -1.0]], [[0.0, 0.0], [0.0, 0.0]], [[1.0, -2.0, 1.0]]],
                         ids=["sobel", "difference", "zeros", "second-difference"])
def test_normalized_zero_sum_raises(kernel):
    with pytest.raises(ImgconvError, match="sum to zero"):
        normalized(np.asarray(kernel, np.float64))


@pytest.mark.parametrize("scale", [1e-13, 1e-20, 1e20])
def test_normalized_is_scale_invariant(scale):
    """Normalising is about the taps' ratios: a tiny (or huge) but non-zero-sum kernel is legitimate."""
    kernel = np.array(GAUSSIAN_3x3)
    np.testing.assert_allclose(normalized(kernel * scale), kernel / 16.0, rtol=1e-12)


# --- KernelInfo: taps and origin ------------------------------------------------------------------


def test_taps_flip_for_convolution_only(rng):
    kernel = rng.standard_normal((3, 5))
    np.testing.assert_array_equal(KernelInfo(kernel).taps, kernel[::-1, ::-1])
    np.testing.assert_array_equal(KernelInfo(kernel, correlate=True).taps, kernel)
    assert KernelInfo(kernel).shape == (3, 5)


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 9])
def test_padding_reproduces_scipy_origin(k, correlate):
    """Where scipy puts a single tap, found with an impulse, is where taps + padding put it.

    imgconv's result is out[i] = sum_j taps[j] * image[i + j - before]; with an impulse image at c and a
    single non-zero tap at j, the output is non-zero only at i = c + before - j.
    """
    op = ndimage.correlate if correlate else ndimage.convolve
    n, c = 21, 10
    image = np.zeros((1, n))
    image[0, c] = 1.0
    for j in range(k):
        kernel = np.zeros((1, k))
        kernel[0, j] = 1.0
        info = KernelInfo(kernel, correlate=correlate)
        (rb, ra), (before, after) = info.padding
        assert (rb, ra) == (0, 0) and before + after == k - 1
        tap = int(np.flatnonzero(info.taps[0])[0])
        want = np.flatnonzero(op(image, kernel, mode="constant")[0])
        assert list(want) == [c + before - tap], f"tap {j} of {k}"
        # The same along the rows axis.
        (before_rows, _), _ = KernelInfo(kernel.T, correlate=correlate).padding
        assert before_rows == before


# --- rank and factors ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, rank", [
    (gaussian_kernel(2.0), 1),
    (gaussian_kernel(0.7), 1),
    (np.array(GAUSSIAN_3x3), 1),
    (SOBEL_X, 1),
    (SOBEL_Y, 1),
    (box_kernel(5), 1),
    (sharpen_kernel(1.0), 2),
    (sharpen_kernel(0.3), 2),
    (np.zeros((3, 3)), 0),
    (np.eye(4), 4),
], ids=["gaussian-2", "gaussian-0.7", "binomial", "sobel-x", "sobel-y", "box", "sharpen-1", "sharpen-0.3",
        "zeros", "identity-4"])
def test_rank_of_known_kernels(kernel, rank):
    """Hand-known ranks, cross-checked with numpy.linalg.matrix_rank."""
    assert KernelInfo(kernel).rank == rank
    assert np.linalg.matrix_rank(kernel) == rank


def test_random_kernels_are_full_rank(rng):
    for shape in ((5, 5), (7, 7), (3, 6), (15, 15)):
        assert KernelInfo(rng.standard_normal(shape)).rank == min(shape)


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_rank_of_sums_of_outer_products(rng, rank):
    for shape in ((7, 7), (9, 5), (4, 11)):
        kernel = low_rank_kernel(rng, shape, rank)
        assert KernelInfo(kernel).rank == rank
        assert KernelInfo(kernel, correlate=True).rank == rank


KNOWN = {
    "gaussian": gaussian_kernel(1.5),
    "sobel": SOBEL_X,
    "sharpen": sharpen_kernel(1.0),
    "box-4x2": np.full((4, 2), 0.125),
}


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("name", list(KNOWN) + ["rank-3", "random-5x5"])
def test_factors_reproduce_the_taps(rng, name, correlate):
    """sum_t outer(columns[t], rows[t]) == taps (the flipped kernel when convolving), at the stated rank."""
    kernel = {"rank-3": lambda: low_rank_kernel(rng, (7, 6), 3),
              "random-5x5": lambda: rng.standard_normal((5, 5))}.get(name, lambda: KNOWN[name])()
    info = KernelInfo(kernel, correlate=correlate)
    columns, rows = info.factors
    assert columns.shape == (info.rank, kernel.shape[0]) and rows.shape == (info.rank, kernel.shape[1])
    rebuilt = sum(np.outer(c, r) for c, r in zip(columns, rows))
    expected = kernel if correlate else kernel[::-1, ::-1]
    np.testing.assert_allclose(rebuilt, expected, rtol=0, atol=1e-12 * np.abs(kernel).max())


def test_rank_1_factors_are_the_1d_gaussian():
    """The Gaussian's single factor pair is the sampled 1D Gaussian (up to a shared scale)."""
    from imgconv.filters.gaussian import gaussian_1d

    columns, rows = KernelInfo(gaussian_kernel(2.0)).factors
    g = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    g /= g.sum()
    np.testing.assert_allclose(columns[0] / columns[0].sum(), g, atol=1e-12)
    np.testing.assert_allclose(rows[0] / rows[0].sum(), g, atol=1e-12)
    np.testing.assert_allclose(gaussian_1d(2.0), g, atol=1e-15)


# --- box-ness and tap counts -------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, is_box", [
    (np.full((3, 3), 1 / 9), True),
    (np.ones((1, 1)), True),
    (np.full((2, 7), -3.0), True),
    (np.zeros((3, 3)), False),
    (np.array(GAUSSIAN_3x3), False),
    (np.array([[1.0, 1.0, 1.0 + 1e-12]]), False),
])
def test_is_box(kernel, is_box):
    assert KernelInfo(kernel).is_box is is_box
    assert KernelInfo(kernel, correlate=True).is_box is is_box


def test_nonzero_taps():
    assert KernelInfo(SOBEL_X).nonzero_taps == 6
    assert KernelInfo(sharpen_kernel(1.0)).nonzero_taps == 5
    assert KernelInfo(np.zeros((4, 4))).nonzero_taps == 0


def test_kernel_gain_is_bounded_so_results_cannot_overflow():
    from imgconv.kernel import MAX_GAIN, as_kernel

    assert as_kernel([[MAX_GAIN / 2, -MAX_GAIN / 2]]).shape == (1, 2)
    with pytest.raises(ImgconvError, match="too large"):
        as_kernel([[MAX_GAIN, MAX_GAIN]])
    # the bound keeps every result of a 16-bit image inside float32
    assert np.finfo(np.float32).max / 100 > MAX_GAIN * 65535


def test_rank_one_found_without_an_svd_for_huge_gaussians(monkeypatch):
    """A 3601x3601 Gaussian (sigma 600) is recognised as an outer product in O(k^2), never by an SVD."""
    def no_svd(*args, **kwargs):
        raise AssertionError("an O(k^3) SVD was run")

    info = KernelInfo(gaussian_kernel(600.0))
    monkeypatch.setattr(np.linalg, "svd", no_svd)
    assert info.rank == 1
    columns, rows = info.factors
    assert np.allclose(np.outer(columns[0], rows[0]), info.taps, rtol=0, atol=1e-15)
    assert np.isclose(np.linalg.norm(columns[0]), np.linalg.norm(rows[0]))  # balanced, like the SVD's


def test_outer_product_factors_match_the_svd_ones(rng):
    column, row = rng.standard_normal(7), rng.standard_normal(5)
    info = KernelInfo(np.outer(column, row))
    u, s, vt = np.linalg.svd(info.taps)
    assert info.rank == 1
    got = np.outer(*[f[0] for f in info.factors])
    assert np.allclose(got, s[0] * np.outer(u[:, 0], vt[0]), atol=1e-12)
