"""imgconv's engines against OpenCV, scipy.ndimage and Pillow on a 4K RGB image, float32 and uint8.

    python benchmarks/bench_engines.py            # the full suite (a few minutes on 2 cores)
    python benchmarks/bench_engines.py --quick    # 1080p, fewer repeats: a smoke run

Every implementation runs in this one process, after a warm-up call, in interleaved rounds (in each
round the contenders of a workload take turns, call by call, fast ones up to 5 calls each), and the
median over all calls is reported, so a slow spell of the machine hits every contender alike.  Each call
writes into a preallocated output where the library allows it
(imgconv, OpenCV, scipy), so page faults of a fresh 100 MB array are not measured for anyone.
The thread count is the same for imgconv (Numba) and OpenCV (`--threads`, default all cores); scipy and
Pillow are single-threaded.  OpenCV correlates, so it is given the flipped kernel (imgconv convolves).

Output: a rich table on the terminal, benchmarks/results/engines.json (every measurement) and
benchmarks/results/engines.md (the README's table).  A missing peer is skipped and said so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imgconv  # noqa: E402
from imgconv.apply import apply_filter  # noqa: E402
from imgconv.engine import ALGORITHMS, engine  # noqa: E402
from imgconv.engine.planner import plan, why_not  # noqa: E402
from imgconv.filters import SOBEL_X, box_kernel, emboss_kernel, gaussian_kernel, sharpen_kernel, sobel  # noqa: E402
from imgconv.kernel import KernelInfo  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

#: Targets from issue 3: auto / OpenCV ratio at most this.
TARGETS = {"gauss-s2": 1.3, "gauss-s8": 1.3, "sharpen-3x3": 1.5, "emboss-3x3": 1.5, "sobel-x": 1.5,
           "sobel-mag": 1.0, "dense-15x15": 0.8, "box-31": 1.0}
SCIPY_TARGET = 8.0  # auto at least this many times faster than scipy.ndimage
AUTO_VS_BEST = 1.25  # auto at most this much slower than the fastest engine


def work(algo, info, shape):
    """The arithmetic engine `algo` does on an image of `shape` (its module's work(), for GFLOP/s)."""
    return engine(algo).work(info, shape)


def peers():
    """The peer libraries that are installed: name -> module (or a note why not)."""
    found = {}
    for name in ("cv2", "scipy.ndimage", "PIL.ImageFilter"):
        try:
            found[name] = __import__(name, fromlist=["_"])
        except ImportError as e:
            found[name] = None
            print(f"note: {name} not installed ({e}); its column is skipped", file=sys.stderr)
    return found


@dataclass
class Impl:
    """One contender on one workload: a zero-argument callable and how to count its work."""

    name: str  # "imgconv auto", "imgconv direct", "opencv", "scipy", "pillow"
    call: object
    engine: str | None = None  # imgconv engine (for GFLOP/s)
    flops: float | None = None  # floating-point operations (2 per multiply-add) it performs
    times: list = field(default_factory=list)
    note: str = ""


@dataclass
class Workload:
    name: str
    description: str
    kernel: np.ndarray | None  # convolution kernel (imgconv convolves; OpenCV gets it flipped)
    impls: list = field(default_factory=list)
    dtype: str = "float32"
    out_bytes: int = 0
    pixels: int = 0


def flipped(kernel):
    return np.ascontiguousarray(kernel[::-1, ::-1], np.float32)


def kernel_workload(name, description, kernel, image, mods, opencv=None, scipy=None, pillow=None,
                    reps_hint=None):
    """A single-kernel convolution: every applicable imgconv engine, auto, and the peers given."""
    cv2, ndimage = mods["cv2"], mods["scipy.ndimage"]
    w = Workload(name, description, kernel, dtype=str(image.dtype), pixels=image.shape[0] * image.shape[1])
    out = np.empty_like(image)
    w.out_bytes = out.nbytes
    info = KernelInfo(kernel)
    chosen = plan(info, image.shape)
    for algo in ("auto",) + ALGORITHMS:
        if algo != "auto" and why_not(algo, info) is not None:
            continue
        if algo == "im2col" and kernel.size > 49 and not os.environ.get("BENCH_ALL"):
            continue  # minutes per call on 4K (k1*k2 patch bytes per pixel); BENCH_ALL=1 to include
        engine = chosen.algo if algo == "auto" else algo
        w.impls.append(Impl(f"imgconv {algo}", lambda a=algo: imgconv.convolve(image, kernel, algo=a, out=out),
                            engine=engine, flops=2 * work(engine, info, image.shape),
                            note=f"-> {chosen.algo}" if algo == "auto" else ""))
    if cv2 is not None:
        cv_out = np.empty_like(image)
        call = opencv(cv2, image, cv_out) if opencv else (
            lambda: cv2.filter2D(image, -1, flipped(kernel), dst=cv_out, borderType=cv2.BORDER_REFLECT))
        w.impls.append(Impl("opencv", call))
    if ndimage is not None:
        sp_out = np.empty_like(image)
        call = scipy(ndimage, image, sp_out) if scipy else (
            lambda: ndimage.convolve(image, kernel[:, :, None], output=sp_out, mode="reflect"))
        w.impls.append(Impl("scipy", call))
    if pillow is not None and mods["PIL.ImageFilter"] is not None and image.dtype == np.uint8:
        from PIL import Image

        pil = Image.fromarray(image)
        w.impls.append(Impl("pillow", lambda: pil.filter(pillow(mods["PIL.ImageFilter"]))))
    return w


def sobel_magnitude_workload(image, mods):
    """The `imgconv sobel` filter: BT.601 luminance, Sobel x and y, scaled gradient magnitude."""
    cv2, ndimage = mods["cv2"], mods["scipy.ndimage"]
    filt = sobel("both")
    full = 255.0 if image.dtype == np.uint8 else 1.0
    scale = filt.finish.scale
    w = Workload("sobel-mag", "Sobel gradient magnitude on luminance (x and y fused)", None, dtype=str(image.dtype),
                 pixels=image.shape[0] * image.shape[1])
    w.out_bytes = image.shape[0] * image.shape[1] * 4
    grey_values = image.shape[0] * image.shape[1]
    w.impls.append(Impl("imgconv auto", lambda: apply_filter(image, filt, full), engine="direct",
                        flops=2 * grey_values * 12, note="-> fused direct"))
    for algo in ("direct", "separable", "fft", "im2col"):
        w.impls.append(Impl(f"imgconv {algo}", lambda a=algo: apply_filter(image, filt, full, algo=a), engine=algo,
                            note="fused" if algo == "direct" else "two passes"))
    if cv2 is not None:
        def opencv():
            grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            if grey.dtype != np.float32:
                grey = grey.astype(np.float32)
            gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
            gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
            mag = cv2.magnitude(gx, gy)
            return np.multiply(mag, scale, out=mag)
        w.impls.append(Impl("opencv", opencv))
    if ndimage is not None:
        luma = np.array([0.299, 0.587, 0.114], np.float32)

        def scipy():
            grey = image @ luma
            gx, gy = ndimage.sobel(grey, axis=1, mode="reflect"), ndimage.sobel(grey, axis=0, mode="reflect")
            return np.hypot(gx, gy) * scale
        w.impls.append(Impl("scipy", scipy))
    if mods["PIL.ImageFilter"] is not None and image.dtype == np.uint8:
        from PIL import Image

        pil = Image.fromarray(image)
        w.impls.append(Impl("pillow", lambda: pil.convert("L").filter(mods["PIL.ImageFilter"].FIND_EDGES),
                            note="FIND_EDGES (Laplacian, not Sobel)"))
    return w


def jpeg_workload(mods, tmp: Path, size=(3000, 4000)):
    """12 MP JPEG, read -> Gaussian sigma 2 -> write JPEG q95, in process (no start-up cost)."""
    from PIL import Image

    from imgconv.filters import blur
    from imgconv.job import Options, process_file

    src = tmp / "photo12mp.jpg"
    if not src.exists():
        sample = Image.open(Path(__file__).resolve().parent.parent / "samples" / "astronaut.jpg").convert("RGB")
        big = np.asarray(sample.resize((size[1], size[0]), Image.BICUBIC)).astype(np.float32)
        big += np.random.default_rng(0).normal(0, 6, big.shape)
        Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(src, quality=92)
    w = Workload("jpeg-12mp", f"{size[0] * size[1] / 1e6:.0f} MP JPEG: read, Gaussian sigma 2, write JPEG q95", None,
                 dtype="uint8", pixels=size[0] * size[1])
    w.out_bytes = size[0] * size[1] * 3
    filt = blur(2.0)
    w.impls.append(Impl("imgconv auto",
                        lambda: process_file(src, tmp / "out_imgconv.jpg", filt, Options(overwrite=True)),
                        note="job.process_file (imgconv blur)"))

    def direct_uint8():
        from imgconv.io import load, save

        picture = load(src)
        pixels = apply_filter(picture.pixels, filt, picture.full, out_dtype=picture.pixels.dtype)
        save(pixels, tmp / "out_imgconv2.jpg", alpha=picture.alpha, info=picture.info, quality=95)
    w.impls.append(Impl("imgconv uint8 result", direct_uint8, note="io.load, apply_filter(out_dtype=uint8), io.save"))
    cv2, ndimage = mods["cv2"], mods["scipy.ndimage"]
    if cv2 is not None:
        def opencv():
            img = cv2.imread(str(src))
            cv2.imwrite(str(tmp / "out_cv.jpg"), cv2.GaussianBlur(img, (13, 13), 2.0, borderType=cv2.BORDER_REFLECT),
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
        w.impls.append(Impl("opencv", opencv))
    if ndimage is not None:
        def scipy():
            img = np.asarray(Image.open(src))
            out = ndimage.gaussian_filter(img, (2, 2, 0), mode="reflect", truncate=3.0)
            Image.fromarray(out).save(tmp / "out_scipy.jpg", quality=95)
        w.impls.append(Impl("scipy", scipy))
    if mods["PIL.ImageFilter"] is not None:
        def pillow():
            with Image.open(src) as img:
                img.filter(mods["PIL.ImageFilter"].GaussianBlur(2)).save(tmp / "out_pil.jpg", quality=95)
        w.impls.append(Impl("pillow", pillow))
    return w


def build_workloads(image, mods, only=None):
    rng = np.random.default_rng(7)
    d7, d15 = rng.standard_normal((7, 7)), rng.standard_normal((15, 15))

    def gauss_cv(sigma):
        r = math.ceil(3 * sigma)
        return lambda cv2, img, dst: (lambda: cv2.GaussianBlur(img, (2 * r + 1, 2 * r + 1), sigma, dst=dst,
                                                              borderType=cv2.BORDER_REFLECT))

    def gauss_sp(sigma):
        return lambda nd, img, dst: (lambda: nd.gaussian_filter(img, (sigma, sigma, 0), output=dst, mode="reflect",
                                                               truncate=3.0))

    def box_cv(cv2, img, dst):
        return lambda: cv2.blur(img, (31, 31), dst=dst, borderType=cv2.BORDER_REFLECT)

    def box_sp(nd, img, dst):
        return lambda: nd.uniform_filter(img, (31, 31, 1), output=dst, mode="reflect")

    def sobel_cv(cv2, img, dst):
        depth = cv2.CV_32F if img.dtype == np.float32 else -1
        return lambda: cv2.Sobel(img, depth, 1, 0, dst=dst, ksize=3, borderType=cv2.BORDER_REFLECT)

    def sharpen_pil(f):
        return f.Kernel((3, 3), list(flipped(sharpen_kernel(1.0)).ravel()), scale=1)

    def emboss_pil(f):
        return f.Kernel((3, 3), list(flipped(emboss_kernel()).ravel()), scale=1, offset=0)

    def sobel_pil(f):
        return f.Kernel((3, 3), list(flipped(SOBEL_X).ravel()), scale=1)

    specs = [
        ("gauss-s2", "Gaussian sigma 2 (13x13, rank 1)", gaussian_kernel(2.0),
         dict(opencv=gauss_cv(2.0), scipy=gauss_sp(2.0), pillow=lambda f: f.GaussianBlur(2))),
        ("gauss-s8", "Gaussian sigma 8 (49x49, rank 1)", gaussian_kernel(8.0),
         dict(opencv=gauss_cv(8.0), scipy=gauss_sp(8.0), pillow=lambda f: f.GaussianBlur(8))),
        ("sharpen-3x3", "3x3 sharpen (rank 2)", sharpen_kernel(1.0), dict(pillow=sharpen_pil)),
        ("emboss-3x3", "3x3 emboss, 45 degrees (rank 2)", emboss_kernel(), dict(pillow=emboss_pil)),
        ("sobel-x", "Sobel x (3x3, rank 1)", SOBEL_X, dict(opencv=sobel_cv, pillow=sobel_pil)),
        ("dense-7x7", "dense random 7x7 (full rank)", d7, {}),
        ("dense-15x15", "dense random 15x15 (full rank)", d15, {}),
        ("box-31", "31x31 box (mean)", box_kernel(31),
         dict(opencv=box_cv, scipy=box_sp, pillow=lambda f: f.BoxBlur(15))),
    ]
    out = []
    for name, description, kernel, peers_ in specs:
        if only and name not in only:
            continue
        out.append(kernel_workload(name, description, kernel, image, mods, **peers_))
        if name == "sobel-x" and (not only or "sobel-mag" in only):
            out.append(sobel_magnitude_workload(image, mods))
    if only and "sobel-mag" in only and not any(w.name == "sobel-mag" for w in out):
        out.append(sobel_magnitude_workload(image, mods))
    return out


def measure(workloads, rounds: int, budget: float, copy_timer):
    """Warm up every implementation, then `rounds` interleaved rounds; slow ones get fewer runs."""
    for w in workloads:
        for impl in w.impls:
            t = time.perf_counter()
            impl.call()
            impl.warm = time.perf_counter() - t
            impl.runs = max(1, min(rounds, int(budget / max(impl.warm, 1e-6))))
            if impl.warm > budget and impl.engine not in ("direct", "separable", "sat"):
                impl.times.append(impl.warm)  # slow and nothing to compile: the warm-up is the sample
                impl.runs = 0
            # Fast calls run a few times back to back in each round: more samples for the median.
            impl.inner = max(1, min(5, int(0.2 / max(impl.warm, 1e-6))))
    for r in range(rounds):
        copy_timer()
        for w in workloads:
            # Within a workload the contenders take turns call by call, so a burst of other work on the
            # machine lands on all of them rather than on whoever happened to be running.
            for i in range(max(impl.inner for impl in w.impls)):
                for impl in w.impls:
                    if r < impl.runs and i < impl.inner:
                        t = time.perf_counter()
                        impl.call()
                        impl.times.append(time.perf_counter() - t)
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr)


def rewrite_markdown():
    """Regenerate results/engines.md from results/engines.json (after a change to the table's format)."""
    data = json.loads((RESULTS / "engines.json").read_text())
    (RESULTS / "engines.md").write_text(markdown(data["rows"], data["summary"], data["meta"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1920x1080 and 3 rounds (a smoke run)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (default 9, quick 3)")
    ap.add_argument("--budget", type=float, default=4.0,
                    help="seconds per implementation per workload (slow ones run fewer rounds)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for imgconv and OpenCV")
    ap.add_argument("--only", nargs="*", help="workload names (e.g. gauss-s2 box-31 jpeg-12mp)")
    ap.add_argument("--dtypes", nargs="*", default=["float32", "uint8"])
    ap.add_argument("--no-write", action="store_true", help="print only; do not write results/")
    args = ap.parse_args(argv)

    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    mods = peers()
    if mods["cv2"] is not None:
        mods["cv2"].setNumThreads(args.threads)
    rounds = args.rounds or (3 if args.quick else 9)
    height, width = (1080, 1920) if args.quick else (2160, 3840)
    rng = np.random.default_rng(0)
    base = rng.random((height, width, 3), dtype=np.float32)
    images = {"float32": base, "uint8": (base * 255).astype(np.uint8)}

    copy_src, copy_dst = images["float32"], np.empty_like(images["float32"])
    copy_times = []

    def copy_timer():
        t = time.perf_counter()
        np.copyto(copy_dst, copy_src)
        copy_times.append(time.perf_counter() - t)

    only = set(args.only) if args.only else None
    workloads = []
    for dtype in args.dtypes:
        ws = build_workloads(images[dtype], mods, only)
        for w in ws:
            w.dtype = dtype
        workloads += ws
    tmp = Path(tempfile.mkdtemp(prefix="imgconv-bench-"))
    if not only or "jpeg-12mp" in only:
        workloads.append(jpeg_workload(mods, tmp, (1500, 2000) if args.quick else (3000, 4000)))

    print(f"imgconv benchmark: {width}x{height} RGB, {args.threads} thread(s), {rounds} rounds", file=sys.stderr)
    measure(workloads, rounds, args.budget, copy_timer)
    copy_s = statistics.median(copy_times)
    copy_gbps = 2 * copy_src.nbytes / copy_s / 1e9
    rows, summary = tabulate(workloads, width, height, copy_gbps)
    meta = {
        "load_average": os.getloadavg(),  # other work on the machine while measuring (1, 5, 15 min)
        "image": f"{width}x{height}x3", "threads": args.threads, "rounds": rounds,
        "copy_ms": copy_s * 1e3, "copy_gbps": copy_gbps,
        "machine": {"cpu": _cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "numba": numba.__version__,
                    "opencv": getattr(mods["cv2"], "__version__", None),
                    "scipy": _version("scipy"), "pillow": _version("PIL")},
    }
    render(rows, summary, meta)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "engines.json").write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=1))
        (RESULTS / "engines.md").write_text(markdown(rows, summary, meta))
        print(f"wrote {RESULTS / 'engines.json'} and {RESULTS / 'engines.md'}", file=sys.stderr)


def _version(module):
    try:
        return __import__(module).__version__
    except Exception:
        return None


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def tabulate(workloads, width, height, copy_gbps):
    rows, summary = [], []
    for w in workloads:
        px = w.pixels
        in_bytes = px * 3 * np.dtype(w.dtype).itemsize
        by_name = {}
        for impl in w.impls:
            if not impl.times:
                continue
            t = statistics.median(impl.times)
            gbps = (in_bytes + w.out_bytes) / t / 1e9
            row = {"workload": w.name, "description": w.description, "dtype": w.dtype, "impl": impl.name,
                   "note": impl.note, "ms": t * 1e3, "runs": len(impl.times), "mpx_s": px / t / 1e6,
                   "gb_s": gbps, "pct_copy_bw": 100 * gbps / copy_gbps,
                   "gflops": (impl.flops / t / 1e9) if impl.flops else None}
            rows.append(row)
            by_name[impl.name] = row
        cv, sp, auto = by_name.get("opencv"), by_name.get("scipy"), by_name.get("imgconv auto")
        for row in by_name.values():
            row["vs_opencv"] = row["ms"] / cv["ms"] if cv else None
        engines = {k: v for k, v in by_name.items() if k.startswith("imgconv ") and k != "imgconv auto"}
        best = min(engines.values(), key=lambda r: r["ms"]) if engines else None
        if auto:
            target = TARGETS.get(w.name)
            s = {"workload": w.name, "dtype": w.dtype, "description": w.description, "auto_ms": auto["ms"],
                 "auto_engine": auto["note"].lstrip("-> "),
                 "opencv_ms": cv["ms"] if cv else None, "scipy_ms": sp["ms"] if sp else None,
                 "pillow_ms": by_name["pillow"]["ms"] if "pillow" in by_name else None,
                 "vs_opencv": auto["ms"] / cv["ms"] if cv else None,
                 "scipy_speedup": sp["ms"] / auto["ms"] if sp else None,
                 "best_engine": best["impl"].split()[1] if best else None,
                 "auto_vs_best": auto["ms"] / best["ms"] if best else None,
                 "target_vs_opencv": target}
            s["met"] = all([
                target is None or s["vs_opencv"] is None or s["vs_opencv"] <= target,
                s["scipy_speedup"] is None or s["scipy_speedup"] >= SCIPY_TARGET,
                s["auto_vs_best"] is None or s["auto_vs_best"] <= AUTO_VS_BEST,
            ])
            summary.append(s)
    return rows, summary


def _f(x, fmt="{:.1f}"):
    return "-" if x is None else fmt.format(x)


def render(rows, summary, meta):
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=False, width=max(160, Console().width))
    t = Table(title=f"imgconv engines, {meta['image']}, {meta['threads']} threads "
                    f"(copy {meta['copy_ms']:.1f} ms = {meta['copy_gbps']:.1f} GB/s)")
    for col in ("workload", "dtype", "impl", "ms", "Mpx/s", "GB/s", "% copy bw", "GFLOP/s", "/ OpenCV", "note"):
        t.add_column(col, justify="right" if col not in ("workload", "impl", "note", "dtype") else "left")
    last = None
    for r in rows:
        key = (r["workload"], r["dtype"])
        if last and key != last:
            t.add_section()
        last = key
        style = "bold" if r["impl"] == "imgconv auto" else None
        t.add_row(r["workload"], r["dtype"], r["impl"], _f(r["ms"]), _f(r["mpx_s"], "{:.0f}"), _f(r["gb_s"]),
                  _f(r["pct_copy_bw"], "{:.0f}%"), _f(r["gflops"]), _f(r["vs_opencv"], "{:.2f}"), r["note"],
                  style=style)
    console.print(t)
    s = Table(title="auto against the peers and the issue's targets")
    for col in ("workload", "dtype", "auto ms", "engine", "OpenCV ms", "auto/OpenCV", "target", "scipy ms",
                "x faster than scipy", "auto/best engine", "met"):
        s.add_column(col)
    for r in summary:
        s.add_row(r["workload"], r["dtype"], _f(r["auto_ms"]), r["auto_engine"], _f(r["opencv_ms"]),
                  _f(r["vs_opencv"], "{:.2f}"), _f(r["target_vs_opencv"], "<= {:.2f}"), _f(r["scipy_ms"]),
                  _f(r["scipy_speedup"], "{:.1f}"), _f(r["auto_vs_best"], "{:.2f}"),
                  "[green]yes[/]" if r["met"] else "[red]no[/]")
    console.print(s)


def markdown(rows, summary, meta):
    m = meta["machine"]
    lines = [
        f"Measured by `python benchmarks/bench_engines.py` on {m['cpu']} ({m['cores']} cores), "
        f"{meta['image']} image, {meta['threads']} threads for imgconv and OpenCV, median of up to "
        f"{meta['rounds']} interleaved rounds. Plain copy of the float32 image: {meta['copy_ms']:.1f} ms "
        f"({meta['copy_gbps']:.1f} GB/s read+write). numpy {m['numpy']}, numba {m['numba']}, OpenCV {m['opencv']}, "
        f"scipy {m['scipy']}, Pillow {m['pillow']}.",
        "",
        "| workload | dtype | imgconv auto (engine) | OpenCV | auto / OpenCV | target | scipy.ndimage | scipy / auto "
        "| Pillow | auto / best engine |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary:
        lines.append(
            f"| {r['description']} | {r['dtype']} | {_f(r['auto_ms'])} ms ({r['auto_engine'] or '-'}) "
            f"| {_f(r['opencv_ms'])} ms | **{_f(r['vs_opencv'], '{:.2f}')}** "
            f"| {_f(r['target_vs_opencv'], '<= {:.2f}')} | {_f(r['scipy_ms'], '{:.0f}')} ms "
            f"| {_f(r['scipy_speedup'], '{:.0f}x' if (r['scipy_speedup'] or 0) >= 10 else '{:.1f}x')} "
            f"| {_f(r['pillow_ms'])} {'ms' if r['pillow_ms'] else ''} "
            f"| {_f(r['auto_vs_best'], '{:.2f}')} |")
    extra = [r for r in rows if r["impl"] == "imgconv uint8 result"]
    for r in extra:
        lines += ["", f"12 MP JPEG through the library with a uint8 result stored by the engine ({r['note']}): "
                      f"{r['ms']:.0f} ms, {r['vs_opencv']:.2f}x OpenCV.  `imgconv blur` (job.process_file) also "
                      "carries metadata and writes atomically with fsync."]
    lines += ["", "<details><summary>Every engine and peer (ms, Mpx/s, GB/s and % of copy bandwidth, GFLOP/s)"
              "</summary>", "",
              "| workload | dtype | implementation | ms | Mpx/s | GB/s | % copy bw | GFLOP/s | / OpenCV |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['dtype']} | {r['impl']} {r['note']} | {_f(r['ms'])} "
                     f"| {_f(r['mpx_s'], '{:.0f}')} | {_f(r['gb_s'])} | {_f(r['pct_copy_bw'], '{:.0f}%')} "
                     f"| {_f(r['gflops'])} | {_f(r['vs_opencv'], '{:.2f}')} |")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
