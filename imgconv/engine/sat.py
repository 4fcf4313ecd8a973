"""Summed-area engine for box kernels: O(1) per pixel whatever the box size (a 301x301 box costs what a
3x3 does).

A box sum is a difference of summed areas.  Rather than store the whole integral image (float64, twice
the image), each strip of rows keeps the summed column totals of the current k1 rows, updated by adding
the row entering the box and subtracting the row leaving it; a running prefix sum along that row gives
each output as a difference of two prefix values.  All sums are float64, so the running updates lose
nothing measurable even on huge images.
"""

import numpy as np
from numba import get_num_threads, njit, prange

STRIPS_PER_THREAD = 4


@njit(parallel=True, cache=True)
def _box(padded, k1, k2, channels, scale, strips, out):
    height, width = out.shape
    padded_width = padded.shape[1]
    span = k2 * channels
    for s in prange(strips):
        first = (s * height) // strips
        last = ((s + 1) * height) // strips
        if first >= last:
            continue
        column_sum = np.zeros(padded_width, np.float64)
        prefix = np.empty(padded_width + channels, np.float64)
        for u in range(k1):
            src = padded[first + u]
            for m in range(padded_width):
                column_sum[m] += src[m]
        for i in range(first, last):
            if i > first:
                enter = padded[i + k1 - 1]
                leave = padded[i - 1]
                for m in range(padded_width):
                    column_sum[m] += np.float64(enter[m]) - np.float64(leave[m])
            # prefix[m + C] = sum of column_sum[m], column_sum[m - C], ... (one prefix per channel)
            for m in range(channels):
                prefix[m] = 0.0
            for m in range(padded_width):
                prefix[m + channels] = prefix[m] + column_sum[m]
            row_out = out[i]
            for m in range(width):
                row_out[m] = (prefix[m + span] - prefix[m]) * scale


def run(padded: np.ndarray, plan, out: np.ndarray) -> None:
    taps = plan.kernel.taps
    height = out.shape[0]
    _box(
        padded.reshape(padded.shape[0], -1),
        taps.shape[0],
        taps.shape[1],
        padded.shape[2],
        float(taps.flat[0]),
        max(1, min(height, get_num_threads() * STRIPS_PER_THREAD)),
        out.reshape(height, -1),
    )
