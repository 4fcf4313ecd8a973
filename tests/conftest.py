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
    """float32 tolerance: a few ulps of the largest partial sum the convolution can form."""
    return 1e-6 * float(np.abs(kernel).sum()) * max(1.0, float(np.abs(image).max())) * 8


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
