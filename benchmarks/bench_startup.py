"""Start-up and whole-process end-to-end time: imgconv against ImageMagick, a Pillow script, an OpenCV script.

    python benchmarks/bench_startup.py            # 1080p photo, PNG and JPEG, 7 runs each
    python benchmarks/bench_startup.py --cold     # also time imgconv's first-ever run (cold Numba cache)

Every figure is the wall time of a whole process (fork, interpreter, imports, read, blur, write), median
of --runs runs after one warm-up run, with the Numba cache warm unless --cold.  The "photo" is
samples/astronaut.jpg scaled to 1920x1080 with a little noise, saved as PNG and JPEG (q92).  Each tool
writes the format it read, with its own default settings, as a user would run it: ImageMagick's PNG
(zlib level 7, adaptive filters) and Pillow's PNG (level 6) compress harder and slower than imgconv's
(level 1, a deliberate choice: a few percent larger files for a several times faster save).
ImageMagick is /usr/bin/convert (`apt-get install -y imagemagick`); a missing tool is skipped and said so.
Writes benchmarks/results/startup.json and startup.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PY = sys.executable

PILLOW_SCRIPT = ("import sys; from PIL import Image, ImageFilter; "
                 "Image.open(sys.argv[1]).filter(ImageFilter.GaussianBlur(2)).save(sys.argv[2])")
OPENCV_SCRIPT = ("import sys, cv2; "
                 "cv2.imwrite(sys.argv[2], cv2.GaussianBlur(cv2.imread(sys.argv[1]), (13, 13), 2.0))")


def run(cmd, env=None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {proc.stderr.decode()[-400:]}")
    return elapsed


def timed(cmd, runs: int, env=None, warm=True) -> dict:
    if warm:
        run(cmd, env)
    times = [run(cmd, env) for _ in range(runs)]
    return {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3, "runs": runs}


def make_photo(tmp: Path) -> dict:
    import numpy as np
    from PIL import Image

    sample = Image.open(ROOT / "samples" / "astronaut.jpg").convert("RGB").resize((1920, 1080), Image.BICUBIC)
    pixels = np.asarray(sample).astype(np.float32)
    pixels += np.random.default_rng(0).normal(0, 4, pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    paths = {"png": tmp / "photo1080.png", "jpg": tmp / "photo1080.jpg"}
    image.save(paths["png"])
    image.save(paths["jpg"], quality=92)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cold", action="store_true", help="also time a first run with an empty Numba cache")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    imgconv = shutil.which("imgconv") or f"{PY} -m imgconv.cli"
    imgconv = imgconv.split()
    convert = "/usr/bin/convert" if Path("/usr/bin/convert").exists() else None
    tmp = Path(tempfile.mkdtemp(prefix="imgconv-startup-"))
    photos = make_photo(tmp)
    results = {"runs": args.runs, "startup": {}, "end_to_end": {}, "notes": []}

    print("start-up...", file=sys.stderr)
    results["startup"]["python -c pass"] = timed([PY, "-c", "pass"], args.runs)
    results["startup"]["imgconv --help"] = timed(imgconv + ["--help"], args.runs)
    results["startup"]["python -c 'import numba'"] = timed([PY, "-c", "import numba"], args.runs)
    results["startup"]["python -c 'import numpy, PIL.Image'"] = timed([PY, "-c", "import numpy, PIL.Image"], args.runs)
    # imgconv --help must not import numba (nor numpy): check it, not only time it.
    probe = subprocess.run([PY, "-c", "import sys; from imgconv import cli; "
                            "sys.argv=['imgconv','--help']\ntry: cli.main()\nexcept SystemExit: pass\n"
                            "print(' '.join(m for m in ('numba','numpy','PIL','rich') if m in sys.modules), file=sys.stderr)"],
                           capture_output=True, text=True)
    results["help_imports"] = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ""

    for fmt, src in photos.items():
        out = tmp / f"out.{fmt}"
        rows = {}
        print(f"end-to-end {fmt}...", file=sys.stderr)
        rows["imgconv blur --sigma 2"] = timed(imgconv + ["blur", str(src), str(out), "--sigma", "2", "--overwrite"], args.runs)
        if convert:
            rows["ImageMagick convert -blur 0x2"] = timed([convert, str(src), "-blur", "0x2", str(out)], args.runs)
            rows["ImageMagick convert -gaussian-blur 0x2"] = timed(
                [convert, str(src), "-gaussian-blur", "0x2", str(out)], args.runs)
        else:
            results["notes"].append("ImageMagick not installed (/usr/bin/convert): skipped")
        rows["Pillow script (GaussianBlur(2))"] = timed([PY, "-c", PILLOW_SCRIPT, str(src), str(out)], args.runs)
        try:
            import cv2  # noqa: F401

            rows["OpenCV script (GaussianBlur 13x13, sigma 2)"] = timed(
                [PY, "-c", OPENCV_SCRIPT, str(src), str(out)], args.runs)
        except ImportError:
            results["notes"].append("OpenCV not installed: skipped")
        # Where imgconv's time goes, from its own --verbose stage timings.
        proc = subprocess.run(imgconv + ["blur", str(src), str(out), "--sigma", "2", "--overwrite", "-v"],
                              capture_output=True, text=True)
        rows["imgconv stages (-v)"] = {"text": " ".join(l.strip() for l in proc.stderr.splitlines() if "time" in l)}
        results["end_to_end"][fmt] = rows

    if args.cold:
        cache = tmp / "numba-cache"
        env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
        src = photos["png"]
        results["cold_first_run"] = timed(imgconv + ["blur", str(src), str(tmp / "c.png"), "--sigma", "2",
                                                     "--overwrite"], 1, env=env, warm=False)
    render(results)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "startup.json").write_text(json.dumps(results, indent=1))
        (RESULTS / "startup.md").write_text(markdown(results))
        print(f"wrote {RESULTS / 'startup.json'} and {RESULTS / 'startup.md'}", file=sys.stderr)


def render(results):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title="start-up (whole process, median)")
    t.add_column("command")
    t.add_column("ms", justify="right")
    for name, r in results["startup"].items():
        t.add_row(name, f"{r['median_ms']:.0f}")
    console.print(t)
    console.print(f"modules loaded by `imgconv --help`: {results.get('help_imports') or 'none of numba, numpy, PIL, rich'}")
    for fmt, rows in results["end_to_end"].items():
        t = Table(title=f"1080p {fmt.upper()}: read, Gaussian blur sigma 2, write (whole process, median)")
        t.add_column("tool")
        t.add_column("ms", justify="right")
        for name, r in rows.items():
            t.add_row(name, f"{r['median_ms']:.0f}" if "median_ms" in r else r.get("text", ""))
        console.print(t)
    if "cold_first_run" in results:
        console.print(f"first-ever run (empty Numba cache): {results['cold_first_run']['median_ms'] / 1e3:.1f} s")
    for note in results["notes"]:
        console.print(f"note: {note}")


def markdown(results) -> str:
    lines = ["Measured by `python benchmarks/bench_startup.py`: whole-process wall time, median of "
             f"{results['runs']} runs after a warm-up run (Numba cache warm).", "",
             "| start-up | ms |", "|---|---|"]
    for name, r in results["startup"].items():
        lines.append(f"| `{name}` | {r['median_ms']:.0f} |")
    for fmt, rows in results["end_to_end"].items():
        lines += ["", f"| 1080p {fmt.upper()}: read, blur sigma 2, write | ms |", "|---|---|"]
        for name, r in rows.items():
            if "median_ms" in r:
                lines.append(f"| {name} | {r['median_ms']:.0f} |")
            else:
                lines.append(f"| {name} | {r.get('text', '')} |")
    if "cold_first_run" in results:
        lines += ["", f"First-ever run (empty Numba cache, compiles the engine): "
                      f"{results['cold_first_run']['median_ms'] / 1e3:.1f} s."]
    for note in results["notes"]:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
