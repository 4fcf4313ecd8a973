"""Numba compilation, ahead of time or announced: `imgconv warmup`, and the "compiling..." spinner.

The Numba engines (direct, separable, sat) are compiled for this machine's CPU the first time they run
with a given input and output type, and the machine code is cached on disk (`cache=True`, in
imgconv/engine/__pycache__ or NUMBA_CACHE_DIR), so every later process loads it in milliseconds.  A cold
compilation takes several seconds per engine and type here, so:

  * `imgconv warmup` (warmup()) compiles every engine for uint8 and float32 images, float32 and uint8
    results, in two processes at once, with a spinner and a table of what it did;
  * the CLI installs announce() as imgconv.engine's compile notice: when a run is about to compile an
    engine (is_cold()), a rich spinner says so instead of the command seeming to hang.
fft and im2col are numpy only and never compile.
"""

from __future__ import annotations

import contextlib
import time

#: Engines that Numba compiles: module -> its parallel entry point (whose cache index we inspect).
JITTED = {"direct": "_direct", "separable": "_separable", "sat": "_box"}
#: (image type, result type) pairs warmup() compiles: what the CLI (float32 results) and the library's
#: uint8 fast path (convolve(..., dtype=numpy.uint8)) use.
TYPES = (("uint8", "float32"), ("float32", "float32"), ("uint8", "uint8"), ("float32", "uint8"))


def _dispatcher(algo: str):
    import importlib

    if algo == "luma":
        return importlib.import_module("imgconv.engine.pointwise")._luma
    return getattr(importlib.import_module(f"imgconv.engine.{algo}"), JITTED[algo])


def is_cold(algo: str, image_dtype, out_dtype) -> bool:
    """Will running `algo` on an image of `image_dtype` into `out_dtype` compile first?  (False if unsure.)"""
    if algo not in JITTED and algo != "luma":
        return False
    import numpy as np

    dispatcher = _dispatcher(algo)
    want_in, want_out = np.dtype(image_dtype).name, np.dtype(out_dtype).name
    for sig in dispatcher.signatures:  # already compiled or loaded in this process
        if _matches(sig, want_in, want_out):
            return False
    try:
        index = dispatcher._cache._cache_file._load_index()  # Numba's on-disk cache index (private API)
    except Exception:
        return False
    return not any(_matches(key[0], want_in, want_out) for key in index)


def _matches(sig, image_dtype: str, out_dtype: str) -> bool:
    return str(sig[0]).startswith(f"array({image_dtype},") and str(sig[-1]).startswith(f"array({out_dtype},")
    # (for luma the first argument is the image and the last the float32 grey plane: the same test)


def compile_engine(algo: str, image_dtype: str, out_dtype: str) -> float:
    """Compile (or load from the cache) one engine for one pair of types; seconds taken."""
    import numpy as np

    from .convolution import convolve
    from .filters import box_kernel, gaussian_kernel, sharpen_kernel

    kernel = {"direct": sharpen_kernel(1.0), "separable": gaussian_kernel(1.0), "sat": box_kernel(3)}[algo]
    image = np.zeros((8, 8, 3), image_dtype)
    start = time.perf_counter()
    convolve(image, kernel, algo=algo, dtype=np.dtype(out_dtype))  # (direct's fused pass is the same function)
    return time.perf_counter() - start


def compile_luma() -> float:
    """The grey filters' luminance kernel (engine/pointwise.py) for uint8 and float32, RGB and RGBA views."""
    import numpy as np

    from .engine.pointwise import luma

    start = time.perf_counter()
    for dtype in (np.uint8, np.float32):
        image = np.zeros((4, 4, 4), dtype)
        luma(np.ascontiguousarray(image[..., :3]), (0.299, 0.587, 0.114))
        luma(image[..., :3], (0.299, 0.587, 0.114))
    return time.perf_counter() - start


def _compile_many(jobs):
    return [(algo, i, o, compile_luma() if algo == "luma" else compile_engine(algo, i, o)) for algo, i, o in jobs]


#: What the CLI's filters use (uint8 or float32 images, float32 results).
CLI_TYPES = TYPES[:2]


def precompile(console=None) -> None:
    """Before a batch runs in worker processes: compile what they will use, once, here (with a spinner),
    instead of in every worker at the same time."""
    if any(is_cold(algo, i, o) for algo in JITTED for i, o in CLI_TYPES):
        warmup(console, types=CLI_TYPES)


def warmup(console=None, processes: int = 2, types=TYPES) -> list[tuple[str, str, str, float, bool]]:
    """Compile every Numba engine for `types`; returns (engine, image type, result type, seconds, was_cold)."""
    from concurrent.futures import ProcessPoolExecutor

    from rich.console import Console

    console = console or Console(stderr=True)
    jobs = [(algo, i, o) for algo in JITTED for i, o in types]
    cold = {job: is_cold(*job) for job in jobs}
    todo = [job for job in jobs if cold[job]]
    results = {}
    if todo:
        with console.status(f"Compiling {len(todo)} engine variant(s) for this CPU "
                            f"(once; cached in imgconv/engine/__pycache__)...", spinner="dots"):
            if processes > 1 and len(todo) > 1:
                import multiprocessing

                shares = [todo[k::processes] for k in range(processes)]
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
                    for batch in pool.map(_compile_many, [s for s in shares if s]):
                        for algo, i, o, seconds in batch:
                            results[(algo, i, o)] = seconds
            for job in todo:  # load them here too (and compile any a worker could not)
                if job not in results or is_cold(*job):
                    results[job] = compile_engine(*job)
    for job in jobs:
        if job not in results:
            results[job] = compile_engine(*job)  # loading from the cache: milliseconds
    rows = [(a, i, o, results[(a, i, o)], cold[(a, i, o)]) for a, i, o in jobs]
    luma_cold = any(is_cold("luma", t, "float32") for t in ("uint8", "float32"))
    with console.status("Compiling the luminance kernel...", spinner="dots") if luma_cold else contextlib.nullcontext():
        rows.append(("luma (grey filters)", "uint8, float32", "float32", compile_luma(), luma_cold))
    return rows


def render(rows, console) -> None:
    from rich.table import Table

    table = Table("engine", "image", "result", "seconds", "status", title="imgconv warmup")
    for algo, i, o, seconds, was_cold in rows:
        table.add_row(algo, i, o, f"{seconds:.2f}", "[yellow]compiled[/]" if was_cold else "[green]cached[/]")
    console.print(table)


@contextlib.contextmanager
def _spinner(console, algo):
    with console.status(f"Compiling the {algo} engine for this CPU (first run only; "
                        f"`imgconv warmup` does this ahead of time)...", spinner="dots"):
        yield


def _registries_loaded() -> bool:
    try:
        from numba.core.registry import cpu_target

        return bool(cpu_target.target_context._registries)  # private: True once refresh() has run
    except Exception:
        return False


def skip_numba_blas_probe() -> None:
    """The first time Numba compiles or loads a function it imports its numpy registries, and one of them
    probes for a BLAS by importing scipy.linalg when scipy is installed: 0.35 s of a ~1 s command here.
    The engines call no BLAS from jitted code, so the CLI loads Numba's registries now with that import
    made to fail at once (a None entry in sys.modules), then removes the entry again: nothing else in
    the process is affected.  Never done by the library."""
    import sys

    key = "scipy.linalg.cython_blas"
    if key in sys.modules or _registries_loaded():
        return
    sys.modules[key] = None
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    except Exception:  # an internal API that moved: the probe simply happens later, as usual
        pass
    finally:
        if key in sys.modules and sys.modules[key] is None:
            del sys.modules[key]


def announce(console=None, preload: bool = False):
    """Install the compile notice: a spinner whenever a run is about to compile an engine (CLI only).

    With `preload` (a batch of several files in this process) Numba is loaded now, so every file runs
    on the Numba engines; otherwise it is loaded only if the planner picks a Numba engine (a single
    small image may run on numpy, see imgconv.engine.numpy_runner).  Either way Numba's registries are
    loaded without the scipy BLAS probe (skip_numba_blas_probe)."""
    from rich.console import Console

    from . import engine

    console = console or Console(stderr=True)
    if preload:
        skip_numba_blas_probe()
    else:
        engine.numpy_runner_allowed = True  # one file: numpy may beat loading Numba (planner.plan)

    def notice(algo, image_dtype, out_dtype):
        if algo not in JITTED:
            return contextlib.nullcontext()
        skip_numba_blas_probe()
        if is_cold(algo, image_dtype, out_dtype):
            return _spinner(console, algo)
        return contextlib.nullcontext()

    engine.compile_notice = notice
