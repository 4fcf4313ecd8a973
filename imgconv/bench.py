"""`imgconv bench IN [FILTER [OPTIONS]]`: every engine (and any installed peer) on your own image and kernel.

bench_filter() times apply_filter with `auto` and with each engine that can run the filter's kernels,
checks each result against the direct engine's (max absolute difference, in the image's own scale), and
adds OpenCV and scipy.ndimage when they are installed and the filter is a plain convolution (they are
never imgconv dependencies).  render() prints the rows as a rich table, with the planner's estimate
beside each measured time, so you can see whether `auto` chose well on your machine.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from .apply import apply_filter
from .engine import ALGORITHMS
from .engine.planner import plan, why_not
from .filters.base import Filter
from .kernel import KernelInfo

#: imgconv border name -> OpenCV border constant name (filter2D has no BORDER_WRAP).
CV_BORDERS = {"reflect": "BORDER_REFLECT", "mirror": "BORDER_REFLECT_101", "nearest": "BORDER_REPLICATE",
              "constant": "BORDER_CONSTANT"}


@dataclass
class Row:
    name: str  # "auto", an engine name, "opencv", "scipy"
    median_ms: float
    best_ms: float
    runs: int
    max_diff: float | None  # max |result - direct's result|, None if not comparable
    estimate_ms: float | None = None  # the planner's estimate (engines only)
    note: str = ""


def _time(call, repeat: int, budget: float = 3.0):
    """(result, median seconds, best seconds, runs) after one warm-up call; slow calls run fewer times."""
    start = time.perf_counter()
    result = call()
    first = time.perf_counter() - start
    runs = max(1, min(repeat, int(budget / max(first, 1e-6))))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times), min(times), runs


def runnable_engines(filt: Filter, shape) -> list[str]:
    """Engines that can run every kernel of the filter."""
    infos = [KernelInfo(k, correlate=filt.correlate) for k in filt.kernels]
    return [a for a in ALGORITHMS if all(why_not(a, i) is None for i in infos)]


def bench_filter(pixels: np.ndarray, filt: Filter, full: float, *, alpha: bool = False, border: str = "reflect",
                 cval: float = 0.0, repeat: int = 5, peers: bool = True, threads: int | None = None) -> list[Row]:
    """Time `filt` on `pixels` with auto, every engine that can run it, and the installed peers.

    Every contender gets one untimed call first, so engines are timed ready (loaded or compiled)."""
    rows = []
    plans = []
    kwargs = dict(alpha=alpha, border=border, cval=cval, threads=threads)
    if threads:
        _opencv_threads(threads)
    auto, med, best, runs = _time(lambda: apply_filter(pixels, filt, full, on_plan=plans.append, **kwargs), repeat)
    chosen = ", ".join(dict.fromkeys(p.algo for p in plans[: len(filt.kernels)]))
    fused = any(p.reason.startswith("fused") for p in plans[: len(filt.kernels)])
    results = {}
    for algo in runnable_engines(filt, pixels.shape):
        out, m, b, n = _time(lambda a=algo: apply_filter(pixels, filt, full, algo=a, **kwargs), repeat)
        results[algo] = out
        estimate = sum(plan(KernelInfo(k, correlate=filt.correlate), pixels.shape, algo=algo,
                            threads=threads).estimates[algo] for k in filt.kernels)
        rows.append(Row(algo, m * 1e3, b * 1e3, n, None, estimate * 1e3))
    reference = results.get("direct")
    for row in rows:
        row.max_diff = _diff(results[row.name], reference)
    rows.insert(0, Row("auto", med * 1e3, best * 1e3, runs, _diff(auto, reference), None,
                       f"-> {chosen}" + (" (fused)" if fused else "")))
    if peers and filt.finish.plain and not filt.grey and len(filt.kernels) == 1 and not alpha:
        rows += _peer_rows(pixels, filt, border, cval, repeat, reference)
    return rows


def _opencv_threads(threads: int) -> None:
    try:
        import cv2
    except ImportError:
        return
    cv2.setNumThreads(threads)


def _diff(result, reference):
    if reference is None or result is None or np.shape(result) != np.shape(reference):
        return None
    return float(np.max(np.abs(np.asarray(result, np.float64) - reference)))


def _peer_rows(pixels, filt, border, cval, repeat, reference) -> list[Row]:
    rows = []
    info = KernelInfo(filt.kernels[0], correlate=filt.correlate)
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None and border in CV_BORDERS and (border != "constant" or cval == 0):
        taps = info.taps.astype(np.float32)
        anchor = (info.padding[1][0], info.padding[0][0])
        image = pixels if pixels.dtype == np.float32 else pixels.astype(np.float32)
        flag = getattr(cv2, CV_BORDERS[border])

        def opencv():
            out = cv2.filter2D(image, cv2.CV_32F, taps, anchor=anchor, borderType=flag)
            return out.reshape(pixels.shape)

        out, m, b, n = _time(opencv, repeat)
        rows.append(Row("opencv", m * 1e3, b * 1e3, n, _diff(out, reference), None,
                        f"cv2.filter2D, {cv2.getNumThreads()} thread(s)"))
    try:
        from scipy import ndimage
    except ImportError:
        ndimage = None
    if ndimage is not None:
        op = ndimage.correlate if filt.correlate else ndimage.convolve
        kernel = np.asarray(filt.kernels[0], np.float64)[:, :, None]
        image = pixels.astype(np.float32)

        def scipy():
            return op(image, kernel, mode=border, cval=cval)

        out, m, b, n = _time(scipy, min(repeat, 3))
        rows.append(Row("scipy", m * 1e3, b * 1e3, n, _diff(out, reference), None, "scipy.ndimage, 1 thread"))
    return rows


def render(rows: list[Row], console, title: str = "imgconv bench") -> None:
    """Print the rows as a rich table (fastest engine in green, auto in bold)."""
    from rich.table import Table

    engines = [r for r in rows if r.name in ALGORITHMS]
    fastest = min((r.median_ms for r in engines), default=None)
    auto = next((r for r in rows if r.name == "auto"), None)
    table = Table(title=title)
    columns = ("engine", "median ms", "best ms", "runs", "vs auto", "planner estimate", "max |diff| vs direct", "note")
    for col in columns:
        table.add_column(col, justify="left" if col in ("engine", "note") else "right")
    for r in rows:
        style = "bold" if r.name == "auto" else ("green" if r.median_ms == fastest else None)
        table.add_row(r.name, f"{r.median_ms:.1f}", f"{r.best_ms:.1f}", str(r.runs),
                      f"{r.median_ms / auto.median_ms:.2f}x" if auto else "-",
                      "-" if r.estimate_ms is None else f"{r.estimate_ms:.1f} ms",
                      "-" if r.max_diff is None else f"{r.max_diff:.2g}", r.note, style=style)
    console.print(table)
