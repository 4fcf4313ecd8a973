"""Fit each engine's cost model (RATE and PER_VALUE in its module, imgconv/engine/<name>.py) to this machine.

    python benchmarks/fit_planner.py            # measure, fit, print the constants and the fit's error
    python benchmarks/fit_planner.py --write    # ... and write them into the engine modules
    python benchmarks/fit_planner.py --engine spans --write   # one engine (or several: repeat it)

Model, per engine (imgconv.engine's contract): seconds = values * PER_VALUE + work(kernel, shape) / RATE on
one thread, with values = H*W*C and work() as the engine module defines it (non-zero taps per value for
direct, rank*(k1+k2) for separable, one per value for sat, n*log2(n) per channel for fft, k1*k2 per value for
im2col, two per run of equal taps plus one per other tap for spans). Each engine of the registry
(imgconv.engine.ENGINES) is timed on a grid of kernels on 1080p and 4K RGB images, the way one thread runs it
(the ahead-of-time loops when built), for the three type pairs the engines see -- float32 into float32, uint8
into float32 (a filter with a finishing step) and uint8 into uint8 (a plain filter on a photo: the fixed-point
loops) -- best of --repeat runs (the best run is the least disturbed by other work on the machine). The two
constants are fitted by non-negative least squares on relative error (each sample divided by its measured
time, so small and large workloads weigh alike). Writes benchmarks/results/planner_fit.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imgconv.convolution import run_plan  # noqa: E402
from imgconv.engine import ENGINES, engine, loops  # noqa: E402
from imgconv.engine.planner import plan  # noqa: E402
from imgconv.filters import box_kernel, disk_kernel, emboss_kernel, gaussian_kernel, sharpen_kernel  # noqa: E402
from imgconv.kernel import KernelInfo  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: (image type, result type) pairs timed.
TYPES = (("float32", "float32"), ("uint8", "float32"), ("uint8", "uint8"))


def grid(rng):
    """(engine, label, kernel, image sizes) to time."""
    dense = {k: rng.standard_normal((k, k)) for k in (3, 5, 7, 11, 15, 21)}
    low = lambda k, r: sum(np.outer(rng.standard_normal(k), rng.standard_normal(k)) for _ in range(r))  # noqa: E731
    big, small = (2160, 3840), (1080, 1920)
    out = []
    for k in (3, 5, 7, 11, 15):
        out.append(("direct", f"dense {k}x{k}", dense[k], (small, big)))
    out.append(("direct", "sharpen 3x3", sharpen_kernel(1.0), (small, big)))
    out.append(("direct", "emboss 3x3", emboss_kernel(), (small, big)))
    sobel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    out.append(("direct", "sobel 3x3", sobel, (small, big)))
    out.append(("separable", "sobel 3x3", sobel, (small, big)))
    out.append(("separable", "sharpen 3x3", sharpen_kernel(1.0), (small, big)))
    out.append(("separable", "rank-1 5x5", low(5, 1), (small, big)))
    for s in (1.0, 2.0, 4.0, 8.0):
        out.append(("separable", f"gauss s{s:g}", gaussian_kernel(s), (small, big)))
    out.append(("separable", "rank-2 9x9", low(9, 2), (small, big)))
    out.append(("separable", "rank-3 15x15", low(15, 3), (small,)))
    for b in (3, 15, 31, 101):
        out.append(("sat", f"box {b}", box_kernel(b), (small, big)))
    for k in (7, 15, 21):
        out.append(("fft", f"dense {k}x{k}", dense[k], (small,)))
    out.append(("fft", "dense 15x15", dense[15], (big,)))
    for k in (3, 5):
        out.append(("im2col", f"dense {k}x{k}", dense[k], (small,)))
    for r in (3, 8, 20, 50):
        out.append(("spans", f"disk r{r}", disk_kernel(r), (small, big)))
    out.append(("spans", "box 31", box_kernel(31), (small, big)))
    return out


def measure(repeat: int, engines=ENGINES):
    rng = np.random.default_rng(3)
    images = {}
    samples = []
    runner = "aot" if loops.aot_module() is not None else "jit"
    for algo, label, kernel, sizes in grid(rng):
        if algo not in engines:
            continue
        for hw in sizes:
            for dtype, result in TYPES:
                key = (hw, dtype)
                if key not in images:
                    base = rng.random(hw + (3,), dtype=np.float32)
                    images[key] = base if dtype == "float32" else (base * 255).astype(np.uint8)
                image = images[key]
                out = np.empty(image.shape, result)
                info = KernelInfo(kernel)
                chosen = dataclasses.replace(plan(info, image.shape, algo=algo, threads=1), runner=runner, threads=1)
                numba = engine(algo).NUMBA
                run_plan(chosen, image, out=out)  # warm-up (and compile)
                runs = repeat if numba else max(1, repeat // 3)
                best = min(_once(lambda c=chosen, i=image, o=out: run_plan(c, i, out=o)) for _ in range(runs))
                samples.append({"engine": algo, "kernel": label, "image": f"{hw[1]}x{hw[0]}x3", "dtype": dtype,
                                "result": result, "values": image.size, "work": engine(algo).work(info, image.shape),
                                "seconds": best})
                print(f"  {algo:9s} {label:14s} {hw[1]}x{hw[0]} {dtype:7s}->{result:7s} {best * 1e3:8.1f} ms",
                      file=sys.stderr)
    return samples


def _once(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def nnls(a, b):
    try:
        from scipy.optimize import nnls as scipy_nnls

        return scipy_nnls(a, b)[0]
    except ImportError:
        x = np.linalg.lstsq(a, b, rcond=None)[0]
        return np.maximum(x, 0)


def fit(samples):
    fitted = {}
    for algo in ENGINES:
        rows = [s for s in samples if s["engine"] == algo]
        if not rows:
            continue
        t = np.array([s["seconds"] for s in rows])
        a = np.array([[s["values"], s["work"]] for s in rows]) / t[:, None]
        per_value, inverse_rate = nnls(a, np.ones(len(rows)))
        rate = 1.0 / inverse_rate if inverse_rate > 0 else engine(algo).RATE * 10
        predicted = np.array([s["values"] * per_value + s["work"] / rate for s in rows])
        error = np.abs(predicted / t - 1)
        fitted[algo] = {"PER_VALUE": float(per_value), "RATE": float(rate), "median_rel_error": float(np.median(error)),
                        "max_rel_error": float(error.max()), "samples": len(rows)}
        for s, p in zip(rows, predicted):
            s["predicted"] = float(p)
    return fitted


def write(fitted):
    """Put the fitted RATE and PER_VALUE into each engine's module (the lines `RATE = ...`, `PER_VALUE = ...`)."""
    for algo, f in fitted.items():
        path = Path(engine(algo).__file__)
        text = path.read_text()
        for name, value in (("RATE", f["RATE"]), ("PER_VALUE", f["PER_VALUE"])):
            text, count = re.subn(rf"^{name} = [0-9.e+-]+$", f"{name} = {value:.3g}", text, count=1, flags=re.M)
            if count != 1:
                raise SystemExit(f"{path}: no line `{name} = <number>` to rewrite")
        path.write_text(text)
        print(f"wrote RATE and PER_VALUE into {path}", file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--write", action="store_true", help="write the fitted constants into the engine modules")
    ap.add_argument("--engine", action="append", choices=list(ENGINES), help="fit only this engine (repeatable)")
    args = ap.parse_args(argv)

    samples = measure(args.repeat, args.engine or ENGINES)
    fitted = fit(samples)
    from rich.console import Console
    from rich.table import Table

    table = Table(title="engine cost models fitted on this machine (one thread)")
    for col in ("engine", "PER_VALUE (ns/value)", "RATE (work/s)", "median error", "max error", "samples"):
        table.add_column(col)
    for algo, f in fitted.items():
        table.add_row(algo, f"{f['PER_VALUE'] * 1e9:.3f}", f"{f['RATE']:.3g}", f"{f['median_rel_error']:.0%}",
                      f"{f['max_rel_error']:.0%}", str(f["samples"]))
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "planner_fit.json"
    record = {"fitted": fitted, "samples": samples}
    if args.engine and path.exists():  # some engines re-fitted: the others' records stay
        earlier = json.loads(path.read_text())
        record = {"fitted": {**{k: v for k, v in earlier["fitted"].items() if k not in fitted}, **fitted},
                  "samples": [x for x in earlier["samples"] if x["engine"] not in fitted] + samples}
    path.write_text(json.dumps(record, indent=1))
    if args.write:
        write(fitted)


if __name__ == "__main__":
    main()
