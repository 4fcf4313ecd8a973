"""Whole jobs, as a user runs them: a fresh process that imports, decodes, filters, encodes and writes.

    python benchmarks/bench_e2e.py              # every job, interleaved rounds (about ten minutes)
    python benchmarks/bench_e2e.py --rounds 3   # a quicker, noisier run
    python benchmarks/bench_e2e.py --installed  # the imgconv of this environment, no fresh install

imgconv is measured as a user gets it: a new venv and `pip install .` of this checkout (timed), then its
first run on the 15 Mpx photo and its first batch (nothing compiled or cached yet), then every job.

Jobs (Gaussian blur sigma 2, JPEG quality 95, every tool given the input's chroma subsampling):
  * one 2560x1600 camera photo (4 Mpx), and one 5120x2880 progressive JPEG (15 Mpx) tiled 2x2 from four
    2560x1600 camera photos (a real photo's statistics at a larger size; tiled, not invented);
  * a folder of 48 of the 4 Mpx photos (eight camera photos, six copies each) into another folder;
  * imgconv's first run after `pip install` in a new venv, and its first batch there.
Contenders: `imgconv`, libvips (`vips gaussblur`, Debian's libvips-tools), ImageMagick (`/usr/bin/convert`,
`/usr/bin/mogrify`), and the Pillow and OpenCV scripts in benchmarks/peers/.  A missing peer is skipped and
named.  Each contender runs as a whole process, timed from outside (wall time, and peak RSS from GNU time,
/usr/bin/time), contenders taking turns round by round; medians and min-max.

The photos are real camera photos from Debian's plasma-workspace-wallpapers package (KDE wallpapers
with their camera EXIF; Path, FallenLeaf, Kite, BytheWater, ColdRipple, OneStandsOut, DarkestHour,
ColorfulCups), fetched once with `apt-get download` into benchmarks/.photos/ (not committed).
Writes benchmarks/results/e2e.json and e2e.md.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PHOTOS = HERE / ".photos"
PY = sys.executable
CAMERA = ("Path", "FallenLeaf", "Kite", "BytheWater", "ColdRipple", "OneStandsOut", "DarkestHour", "ColorfulCups")
TILED = ("Path", "FallenLeaf", "Kite", "OneStandsOut")
SIGMA = "2"

PEERS = HERE / "peers"  # the Pillow and OpenCV scripts users would write (from ../shared/peers)


# --- photos -----------------------------------------------------------------------------------------


def fetch_photos() -> Path:
    """The KDE wallpapers' camera photos, from /usr/share/wallpapers or a downloaded .deb."""
    for base in (Path("/usr/share/wallpapers"), PHOTOS / "x/usr/share/wallpapers"):
        if (base / "Path/contents/images/2560x1600.jpg").exists():
            return base
    PHOTOS.mkdir(exist_ok=True)
    subprocess.run(["apt-get", "download", "plasma-workspace-wallpapers"], cwd=PHOTOS, check=True)
    deb = next(PHOTOS.glob("plasma-workspace-wallpapers_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(PHOTOS / "x")], check=True)
    return PHOTOS / "x/usr/share/wallpapers"


def make_inputs(tmp: Path) -> dict:
    from PIL import Image

    base = fetch_photos()
    photos = [base / name / "contents/images/2560x1600.jpg" for name in CAMERA]
    single = tmp / "photo4.jpg"
    shutil.copy(photos[0], single)
    tile = Image.new("RGB", (5120, 3200))
    for k, name in enumerate(TILED):
        tile.paste(Image.open(base / name / "contents/images/2560x1600.jpg").convert("RGB"),
                   ((k % 2) * 2560, (k // 2) * 1600))
    big = tmp / "photo15.jpg"
    tile.crop((0, 160, 5120, 3040)).save(big, quality=92, progressive=True, subsampling=2)
    folder = tmp / "folder"
    folder.mkdir()
    for copy in range(6):
        for photo in photos:
            shutil.copy(photo, folder / f"{photo.parts[-4]}-{copy}.jpg")
    return {"4mpx": single, "15mpx": big, "folder": folder}


def subsampling(path) -> int:
    """0 for 4:4:4, 1 for 4:2:2, 2 for 4:2:0 (Pillow's codes), as the file was written."""
    from PIL import Image, JpegImagePlugin

    return JpegImagePlugin.get_sampling(Image.open(path))


# --- timing -----------------------------------------------------------------------------------------


def run(cmd, env=None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one whole process.  Peak RSS comes from /usr/bin/time (GNU
    time, Debian's `time` package): a forked child's own accounting would include the pages it shared
    with this (large) benchmark process before exec."""
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *map(str, cmd)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {proc.stderr.decode(errors='replace')[-500:]}")
        return elapsed, int(report.read().split()[-1]) / 1024


def interleaved(contenders: dict, rounds: int, before=None) -> dict:
    """Time each contender (a command, or a (command, environment) pair) `rounds` times, taking turns;
    one untimed warm-up run each first."""
    specs = {name: spec if isinstance(spec, tuple) else (spec, None) for name, spec in contenders.items()}
    for name, spec in specs.items():
        if before:
            before(name)
        run(*spec)
    times = {name: [] for name in contenders}
    rss = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, spec in specs.items():
            if before:
                before(name)
            seconds, peak = run(*spec)
            times[name].append(seconds)
            rss[name].append(peak)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t),
                   "peak_rss_mib": max(rss[name]), "runs": len(t)} for name, t in times.items()}


def peers_available() -> dict:
    have = {"vips": shutil.which("vips"), "convert": Path("/usr/bin/convert").exists(),
            "mogrify": Path("/usr/bin/mogrify").exists()}
    try:
        import cv2  # noqa: F401

        have["opencv"] = True
    except ImportError:
        have["opencv"] = False
    return have


def single_file_contenders(imgconv, src: Path, out: Path, have: dict, scripts: dict) -> dict:
    sub = subsampling(src)
    vips_mode = {0: "off", 2: "on"}.get(sub, "auto")
    found = {"imgconv": imgconv + ["blur", str(src), str(out / "imgconv.jpg"), "--sigma", SIGMA, "--quality", "95",
                                   "--overwrite"]}
    if have["vips"]:
        found["vips"] = ["vips", "gaussblur", str(src), f"{out / 'vips.jpg'}[Q=95,subsample-mode={vips_mode}]", SIGMA]
    if have["opencv"]:
        found["OpenCV script"] = [PY, str(scripts["opencv"]), str(src), str(out / "opencv.jpg"), SIGMA, str(sub)]
    found["Pillow script"] = [PY, str(scripts["pillow"]), str(src), str(out / "pillow.jpg"), SIGMA, str(sub)]
    if have["convert"]:
        factor = {0: "4:4:4", 2: "4:2:0"}.get(sub, "4:2:2")
        found["ImageMagick convert"] = ["/usr/bin/convert", str(src), "-blur", f"0x{SIGMA}", "-quality", "95",
                                        "-sampling-factor", factor, str(out / "magick.jpg")]
    return found


def batch_contenders(imgconv, folder: Path, out: Path, have: dict, scripts: dict) -> dict:
    found = {"imgconv": imgconv + ["blur", str(folder / "*.jpg"), "--out-dir", str(out / "imgconv"), "--sigma", SIGMA,
                                   "--quality", "95", "--quiet"]}
    if have["vips"]:
        script = (f"mkdir -p {out}/vips && ls {folder}/*.jpg | xargs -P2 -I{{}} sh -c "
                  f"'vips gaussblur {{}} {out}/vips/$(basename {{}})[Q=95] {SIGMA}'")
        found["vips (xargs -P2)"] = ["sh", "-c", script]
    if have["opencv"]:
        found["OpenCV Pool(2)"] = [PY, str(scripts["opencv_pool"]), str(folder), str(out / "opencv")]
    found["Pillow Pool(2)"] = [PY, str(scripts["pillow_pool"]), str(folder), str(out / "pillow")]
    if have["mogrify"]:
        found["ImageMagick mogrify"] = ["sh", "-c", f"mkdir -p {out}/magick && /usr/bin/mogrify -path {out}/magick "
                                                    f"-blur 0x{SIGMA} -quality 95 {folder}/*.jpg"]
    return found


def ways_contenders(imgconv, src: Path, out: Path) -> dict:
    """imgconv's auto against every other way this process could have run the job: each engine forced,
    and the jitted loops instead of the ones compiled at install (IMGCONV_JIT=1)."""
    base = imgconv + ["blur", str(src), str(out / "ways.jpg"), "--sigma", SIGMA, "--quality", "95", "--overwrite"]
    found = {"auto": base}
    for algo in ("separable", "direct", "fft"):
        found[f"--algo {algo}"] = base + ["--algo", algo]
    found["jitted loops, 2 threads (IMGCONV_JIT=1)"] = (base + ["--algo", "separable"],
                                                         dict(os.environ, IMGCONV_JIT="1"))
    return found


def clear_outputs(out: Path):
    def clear(name):
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    return clear


def stages(imgconv, src: Path, out: Path) -> str:
    """imgconv's own account of where the time goes (-v)."""
    proc = subprocess.run(imgconv + ["blur", str(src), str(out / "v.jpg"), "--sigma", SIGMA, "--quality", "95",
                                     "--overwrite", "-v"], capture_output=True, text=True)
    return " ".join(line.strip() for line in proc.stderr.splitlines() if line.startswith(("time", "engine")))


def fresh_install(tmp: Path) -> tuple[list, float]:
    """A new venv with `pip install .` of this checkout: (the imgconv command, seconds the install took)."""
    venv = tmp / "venv"
    subprocess.run([PY, "-m", "venv", str(venv)], check=True)
    start = time.perf_counter()
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", str(ROOT)], check=True)
    return [str(venv / "bin/imgconv")], time.perf_counter() - start


def cold(imgconv, install_s: float, src: Path, folder: Path, tmp: Path) -> dict:
    """The first run after install on the 15 Mpx photo and the first batch, against the same repeated."""
    out = tmp / "cold-out"
    out.mkdir()
    first = run(imgconv + ["blur", str(src), str(out / "first.jpg"), "--quality", "95"])
    warm = min(run(imgconv + ["blur", str(src), str(out / "first.jpg"), "--quality", "95", "--overwrite"])
               for _ in range(3))
    batch_cmd = imgconv + ["blur", str(folder / "*.jpg"), "--out-dir", str(out / "batch"), "--quality", "95", "--quiet"]
    first_batch = run(batch_cmd)
    shutil.rmtree(out / "batch")
    warm_batch = run(batch_cmd)
    return {"install_s": install_s, "first_run_s": first[0], "warm_run_s": warm[0],
            "first_batch_s": first_batch[0], "warm_batch_s": warm_batch[0]}


def startup(imgconv) -> dict:
    rows = {"python -c pass": [PY, "-c", "pass"], "imgconv --help": imgconv + ["--help"],
            "python -c 'import numpy, PIL.Image'": [PY, "-c", "import numpy, PIL.Image"],
            "python -c 'import numba'": [PY, "-c", "import numba"]}
    return interleaved(rows, 5)


# --- report -----------------------------------------------------------------------------------------


def table(title: str, rows: dict, reference: str = "imgconv") -> list[str]:
    lines = [f"| {title} | median | min–max | peak RSS | imgconv / this |", "|---|---|---|---|---|"]
    ref = rows[reference]["median_s"]
    for name, r in rows.items():
        ratio = "" if name == reference else f"{ref / r['median_s']:.2f}"
        lines.append(f"| {name} | {r['median_s'] * 1e3:.0f} ms | {r['min_s'] * 1e3:.0f}–{r['max_s'] * 1e3:.0f} ms | "
                     f"{r['peak_rss_mib']:.0f} MiB | {ratio} |")
    return lines


def markdown(results: dict) -> str:
    lines = [f"Measured by `python benchmarks/bench_e2e.py` on {results['machine']}: whole processes timed from "
             f"outside, {results['rounds']} interleaved rounds after a warm-up run, load average "
             f"{results['load_before']} before and {results['load_after']} after.", ""]
    lines += table("one 2560x1600 camera JPEG (4 Mpx)", results["4mpx"]) + [""]
    lines += table("one 5120x2880 progressive JPEG (15 Mpx)", results["15mpx"]) + [""]
    lines += table("48 x 4 Mpx JPEGs into a folder", results["batch"]) + [""]
    for key, title in (("4mpx", "4 Mpx"), ("15mpx", "15 Mpx")):
        ways = results[f"ways_{key}"]
        fastest = min(r["median_s"] for r in ways.values())
        lines += [f"| imgconv, {title}: each way the job could run | median | / fastest |", "|---|---|---|"]
        lines += [f"| {name} | {r['median_s'] * 1e3:.0f} ms | {r['median_s'] / fastest:.2f} |"
                  for name, r in ways.items()] + [""]
    lines += [f"imgconv's stages, 4 Mpx: {results['stages_4mpx']}", "",
              f"imgconv's stages, 15 Mpx: {results['stages_15mpx']}", ""]
    if "cold" in results:
        c = results["cold"]
        lines += [f"Fresh venv: `pip install .` {c['install_s']:.0f} s; first run on the 15 Mpx photo "
                  f"{c['first_run_s'] * 1e3:.0f} ms (then {c['warm_run_s'] * 1e3:.0f} ms); first batch of 48 "
                  f"{c['first_batch_s']:.2f} s (then {c['warm_batch_s']:.2f} s).", ""]
    lines += ["| start-up | median |", "|---|---|"]
    lines += [f"| `{name}` | {r['median_s'] * 1e3:.0f} ms |" for name, r in results["startup"].items()]
    lines += [""] + [f"Note: {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--installed", action="store_true", help="time this environment's imgconv, no fresh install")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    have = peers_available()
    notes = [f"{name} not installed: skipped" for name, ok in have.items() if not ok]
    tmp = Path(tempfile.mkdtemp(prefix="imgconv-e2e-"))
    scripts = {"pillow": PEERS / "pillow_blur.py", "opencv": PEERS / "opencv_blur.py",
               "pillow_pool": PEERS / "pillow_pool.py", "opencv_pool": PEERS / "opencv_pool.py"}
    inputs = make_inputs(tmp)
    out = tmp / "out"
    out.mkdir()
    results = {"machine": f"{os.cpu_count()} cores", "rounds": args.rounds, "notes": notes,
               "load_before": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    if args.installed:
        beside = Path(sys.executable).parent / "imgconv"  # this interpreter's environment's own imgconv
        imgconv = [str(beside) if beside.exists() else shutil.which("imgconv") or sys.exit("no imgconv")]
    else:
        print("== fresh venv: pip install .", file=sys.stderr, flush=True)
        imgconv, install_s = fresh_install(tmp)
        results["cold"] = cold(imgconv, install_s, inputs["15mpx"], inputs["folder"], tmp)
    for key in ("4mpx", "15mpx"):
        print(f"== {key}", file=sys.stderr, flush=True)
        results[key] = interleaved(single_file_contenders(imgconv, inputs[key], out, have, scripts), args.rounds)
        results[f"stages_{key}"] = stages(imgconv, inputs[key], out)
        results[f"ways_{key}"] = interleaved(ways_contenders(imgconv, inputs[key], out), max(3, args.rounds // 2))
    print("== batch", file=sys.stderr, flush=True)
    results["batch"] = interleaved(batch_contenders(imgconv, inputs["folder"], out, have, scripts),
                                   max(3, args.rounds // 2), before=clear_outputs(out))
    print("== start-up", file=sys.stderr, flush=True)
    results["startup"] = startup(imgconv)
    results["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    text = markdown(results)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "e2e.json").write_text(json.dumps(results, indent=1))
        (RESULTS / "e2e.md").write_text(text)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
