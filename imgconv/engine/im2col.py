"""im2col engine: copy every k1 x k2 patch into a row of a matrix, then one BLAS product with the taps.

The patch matrix is k1*k2 times the image's size, so it is built one strip of rows at a time in a
buffer of at most STRIP_BYTES (64 MiB): memory stays bounded whatever the image size.  With a single
kernel the product is a matrix-vector product and memory-bound; im2col pays off when several kernels
share the same patches (one GEMM column per kernel).
"""

import numpy as np

from ..border import Source
from numpy.lib.stride_tricks import sliding_window_view

#: Upper bound on the patch buffer.  Strip height = STRIP_BYTES // (W * C * k1 * k2 * 4), at least 1 row.
STRIP_BYTES = 64 * 2**20


def strip_rows(width: int, channels: int, kernel_shape) -> int:
    """Output rows per strip so that the patch buffer stays under STRIP_BYTES (never fewer than one)."""
    per_row = width * channels * kernel_shape[0] * kernel_shape[1] * 4
    return max(1, STRIP_BYTES // per_row)


def run(padded, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC) from `padded` (a Source, materialised here, or a padded float32 array)."""
    if isinstance(padded, Source):
        padded = padded.materialize()
    if out.dtype != np.float32:
        result = np.empty(out.shape, np.float32)
        run(padded, plan, result)
        info = np.iinfo(out.dtype)
        out[...] = np.clip(np.rint(result), info.min, info.max)
        return
    taps = plan.kernel.taps
    k1, k2 = taps.shape
    height, width, channels = out.shape
    windows = sliding_window_view(padded, (k1, k2), axis=(0, 1))  # H x W x C x k1 x k2, a view
    rows = min(height, strip_rows(width, channels, taps.shape))
    patches = np.empty((rows * width * channels, k1 * k2), np.float32)
    vector = taps.ravel().astype(np.float32)
    for top in range(0, height, rows):
        n = min(rows, height - top)
        matrix = patches[: n * width * channels]
        matrix.reshape(n, width, channels, k1, k2)[...] = windows[top : top + n]
        np.dot(matrix, vector, out=out[top : top + n].reshape(-1))
