"""The planner: which engine runs a kernel on an image, and how -- the one place that compares engines.

It looks at the kernel once (SVD rank and factors, box-ness), asks every registered engine
(imgconv.engine.ENGINES) whether it can run it and what it costs, and picks the cheapest way to get the
result *from where the process stands*: an engine's time includes what it costs to make it ready.

A Numba engine can run two ways (imgconv.engine.loops): its loops compiled ahead of time at install
("aot": ready at once, one thread) or jitted ("jit": several threads, but a process that has not
imported Numba pays NUMBA_IMPORT_SECONDS first, and one that has not loaded the engine's loops
LOOP_LOAD_SECONDS).  So a photo in a fresh process runs ahead of time, while a huge image, or any image
once the process has the jitted loops, runs on every core.  numpy engines (fft, im2col) are always ready.
Each engine's cost model is per thread (see imgconv.engine's docstring), fitted on the reference
machine by benchmarks/fit_planner.py; only the ratios between engines matter for choosing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ImgconvError
from ..kernel import KernelInfo
from . import ENGINES, engine, loops
from .shapes import values
from .threads import cores

#: Seconds a process pays before its first jitted loop runs: import Numba and load the loop's machine
#: code from Numba's cache (measured by benchmarks/bench_startup.py).
NUMBA_IMPORT_SECONDS = 0.30
#: Seconds to load one engine's jitted loops from the cache once Numba is imported.
LOOP_LOAD_SECONDS = 0.03


@dataclass(frozen=True)
class Plan:
    """The engine chosen for one kernel on one image shape, how it runs, and why."""

    algo: str
    kernel: KernelInfo
    reason: str
    estimates: dict = field(default_factory=dict)  # engine -> estimated seconds, for engines that can run
    runner: str = "numpy"  # "aot" (loops built at install), "jit" (Numba, threaded) or "numpy"
    threads: int = 1

    @property
    def rank(self) -> int:
        return self.kernel.rank

    @property
    def factors(self):
        return self.kernel.factors

    def loop(self, entry, image_dtype, result_dtype):
        """The function that runs one of the engine's entry loops for this plan's runner."""
        return loops.function_for(entry, self.runner, image_dtype, result_dtype)

    def describe(self) -> str:
        costs = ", ".join(f"{a} {t * 1e3:.1f} ms" for a, t in sorted(self.estimates.items(), key=lambda x: x[1]))
        how = {"aot": "compiled at install, 1 thread", "jit": f"Numba JIT, {self.threads} thread(s)",
               "numpy": f"numpy, {self.threads} thread(s)"}[self.runner]
        return f"{self.algo} [{how}]: {self.reason} (estimates: {costs})"


def why_not(algo: str, kernel: KernelInfo) -> str | None:
    """None if engine `algo` can run this kernel, else the reason it cannot."""
    return engine(algo).why_not(kernel)


def seconds(algo: str, kernel: KernelInfo, shape) -> float:
    """Estimated seconds for engine `algo` on one thread, on an image of `shape` (H, W[, C])."""
    module = engine(algo)
    return values(shape) * module.PER_VALUE + module.work(kernel, shape) / module.RATE


def ways(algo: str, kernel: KernelInfo, shape, threads: int, runs: int = 1, dtype=None) -> list[tuple[float, str, int]]:
    """(estimated seconds per run, getting ready shared by `runs` runs; runner; threads) for every way
    `algo` can run (on images of `dtype`, if known)."""
    module = engine(algo)
    one = seconds(algo, kernel, shape)
    used = threads if module.THREADED else 1
    if not module.NUMBA:
        return [(one / used, "numpy", used)]
    found = [(one / used + _jit_ready(module, dtype) / runs, "jit", used)]
    if loops.aot_module() is not None:
        found.append((one, "aot", 1))
    return found


def _jit_ready(module, dtype=None) -> float:
    """Seconds before the engine's jitted loops (those that run images of `dtype`, or all) can run in this
    process."""
    code = None if dtype is None else loops.type_code(dtype)
    if all(entry.is_loaded() for entry in loops.entries(module) if code is None or code in entry.images):
        return 0.0
    return LOOP_LOAD_SECONDS + (0.0 if loops.numba_loaded() else NUMBA_IMPORT_SECONDS)


def plan(kernel, image_shape, algo: str = "auto", correlate: bool = False, threads: int | None = None,
         runs: int = 1, dtype=None) -> Plan:
    """Choose the engine for a kernel on an image of a given shape, and how it runs.

    Parameters
    ----------
    kernel : array_like or KernelInfo
        The 2D kernel (a KernelInfo is used as it is, its SVD computed once).
    image_shape : tuple
        (H, W) or (H, W, C).
    algo : str
        "auto" for the cheapest engine, or one of imgconv.ALGORITHMS to force it (an ImgconvError says
        why if it cannot run the kernel).
    correlate : bool
        The kernel is a correlation kernel (not flipped).
    threads : int, optional
        The most threads an engine may use (default: every core this process may run on).
    runs : int
        How many times the caller will run the plan (deconvolution: twice per iteration): getting an
        engine ready is paid once, so it weighs 1/runs in each run's estimate.
    dtype : numpy dtype, optional
        The type of the images the plan will run on, if the caller knows it: an engine is then ready
        once its loops for that type are loaded (e.g. float32 without the uint8 fixed-point loops).

    Returns
    -------
    Plan
        The engine, runner ("aot", "jit" or "numpy"), threads, the reason, and every engine's
        estimated seconds from where the process stands (`describe()` prints them).

    Examples
    --------
    >>> import imgconv
    >>> from imgconv.filters import gaussian_kernel
    >>> imgconv.plan(gaussian_kernel(2.0), (1080, 1920, 3)).algo
    'separable'
    """
    info = kernel if isinstance(kernel, KernelInfo) else KernelInfo(kernel, correlate=correlate)
    if algo != "auto" and algo not in ENGINES:
        raise ImgconvError(f"unknown algorithm {algo!r}; choose from auto, {', '.join(ENGINES)}")
    threads = threads or cores()
    best = {a: min(ways(a, info, image_shape, threads, max(1, runs), dtype))
            for a in ENGINES if why_not(a, info) is None}
    estimates = {a: way[0] for a, way in best.items()}
    if algo != "auto":
        problem = why_not(algo, info)
        if problem:
            raise ImgconvError(f"--algo {algo} cannot run this {info.shape[0]}x{info.shape[1]} kernel: {problem}")
        _, runner, used = best[algo]
        return Plan(algo, info, "forced by --algo", estimates, runner, used)
    algo = min(estimates, key=estimates.get)
    _, runner, used = best[algo]
    return Plan(algo, info, engine(algo).reason(info), estimates, runner, used)


def fused_estimate(plans, image_shape) -> float | None:
    """Seconds for the direct engine to run several same-sized kernels in one pass (None if it cannot)."""
    infos = [p.kernel for p in plans]
    if len(infos) < 2 or len({i.shape for i in infos}) != 1:
        return None
    direct = engine("direct")
    taps = sum(max(1, i.nonzero_taps) for i in infos)
    one = values(image_shape) * (direct.PER_VALUE + taps / direct.RATE)
    return one / plans[0].threads if plans[0].runner == "jit" else one


def should_fuse(plans, image_shape, algo: str = "auto") -> bool:
    """Run these plans' kernels together (direct.run_many, or im2col.run_many when im2col is forced)?
    Yes when every kernel has the same shape and, for auto, one pass is estimated cheaper than the
    separate passes; a forced direct or im2col always shares its pass (same pixels, less work)."""
    if algo == "im2col":
        return len(plans) > 1 and len({p.kernel.shape for p in plans}) == 1
    if algo not in ("auto", "direct"):
        return False
    fused = fused_estimate(plans, image_shape)
    return fused is not None and fused < sum(p.estimates[p.algo] for p in plans)
