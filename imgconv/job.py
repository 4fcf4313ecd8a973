"""One file through the whole flow: load -> plan -> engine -> save.  Batches call this per file."""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ImgconvError
from .filters import Filter
from .io import as_rgb, load, output_format, save, to_dtype
from .strips import apply_in_strips, rows_for_budget


@dataclass(frozen=True)
class Options:
    """How to run a filter, as the user chose on the command line."""

    algo: str = "auto"
    border: str = "reflect"
    cval: float = 0.0
    quality: int = 95
    overwrite: bool = False
    strip: bool = False  # drop metadata (EXIF, ICC, XMP, text) on purpose
    linear: bool = False  # blurs average in linear light (sRGB decoded first, encoded after)
    max_pixels: int | None = None  # decompression-bomb guard: None Pillow's limit, 0 no limit
    in_place: bool = False  # the output may be the input itself
    debug: bool = False  # print the traceback of an unexpected error (it is still reported as one line)
    fmt: str | None = None  # output format (--format); else the output's extension, or PNG on stdout
    tile_rows: int | None = None  # filter in strips of this many rows (imgconv.strips); None: from max_memory
    max_memory: int = 1 << 30  # working memory (beyond input and output) before an image is split in strips


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


def process_file(source, target, filters, options: Options = Options()) -> Report:
    """Load, apply one Filter (or a chain of them, without re-encoding in between), save.

    Every failure is an ImgconvError with a one-line message naming the file; a bug or an unforeseen
    library error too ("internal error"), its traceback printed first when options.debug.
    """
    try:
        return _process(source, target, filters, options)
    except ImgconvError:
        raise
    except MemoryError:
        raise ImgconvError(f"{source}: out of memory") from None
    except Exception as e:  # noqa: BLE001 - reported against the file, never as a traceback
        if options.debug:
            traceback.print_exc()
        raise ImgconvError(f"{source}: internal error ({type(e).__name__}: {e}); "
                           "run with --debug for the traceback") from (e if options.debug else None)


def _process(source, target, filters, options: Options) -> Report:
    chain = (filters,) if isinstance(filters, Filter) else tuple(filters)
    if len(chain) == 1 and hasattr(chain[0], "process"):  # a whole-file step (deconvolution.job.Deblur)
        return chain[0].process(source, target, options)
    report = Report(str(source), str(target))
    check_target(source, target, options.overwrite, options.in_place, options.fmt)
    clock = time.perf_counter()
    picture = load(source, max_pixels=options.max_pixels)
    report.notes += picture.notes
    height, width = picture.pixels.shape[:2]
    report.megapixels = height * width / 1e6
    report.seconds["load"] = time.perf_counter() - clock
    for filt in chain:
        if filt.name == "box" and max(k.shape[0] for k in filt.kernels) > min(height, width):
            size = filt.kernels[0].shape[0]
            raise ImgconvError(f"{source}: box size {size} is larger than the {width}x{height} image")
    if picture.cmyk and any(f.grey for f in chain):
        picture = as_rgb(picture)  # luminance needs RGB
        report.notes += picture.notes
    linear = options.linear and any(f.smooths for f in chain)
    if options.linear and not linear:
        report.notes.append("--linear changes only blurs (filters that average); this filter ignores it")
    if linear and (picture.pixels.dtype.kind not in "u" or picture.cmyk):
        report.notes.append("--linear applies to 8/16-bit RGB or grey images: float, 32-bit and CMYK are "
                            "filtered as they are")
        linear = False

    clock = time.perf_counter()
    result = picture.pixels
    with np.errstate(all="ignore"):  # overflow is checked once, below, and reported in one line
        rows = options.tile_rows or rows_for_budget(result.shape, options.max_memory)
        if rows < height:
            report.notes.append(f"filtered in strips of {rows} rows ({-(-height // rows)} strips)")
        try:
            for step, filt in enumerate(chain, start=1):
                # The last step stores the image's own type (a plain kernel straight from the engine).
                out_dtype = picture.pixels.dtype if step == len(chain) else None
                result = apply_in_strips(result, filt, picture.full, rows=rows, alpha=picture.alpha,
                                         algo=options.algo, border=options.border,
                                         cval=options.cval * picture.full, on_plan=report.plans.append,
                                         linear=linear, out_dtype=out_dtype)
            pixels = to_dtype(result, picture.pixels.dtype)
        except ImgconvError as e:
            raise ImgconvError(f"{source}: {e}") from None
    report.seconds["filter"] = time.perf_counter() - clock

    clock = time.perf_counter()
    report.notes += save(pixels, target, alpha=picture.alpha, info=picture.info, quality=options.quality,
                         cmyk=picture.cmyk and pixels.shape[2] == 4, strip=options.strip, fmt=options.fmt)
    report.seconds["save"] = time.perf_counter() - clock
    return report
