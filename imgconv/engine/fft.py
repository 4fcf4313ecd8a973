"""FFT engine: O(log(M*N)) per pixel whatever the kernel size, so it wins for big dense kernels.

Overlap-save in blocks of rows: each block of output rows, with the k1-1 rows above it, is gathered
through the border's index maps (Source.padded_rows: no padded copy of the image), all channels are
transformed together (one batched rfft2 over a C x h x w array), multiplied by the kernel's transform
(computed once per call, reused for every block and channel) and transformed back; the valid part is
kept.  The border is applied by that gather, never by circular wrap: the transform covers the block and
its padding, and the wrapped-around part of the circular convolution lands outside the part we keep.
Transform lengths are 5-smooth (2^a 3^b 5^c), which pocketfft (numpy.fft, float32 in numpy >= 2)
transforms fastest.  Blocks bound the memory (a few MiB per block instead of several times the image)
and keep each transform in cache.  Threads work on alternate blocks (numpy's FFT releases the GIL).
"""

import math

import numpy as np

from ..border import Source
from ..dtypes import store
from .shapes import hwc
from .threads import run_rows

#: The cost model on one thread (benchmarks/fit_planner.py): n*log2(n) units per second of numpy's
#: pocketfft (float32), and seconds per output value of gathering, multiplying and storing.
RATE = 6.77e+08
PER_VALUE = 0
NUMBA = False
THREADED = True


def fast_length(n: int) -> int:
    """Smallest 5-smooth integer (2^a 3^b 5^c) >= n."""
    best = 1 << max(0, (n - 1).bit_length())
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            m = f35
            while m < n:
                m *= 2
            best = min(best, m)
            f35 *= 3
        f5 *= 5
    return best


#: Target transform height of a block (rows, before rounding to a 5-smooth length).
BLOCK_TRANSFORM_ROWS = 64


def block_shape(height: int, width: int, k1: int, k2: int) -> tuple[int, int, int]:
    """(output rows per block, transform rows, transform columns) for an image and kernel."""
    rows = fast_length(min(height + k1 - 1, max(BLOCK_TRANSFORM_ROWS, 4 * (k1 - 1))))
    return rows - (k1 - 1), rows, fast_length(width + k2 - 1)


def why_not(kernel) -> str | None:
    return None  # any kernel


def work(kernel, shape) -> float:
    """n*log2(n) per channel and block, n the transform's size."""
    height, width, channels = hwc(shape)
    k1, k2 = kernel.shape
    step, fh, fw = block_shape(height, width, k1, k2)
    n = fh * fw
    return channels * math.ceil(height / step) * n * math.log2(max(n, 2))


def reason(kernel) -> str:
    return f"{kernel.shape[0]}x{kernel.shape[1]} kernel of rank {kernel.rank} is large enough that the FFT is cheapest"


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or an integer type) from `src` (an imgconv.border.Source)."""
    taps = plan.kernel.taps
    k1, k2 = taps.shape
    height, width, channels = out.shape
    step, fh, fw = block_shape(height, width, k1, k2)
    # Correlation with taps is convolution with the flipped taps.
    kernel_spectrum = np.fft.rfft2(taps[::-1, ::-1].astype(np.float32), s=(fh, fw))

    def blocks(first, end):  # output blocks first .. end-1
        for top in range(first * step, min(height, end * step), step):
            n = min(step, height - top)
            block = np.ascontiguousarray(src.padded_rows(top, n + k1 - 1).transpose(2, 0, 1))  # C x h x w
            spectrum = np.fft.rfft2(block, s=(fh, fw), axes=(-2, -1))
            spectrum *= kernel_spectrum
            full = np.fft.irfft2(spectrum, s=(fh, fw), axes=(-2, -1))
            store(full[:, k1 - 1 : k1 - 1 + n, k2 - 1 : k2 - 1 + width].transpose(1, 2, 0), out[top : top + n])

    run_rows(blocks, -(-height // step), plan.threads)
