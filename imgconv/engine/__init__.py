"""The convolution engines, one module per algorithm, and the registry that lists them once.

An engine module declares everything the rest of imgconv needs to know about it:

    why_not(kernel) -> str | None     None if it can run this KernelInfo, else the reason it cannot
    work(kernel, shape) -> float      the arithmetic it does on an image of `shape` (in RATE's unit)
    reason(kernel) -> str             why auto picked it, for --verbose
    RATE, PER_VALUE                   its cost model on one thread: seconds = values * PER_VALUE
                                      + work / RATE  (fitted by benchmarks/fit_planner.py)
    NUMBA                             True if it runs Numba loops (ahead of time or jitted), False if numpy
    THREADED                          True if it splits one image between threads
    run(src, plan, out)               fill `out` (H x W x C) with the valid correlation of the padded
                                      image `src` (an imgconv.border.Source) with plan.kernel.taps
    run_many(src, plans, out, magnitude_scale=None)   optional: several same-sized kernels in one pass
    ROW_GROUP                         optional: it sums output rows in groups of this many, in an order
                                      that depends on a row's place in its group (default 1)

and, for a Numba engine, its entry loops (imgconv.engine.loops): setup.py compiles them ahead of time
and `imgconv warmup` compiles their jitted versions.  The planner (planner.py), `--algo`, warm-up, the
planner fit and the engine tests all read ENGINES; adding an engine is one module plus one name here.

Modules are imported on first use; importing one never imports Numba.
"""

from __future__ import annotations

import importlib
import math

#: The registry: every engine, in the order ties are broken.
ENGINES = ("separable", "direct", "sat", "spans", "fft", "im2col")

#: The names users see (imgconv.ALGORITHMS, --algo).
ALGORITHMS = ENGINES


def engine(name: str):
    """The engine module called `name` (one of ENGINES)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def row_group() -> int:
    """Rows a band of output rows must start on a multiple of to get the whole image's bits on every engine
    (imgconv.bands): the least common multiple of the engines' ROW_GROUPs."""
    return math.lcm(*(getattr(engine(name), "ROW_GROUP", 1) for name in ENGINES))
