"""The planner: the one place that knows every engine, what it can run and what it costs.

It looks at the kernel once (SVD rank and factors, box-ness), estimates each engine's time on the
image from a cost model, and picks the cheapest -- or checks that a forced `algo` can run the kernel.
The model is operations and bytes moved, divided by rates measured on the reference machine
(2 cores, AVX2; see benchmarks/fit_planner.py); only the ratios between engines matter for choosing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ImgconvError
from ..kernel import KernelInfo
from . import ALGORITHMS

#: Largest rank the separable engine runs (r column/row pass pairs); beyond it direct or FFT win.
MAX_SEPARABLE_RANK = 4

# Rates measured on the reference machine (per second, both cores).  See benchmarks/fit_planner.py.
RATES = {
    "direct": 12e9,  # multiply-adds per second in the direct loop nest
    "separable": 6e9,  # multiply-adds per second in the fused column+row passes
    "sat": 0.6e9,  # output values per second from running box sums
    "fft": 0.35e9,  # n*log2(n) butterfly units per second, numpy's pocketfft on one core
    "im2col": 2.0e9,  # patch-matrix bytes written and read per second
}
#: Fixed cost of any engine call: padding and writing the output (bytes/s of the copy).
COPY_RATE = 8e9


@dataclass(frozen=True)
class Plan:
    """The engine chosen for one kernel on one image shape, and why."""

    algo: str
    kernel: KernelInfo
    reason: str
    estimates: dict = field(default_factory=dict)  # algo -> estimated seconds, for engines that can run

    @property
    def rank(self) -> int:
        return self.kernel.rank

    @property
    def factors(self):
        return self.kernel.factors

    def describe(self) -> str:
        costs = ", ".join(f"{a} {t * 1e3:.1f} ms" for a, t in sorted(self.estimates.items(), key=lambda x: x[1]))
        return f"{self.algo}: {self.reason} (estimates: {costs})"


def why_not(algo: str, kernel: KernelInfo) -> str | None:
    """None if `algo` can run this kernel, else the reason it cannot."""
    if algo == "separable" and not 1 <= kernel.rank <= MAX_SEPARABLE_RANK:
        return f"the kernel has rank {kernel.rank}; separable runs rank 1 to {MAX_SEPARABLE_RANK}"
    if algo == "sat" and not kernel.is_box:
        return "sat runs only box kernels (all taps equal)"
    return None


def estimate(algo: str, kernel: KernelInfo, shape) -> float:
    """Estimated seconds for `algo` on an image of `shape` (H, W[, C])."""
    height, width = shape[:2]
    channels = shape[2] if len(shape) > 2 else 1
    k1, k2 = kernel.shape
    values = height * width * channels
    base = values * 4 * 3 / COPY_RATE  # read the image, write the padded copy, write the output
    if algo == "direct":
        work = values * kernel.nonzero_taps
    elif algo == "separable":
        work = values * kernel.rank * (k1 + k2)
    elif algo == "sat":
        work = values
    elif algo == "fft":
        n = (height + k1) * (width + k2)
        work = channels * 2.5 * n * math.log2(n)
    elif algo == "im2col":
        work = values * k1 * k2 * 4 * 2
    else:
        raise ValueError(algo)
    return base + work / RATES[algo]


def plan(kernel, image_shape, algo: str = "auto", correlate: bool = False) -> Plan:
    """Choose the engine for `kernel` on an image of `image_shape`; `algo` forces one."""
    info = kernel if isinstance(kernel, KernelInfo) else KernelInfo(kernel, correlate=correlate)
    if algo != "auto" and algo not in ALGORITHMS:
        raise ImgconvError(f"unknown algorithm {algo!r}; choose from auto, {', '.join(ALGORITHMS)}")
    estimates = {a: estimate(a, info, image_shape) for a in ALGORITHMS if why_not(a, info) is None}
    if algo != "auto":
        problem = why_not(algo, info)
        if problem:
            raise ImgconvError(f"--algo {algo} cannot run this {info.shape[0]}x{info.shape[1]} kernel: {problem}")
        return Plan(algo, info, "forced by --algo", estimates)
    best = min(estimates, key=estimates.get)
    return Plan(best, info, _reason(best, info), estimates)


def _reason(algo: str, info: KernelInfo) -> str:
    k = f"{info.shape[0]}x{info.shape[1]}"
    return {
        "separable": f"{k} kernel has rank {info.rank} (SVD), so {info.rank} pair(s) of 1D passes is cheapest",
        "sat": f"{k} box kernel: summed areas cost O(1) per pixel",
        "fft": f"{k} kernel of rank {info.rank} is large enough that the FFT is cheapest",
        "direct": f"{k} kernel of rank {info.rank} is small enough that the direct loop is cheapest",
        "im2col": f"{k} kernel: im2col + GEMM estimated cheapest",
    }[algo]
