"""Property-based fuzzing of the CLI: random bytes, random truncations and corruptions of real files in
every format imgconv reads, and random kernel strings and option values.

The only outcomes allowed: success (exit 0, a complete output that reads back) or a clean error (exit 1
or 2, no traceback, no output at all).  Never a traceback, a hang, a crash or a partial / temporary file.

Each case runs the real click command (CliRunner) in a separate worker process, so a crash in a C
decoder (a dead worker) or a hang (no answer within HANG_SECONDS) is caught and reported as a failure
instead of taking the test run down.

Two ways to run:

* CI (the default): the same 100 derandomised cases per test (300 in all) on every run, fast and stable.
* Exploring: IMGCONV_FUZZ_RANDOM=1 draws a fresh random seed (IMGCONV_FUZZ_SEED=N uses seed N), and
  IMGCONV_FUZZ_EXAMPLES sets the cases per test.  The seed is printed with any failure; rerunning with
  IMGCONV_FUZZ_SEED=<that seed> and the same IMGCONV_FUZZ_EXAMPLES replays the same cases.

    IMGCONV_FUZZ_RANDOM=1 IMGCONV_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -q -o faulthandler_timeout=0

(`-o faulthandler_timeout=0`: such a run takes minutes per test, past the suite's 300 s hang guard; each
case still has its own, IMGCONV_FUZZ_TIMEOUT.)
"""

import io
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from PIL import Image
from worker import Worker

EXAMPLES = int(os.environ.get("IMGCONV_FUZZ_EXAMPLES", "100"))
HANG_SECONDS = float(os.environ.get("IMGCONV_FUZZ_TIMEOUT", "60"))
#: None: CI's fixed derandomised cases; else the seed of a randomised run (printed with any failure).
SEED = (int(os.environ["IMGCONV_FUZZ_SEED"]) if os.environ.get("IMGCONV_FUZZ_SEED")
        else random.SystemRandom().randrange(2**32) if os.environ.get("IMGCONV_FUZZ_RANDOM") else None)
REPLAY = "" if SEED is None else (f"randomised fuzz run, seed {SEED}: replay it with "
                                  f"IMGCONV_FUZZ_SEED={SEED} IMGCONV_FUZZ_EXAMPLES={EXAMPLES}")
_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SEED is None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                            HealthCheck.function_scoped_fixture])


def FUZZ(test):
    """The settings above, and the seed of a randomised run."""
    test = _SETTINGS(test)
    return test if SEED is None else seed(SEED)(test)


@pytest.fixture(autouse=True)
def _print_the_seed():
    """pytest shows a failed test's captured output: the seed that replays it."""
    if SEED is not None:
        print(REPLAY)
    yield


#: Keep decodes small and fast: a random header may claim any size.
LIMIT = ["--max-pixels", "4000000"]
COMMANDS = [["blur", "--sigma", "1"], ["box", "--size", "3"], ["sharpen"], ["sobel"], ["emboss"],
            ["unsharp"], ["blur", "--sigma", "1.5", "--linear"], ["convolve", "--kernel", "1 2 1"]]
OUTPUTS = ["png", "jpg", "tif", "webp", "heic", "jxl", "avif"]


# ------------------------------------------------------------------------------------ the worker side

def _invoke(args, folder):
    """Run `imgconv ARGS` in this (worker) process; report what a user would see -- including what C
    libraries (libtiff, libpng...) write straight to file descriptor 2, which click's runner cannot see."""
    from click.testing import CliRunner

    from imgconv.cli import cli
    from imgconv.io.logs import c_stderr

    os.chdir(folder)
    native = []
    with c_stderr(native):
        result = CliRunner().invoke(cli, args, catch_exceptions=True)
    written = "".join(line + "\n" for line in native)
    escaped = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        escaped = "".join(traceback.format_exception(*result.exc_info))
    return {"exit_code": result.exit_code, "stderr": written + result.stderr, "stdout": result.stdout,
            "escaped": escaped}


def _warm_up():
    import imgconv.cli  # noqa: F401 - import (and numba-compile on first use) before the clock starts


@pytest.fixture(scope="module")
def worker():
    w = Worker(HANG_SECONDS, initializer=_warm_up)
    w.run(_invoke, ["kernels"], tempfile.gettempdir())  # start it and pay the imports once
    yield w
    w.kill()


# ------------------------------------------------------------------------------------ the cases

def _seed_files():
    """Small valid files in every format and depth imgconv reads: what the truncations start from."""
    import cv2
    import tifffile

    from imgconv.io import encode

    rng = np.random.default_rng(11)
    rgb = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    rgb16 = rng.integers(0, 65536, (12, 16, 3), dtype=np.uint16)
    seeds = {}

    def pillow(name, image, fmt, **params):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **params)
        seeds[name] = buffer.getvalue()

    image = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 6
    pillow("rgb.png", image, "PNG", exif=exif)
    pillow("rgba.png", image.convert("RGBA"), "PNG")
    pillow("grey.png", image.convert("L"), "PNG")
    pillow("palette.png", image.convert("P", palette=Image.Palette.ADAPTIVE, colors=8), "PNG", transparency=0)
    pillow("photo.jpg", image, "JPEG", quality=80, exif=exif)
    pillow("cmyk.jpg", image.convert("CMYK"), "JPEG")
    pillow("rgb.tif", image, "TIFF", compression="tiff_lzw")
    pillow("anim.gif", image, "GIF", save_all=True, append_images=[image.rotate(90)])
    pillow("photo.webp", image, "WEBP")
    pillow("rgb.bmp", image, "BMP")
    pillow("grey16.png", Image.fromarray(rgb16[..., 0]), "PNG")
    pillow("float.tif", Image.fromarray(rgb16[..., 0].astype(np.float32) / 65535), "TIFF")
    seeds["rgb16.png"] = encode(rgb16, "PNG", alpha=False, meta={"text": {"Title": "sixteen"}, "dpi": (300, 300)})
    seeds["rgba16.png"] = encode(np.dstack([rgb16, rgb16[..., :1]]), "PNG", alpha=True, meta={})
    ok, encoded = cv2.imencode(".tif", rgb16)  # LZW with a predictor
    seeds["rgb16-lzw.tif"] = encoded.tobytes()
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb16, photometric="rgb", compression="zlib", predictor=True)
    seeds["rgb16-zip.tif"] = buffer.getvalue()
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb16.astype(np.float32) / 65535, photometric="rgb")
    seeds["rgbf.tif"] = buffer.getvalue()
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb, photometric="rgb", compression="webp")  # a codec Pillow's libtiff lacks
    seeds["webp.tif"] = buffer.getvalue()
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb, photometric="cielab")
    seeds["lab.tif"] = buffer.getvalue()
    pillow("photo.avif", image, "AVIF", exif=exif)
    seeds["photo.heic"] = encode(rgb, "HEIF", alpha=False, meta={"exif": exif.tobytes()})
    seeds["photo.jxl"] = encode(rgb, "JXL", alpha=False, meta={"exif": exif.tobytes(), "xmp": b"<x/>"})
    seeds["deep.jxl"] = encode(rgb16[..., :1], "JXL", alpha=False, meta={})
    return seeds


SEEDS = _seed_files()
MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b"GIF89a", b"BM",
         b"RIFF\x00\x00\x00\x00WEBP",
         b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n",
         b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"]


def check(worker, args, folder, inputs, output):
    """Run and apply the rule: success with a complete output, or a clean error with no output."""
    from imgconv.io import load

    outcome = worker.run(_invoke, [str(a) for a in args], str(folder))
    if outcome in ("hang", "crash"):
        what = f"no answer in {HANG_SECONDS} s (a hang)" if outcome == "hang" else "the process died (a crash)"
        pytest.fail(f"imgconv {' '.join(map(str, args))}: {what}\n{REPLAY}")
    shown = f"imgconv {' '.join(map(str, args))}\n{outcome['stderr']}\n{REPLAY}"
    assert outcome["escaped"] is None, f"an exception escaped:\n{outcome['escaped']}\n{shown}"
    assert "Traceback" not in outcome["stderr"] + outcome["stdout"], shown
    assert outcome["exit_code"] in (0, 1, 2), shown
    left = sorted(p.name for p in Path(folder).iterdir())
    if outcome["exit_code"] == 0:
        assert left == sorted(inputs + [output]), f"stray files {left}\n{shown}"
        picture = load(Path(folder) / output)  # complete and readable
        assert picture.pixels.size > 0
    else:
        assert left == sorted(inputs), f"partial or stray files {left}\n{shown}"
        assert outcome["stderr"].strip(), f"an error with no message\n{shown}"
        lines = outcome["stderr"].strip().splitlines()
        if lines[-1].startswith("Error: "):  # click's own usage error (e.g. a float option given "abc")
            assert outcome["exit_code"] == 2, shown
        else:
            assert len(lines) == 1 and lines[0].startswith("imgconv: "), shown


def _fresh_folder():
    return Path(tempfile.mkdtemp(prefix="imgconv-fuzz-"))


def _cleanup(folder):
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()


@FUZZ
@given(magic=st.sampled_from(MAGIC), body=st.binary(max_size=3000), command=st.sampled_from(COMMANDS),
       ext=st.sampled_from(OUTPUTS), name=st.sampled_from(["in.png", "in.jpg", "in.tif", "in"]))
def test_random_bytes(worker, magic, body, command, ext, name):
    folder = _fresh_folder()
    try:
        (folder / name).write_bytes(magic + body)
        check(worker, [command[0], name, f"out.{ext}", *command[1:], *LIMIT], folder, [name], f"out.{ext}")
    finally:
        _cleanup(folder)


@FUZZ
@given(seed=st.sampled_from(sorted(SEEDS)), data=st.data(), command=st.sampled_from(COMMANDS),
       ext=st.sampled_from(OUTPUTS))
def test_truncated_and_corrupted_real_files(worker, seed, data, command, ext):
    original = SEEDS[seed]
    cut = data.draw(st.integers(0, len(original)), label="keep bytes")
    damaged = bytearray(original[:cut])
    flips = data.draw(st.lists(st.tuples(st.integers(0, max(0, len(damaged) - 1)), st.integers(0, 255)),
                               max_size=4 if damaged else 0), label="byte changes")
    for position, value in flips:
        damaged[position] = value
    folder = _fresh_folder()
    try:
        (folder / seed).write_bytes(bytes(damaged))
        check(worker, [command[0], seed, f"out.{ext}", *command[1:], *LIMIT], folder, [seed], f"out.{ext}")
    finally:
        _cleanup(folder)


KERNEL_TEXT = st.text(alphabet="0123456789.-+eE ;,\n#naif x", max_size=40)
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                    st.sampled_from(["abc", "", "1e400", "-0", "0.0001"]))


@FUZZ
@given(kind=st.sampled_from(["convolve", "blur", "box", "unsharp", "sharpen", "emboss"]), kernel=KERNEL_TEXT,
       number=NUMBERS, flags=st.sets(st.sampled_from(["--normalize", "--correlate"])),
       border=st.sampled_from(["reflect", "mirror", "nearest", "wrap", "constant"]))
def test_random_kernels_and_option_values(worker, kind, kernel, number, flags, border):
    folder = _fresh_folder()
    try:
        (folder / "in.png").write_bytes(SEEDS["rgba.png"])
        value = str(number)
        args = {"convolve": ["--kernel", kernel, *sorted(flags)], "blur": ["--sigma", value],
                "box": ["--size", value], "unsharp": ["--sigma", value, "--amount", value, "--threshold", value],
                "sharpen": ["--amount", value], "emboss": ["--angle", value, "--strength", value]}[kind]
        check(worker, [kind, "in.png", "out.png", "--border", border, *args], folder, ["in.png"], "out.png")
    finally:
        _cleanup(folder)
