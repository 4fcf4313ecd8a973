"""The planner: the one place that knows every engine, what it can run and what it costs.

It looks at the kernel once (SVD rank and factors, box-ness), estimates each engine's time on the
image from a cost model, and picks the cheapest -- or checks that a forced `algo` can run the kernel.
The model is operations and bytes moved, divided by rates measured on the reference machine
(2 cores, AVX2; see benchmarks/fit_planner.py); only the ratios between engines matter for choosing.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from ..errors import ImgconvError
from ..kernel import KernelInfo
from . import ALGORITHMS
from .threads import single_blas_thread

#: Largest rank the separable engine runs (r column/row pass pairs); beyond it direct or FFT win.
MAX_SEPARABLE_RANK = 4

# The cost model, fitted on the reference machine (2 cores, AVX2/AVX-512, 4K and 1080p images, both
# threads) by `python benchmarks/fit_planner.py`, which times every engine on a grid of kernels and fits
# seconds = values * PER_VALUE[algo] + work / RATES[algo] by non-negative least squares per engine
# (values = H*W*C; work as in `work()`).  PER_VALUE is the memory traffic and per-pixel bookkeeping,
# RATES the arithmetic throughput.  Only the ratios between engines matter for choosing.
RATES = {
    "direct": 6.85e+10,  # multiply-adds per second (non-zero taps), register-blocked AVX loop
    "separable": 7.74e+10,  # multiply-adds per second of the column + row passes
    "sat": 2.5e+10,  # output values per second from the running box sums
    "fft": 7.72e+09,  # n*log2(n) units per second (numpy's pocketfft, float32, strips on both cores)
    "im2col": 1.64e+09,  # patch values per second (written, then read by the GEMV)
}
PER_VALUE = {
    "direct": 3.37e-10,
    "separable": 4.57e-10,
    "sat": 4.24e-10,
    "fft": 5.86e-09,
    "im2col": 8.72e-09,
}

#: Engines Numba compiles; in a process that has not imported Numba yet, running one first costs
#: NUMBA_LOAD_SECONDS (import numba, its registries, the cached machine code; measured by
#: benchmarks/bench_startup.py), so in a one-file CLI run (imgconv.engine.numpy_runner_allowed) auto
#: may run their numpy versions instead (engine/numpy_runner.py).
NUMBA_ENGINES = ("direct", "separable", "sat")
NUMBA_LOAD_SECONDS = 0.45
#: numpy_runner: seconds per value per whole-array pass (a float32 multiply or add, in place).
NUMPY_PASS_SECONDS = 0.35e-9


@dataclass(frozen=True)
class Plan:
    """The engine chosen for one kernel on one image shape, and why."""

    algo: str
    kernel: KernelInfo
    reason: str
    estimates: dict = field(default_factory=dict)  # algo -> estimated seconds, for engines that can run
    runner: str = "numba"  # "numpy": run by engine/numpy_runner.py (Numba not loaded, not worth loading)

    @property
    def rank(self) -> int:
        return self.kernel.rank

    @property
    def factors(self):
        return self.kernel.factors

    def describe(self) -> str:
        costs = ", ".join(f"{a} {t * 1e3:.1f} ms" for a, t in sorted(self.estimates.items(), key=lambda x: x[1]))
        runner = " [numpy: Numba not loaded, and loading it costs more than this run]" if self.runner == "numpy" else ""
        return f"{self.algo}{runner}: {self.reason} (estimates: {costs})"


def why_not(algo: str, kernel: KernelInfo) -> str | None:
    """None if `algo` can run this kernel, else the reason it cannot."""
    if algo == "separable" and not 1 <= kernel.rank <= MAX_SEPARABLE_RANK:
        return f"the kernel has rank {kernel.rank}; separable runs rank 1 to {MAX_SEPARABLE_RANK}"
    if algo == "sat" and not kernel.is_box:
        return "sat runs only box kernels (all taps equal)"
    return None


def work(algo: str, kernel: KernelInfo, shape) -> float:
    """The arithmetic an engine does on an image of `shape` (H, W[, C]), in its RATES unit."""
    height, width = shape[:2]
    channels = shape[2] if len(shape) > 2 else 1
    k1, k2 = kernel.shape
    values = height * width * channels
    if algo == "direct":
        return values * max(1, kernel.nonzero_taps)
    if algo == "separable":
        return values * max(1, kernel.rank) * (k1 + k2)
    if algo == "sat":
        return values
    if algo == "fft":
        from .fft import strip_shape

        step, fh, fw = strip_shape(height, width, k1, k2)
        n = fh * fw
        return channels * math.ceil(height / step) * n * math.log2(max(n, 2))
    if algo == "im2col":
        return values * k1 * k2
    raise ValueError(algo)


def estimate(algo: str, kernel: KernelInfo, shape) -> float:
    """Estimated seconds for `algo` on an image of `shape` (H, W[, C])."""
    height, width = shape[:2]
    channels = shape[2] if len(shape) > 2 else 1
    return height * width * channels * PER_VALUE[algo] + work(algo, kernel, shape) / RATES[algo]


def plan(kernel, image_shape, algo: str = "auto", correlate: bool = False) -> Plan:
    """Choose the engine for `kernel` on an image of `image_shape`; `algo` forces one."""
    info = kernel if isinstance(kernel, KernelInfo) else KernelInfo(kernel, correlate=correlate)
    with single_blas_thread():  # the SVDs behind rank and factors: see imgconv.engine.threads
        info.rank, info.factors  # noqa: B018  (computed once here, cached on the KernelInfo)
    if algo != "auto" and algo not in ALGORITHMS:
        raise ImgconvError(f"unknown algorithm {algo!r}; choose from auto, {', '.join(ALGORITHMS)}")
    estimates = {a: estimate(a, info, image_shape) for a in ALGORITHMS if why_not(a, info) is None}
    if algo != "auto":
        problem = why_not(algo, info)
        if problem:
            raise ImgconvError(f"--algo {algo} cannot run this {info.shape[0]}x{info.shape[1]} kernel: {problem}")
        return Plan(algo, info, "forced by --algo", estimates)
    best = min(estimates, key=estimates.get)
    if best in NUMBA_ENGINES and "numba" not in sys.modules and _numpy_runner_allowed():
        if numpy_estimate(best, info, image_shape) < estimates[best] + NUMBA_LOAD_SECONDS:
            return Plan(best, info, _reason(best, info), estimates, runner="numpy")
    return Plan(best, info, _reason(best, info), estimates)


def _numpy_runner_allowed() -> bool:
    from . import numpy_runner_allowed

    return numpy_runner_allowed


def numpy_estimate(algo: str, kernel: KernelInfo, shape) -> float:
    """Seconds for engine/numpy_runner.py: whole-array passes (2 per tap) over the image's values."""
    height, width = shape[:2]
    channels = shape[2] if len(shape) > 2 else 1
    k1, k2 = kernel.shape
    passes = {"direct": 2 * max(1, kernel.nonzero_taps), "separable": 2 * max(1, kernel.rank) * (k1 + k2),
              "sat": 36}[algo]
    return height * width * channels * (passes + 3) * NUMPY_PASS_SECONDS


def _reason(algo: str, info: KernelInfo) -> str:
    k = f"{info.shape[0]}x{info.shape[1]}"
    return {
        "separable": (f"{k} kernel is one outer product (rank 1), so a column and a row pass are cheapest"
                      if info.rank == 1 else
                      f"{k} kernel has rank {info.rank} (SVD), so {info.rank} pairs of 1D passes are cheapest"),
        "sat": f"{k} box kernel: summed areas cost O(1) per pixel",
        "fft": f"{k} kernel of rank {info.rank} is large enough that the FFT is cheapest",
        "direct": f"{k} kernel of rank {info.rank} is small enough that the direct loop is cheapest",
        "im2col": f"{k} kernel: im2col + GEMM estimated cheapest",
    }[algo]


def fused_estimate(infos, image_shape) -> float | None:
    """Seconds for the direct engine to run several same-sized kernels in one pass (None if it cannot)."""
    if len(infos) < 2 or len({i.shape for i in infos}) != 1:
        return None
    height, width = image_shape[:2]
    channels = image_shape[2] if len(image_shape) > 2 else 1
    values = height * width * channels
    taps = sum(max(1, i.nonzero_taps) for i in infos)
    return values * PER_VALUE["direct"] + values * taps / RATES["direct"]


def should_fuse(plans, image_shape, algo: str = "auto") -> bool:
    """Run these plans' kernels together (direct.run_many, or im2col.run_many when im2col is forced)?
    Yes when every kernel has the same shape and, for auto, one pass is estimated cheaper than the
    separate passes; a forced direct or im2col always shares its pass (same pixels, less work)."""
    if algo == "im2col":
        return len(plans) > 1 and len({p.kernel.shape for p in plans}) == 1
    if algo not in ("auto", "direct"):
        return False
    fused = fused_estimate([p.kernel for p in plans], image_shape)
    return fused is not None and fused < sum(p.estimates[p.algo] for p in plans)
