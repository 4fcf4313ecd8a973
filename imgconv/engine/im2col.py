"""im2col engine: copy every k1 x k2 patch into a row of a matrix, then one BLAS product with the taps.

The patch matrix is k1*k2 times the image's size, so it is built one block of rows at a time in a
buffer of at most BLOCK_BYTES (64 MiB), from a block of the padded image gathered through the border's
index maps (Source.padded_rows): memory stays bounded by the block whatever the image size, and the
padded image is never built.

With a single kernel the product is a matrix-vector product: memory-bound, 10-75x behind the direct
engine.  im2col earns its place when several kernels share the same patches: `run_many` multiplies the
patch matrix by a k1*k2 x K matrix, one GEMM column per kernel (Sobel x and y together, optionally
with their gradient magnitude), so the patches are built once for all of them.

The product runs on one OpenBLAS thread: it is memory-bound (a GEMV, or a GEMM with a handful of
columns), and OpenBLAS's threads keep spinning on the cores for a while after a threaded call, which
slowed whatever ran next (a Numba engine, or the next file) by up to 2x on this 2-core machine.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..border import Source
from ..dtypes import store
from .shapes import values
from .threads import single_blas_thread

#: The cost model on one thread (benchmarks/fit_planner.py): patch values per second (written, then read
#: by the GEMV), and seconds per output value.
RATE = 5.57e+08
PER_VALUE = 2.02e-08
NUMBA = False
THREADED = False
#: Upper bound on the patch buffer.  Block height = BLOCK_BYTES // (W * C * k1 * k2 * 4), at least 1 row.
BLOCK_BYTES = 64 * 2**20


def why_not(kernel) -> str | None:
    return None  # any kernel


def work(kernel, shape) -> float:
    """Patch values: k1 * k2 per output value."""
    return values(shape) * kernel.shape[0] * kernel.shape[1]


def reason(kernel) -> str:
    return f"{kernel.shape[0]}x{kernel.shape[1]} kernel: im2col + GEMM estimated cheapest"


def block_rows(width: int, channels: int, kernel_shape) -> int:
    """Output rows per block so that the patch buffer stays under BLOCK_BYTES (never fewer than one)."""
    per_row = width * channels * kernel_shape[0] * kernel_shape[1] * 4
    return max(1, BLOCK_BYTES // per_row)


def _products(src: Source, taps_list, height: int):
    """Yield (top, rows, products) where products is (rows*W*C) x K: each kernel's response, block by block."""
    k1, k2 = taps_list[0].shape
    width = len(src.cols) - k2 + 1
    channels = src.image.shape[2]
    weights = np.stack([t.ravel() for t in taps_list], axis=1).astype(np.float32)  # k1*k2 x K
    rows = min(height, block_rows(width, channels, (k1, k2)))
    patches = np.empty((rows * width * channels, k1 * k2), np.float32)
    for top in range(0, height, rows):
        n = min(rows, height - top)
        windows = sliding_window_view(src.padded_rows(top, n + k1 - 1), (k1, k2), axis=(0, 1))  # n x W x C x k1 x k2
        matrix = patches[: n * width * channels]
        matrix.reshape(n, width, channels, k1, k2)[...] = windows
        with single_blas_thread():
            product = matrix @ weights
        yield top, n, product


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or an integer type) from `src` (an imgconv.border.Source)."""
    for top, n, products in _products(src, [plan.kernel.taps], out.shape[0]):
        store(products.reshape(out[top : top + n].shape), out[top : top + n])


def run_many(src: Source, plans, out: np.ndarray, magnitude_scale=None) -> None:
    """Several same-sized kernels as one GEMM (one column each); same contract as direct.run_many."""
    taps_list = [p.kernel.taps for p in plans]
    if len({t.shape for t in taps_list}) != 1:
        raise ValueError("run_many needs kernels of one shape")
    height = out.shape[0] if magnitude_scale is not None else out.shape[1]
    for top, n, products in _products(src, taps_list, height):
        if magnitude_scale is not None:
            value = np.sqrt(np.einsum("ij,ij->i", products, products)) * np.float32(magnitude_scale)
            store(value.reshape(out[top : top + n].shape), out[top : top + n])
        else:
            for k in range(len(plans)):
                store(products[:, k].reshape(out[k, top : top + n].shape), out[k, top : top + n])
