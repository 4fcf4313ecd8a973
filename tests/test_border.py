"""imgconv.border: the index maps and the padding every engine relies on, against numpy.pad and scipy.

Mode names are scipy.ndimage's; numpy.pad calls them reflect->'symmetric', mirror->'reflect',
nearest->'edge', wrap->'wrap', constant->'constant'.  Padding wider than the image must repeat the
pattern as scipy's 1D filters do (scipy.ndimage.correlate1d is exact there, and agrees with numpy.pad).
"""

import numpy as np
import pytest
from scipy import ndimage

from imgconv.border import MODES, pad, source_index

from conftest import BORDERS, NP_PAD_MODE, oracle, padded_oracle, random_image

PERIODIC = [m for m in BORDERS if m != "constant"]
#: (before, after) pairs: none, narrow, asymmetric, and several times an image of up to 7 pixels.
PADS = [(0, 0), (1, 0), (0, 2), (3, 3), (2, 7), (8, 1), (15, 15), (23, 40)]


def scipy_extension(n, before, after, mode, cval=-1.0):
    """The line scipy.ndimage.correlate1d sees for x = 0..n-1 extended by (before, after).

    A kernel with a single 1 at tap j reads the extended line at offset j - size // 2 from each output;
    output 0 of such kernels, and the last output, walk the whole extension.
    """
    x = np.arange(n, dtype=np.float64)
    values = []
    for p in range(-before, n + after):
        # Read position p from output 0 (p <= 0 side) or output n-1 (p > 0 side).
        anchor = 0 if p <= 0 else n - 1
        offset = p - anchor
        size = 2 * abs(offset) + 1
        weights = np.zeros(size)
        weights[size // 2 + offset] = 1.0
        values.append(ndimage.correlate1d(x, weights, mode=mode, cval=cval)[anchor])
    return np.array(values)


@pytest.mark.parametrize("mode", PERIODIC)
@pytest.mark.parametrize("n", range(1, 8))
def test_source_index_matches_numpy_pad(n, mode):
    for before, after in PADS:
        want = np.pad(np.arange(n), (before, after), mode=NP_PAD_MODE[mode])
        got = source_index(n, before, after, mode)
        np.testing.assert_array_equal(got, want, err_msg=f"n={n} pad=({before}, {after})")


@pytest.mark.parametrize("mode", BORDERS)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_source_index_matches_scipy_1d(n, mode):
    """The same maps read out of scipy itself (constant: -1 marks the cval)."""
    for before, after in PADS:
        want = scipy_extension(n, before, after, mode, cval=-1.0)
        got = source_index(n, before, after, mode)
        np.testing.assert_array_equal(got, want, err_msg=f"n={n} pad=({before}, {after})")


def test_source_index_by_hand():
    """The pictures in border.py's docstring, for a b c d = 0 1 2 3 and four pixels of padding."""
    assert list(source_index(4, 4, 4, "reflect")) == [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]
    assert list(source_index(4, 3, 3, "mirror")) == [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    assert list(source_index(4, 4, 4, "nearest")) == [0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3]
    assert list(source_index(4, 4, 4, "wrap")) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]
    assert list(source_index(4, 4, 4, "constant")) == [-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1]
    # A single pixel: every mode but constant repeats it.
    for mode in PERIODIC:
        assert list(source_index(1, 3, 2, mode)) == [0] * 6


def test_source_index_unknown_mode():
    with pytest.raises(ValueError, match="unknown border mode"):
        source_index(4, 1, 1, "grid-wrap")
    assert set(MODES) == set(BORDERS)


@pytest.mark.parametrize("mode", BORDERS)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_pad_matches_numpy_pad(rng, mode, dtype):
    cval = 42.5
    for h, w in ((1, 1), (2, 3), (5, 4), (7, 9)):
        image = random_image(rng, (h, w, 3), dtype)
        for padding in (((0, 0), (0, 0)), ((1, 2), (2, 1)), ((3, 0), (0, 4)), ((9, 14), (13, 8)), ((30, 1), (2, 25))):
            got = pad(image, padding, mode, cval)
            assert got.dtype == np.float32
            kwargs = {"constant_values": cval} if mode == "constant" else {}
            want = np.pad(image.astype(np.float32), padding + ((0, 0),), mode=NP_PAD_MODE[mode], **kwargs)
            np.testing.assert_array_equal(got, want, err_msg=f"{h}x{w} padding={padding}")


def test_pad_copies(rng):
    image = random_image(rng, (4, 5, 2), "float32")
    got = pad(image, ((0, 0), (0, 0)), "reflect")
    np.testing.assert_array_equal(got, image)
    got[:] = -1
    assert (image >= 0).all()


# --- the numpy.pad oracle (conftest.padded_oracle) is scipy where scipy is right --------------------


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
def test_padded_oracle_is_scipy(rng, border, correlate):
    image = random_image(rng, (9, 8, 2), "float32")
    for shape in ((1, 1), (2, 2), (3, 4), (6, 5), (15, 15)):
        kernel = rng.standard_normal(shape)
        np.testing.assert_allclose(padded_oracle(image, kernel, border, 0.3, correlate),
                                   oracle(image, kernel, border, 0.3, correlate), rtol=0, atol=1e-12)


@pytest.mark.parametrize("correlate", [False, True], ids=["convolve", "correlate"])
@pytest.mark.parametrize("border", BORDERS)
def test_padded_oracle_with_padding_many_times_the_image(rng, border, correlate):
    """For rank-1 kernels scipy's 1D passes are exact even with huge padding: the oracle agrees with them.

    (scipy.ndimage.correlate on the 2D image is not: in 'reflect' mode it returns garbage here.)
    Two 1D passes equal the 2D filter for every periodic mode, and for constant only with cval 0
    (the corners would otherwise see cval filtered once instead of twice).
    """
    op = ndimage.correlate1d if correlate else ndimage.convolve1d
    for h, w in ((4, 3), (2, 5), (1, 1)):
        image = random_image(rng, (h, w), "float32").astype(np.float64)  # scipy keeps the input's dtype
        for k1, k2 in ((40, 3), (31, 31), (32, 17)):
            column, row = rng.standard_normal(k1), rng.standard_normal(k2)
            want = op(op(image, column, axis=0, mode=border), row, axis=1, mode=border)
            got = padded_oracle(image, np.outer(column, row), border, 0.0, correlate)
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(column).sum() * np.abs(row).sum(),
                                       err_msg=f"{h}x{w} image, {k1}x{k2} kernel")
            if border == "constant":  # scipy's 2D constant mode is right with huge padding: non-zero cval
                kernel = np.outer(column, row)
                np.testing.assert_allclose(padded_oracle(image, kernel, border, 0.7, correlate),
                                           oracle(image, kernel, border, 0.7, correlate), rtol=0, atol=1e-9)
