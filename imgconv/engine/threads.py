"""How engines share the cores: row ranges of one image on a thread pool, and BLAS kept to one thread.

Jitted loops release the GIL (imgconv.engine.loops), so `run_rows` gives each of a few threads its own
range of output rows -- several ranges per thread, so that a core busy with something else delays one
small range rather than half the image.  Ahead-of-time loops hold the GIL and run as one call.

OpenBLAS (numpy's SVD in the planner, im2col's product) is limited to one thread around those calls
with threadpoolctl: on this 2-core machine a 49x49 SVD took 21 ms on OpenBLAS's default pool against
0.2 ms on one thread, and its threads, spinning after the call, slowed the engine that ran next by 4x.
"""

from __future__ import annotations

import contextlib
import os

#: Row ranges per thread.
PARTS_PER_THREAD = 2

_pool = None
_pool_size = 0
_blas = None


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def parts(height: int, count: int) -> list[tuple[int, int]]:
    """`height` rows split into at most `count` contiguous (first, end) ranges of near-equal size."""
    count = max(1, min(count, height))
    return [((k * height) // count, ((k + 1) * height) // count) for k in range(count)]


def run_rows(function, height: int, threads: int, *args, align: int = 1) -> None:
    """Call function(first, end, *args) over rows 0..height, on `threads` threads of a shared pool.

    `align`: range boundaries fall on multiples of it (an engine whose blocks restart at fixed rows
    then gives the same result whatever the thread count)."""
    blocks = -(-height // align)
    ranges = [(first * align, min(height, end * align)) for first, end in parts(blocks, threads * PARTS_PER_THREAD)]
    if threads <= 1 or len(ranges) == 1:
        function(0, height, *args)
        return
    for future in [_executor(threads).submit(function, first, end, *args) for first, end in ranges]:
        future.result()


def map_ranges(function, length: int, threads: int, *args) -> list:
    """[function(first, end, *args) for each of PARTS_PER_THREAD * threads ranges of 0..length], run on the
    same pool as the engines' row ranges (results in range order); one call on the caller's thread when
    threads <= 1."""
    ranges = parts(length, threads * PARTS_PER_THREAD) if threads > 1 else [(0, length)]
    if len(ranges) == 1:
        return [function(0, length, *args)]
    return [future.result() for future in [_executor(threads).submit(function, first, end, *args)
                                           for first, end in ranges]]


def _executor(threads: int):
    """The shared pool, grown to `threads` (imported here: a one-thread run never pays for it)."""
    from concurrent.futures import ThreadPoolExecutor

    global _pool, _pool_size
    if _pool_size < threads:
        _pool, _pool_size = ThreadPoolExecutor(threads, thread_name_prefix="imgconv"), threads
    return _pool


@contextlib.contextmanager
def single_blas_thread():
    """Run the block with the BLAS numpy uses on one thread."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()  # finds the loaded BLAS libraries once
    with _blas.limit(limits=1, user_api="blas"):
        yield
