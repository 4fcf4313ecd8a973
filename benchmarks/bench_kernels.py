"""uint8 kernels against OpenCV and against a plain copy: a 15 Mpx RGB photo in, uint8 out, 1 and 2 threads.

    flock /tmp/imgconv-timing.lock python benchmarks/bench_kernels.py            # the full run
    flock /tmp/imgconv-timing.lock python benchmarks/bench_kernels.py --quick    # 4 Mpx, 3 rounds

What is timed (issue 8's kernel targets), each a uint8 image filtered into a preallocated uint8 result:
  * Gaussian blur, sigma 0.8 ... 20, against cv2.GaussianBlur with the same sigma and kernel size
    2*ceil(3 sigma)+1, BORDER_REFLECT;
  * 3x3 sharpen, emboss (45 degrees) and Sobel x, against cv2.filter2D with the flipped kernel
    (OpenCV correlates), BORDER_REFLECT, uint8 out (OpenCV saturates, imgconv rounds and clips);
  * numpy.copyto of the same uint8 image: the floor for any filter that reads and writes it once.
imgconv runs the way a process does: one thread = the loops compiled ahead of time (what a fresh
`imgconv blur photo.jpg` runs), two threads = the jitted loops on two threads; both with the engine the
planner picks for that image.  OpenCV gets cv2.setNumThreads(equal).

Rounds are interleaved: in each round every (threads, workload) is timed as imgconv, OpenCV, copy, call
after call, so a busy spell of the (shared) machine hits all three alike; medians are reported, with the
load average before and after.  Besides time, each workload reports how often the result differs from
the exact result rounded (float64 scipy, on a 512x512 crop), for imgconv and for OpenCV.

Writes benchmarks/results/kernels.json and kernels.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgconv.convolution import run_plan  # noqa: E402
from imgconv.engine import _fixed, loops  # noqa: E402
from imgconv.engine.planner import plan  # noqa: E402
from imgconv.filters import SOBEL_X, emboss_kernel, gaussian_kernel, sharpen_kernel  # noqa: E402
from imgconv.kernel import KernelInfo  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PHOTO = Path("/work/photos/big15.jpg")
SIGMAS = (0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0)
#: Targets (issue 8): imgconv / OpenCV at most 1.0 for every workload; imgconv / copy at most these.
COPY_TARGETS = {"3x3": 2.0, "gauss-2": 3.0}


def load_photo(path: Path | None, quick: bool) -> tuple[np.ndarray, str]:
    """A real photograph as H x W x 3 uint8, and where it came from."""
    from PIL import Image

    if path is not None and path.exists():
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("RGB"))
        where = f"{path.name} ({pixels.shape[1]}x{pixels.shape[0]})"
    else:
        with Image.open(SAMPLES / "astronaut.jpg") as im:
            tile = np.asarray(im.convert("RGB"))
        pixels = np.tile(tile, (6, 10, 1))[:2880, :5120]
        where = "samples/astronaut.jpg tiled to 5120x2880 (no --photo given or found)"
    if quick:
        pixels = pixels[:1600, :2560]
        where += ", cropped to 2560x1600"
    return np.ascontiguousarray(pixels), where


@dataclasses.dataclass
class Workload:
    name: str
    group: str  # "gauss" or "3x3"
    kernel: np.ndarray
    opencv: object  # (cv2, image, dst) -> None
    times: dict = dataclasses.field(default_factory=dict)  # (threads, who) -> [seconds]
    plans: dict = dataclasses.field(default_factory=dict)  # threads -> Plan


def workloads(cv2) -> list[Workload]:
    found = []
    for sigma in SIGMAS:
        r = math.ceil(3 * sigma)

        def gauss(cv2, image, dst, s=sigma, r=r):
            cv2.GaussianBlur(image, (2 * r + 1, 2 * r + 1), s, dst=dst, borderType=cv2.BORDER_REFLECT)
        found.append(Workload(f"gauss-{sigma:g}", "gauss", gaussian_kernel(sigma), gauss))
    for name, kernel in (("sharpen", sharpen_kernel(1.0)), ("emboss", emboss_kernel(45.0)), ("sobel-x", SOBEL_X)):
        flipped = np.ascontiguousarray(np.asarray(kernel, np.float32)[::-1, ::-1])

        def filter2d(cv2, image, dst, k=flipped):
            cv2.filter2D(image, -1, k, dst=dst, borderType=cv2.BORDER_REFLECT)
        found.append(Workload(name, "3x3", kernel, filter2d))
    return found


def imgconv_plan(kernel, shape, threads: int):
    """The planner's engine for this image, run the way a process with `threads` threads runs it."""
    chosen = plan(kernel, shape, threads=threads)
    runner = "aot" if threads == 1 and loops.aot_module() is not None else "jit"
    return dataclasses.replace(chosen, runner=runner, threads=threads)


def fixed_point_note(algo: str, kernel) -> str:
    info = KernelInfo(kernel)
    fixed = _fixed.integer_taps(info.taps) if algo == "direct" else (
        _fixed.separable_taps(info) if algo == "separable" else None)
    if fixed is None:
        return "float32"
    kind = "int16 exact" if algo == "direct" else "16-bit pairs" + (", split rows" if fixed.row_low is not None else "")
    return f"{kind}, bound {fixed.delta:.2g}"


def accuracy(image, work: Workload, cv2, threads_plan) -> dict:
    """Fraction of values that differ from the exact result rounded, on a 512x512 crop (float64 scipy;
    separable Gaussians as two float64 1D passes, exact to ~1e-13)."""
    from scipy import ndimage

    crop = np.ascontiguousarray(image[:512, :512])
    planes = crop.astype(np.float64)
    if work.group == "gauss":
        g = KernelInfo(work.kernel).factors
        column, row = g[0][0], g[1][0]
        y = ndimage.correlate1d(planes, column, axis=0, mode="reflect")
        y = ndimage.correlate1d(y, row, axis=1, mode="reflect")
    else:
        y = np.stack([ndimage.convolve(planes[..., c], work.kernel, mode="reflect") for c in range(3)], axis=-1)
    want = np.clip(np.rint(y), 0, 255)
    ours = run_plan(imgconv_plan(work.kernel, crop.shape, 1), crop, dtype=np.uint8)
    theirs = np.empty_like(crop)
    work.opencv(cv2, crop, theirs)
    return {"imgconv_off": float(np.mean(ours != want)), "opencv_off": float(np.mean(theirs != want)),
            "imgconv_max_off": int(np.abs(ours.astype(int) - want).max()),
            "opencv_max_off": int(np.abs(theirs.astype(int) - want).max())}


def measure(image, works, cv2, threads_list, rounds: int):
    out, dst, copy_dst = np.empty_like(image), np.empty_like(image), np.empty_like(image)
    calls = {}
    for work in works:
        for threads in threads_list:
            chosen = imgconv_plan(work.kernel, image.shape, threads)
            work.plans[threads] = chosen
            calls[work.name, threads] = (lambda p=chosen: run_plan(p, image, out=out, dtype=np.uint8),
                                         lambda w=work: w.opencv(cv2, image, dst))
    # warm up: compile or load every loop, let OpenCV allocate
    for (_, threads), (ours, theirs) in calls.items():
        cv2.setNumThreads(threads)
        ours(), theirs()
    for r in range(rounds):
        for threads in threads_list:
            cv2.setNumThreads(threads)
            for work in works:
                ours, theirs = calls[work.name, threads]
                for who, call in (("imgconv", ours), ("opencv", theirs),
                                  ("copy", lambda: np.copyto(copy_dst, image))):
                    start = time.perf_counter()
                    call()
                    work.times.setdefault((threads, who), []).append(time.perf_counter() - start)
        print(f"  round {r + 1}/{rounds}", file=sys.stderr)


def tabulate(works, threads_list, acc):
    rows = []
    for threads in threads_list:
        for work in works:
            t = {who: statistics.median(work.times[threads, who]) for who in ("imgconv", "opencv", "copy")}
            chosen = work.plans[threads]
            target = COPY_TARGETS.get("3x3" if work.group == "3x3" else work.name)
            row = {"workload": work.name, "threads": threads, "engine": chosen.algo, "runner": chosen.runner,
                   "arithmetic": fixed_point_note(chosen.algo, work.kernel),
                   "imgconv_ms": t["imgconv"] * 1e3, "opencv_ms": t["opencv"] * 1e3, "copy_ms": t["copy"] * 1e3,
                   "imgconv_min_ms": min(work.times[threads, "imgconv"]) * 1e3,
                   "opencv_min_ms": min(work.times[threads, "opencv"]) * 1e3,
                   "vs_opencv": t["imgconv"] / t["opencv"], "vs_copy": t["imgconv"] / t["copy"],
                   "copy_target": target, "runs": len(work.times[threads, "imgconv"])}
            row["met"] = row["vs_opencv"] <= 1.0 and (target is None or row["vs_copy"] <= target)
            row.update(acc.get(work.name, {}))
            rows.append(row)
    return rows


def render(rows, meta):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"uint8 kernels, {meta['image']}, load {meta['load_before'][0]:.1f} -> "
                        f"{meta['load_after'][0]:.1f}")
    for col in ("workload", "thr", "engine", "arithmetic", "imgconv ms", "OpenCV ms", "copy ms", "/ OpenCV",
                "/ copy", "copy target", "off-by-one imgconv", "OpenCV", "met"):
        table.add_column(col, justify="left" if col in ("workload", "engine", "arithmetic") else "right")
    last = None
    for r in rows:
        if last is not None and r["threads"] != last:
            table.add_section()
        last = r["threads"]
        table.add_row(r["workload"], str(r["threads"]), f"{r['engine']} ({r['runner']})", r["arithmetic"],
                      f"{r['imgconv_ms']:.1f}", f"{r['opencv_ms']:.1f}", f"{r['copy_ms']:.1f}", f"{r['vs_opencv']:.2f}",
                      f"{r['vs_copy']:.1f}", "-" if r["copy_target"] is None else f"<= {r['copy_target']:.0f}",
                      _pct(r.get("imgconv_off")), _pct(r.get("opencv_off")),
                      "[green]yes[/]" if r["met"] else "[red]no[/]")
    Console(width=200).print(table)


def _pct(x):
    return "-" if x is None else f"{100 * x:.2f}%"


def markdown(rows, meta) -> str:
    lines = [f"Measured by `python benchmarks/bench_kernels.py` on {meta['cpu']} ({meta['cores']} cores, shared), "
             f"{meta['image']}, uint8 in and out, median of {meta['rounds']} interleaved rounds; load average "
             f"{meta['load_before'][0]:.1f} before, {meta['load_after'][0]:.1f} after. One thread: the loops compiled "
             f"ahead of time (a fresh `imgconv blur photo.jpg`); two threads: the jitted loops. OpenCV "
             f"{meta['opencv']} with cv2.setNumThreads(equal). \"off\": share of values differing from the exact "
             "result rounded (512x512 crop, float64 scipy).",
             "",
             "| workload | threads | engine, arithmetic | imgconv | OpenCV | copy | imgconv / OpenCV | imgconv / copy "
             "| off: imgconv | off: OpenCV |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = "" if r["copy_target"] is None else f" (target {r['copy_target']:.0f})"
        lines.append(f"| {r['workload']} | {r['threads']} | {r['engine']} ({r['runner']}), {r['arithmetic']} "
                     f"| {r['imgconv_ms']:.1f} ms | {r['opencv_ms']:.1f} ms | {r['copy_ms']:.1f} ms "
                     f"| **{r['vs_opencv']:.2f}** | {r['vs_copy']:.1f}{target} | {_pct(r.get('imgconv_off'))} "
                     f"| {_pct(r.get('opencv_off'))} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", type=Path, default=PHOTO, help="a large photograph (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="4 Mpx crop, 3 rounds")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 11, quick 3)")
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--only", nargs="*", help="workload names, e.g. gauss-2 sharpen")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    import cv2

    image, where = load_photo(args.photo, args.quick)
    works = [w for w in workloads(cv2) if not args.only or w.name in args.only]
    rounds = args.rounds or (3 if args.quick else 11)
    meta = {"image": f"{where}, RGB", "rounds": rounds, "load_before": os.getloadavg(),
            "cpu": _cpu_name(), "cores": os.cpu_count(), "opencv": cv2.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "aot": loops.aot_module() is not None}
    print(f"bench_kernels: {meta['image']}, threads {args.threads}, {rounds} rounds", file=sys.stderr)
    measure(image, works, cv2, args.threads, rounds)
    meta["load_after"] = os.getloadavg()
    cv2.setNumThreads(1)
    acc = {w.name: accuracy(image, w, cv2, None) for w in works}
    rows = tabulate(works, args.threads, acc)
    render(rows, meta)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "kernels.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        (RESULTS / "kernels.md").write_text(markdown(rows, meta))
        print(f"wrote {RESULTS / 'kernels.json'} and {RESULTS / 'kernels.md'}", file=sys.stderr)


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
