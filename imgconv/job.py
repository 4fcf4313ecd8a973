"""One file through the whole flow: load -> plan -> engine -> save.  Batches call this per file."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .apply import apply_filter
from .errors import ImgconvError
from .filters import Filter
from .io import load, output_format, save, to_dtype


@dataclass(frozen=True)
class Options:
    """How to run a filter, as the user chose on the command line."""

    algo: str = "auto"
    border: str = "reflect"
    cval: float = 0.0
    quality: int = 95
    overwrite: bool = False


@dataclass
class Report:
    """What happened to one file, for --verbose and batch summaries."""

    source: str
    target: str
    plans: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # stage -> seconds
    megapixels: float = 0.0


def check_target(source, target, overwrite: bool) -> None:
    """Refuse to overwrite an input or an existing file unless the user said --overwrite."""
    output_format(target)
    target = Path(target)
    if target.is_dir():
        raise ImgconvError(f"{target}: is a directory; give an output file name")
    if overwrite:
        return
    if target.exists():
        same = Path(source).exists() and os.path.samefile(source, target)
        what = "is the input file" if same else "already exists"
        raise ImgconvError(f"{target}: {what}; pass --overwrite to replace it")


def process_file(source, target, filters, options: Options = Options()) -> Report:
    """Load, apply one Filter (or a chain of them, without re-encoding in between), save."""
    chain = (filters,) if isinstance(filters, Filter) else tuple(filters)
    report = Report(str(source), str(target))
    check_target(source, target, options.overwrite)
    clock = time.perf_counter()
    picture = load(source)
    report.notes += picture.notes
    report.megapixels = picture.pixels.shape[0] * picture.pixels.shape[1] / 1e6
    report.seconds["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    result = picture.pixels
    for filt in chain:
        result = apply_filter(result, filt, picture.full, alpha=picture.alpha, algo=options.algo,
                              border=options.border, cval=options.cval * picture.full,
                              on_plan=report.plans.append)
    pixels = to_dtype(result, picture.pixels.dtype)
    report.seconds["filter"] = time.perf_counter() - clock

    clock = time.perf_counter()
    alpha = picture.alpha
    save(pixels, target, alpha=alpha, info=picture.info, quality=options.quality)
    report.seconds["save"] = time.perf_counter() - clock
    return report
