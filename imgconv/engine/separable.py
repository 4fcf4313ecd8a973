"""Separable engine: a rank-r kernel as r pairs of 1D passes, O(r*(k1+k2)) per pixel instead of k1*k2.

The SVD (see KernelInfo.factors) writes the taps as sum_t outer(column_t, row_t).  For each output row,
the column pass combines k1 input rows into one row buffer and the row pass slides the row factor
along it, so the intermediate image never exists in full: each strip of rows keeps one buffer, and the
input rows it reads are still in cache from the row before.
"""

import numpy as np
from numba import get_num_threads, njit, prange

#: Strips per thread: more than one evens out the load when rows cost different amounts.
STRIPS_PER_THREAD = 4


@njit(parallel=True, fastmath=True, cache=True)
def _separable(padded, columns, rows, channels, strips, out):
    height, width = out.shape
    rank, k1 = columns.shape
    k2 = rows.shape[1]
    padded_width = padded.shape[1]
    for s in prange(strips):
        buffer = np.empty(padded_width, np.float32)
        for i in range((s * height) // strips, ((s + 1) * height) // strips):
            row_out = out[i]
            row_out[:] = 0.0
            for t in range(rank):
                buffer[:] = 0.0
                for u in range(k1):
                    w = columns[t, u]
                    src = padded[i + u]
                    for m in range(padded_width):
                        buffer[m] += w * src[m]
                for v in range(k2):
                    w = rows[t, v]
                    seg = buffer[v * channels : v * channels + width]
                    for m in range(width):
                        row_out[m] += w * seg[m]


def run(padded: np.ndarray, plan, out: np.ndarray) -> None:
    columns, rows = plan.factors
    height = out.shape[0]
    _separable(
        padded.reshape(padded.shape[0], -1),
        np.ascontiguousarray(columns, np.float32),
        np.ascontiguousarray(rows, np.float32),
        padded.shape[2],
        max(1, min(height, get_num_threads() * STRIPS_PER_THREAD)),
        out.reshape(height, -1),
    )
