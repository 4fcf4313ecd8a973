"""FFT engine: O(log(M*N)) per pixel whatever the kernel size, so it wins for big dense kernels.

Overlap-save in strips of rows: each strip of output rows, with the k1-1 rows above it, is gathered
through the border's index maps (imgconv.border.Source: no padded copy of the image), all channels are
transformed together (one batched rfft2 over a C x h x w block), multiplied by the kernel's transform
(computed once per call, reused for every strip and channel) and transformed back; the valid part is
kept.  The border is applied by that gather, never by circular wrap: the transform covers the strip and
its padding, and the wrapped-around part of the circular convolution lands outside the part we keep.
Transform lengths are 5-smooth (2^a 3^b 5^c), which pocketfft (numpy.fft, float32 in numpy >= 2)
transforms fastest.  Strips bound the memory (a few MiB per strip instead of several times the image)
and keep each transform in cache.  The two cores work on alternate strips (numpy's FFT releases the GIL).
"""

import numpy as np

from ..border import Source


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


#: Target transform height of a strip (rows, before rounding to a 5-smooth length).
STRIP_TRANSFORM_ROWS = 64


def strip_shape(height: int, width: int, k1: int, k2: int) -> tuple[int, int, int]:
    """(output rows per strip, transform rows, transform columns) for an image and kernel."""
    rows = fast_length(min(height + k1 - 1, max(STRIP_TRANSFORM_ROWS, 4 * (k1 - 1))))
    return rows - (k1 - 1), rows, fast_length(width + k2 - 1)


def run(src: Source, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC, float32 or an integer type) from `src` (an imgconv.border.Source)."""
    taps = plan.kernel.taps
    k1, k2 = taps.shape
    height, width, channels = out.shape
    step, fh, fw = strip_shape(height, width, k1, k2)
    # Correlation with taps is convolution with the flipped taps.
    kernel_spectrum = np.fft.rfft2(taps[::-1, ::-1].astype(np.float32), s=(fh, fw))
    col_index = np.maximum(src.cols, 0)
    constant_cols = src.cols < 0
    tops = range(0, height, step)

    def strip(top):
        n = min(step, height - top)
        rows = src.rows[top : top + n + k1 - 1]
        block = src.image[np.maximum(rows, 0)][:, col_index]  # (n + k1 - 1) x W' x C, the padded strip
        block = np.ascontiguousarray(block.transpose(2, 0, 1), np.float32)  # C x h x w
        block[:, rows < 0, :] = src.cval
        block[:, :, constant_cols] = src.cval
        spectrum = np.fft.rfft2(block, s=(fh, fw), axes=(-2, -1))
        spectrum *= kernel_spectrum
        full = np.fft.irfft2(spectrum, s=(fh, fw), axes=(-2, -1))
        _store(full[:, k1 - 1 : k1 - 1 + n, k2 - 1 : k2 - 1 + width].transpose(1, 2, 0), out[top : top + n])

    threads = _threads()
    if threads > 1 and len(tops) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(strip, tops))
    else:
        for top in tops:
            strip(top)


def _threads() -> int:
    """Numba's thread count if Numba is loaded (so --threads applies here too), else the CPU count."""
    import os
    import sys

    numba = sys.modules.get("numba")
    if numba is not None:
        return numba.get_num_threads()
    return os.cpu_count() or 1


def _store(values, out):
    if out.dtype.kind in "ui":
        info = np.iinfo(out.dtype)
        values = np.clip(np.rint(values), info.min, info.max)
    out[...] = values
