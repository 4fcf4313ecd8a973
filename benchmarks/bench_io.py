"""Image I/O per stage, in one process: imgconv's load() and save() of real JPEGs against the codecs alone.

    flock /tmp/imgconv-timing.lock python benchmarks/bench_io.py [PHOTO ...] [--rounds N] [--json OUT]

Default photos: /work/photos/path4.jpg (2560x1600 baseline 4:4:4 camera JPEG) and /work/photos/big15.jpg
(5120x2880 progressive 4:2:0).  Every contender runs once to warm up, then all take turns for N rounds
(interleaved, so a slow spell on a shared machine hits them alike); the median and the best are printed
in ms (on a busy shared machine the best is the steadier figure).
save() writes to a temporary folder beside nothing else, synced like any imgconv output.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from imgconv.io import load, save

PHOTOS = ["/work/photos/path4.jpg", "/work/photos/big15.jpg"]


def contenders(path: Path, folder: Path) -> dict:
    """name -> a function doing one stage once."""
    import imagecodecs

    data = path.read_bytes()
    picture = load(path)
    pixels = picture.pixels
    settings = getattr(picture, "encoding", None)
    out = folder / "out.jpg"

    def imgconv_save(quality=None, subsampling=None):
        """save() as a job calls it: the input's settings kept, or forced (where this version can)."""
        def run():
            if settings is None:  # a version that keeps nothing: always quality 95, 4:2:0
                save(pixels, out, alpha=picture.alpha, info=picture.info)
            else:
                kept = dict(settings, subsampling=subsampling) if subsampling else settings
                save(pixels, out, alpha=picture.alpha, info=picture.info, quality=quality, encoding=kept)
            out.unlink()
        return run

    def pillow_encode(subsampling):
        def run():
            Image.fromarray(pixels).save(io.BytesIO(), "JPEG", quality=95, subsampling=subsampling)
        return run

    def codecs_encode(subsampling):
        return lambda: imagecodecs.jpeg8_encode(pixels, level=95, subsampling=subsampling)

    return {
        "imgconv load()": lambda: load(path),
        "Pillow open+load+asarray": lambda: np.asarray(Image.open(io.BytesIO(data))),
        "imagecodecs jpeg8_decode": lambda: imagecodecs.jpeg8_decode(data),
        "imgconv save() (kept settings, to disk)": imgconv_save(),
        "imgconv save() q95 4:2:0 (to disk)": imgconv_save(95, "4:2:0"),
        "imgconv save() q95 4:4:4 (to disk)": imgconv_save(95, "4:4:4"),
        "Pillow encode q95 4:4:4 (BytesIO)": pillow_encode("4:4:4"),
        "Pillow encode q95 4:2:0 (BytesIO)": pillow_encode("4:2:0"),
        "imagecodecs encode q95 4:4:4": codecs_encode("444"),
        "imagecodecs encode q95 4:2:0": codecs_encode("420"),
    }


def measure(path: Path, rounds: int) -> dict:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        runs = contenders(path, Path(folder))
        times = {name: [] for name in runs}
        for fn in runs.values():
            fn()
        for _ in range(rounds):
            for name, fn in runs.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t) * 1e3, min(t) * 1e3) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="*", default=PHOTOS)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    results = {}
    for photo in args.photos:
        path = Path(photo)
        with Image.open(path) as img:
            size = f"{img.width}x{img.height}"
        results[path.name] = figures = measure(path, args.rounds)
        print(f"{path.name} ({size}), {args.rounds} rounds:{'median':>34s} {'best':>8s}")
        for name, (median, best) in figures.items():
            print(f"  {name:42s} {median:8.1f} {best:8.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
