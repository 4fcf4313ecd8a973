"""One file through the whole flow: load -> plan -> engine -> save.

`run_job` is what every batch runner calls per file -- in this process, in a process pool, on Dask --
and it never raises: a bad file becomes a failed `Outcome`, so it can never stop or corrupt the rest.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import stream
from .bands import apply_in_bands, rows_for_budget
from .dtypes import to_dtype
from .errors import ImgconvError
from .filters import Filter
from .io import as_rgb, output_format, save
from .io.settings import with_compression
from .io.tiffrows import TiffRows

STDIO = "-"


@dataclass(frozen=True)
class Options:
    """How to run a filter, as the user chose on the command line."""

    algo: str = "auto"
    border: str = "reflect"
    cval: float = 0.0
    quality: int | None = None  # JPEG/WebP/AVIF/HEIC/JPEG XL quality; None: the input JPEG's, else 95
    overwrite: bool = False
    strip: bool = False  # drop metadata (EXIF, ICC, XMP, text) on purpose
    linear: bool | None = None  # blurs average in linear light (sRGB decoded first, encoded after);
    # None: as each filter prefers (lens does, other blurs do not)
    max_pixels: int | None = None  # decompression-bomb guard: None Pillow's limit, 0 no limit
    in_place: bool = False  # the output may be the input itself
    debug: bool = False  # print the traceback of an unexpected error (it is still reported as one line)
    fmt: str | None = None  # output format (--format); else the output's extension, or PNG on stdout
    band_rows: int | None = None  # filter in bands of this many rows (imgconv.bands); None: from max_memory
    max_memory: int = 1 << 30  # working memory (beyond input and output) before an image is split in bands
    threads: int | None = None  # the most threads the engines may use (None: every core)
    compression: str | None = None  # TIFF output compression (--compression); None: the input's, else Deflate


@dataclass
class Report:
    """What happened to one file, for --verbose and batch summaries."""

    source: str
    target: str
    plans: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # stage -> seconds
    megapixels: float = 0.0


def check_target(source, target, overwrite: bool, in_place: bool = False, fmt: str | None = None) -> None:
    """Refuse to overwrite an input (unless --overwrite or --in-place) or an existing file (unless
    --overwrite), and catch an unusable output name before any work is done."""
    output_format(target, fmt)
    if str(target) == "-":
        return
    target = Path(target)
    if target.is_dir():
        raise ImgconvError(f"{target}: is a directory; give an output file name")
    if not target.parent.is_dir():
        raise ImgconvError(f"{target}: the folder {target.parent} does not exist")
    if overwrite or not target.exists():
        return
    same = str(source) != "-" and Path(source).exists() and os.path.samefile(source, target)
    if same and in_place:
        return
    what = "is the input file" if same else "already exists"
    raise ImgconvError(f"{target}: {what}; pass --overwrite to replace it")


def process_file(source, target, filters, options: Options = Options(), *, on_band=None, runner=None) -> Report:
    """Load, apply one Filter (or a chain of them, without re-encoding in between), save.

    A huge image going to a TIFF file is streamed band by band (imgconv.stream): on_band(done, total)
    is told as each band is written, and runner(recipe) may compute the bands elsewhere (Dask).
    Every failure is an ImgconvError with a one-line message naming the file; a bug or an unforeseen
    library error too ("internal error"), its traceback printed first when options.debug.
    """
    try:
        return _process(source, target, filters, options, on_band, runner)
    except ImgconvError:
        raise
    except MemoryError:
        raise ImgconvError(f"{source}: out of memory") from None
    except Exception as e:  # noqa: BLE001 - reported against the file, never as a traceback
        if options.debug:
            traceback.print_exc()
        raise ImgconvError(f"{source}: internal error ({type(e).__name__}: {e}); "
                           "run with --debug for the traceback") from (e if options.debug else None)


def _process(source, target, filters, options: Options, on_band=None, runner=None) -> Report:
    chain = (filters,) if isinstance(filters, Filter) else tuple(filters)
    if len(chain) == 1 and hasattr(chain[0], "process"):  # a whole-image step (deconvolution.job.Deblur)
        return chain[0].process(source, target, options)
    report = start_report(source, target, options)
    fmt = output_format(target, options.fmt)
    clock = time.perf_counter()
    picture, rows = stream.open_input(source, target, fmt, chain, options)
    try:
        note_opened(report, picture, clock, "open" if isinstance(picture, TiffRows) else "load")
        height, width = picture.shape[:2]
        for filt in chain:
            problem = filt.too_big_for(height, width)
            if problem:
                raise ImgconvError(f"{source}: {problem}")
        if picture.cmyk and any(f.grey for f in chain):
            picture = as_rgb(picture)  # luminance needs RGB (open_input never streams such a TIFF in)
            report.notes += picture.notes
        linear = [f.smooths and (f.linear if options.linear is None else options.linear) for f in chain]
        if options.linear and not any(linear):
            report.notes.append("--linear changes only blurs (filters that average); this filter ignores it")
        if any(linear) and (picture.dtype.kind not in "u" or picture.cmyk):
            what = "--linear" if options.linear else "linear light (the filter's default)"
            report.notes.append(f"{what} applies to 8/16-bit RGB or grey images: float, 32-bit and CMYK are "
                                "filtered as they are")
            linear = [False] * len(chain)
        if rows:  # a huge image going to a TIFF file: streamed band by band
            stream.run(picture, chain, linear, target, options, report, rows, on_band=on_band, runner=runner)
            return report
        return _filter_and_save(picture, chain, linear, source, target, options, report)
    finally:
        if isinstance(picture, TiffRows):
            picture.close()


def start_report(source, target, options: Options) -> Report:
    """The report of one file's job, once its target is known to be one it may write."""
    check_target(source, target, options.overwrite, options.in_place, options.fmt)
    return Report(str(source), str(target))


def note_opened(report: Report, picture, clock: float, step: str = "load") -> None:
    """What opening the input (a Picture or TiffRows) found, and the seconds since `clock` it took."""
    report.notes += picture.notes
    height, width = picture.shape[:2]
    report.megapixels = height * width / 1e6
    report.seconds[step] = time.perf_counter() - clock


def _filter_and_save(picture, chain, linear, source, target, options: Options, report: Report) -> Report:
    """The whole image in memory: filtered (in bands if its working memory calls for it), encoded whole."""
    height = picture.shape[0]
    clock = time.perf_counter()
    result = picture.pixels
    with np.errstate(all="ignore"):  # overflow is checked once, below, and reported in one line
        rows = options.band_rows or rows_for_budget(result.shape, options.max_memory)
        if rows < height:
            report.notes.append(f"filtered in bands of {rows} rows ({-(-height // rows)} bands)")
        try:
            for step, (filt, in_linear_light) in enumerate(zip(chain, linear), start=1):
                # The last step stores the image's own type (a plain kernel straight from the engine).
                out_dtype = picture.pixels.dtype if step == len(chain) else None
                result = apply_in_bands(result, filt, picture.full, rows=rows, alpha=picture.alpha,
                                        algo=options.algo, border=options.border,
                                        cval=options.cval * picture.full, on_plan=report.plans.append,
                                        linear=in_linear_light, out_dtype=out_dtype, threads=options.threads)
            pixels = to_dtype(result, picture.pixels.dtype)
        except ImgconvError as e:
            raise ImgconvError(f"{source}: {e}") from None
    report.seconds["filter"] = time.perf_counter() - clock
    return save_result(picture, pixels, target, options, report)


def save_result(picture, pixels, target, options: Options, report: Report) -> Report:
    """Encode the result as the input was encoded (its metadata, quality, compression), atomically."""
    clock = time.perf_counter()
    encoding = picture.encoding
    if output_format(target, options.fmt) == "TIFF":
        encoding = with_compression(encoding, options.compression)
    elif options.compression:
        report.notes.append("--compression applies to TIFF outputs only")
    report.notes += save(pixels, target, alpha=picture.alpha, info=picture.info, quality=options.quality,
                         cmyk=picture.cmyk and pixels.shape[2] == 4, strip=options.strip, fmt=options.fmt,
                         encoding=encoding)
    report.seconds["save"] = time.perf_counter() - clock
    return report


@dataclass(frozen=True)
class Job:
    source: str
    target: str
    make_parent: bool = False  # create the target's folder (outputs under --out-dir)


@dataclass
class Outcome:
    job: Job
    ok: bool
    skipped: bool = False
    error: str = ""
    megapixels: float = 0.0
    report: object = None


def run_job(job: Job, filters, options: Options, skip_existing: bool = False, *, on_band=None,
            runner=None) -> Outcome:
    """Process one file; any failure becomes an Outcome, never an exception (on_band, runner: see
    process_file)."""
    if skip_existing and job.target != STDIO and os.path.exists(job.target):
        return Outcome(job, ok=True, skipped=True)
    try:
        if job.make_parent:
            _make_parent(job.target)
        report = process_file(job.source, job.target, filters, options, on_band=on_band, runner=runner)
    except ImgconvError as e:
        return Outcome(job, ok=False, error=str(e))
    return Outcome(job, ok=True, megapixels=report.megapixels, report=report)


def _make_parent(target: str) -> None:
    folder = os.path.dirname(target) or "."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ImgconvError(f"{target}: cannot create the folder {folder} ({e.strerror or e})") from None
