"""`imgconv deblur` for one file: load -> deconvolve the colour channels -> save, alpha left as it is.

A `Deblur` is what the batch machinery carries instead of a list of Filters (imgconv.job.process_file
hands the whole file to `Deblur.process`): deconvolution is not one convolution, and it cannot be run in
strips of rows -- every iteration reaches another PSF radius further -- so it takes the whole image.
It is plain data (the PSF and the options), so batches can send it to worker processes or Dask.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import ImgconvError
from . import DEFAULT_BALANCE, DEFAULT_LAMBDA

#: Set by the CLI for a one-file run on a terminal: progress(total) returns a context manager that
#: yields on_iteration(k, change, estimate), which shows a bar over the iterations.  None elsewhere (batches).
progress = None


@dataclass(frozen=True, eq=False)
class Deblur:
    """The deconvolution `imgconv deblur` runs on every file (see imgconv.deconvolve for the options)."""

    psf: np.ndarray
    method: str = "rl"
    iterations: int = 20
    tolerance: float | None = None
    accelerate: bool = True
    regularize: str | None = None
    lam: float = DEFAULT_LAMBDA
    balance: float = DEFAULT_BALANCE
    name: str = "deblur"

    def describe(self) -> str:
        k1, k2 = self.psf.shape
        if self.method == "wiener":
            return f"Wiener, balance {self.balance:g}, {k2}x{k1} PSF"
        how = "accelerated " if self.accelerate else ""
        tv = f", TV lambda {self.lam:g}" if self.regularize == "tv" else ""
        return f"{how}Richardson-Lucy{tv}, {k2}x{k1} PSF"

    def process(self, source, target, options):
        """Load `source`, deconvolve it, save `target` atomically; an imgconv.job.Report of what happened."""
        from ..dtypes import to_dtype
        from ..io import load
        from ..job import note_opened, save_result, start_report
        from ..psf import check_fits

        report = start_report(source, target, options)
        clock = time.perf_counter()
        picture = load(source, max_pixels=options.max_pixels)
        note_opened(report, picture, clock)
        check_fits(self.psf, picture.pixels.shape, str(source))
        if options.band_rows:
            report.notes.append("deblur works on the whole image: --band-rows does not apply")

        clock = time.perf_counter()
        colour = picture.pixels[..., :-1] if picture.alpha else picture.pixels
        linear = bool(options.linear) and picture.pixels.dtype.kind == "u" and not picture.cmyk
        if options.linear and not linear:
            report.notes.append("--linear applies to 8/16-bit RGB or grey images: this one is deblurred as it is")
        result = self._deconvolve(colour, picture.full, linear, options, report, str(source))
        if picture.alpha:
            result = np.concatenate([result, picture.pixels[..., -1:].astype(np.float32)], axis=-1)
        pixels = to_dtype(np.clip(result, 0, None), picture.pixels.dtype)
        report.seconds["deblur"] = time.perf_counter() - clock
        return save_result(picture, pixels, target, options, report)

    def _deconvolve(self, colour, full, linear, options, report, name):
        from ..srgb import linear_to_srgb, srgb_to_linear
        from . import deconvolve

        cval = options.cval * full
        if linear:  # blur happens in light, not in sRGB code values: undo it there
            colour = srgb_to_linear(colour / np.float32(full)) * np.float32(full)
            cval = float(srgb_to_linear(np.float32(options.cval))) * full
        stats = {}
        kwargs = dict(method=self.method, iterations=self.iterations, tolerance=self.tolerance,
                      accelerate=self.accelerate, regularize=self.regularize, lam=self.lam,
                      balance=self.balance, border=options.border, cval=cval, algo=options.algo, stats=stats)
        try:
            if progress is not None and self.method == "rl":
                with progress(self.iterations) as on_iteration:
                    result = deconvolve(colour, self.psf, on_iteration=on_iteration, **kwargs)
            else:
                result = deconvolve(colour, self.psf, **kwargs)
        except ImgconvError as e:
            raise ImgconvError(f"{name}: {e}") from None
        report.notes.append(self.describe() + _ran(stats))
        report.plans += stats.get("plans", [])[:1]  # the correlation with the mirrored PSF runs on the same engine
        if linear:
            result = linear_to_srgb(np.clip(result, 0, None) / np.float32(full)) * np.float32(full)
        return result


def _ran(stats: dict) -> str:
    if "iterations" not in stats:
        return ""
    return f": {stats['iterations']} iterations, last relative change {stats['change']:.2g}"


def check_sizes(psf: np.ndarray, patterns) -> None:
    """Refuse a PSF larger than any input, from the files' headers, before any work (a usage error).

    Inputs whose size the header does not tell (stdin, files Pillow cannot open) are checked when
    they are loaded instead, as one failed file.
    """
    from ..batch import STDIO, expand_inputs
    from ..psf import check_fits

    try:
        inputs = [path for path, _ in expand_inputs(patterns)]
    except ImgconvError:
        return  # a pattern matching nothing: the batch reports it
    for path in inputs:
        size = None if path == STDIO else image_size(path)
        if size is not None:
            check_fits(psf, size, path)


def image_size(path) -> tuple[int, int] | None:
    """(height, width) of an image file, upright, from its header alone; None if Pillow cannot tell.

    """
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
            if img.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientations that swap the axes
                width, height = height, width
    except Exception:  # noqa: BLE001 - unreadable here: the file's own load will report why
        return None
    return height, width


#: Options that only one method uses (checked by make_deblur when given explicitly).
RL_ONLY = ("iterations", "tolerance", "regularize", "lam", "no_accelerate")
WIENER_ONLY = ("balance",)


def make_deblur(psf_spec: str, method: str = "rl", iterations: int = 20, tolerance=None, regularize=None,
                lam: float | None = None, balance: float | None = None, accelerate: bool = True,
                given=()) -> Deblur:
    """The Deblur a command line asks for, every option checked (an ImgconvError says what is wrong).

    `given`: names of the options the user set explicitly, so that an option the method ignores
    (--balance with rl, --iterations with wiener, --lambda without --regularize tv) is an error, not a no-op.
    """
    from ..psf import load_psf
    from . import _check_rl

    lam = DEFAULT_LAMBDA if lam is None else lam
    balance = DEFAULT_BALANCE if balance is None else balance

    unused = WIENER_ONLY if method == "rl" else RL_ONLY
    wrong = [name for name in unused if name in given]
    if wrong:
        flags = ", ".join("--" + {"lam": "lambda"}.get(n, n).replace("_", "-") for n in wrong)
        raise ImgconvError(f"{flags}: not used by --method {method}")
    if regularize in (None, "none"):
        regularize = None
        if "lam" in given:
            raise ImgconvError("--lambda is the TV weight: it needs --regularize tv")
    if method == "rl":
        _check_rl(iterations, tolerance, regularize, lam)
    elif not (math.isfinite(balance) and balance > 0):
        raise ImgconvError(f"--balance must be a positive number, got {balance}")
    return Deblur(load_psf(psf_spec), method, iterations, tolerance, accelerate, regularize, lam, balance)


def iteration_bar(console):
    """A `progress` for the CLI: a transient rich bar over the iterations of one file."""
    import contextlib

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    @contextlib.contextmanager
    def bar(total):
        with Progress(TextColumn("[bold]deblurring"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("change {task.fields[change]}"), TimeElapsedColumn(), TextColumn("ETA"),
                      TimeRemainingColumn(), console=console, transient=True) as shown:
            task = shown.add_task("iterations", total=total, change="-")

            def on_iteration(k, change, estimate):
                shown.update(task, completed=k, change=f"{change:.2%}")

            yield on_iteration

    return bar
