"""The filters whose kernels are big: lens (a disk, on the row-span engine) and motion, against OpenCV.

    python benchmarks/bench_filters.py             # 15 Mpx photo, 2 threads, 5 interleaved rounds
    python benchmarks/bench_filters.py --rounds 3

The kernel alone, in one process, on the 5120x2880 photo of bench_e2e.py (uint8 RGB in and out):
imgconv's `auto` and every engine that can run the kernel, each forced, against `cv2.filter2D` with the
same kernel (flipped: filter2D correlates; BORDER_REFLECT; as many threads).  lens here is the disk
kernel in the image's own code values (the command also converts to linear light and back; that is
timed separately).  Writes benchmarks/results/filters.json and filters.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_e2e import make_inputs  # noqa: E402  (the same photos)

RESULTS = HERE / "results"


def timed_rounds(contenders: dict, rounds: int) -> dict:
    """Median and min of `rounds` interleaved runs of each; the order turns by one each round, so no
    contender always runs right after the same one (the row after a 9 s direct loop measured 5-10% slower)."""
    for call in contenders.values():
        call()
    times = {name: [] for name in contenders}
    names = list(contenders)
    for k in range(rounds):
        for name in names[k % len(names):] + names[: k % len(names)]:
            call = contenders[name]
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: {"median_ms": statistics.median(t) * 1e3, "min_ms": min(t) * 1e3} for name, t in times.items()}


def main(argv=None):
    import tempfile

    import cv2

    from imgconv.convolution import run_plan
    from imgconv.engine import ENGINES
    from imgconv.engine.planner import plan, why_not
    from imgconv.filters import disk_kernel, motion_kernel
    from imgconv.io import load
    from imgconv.kernel import KernelInfo
    from imgconv.srgb import from_linear, to_linear

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)

    photo = load(make_inputs(Path(tempfile.mkdtemp()))["15mpx"]).pixels
    out = np.empty_like(photo)
    workloads = {"lens --radius 20": disk_kernel(20.0), "lens --radius 50": disk_kernel(50.0),
                 "motion --length 31 --angle 30": motion_kernel(31.0, 30.0)}
    results = {"threads": args.threads, "shape": list(photo.shape), "rows": {},
               "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    for name, kernel in workloads.items():
        info = KernelInfo(kernel)
        auto = plan(info, photo.shape, threads=args.threads)
        contenders = {f"imgconv auto ({auto.algo})": lambda p=auto: run_plan(p, photo, dtype=np.uint8, out=out)}
        for algo in ENGINES:
            if algo == "im2col" or why_not(algo, info):
                continue
            forced = plan(info, photo.shape, algo=algo, threads=args.threads)
            if forced.runner == "aot":
                forced = dataclasses.replace(forced, runner="jit", threads=args.threads)
            contenders[algo] = lambda p=forced: run_plan(p, photo, dtype=np.uint8, out=out)
        flipped = np.ascontiguousarray(kernel[::-1, ::-1], np.float32)
        contenders["cv2.filter2D"] = lambda f=flipped: cv2.filter2D(photo, -1, f, dst=out,
                                                                    borderType=cv2.BORDER_REFLECT)
        print(f"== {name}", file=sys.stderr, flush=True)
        results["rows"][name] = timed_rounds(contenders, args.rounds)

    linear = to_linear(photo, 255.0)
    results["linear light"] = timed_rounds({"decode (table)": lambda: to_linear(photo, 255.0),
                                            "encode (table loop)": lambda: from_linear(linear.copy(), 255.0)},
                                           args.rounds)
    text = markdown(results)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "filters.json").write_text(json.dumps(results, indent=1))
        (RESULTS / "filters.md").write_text(text)


def markdown(results) -> str:
    h, w, c = results["shape"]
    lines = [f"Measured by `python benchmarks/bench_filters.py`: {w}x{h}x{c} uint8 photo, {results['threads']} "
             f"threads, medians of interleaved rounds; load average {results['load']}.", ""]
    for name, rows in results["rows"].items():
        cv = rows["cv2.filter2D"]["median_ms"]
        others = [r["median_ms"] for k, r in rows.items() if not k.startswith(("imgconv auto", "cv2", "spans"))]
        lines += [f"| {name} | median | vs cv2.filter2D |", "|---|---|---|"]
        for k, r in rows.items():
            lines.append(f"| {k} | {r['median_ms']:.0f} ms | {cv / r['median_ms']:.2f}x faster |")
        auto = next(r["median_ms"] for k, r in rows.items() if k.startswith("imgconv auto"))
        if others:
            lines.append(f"| auto vs the best other imgconv engine | | {min(others) / auto:.2f}x faster |")
        lines.append("")
    lines += ["| linear light, 15 Mpx RGB | median |", "|---|---|"]
    lines += [f"| {k} | {r['median_ms']:.0f} ms |" for k, r in results["linear light"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
