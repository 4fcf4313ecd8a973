"""Peak extra memory of each engine on an 8K RGB image (7680x4320), float32 and uint8.

    python benchmarks/bench_memory.py

Each measurement runs in a fresh process: it makes the image, warms the engine up on a tiny image (so
Numba's code is loaded), reads its resident set size, runs the filter once and reads the peak resident
set size (getrusage ru_maxrss).  "extra" = peak - resident size before the call: the result image plus
every temporary.  The issue's bound: `auto` at most 2x the image's float32 size (the result alone is
1x); im2col bounded by its strip buffer (64 MiB) beyond the padded copy and the result, whatever the
image size.  Writes benchmarks/results/memory.json and memory.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys
import numpy as np
sys.path.insert(0, {root!r})
import imgconv
from imgconv.apply import apply_filter
from imgconv.filters import gaussian_kernel, sharpen_kernel, box_kernel, sobel
name, algo, dtype = sys.argv[1], sys.argv[2], sys.argv[3]
h, w = 4320, 7680
rng = np.random.default_rng(0)
kernels = {{"gauss-s2": gaussian_kernel(2.0), "gauss-s8": gaussian_kernel(8.0), "sharpen-3x3": sharpen_kernel(1.0),
           "dense-15x15": rng.standard_normal((15, 15)), "box-31": box_kernel(31),
           "dense-3x3": rng.standard_normal((3, 3))}}
image = np.empty((h, w, 3), dtype)
image[...] = 1 if dtype == "uint8" else 0.5
def run(img):
    if name == "sobel-mag":
        return apply_filter(img, sobel("both"), 255.0 if dtype == "uint8" else 1.0, algo=algo)
    return imgconv.convolve(img, kernels[name], algo=algo)
run(image[:16, :16].copy())
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()
before = rss()
chosen = "fused direct" if name == "sobel-mag" else imgconv.plan(kernels.get(name, sharpen_kernel(1.0)), image.shape,
                                                                 algo=algo).algo
result = run(image)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"before": before, "peak": peak, "extra": peak - before, "image_f32": h * w * 3 * 4,
                  "engine": chosen}}))
"""

CASES = [("gauss-s2", "auto"), ("gauss-s8", "auto"), ("sharpen-3x3", "auto"), ("dense-15x15", "auto"),
         ("box-31", "auto"), ("sobel-mag", "auto"), ("dense-15x15", "fft"), ("dense-3x3", "im2col"),
         ("gauss-s2", "separable"), ("dense-3x3", "direct")]


def main():
    rows = []
    for dtype in ("float32", "uint8"):
        for name, algo in CASES:
            proc = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), name, algo, dtype],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{name} {algo} {dtype} failed: {proc.stderr[-300:]}", file=sys.stderr)
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r.update(workload=name, algo=algo, dtype=dtype, ratio=r["extra"] / r["image_f32"])
            rows.append(r)
            print(f"{name:12s} {algo:9s} {dtype:7s} -> {r['engine']:12s} extra {r['extra'] / 2**20:7.0f} MiB "
                  f"= {r['ratio']:.2f}x the float32 image", file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(rows, indent=1))
    lines = ["Measured by `python benchmarks/bench_memory.py`: 7680x4320 RGB, peak resident memory beyond what "
             "the process held before the call (result image included), in a fresh process per row. "
             "The float32 image itself is 380 MiB.", "",
             "| workload | engine asked | ran | input | extra peak MiB | x float32 image |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['algo']} | {r['engine']} | {r['dtype']} | {r['extra'] / 2**20:.0f} "
                     f"| {r['ratio']:.2f} |")
    (RESULTS / "memory.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'memory.json'} and {RESULTS / 'memory.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
