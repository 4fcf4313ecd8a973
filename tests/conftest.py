"""Shared test helpers: the scipy.ndimage oracle every engine is checked against."""

import numpy as np
import pytest
from scipy import ndimage

BORDERS = ("reflect", "mirror", "nearest", "wrap", "constant")
SAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "samples"


def oracle(image, kernel, border="reflect", cval=0.0, correlate=False):
    """scipy.ndimage.convolve/correlate per channel, in float64: the reference imgconv must match."""
    op = ndimage.correlate if correlate else ndimage.convolve
    image = np.asarray(image, np.float64)
    if image.ndim == 2:
        return op(image, kernel, mode=border, cval=cval)
    return np.stack([op(image[..., c], kernel, mode=border, cval=cval) for c in range(image.shape[2])], axis=-1)


def tolerance(image, kernel):
    """float32 tolerance: a few ulps of the largest partial sum the convolution can form.

    imgconv pads and accumulates in float32 (unit roundoff u = 2**-24 ~ 6e-8), the oracle in float64.
    The largest value any partial sum can reach is sum|kernel| * max|image|, so every output may be off
    by a few ulps of that: 8e-6 * sum|kernel| * max|image| (max|image| floored at 1) is about 130 u,
    room for the ~sqrt(taps) u a float32 dot product of up to 15x15 taps accumulates (and for the
    FFT's O(log n) u).  It is absolute, not relative to each output, because cancellation in a
    zero-sum kernel (Sobel, Laplacian) leaves outputs near 0 whose rounding error is still that of
    the partial sums.  Much bigger kernels (hundreds of taps) need `tolerance(...) * taps / 128`:
    the worst-case float32 summation error grows linearly with the number of taps.
"""
    return 1e-6 * float(np.abs(kernel).sum()) * max(1.0, float(np.abs(image).max())) * 8


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --- helpers for the core correctness tests (engines, border, kernel) -----------------------------

#: scipy.ndimage mode -> numpy.pad mode for the same extension.
NP_PAD_MODE = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap", "constant": "constant"}

#: Image layouts: grey HxW, RGB HxWx3, RGBA HxWx4.
LAYOUTS = {"grey": (), "rgb": (3,), "rgba": (4,)}

#: Input dtypes and the value of white in each.
DTYPES = {"uint8": (np.uint8, 255), "uint16": (np.uint16, 65535), "float32": (np.float32, 1.0)}


def random_image(rng, shape, dtype="float32"):
    """A random image of `shape` covering the dtype's full range (0..255, 0..65535 or 0..1)."""
    kind, full = DTYPES[dtype]
    if kind is np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, full + 1, shape, dtype=kind)


def low_rank_kernel(rng, shape, rank):
    """A random kernel that is the sum of `rank` outer products of random vectors: rank exactly `rank`."""
    columns = rng.standard_normal((rank, shape[0]))
    rows = rng.standard_normal((rank, shape[1]))
    return sum(np.outer(c, r) for c, r in zip(columns, rows))


def runs_kernel(rng, shape):
    """A random kernel whose every row holds a run of at least three equal taps (what the spans engine
    runs as running sums), among random single taps; shape[1] >= 3."""
    kernel = rng.standard_normal(shape)
    for row in kernel:
        length = rng.integers(3, shape[1] + 1)
        first = rng.integers(0, shape[1] - length + 1)
        row[first : first + length] = rng.standard_normal()
    return kernel


def padded_oracle(image, kernel, border="reflect", cval=0.0, correlate=False):
    """The oracle rebuilt from numpy.pad and an explicit float64 sliding dot product, per channel.

    Needed because scipy.ndimage.correlate/convolve on 2D arrays (NI_InitFilterOffsets) goes wrong in
    'reflect' mode once the kernel is about 8x the image along an axis (garbage values, even NaN),
    while scipy's 1D filters and numpy.pad repeat the pattern correctly.  tests/test_border.py checks
    this oracle against scipy where scipy is right, including 1D passes with very wide padding.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    kernel = np.asarray(kernel, np.float64)
    taps = kernel if correlate else kernel[::-1, ::-1]
    # scipy's origin: centre k // 2 for correlate; convolve flips, so an even kernel's centre moves by one.
    pads = [((k // 2) if correlate else (k - 1) // 2, 0) for k in kernel.shape]
    pads = [(b, k - 1 - b) for (b, _), k in zip(pads, kernel.shape)]
    image = np.asarray(image, np.float64)
    planes = image if image.ndim == 3 else image[:, :, np.newaxis]
    outs = []
    for c in range(planes.shape[2]):
        plane = planes[:, :, c]
        if border == "constant":
            padded = np.pad(plane, pads, mode="constant", constant_values=cval)
        else:
            padded = np.pad(plane, pads, mode=NP_PAD_MODE[border])
        outs.append(np.einsum("ijkl,kl->ij", sliding_window_view(padded, taps.shape), taps))
    out = np.stack(outs, axis=-1)
    return out if image.ndim == 3 else out[:, :, 0]
