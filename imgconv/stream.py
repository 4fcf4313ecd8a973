"""One huge image end to end in bounded memory: rows pulled band by band from the input, filtered, and
written band by band into the output TIFF, inside the output's atomic temporary file.

When: the image is filtered in bands (its working memory would pass --max-memory, or --band-rows says
so) and the output is a TIFF file.  A TIFF input that io.tiffrows streams is read band by band too;
any other input (JPEG, PNG, WebP, a rotated TIFF...) is decoded whole as before, and only the filter
and the output stream.  Other outputs are encoded whole, and one that cannot hold the image (a JPEG
over 65,500 pixels a side) is refused from a TIFF's header, before anything is decoded.

A `Recipe` is all it takes to compute any band of the result from the input file, in any process:
here the bands are computed one after the other; on Dask each band is a task (imgconv.distributed).
Either way the same bands reach the same writer in the same order, so the files are the same bytes.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from .bands import ArrayRows, FilteredRows, rows_for_budget
from .dtypes import to_dtype
from .errors import ImgconvError
from .io import load, logs
from .io.atomic import replacing
from .io.settings import with_compression
from .io.tiffrows import MAGIC, TiffRows, open_rows
from .io.writing import check_fits

#: Values (rows x columns x channels) in a streamed band, unless --band-rows says otherwise: 24 MB of an
#: 8-bit image.  Small enough that the input band, the result band and the filter's workspace stay well
#: under --max-memory; large enough that a halo's extra rows and each band's fixed costs are a few percent.
BAND_VALUES = 24 << 20


def band_rows(shape, options) -> int | None:
    """The band height when an image of `shape` is streamed (its working memory would pass --max-memory,
    or --band-rows), else None."""
    if options.band_rows:
        return options.band_rows if options.band_rows < shape[0] else None
    budget = rows_for_budget(shape, options.max_memory)
    if budget >= shape[0]:
        return None
    return max(16, min(budget, BAND_VALUES // (shape[1] * (shape[2] if len(shape) > 2 else 1))))


def writes_bands(target, fmt: str) -> bool:
    """A TIFF file (not a pipe) is written band by band."""
    return fmt == "TIFF" and str(target) != "-"


def open_input(source, target, fmt: str, chain, options):
    """(picture, rows): the input opened the way its size and the output call for.

    rows is the band height when the result is streamed into a TIFF output (`run`), else None.
    picture is a TiffRows for a huge TIFF streamed in, else load()'s Picture (decoded whole).
    """
    with _quietly([]):
        size = _tiff_size(source)
    if size is not None and band_rows(size, options):
        if not writes_bands(target, fmt):
            check_fits(fmt, size[1], size[0], target)  # from the header: nothing decoded yet
        else:
            notes: list = []
            with _quietly(notes):
                rows = open_rows(source, options.max_pixels)
            if rows is not None:
                rows.notes += notes
                if band_rows(rows.shape, options) and not (rows.cmyk and any(f.grey for f in chain)):
                    return rows, band_rows(rows.shape, options)  # (luminance needs RGB: CMYK is loaded)
                rows.close()
    picture = load(source, max_pixels=options.max_pixels)
    check_fits(fmt, picture.shape[1], picture.shape[0], target)
    return picture, band_rows(picture.shape, options) if writes_bands(target, fmt) else None


def reads_bands(source, target, fmt: str, options) -> bool:
    """Whether open_input streams this input in: a huge TIFF read band by band into a TIFF file (what a
    Dask cluster can split between its workers)."""
    if not writes_bands(target, fmt):
        return False
    try:
        with _quietly([]):
            size = _tiff_size(source)
            rows = open_rows(source, options.max_pixels) if size and band_rows(size, options) else None
    except ImgconvError:
        return False  # the job reports it
    if rows is None:
        return False
    with rows:
        return bool(band_rows(rows.shape, options))


@contextmanager
def _quietly(notes: list):
    """What Pillow and tifffile warn or log about an odd file becomes notes, never stderr lines."""
    with warnings.catch_warnings(record=True) as caught, logs.as_notes(notes):
        warnings.simplefilter("always")
        yield
    notes += [f"decoder warning: {w.message}" for w in caught if not issubclass(w.category, DeprecationWarning)]


def _tiff_size(source):
    """(height, width, samples) of a TIFF file from its header (Pillow's, read lazily), else None."""
    if str(source) == "-":
        return None
    try:
        with open(source, "rb") as f:
            if f.read(4) not in MAGIC:
                return None
    except OSError:
        return None
    from PIL import Image

    from .io.reading import pillow_bomb_limit

    try:
        with pillow_bomb_limit(None), Image.open(source) as img:
            return img.size[1], img.size[0], len(img.getbands())
    except Exception:  # noqa: BLE001 - a TIFF Pillow cannot open (16-bit colour...): ask tifffile
        rows = open_rows(source, 0)
        if rows is None:
            return None
        with rows:
            return rows.shape


@dataclass(frozen=True)
class Recipe:
    """How to compute any band of the result from the input: picklable, for Dask workers."""

    path: str | None  # the TIFF read band by band; None: an image decoded whole (only this process has it)
    chain: tuple  # the Filters, in order
    linear: tuple  # each step in linear light
    full: float  # the value of white
    alpha: bool
    dtype: np.dtype  # the result's pixel type (the input's)
    shape: tuple  # the input's
    rows: int  # band height
    algo: str = "auto"  # --algo
    border: str = "reflect"
    cval: float = 0.0
    threads: int | None = None
    algos: tuple | None = None  # each step's engine, planned once for the whole image (None: plan now)

    @property
    def count(self) -> int:
        return -(-self.shape[0] // self.rows)

    def pipeline(self, source, on_plan=None) -> FilteredRows:
        """The last step's rows, computed on demand from `source`'s."""
        rows = source
        for step, (filt, linear) in enumerate(zip(self.chain, self.linear)):
            last = step == len(self.chain) - 1
            algo = self.algos[step] if self.algos else self.algo
            rows = FilteredRows(rows, filt, self.full, alpha=self.alpha, algo=algo, border=self.border,
                                cval=self.cval * self.full, on_plan=on_plan, linear=linear,
                                out_dtype=self.dtype if last else None, threads=self.threads)
        return rows

    def bands(self, pipeline):
        """Every band of the result, in order."""
        height = self.shape[0]
        for top in range(0, height, self.rows):
            yield self.finish(pipeline.take(top, min(height, top + self.rows)))

    def finish(self, band: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.ascontiguousarray(to_dtype(band, self.dtype))

    def band(self, index: int) -> np.ndarray:
        """Band `index` of the result, computed in a process of its own (a Dask worker) from the file."""
        with TiffRows(self.path, 0) as source, np.errstate(all="ignore"):
            top = index * self.rows
            return self.finish(self.pipeline(source).take(top, min(self.shape[0], top + self.rows)))


def run(picture, chain, linear, target, options, report, rows: int, *, on_band=None, runner=None) -> None:
    """Filter and write one huge image band by band (see the module docstring).

    picture: a TiffRows or a Picture; on_band(done, total) is told as each band is written;
    runner(recipe) may give the bands from elsewhere (Dask), else they are computed here."""
    streamed = isinstance(picture, TiffRows)
    recipe = Recipe(str(picture.name) if streamed else None, tuple(chain), tuple(linear), picture.full,
                    picture.alpha, np.dtype(picture.dtype), tuple(picture.shape), rows, options.algo,
                    options.border, options.cval, options.threads)
    source = picture if streamed else ArrayRows(picture.pixels)
    with np.errstate(all="ignore"):
        pipeline = recipe.pipeline(source, on_plan=report.plans.append)
    steps, step = [], pipeline
    while isinstance(step, FilteredRows):
        steps.insert(0, step.options["algo"])
        step = step.upstream
    recipe = replace(recipe, algos=tuple(steps))
    bands = runner(recipe) if runner is not None and streamed else None
    report.notes.append(f"streamed in bands of {rows} rows ({recipe.count} bands)"
                        + ("; read band by band" if streamed else "")
                        + ("; each band a task on the Dask cluster" if bands is not None else ""))
    if bands is None:
        bands = recipe.bands(pipeline)
    seconds = {"read+filter": 0.0}

    def counted():
        clock = time.perf_counter()
        for done, band in enumerate(bands, start=1):
            seconds["read+filter"] += time.perf_counter() - clock
            yield band
            del band  # not held while the next one is computed
            if on_band:
                on_band(done, recipe.count)
            clock = time.perf_counter()

    from .io import tiffbands  # only a streamed TIFF output needs the band writer (and its thread pool)

    clock = time.perf_counter()
    notes: list = []
    meta = {} if options.strip else {k: v for k, v in picture.info.items() if v}
    encoding = with_compression(picture.encoding, options.compression)
    channels = pipeline.shape[2]
    try:
        with logs.as_notes(notes), replacing(target) as sink:
            tiffbands.write(sink, counted(), pipeline.shape, recipe.dtype, meta, alpha=picture.alpha,
                            cmyk=picture.cmyk and channels == 4, encoding=encoding, quality=options.quality,
                            notes=notes, tile=getattr(picture, "tile", None))
    except ImgconvError as e:
        name = str(report.source)
        raise ImgconvError(str(e) if str(e).startswith((name, str(target))) else f"{name}: {e}") from None
    report.notes += notes
    report.seconds.update(seconds)
    report.seconds["write"] = time.perf_counter() - clock - seconds["read+filter"]

