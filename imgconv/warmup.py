"""`imgconv warmup`: compile the engines' jitted loops for this CPU now, instead of on first use.

The loops `pip install` compiled ahead of time (imgconv._loops) need nothing.  The jitted versions --
what runs an image on several threads, and everything where no C compiler was there at install --
compile the first time they run with a given pair of image and result types, then load from Numba's
on-disk cache in milliseconds.  warmup() compiles every entry loop for every such pair, in two
processes at once.
"""

from __future__ import annotations

import time

#: (image type, result type) pairs compiled: what the engines run (imgconv.engine.loops).
TYPES = (("uint8", "float32"), ("float32", "float32"), ("uint8", "uint8"), ("float32", "uint8"))


def _compile(job) -> tuple:
    """Compile one engine's jitted loop for one pair of types (in a worker process); seconds taken."""
    import dataclasses

    import numpy as np

    from .convolution import run_plan
    from .engine import engine
    from .engine.planner import plan
    from .filters import box_kernel, gaussian_kernel, sharpen_kernel
    from .kernel import KernelInfo

    algo, image_type, result_type = job
    start = time.perf_counter()
    if algo == "luma":
        from .engine.pointwise import luma

        luma(np.zeros((4, 4, 4), image_type)[..., :3], (0.299, 0.587, 0.114), runner="jit")
    elif algo == "srgb":  # linear light encoded back to sRGB (imgconv.srgb)
        from .engine.pointwise import encode

        encode(np.zeros((4, 4, 3), np.float32), np.linspace(0, 1, 5, dtype=np.float32), 1.0, runner="jit")
    else:
        # the first of a few kernels this engine can run (every engine of the registry runs one of them)
        kernel = next(k for k in (sharpen_kernel(1.0), gaussian_kernel(1.0), box_kernel(9))
                      if engine(algo).why_not(KernelInfo(k)) is None)
        chosen = dataclasses.replace(plan(kernel, (16, 16, 3), algo=algo), runner="jit", threads=1)
        run_plan(chosen, np.zeros((16, 16, 3), image_type), dtype=np.dtype(result_type))
    return job, time.perf_counter() - start


def jobs() -> list[tuple[str, str, str]]:
    from .engine import ENGINES, engine

    numba = [name for name in ENGINES if engine(name).NUMBA]
    return ([(a, i, r) for a in numba for i, r in TYPES] + [("luma", t, "float32") for t in ("uint8", "float32")]
            + [("srgb", "float32", "float32")])


def warmup(processes: int = 2) -> list[tuple[str, str, str, float]]:
    """Compile (or load from the cache) every jitted loop; (engine, image type, result type, seconds)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [(*job, seconds) for job, seconds in pool.map(_compile, jobs())]


def render(rows, console) -> None:
    from rich.table import Table

    table = Table("engine", "image", "result", "seconds", title="imgconv warmup")
    for algo, image_type, result_type, seconds in rows:
        table.add_row(algo, image_type, result_type, f"{seconds:.2f}")
    console.print(table)
