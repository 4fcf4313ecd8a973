"""Thread pools that share the cores: Numba's (the engines) and OpenBLAS's (numpy's SVD, im2col's product).

On this 2-core machine a 49x49 SVD (the planner's rank test) took 21 ms with OpenBLAS's default thread
pool against 0.2 ms on one thread, and OpenBLAS's threads, spinning for a while after the call, then took
the cores from the Numba engine that ran next (a sigma-8 blur 4x slower).  The planner therefore does its
small linear algebra under `single_blas_thread()`, which sets OpenBLAS to one thread for the block and
restores the caller's setting after (numpy exposes no API for it; this is what threadpoolctl does).
Batch workers are sized elsewhere (imgconv.batch) so that processes x Numba threads <= cores.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools


@functools.lru_cache(maxsize=None)
def _openblas():
    """(get_num_threads, set_num_threads) of the OpenBLAS numpy loaded, or None if not found."""
    try:
        import numpy  # noqa: F401  (makes sure its BLAS is loaded)

        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "64_"),
                               ("openblas_", "")):
            get = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


@contextlib.contextmanager
def single_blas_thread():
    """Run the block with OpenBLAS on one thread (a no-op where OpenBLAS is not found)."""
    fns = _openblas()
    if fns is None:
        yield
        return
    get, put = fns
    before = get()
    if before == 1:
        yield
        return
    put(1)
    try:
        yield
    finally:
        put(before)
