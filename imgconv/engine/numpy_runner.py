"""numpy implementations of the direct, separable and sat engines, for a process that has not loaded Numba.

Loading Numba and its cached machine code costs about 0.4 s of a one-shot `imgconv blur photo.png`
(import numba, its registries, the cache) -- several times the filter itself on a photo.  So the
planner (plan(): Plan.runner) gives a kernel to these numpy versions when Numba is not loaded yet and
numpy's estimated time is below Numba's estimate plus that load; once Numba is loaded (any Numba engine
ran, a batch preloaded it, or --algo forced an engine) the Numba engines are always used.

Same contract as the engines (`run(source, plan, out)`), same pixels to float32 rounding: the padded
image is materialised (Source.materialize, border handling stays in imgconv.border), then each tap is a
whole-array multiply-add on a shifted view (float32, in place, no temporaries beyond one image).
"""

from __future__ import annotations

import numpy as np

from ..border import Source


def _axpy(acc, weight, view, tmp, first):
    if first:
        np.multiply(view, np.float32(weight), out=acc)
    else:
        np.multiply(view, np.float32(weight), out=tmp)
        acc += tmp


def _store(values, out):
    if out.dtype.kind in "ui":
        info = np.iinfo(out.dtype)
        np.rint(values, out=values)
        np.clip(values, info.min, info.max, out=values)
    out[...] = values


def run(src: Source, plan, out: np.ndarray) -> None:
    padded = src.materialize()
    height, width = out.shape[:2]
    k1, k2 = plan.kernel.shape
    result = np.empty((height, width, out.shape[2]), np.float32)
    if plan.algo == "separable":
        columns, rows = plan.factors
        column = np.empty((height, padded.shape[1], out.shape[2]), np.float32)
        tmp_c = np.empty_like(column)
        tmp = np.empty_like(result)
        for t in range(columns.shape[0]):
            for u in range(k1):
                _axpy(column, columns[t, u], padded[u : u + height], tmp_c, u == 0)
            for v in range(k2):
                _axpy(result, rows[t, v], column[:, v : v + width], tmp, t == 0 and v == 0)
    elif plan.algo == "sat":
        # Box sum from a float64 summed-area table (exact enough: float64 on images of any size).
        table = np.zeros((padded.shape[0] + 1, padded.shape[1] + 1, padded.shape[2]), np.float64)
        np.cumsum(padded, axis=0, out=table[1:, 1:])
        np.cumsum(table[1:, 1:], axis=1, out=table[1:, 1:])
        box = table[k1:, k2:] - table[:-k1, k2:] - table[k1:, :-k2] + table[:-k1, :-k2]
        np.multiply(box, plan.kernel.taps.flat[0], out=result, casting="unsafe")
    else:  # direct
        tmp = np.empty_like(result)
        taps = plan.kernel.taps
        first = True
        for (u, v), w in np.ndenumerate(taps):
            if w != 0:
                _axpy(result, w, padded[u : u + height, v : v + width], tmp, first)
                first = False
        if first:
            result[...] = 0
    _store(result, out)
