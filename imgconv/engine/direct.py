"""Direct engine: the textbook sliding dot product, O(k1*k2) per pixel, no extra memory.

An interleaved HxWxC image is treated as an H x (W*C) matrix; a tap at column v then reads the row
shifted by v*C, so colour needs no planar copy.  For each output row (rows run in parallel) the taps
are the outer loops and a block of contiguous pixels the inner loop, which LLVM turns into AVX FMAs;
the block is sized to stay in L1 while every tap is added to it (cache blocking).
"""

import numpy as np
from numba import njit, prange

#: Output elements accumulated together per tap sweep: 2048 floats = 8 KiB, well inside L1.
BLOCK = 2048


@njit(parallel=True, fastmath=True, cache=True)
def _correlate(padded, taps, channels, out):
    height, width = out.shape
    k1, k2 = taps.shape
    for i in prange(height):
        row_out = out[i]
        for start in range(0, width, BLOCK):
            n = min(BLOCK, width - start)
            acc = row_out[start : start + n]
            acc[:] = 0.0
            for u in range(k1):
                src_row = padded[i + u]
                for v in range(k2):
                    w = taps[u, v]
                    if w == 0.0:
                        continue
                    src = src_row[start + v * channels : start + v * channels + n]
                    for m in range(n):
                        acc[m] += w * src[m]


def run(padded: np.ndarray, plan, out: np.ndarray) -> None:
    channels = padded.shape[2]
    _correlate(
        padded.reshape(padded.shape[0], -1),
        plan.kernel.taps.astype(np.float32),
        channels,
        out.reshape(out.shape[0], -1),
    )
