"""A TIFF's first image read band by band: any range of rows on demand, in memory bounded by the range.

Uncompressed pixels stored in one piece are memory-mapped range by range: only the rows asked for are
mapped, and unmapped once the caller lets go of them, so the process never holds the file's pages
beyond one band.  Other files are read strip by strip or tile by tile: the strips or tiles that cover
the rows are read with os.pread and decoded by tifffile (`TiffPage.decode`, every compression
imagecodecs has) on a few threads at once -- imagecodecs releases the GIL -- and the last ones are kept,
since the next band's halo overlaps them.  Rows are converted exactly as tiff.read converts a whole
image (`tiff.Layout`), so a band is the very rows load() would give.

`open_rows` says None for a TIFF it does not stream (a rotated one, palette, 1-bit, integer types other
than 8/16-bit...): the caller decodes those whole, as before.
"""

from __future__ import annotations

import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np

from ..engine.threads import cores
from ..errors import ImgconvError
from . import metadata, settings, tiff
from .picture import FULL

#: The first bytes of a TIFF and of a BigTIFF, little- and big-endian.
MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
#: JPEG compressions: their YCbCr pixels are decoded to RGB by tifffile (as by libtiff for Pillow).
JPEG = {6, 7}


def open_rows(path, max_pixels: int | None):
    """A TiffRows over `path`, or None when it is no TIFF this module streams (the caller loads it whole).
    A file over the pixel limit is refused here, from its header."""
    if str(path) == "-":
        return None
    try:
        with open(path, "rb") as f:
            if f.read(4) not in MAGIC:
                return None
    except OSError:
        return None  # load() reports it, in its words
    rows = TiffRows(path, max_pixels)
    if rows.page is None:
        rows.close()
        return None
    return rows


class TiffRows:
    """Rows of a TIFF's first image, with what load() would tell about it (alpha, cmyk, info, notes,
    encoding), read on demand by take(first, last)."""

    def __init__(self, path, max_pixels: int | None):
        import tifffile

        from .reading import DEFAULT_MAX_PIXELS, check_pixel_limit

        self.name = str(path)
        self.page, self._tif, self._pool, self._cache = None, None, None, {}
        self._file = open(path, "rb")  # noqa: SIM115 - held open while rows are read; closed by close()
        try:
            self._tif = tifffile.TiffFile(self._file)
            page = self._tif.pages.first
        except Exception:  # noqa: BLE001 - tifffile cannot parse it: load() reports it, in its words
            return
        try:
            check_pixel_limit((int(page.imagewidth), int(page.imagelength)), self.name,
                              DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
        except ImgconvError:
            self.close()
            raise
        self.notes: list = []
        kind = self._layout(page)
        if kind is None:
            return
        self.page, self.kind = page, kind
        self.shape = (int(page.imagelength), int(page.imagewidth), kind.keep)
        self.dtype = kind.dtype
        self.full = FULL[kind.dtype]
        self.alpha, self.cmyk = kind.alpha, kind.cmyk
        self.encoding = settings.tiff_settings(page.compression, page.predictor)
        self.tile = tuple(page.chunks[:2]) if page.is_tiled else None
        if len(self._tif.pages) > 1:
            self.notes.append(f"only the first of {len(self._tif.pages)} frames is filtered")
        # Mapped only if the file holds all the pixels; else read strip by strip, the missing ones reported.
        self._mapped = (page.is_memmappable and page.planarconfig == 1
                        and int(page.dataoffsets[0]) + page.nbytes <= os.fstat(self._file.fileno()).st_size)
        self.chunk_rows = page.chunks[0]
        self.grid = page.chunked  # [planes,] chunk rows, chunk columns[, 1]

    def _layout(self, page):
        """The page's tiff.Layout, or None if this module does not stream it."""
        photometric = page.photometric.name
        if photometric == "YCBCR" and page.compression in JPEG:
            photometric = "RGB"  # decoded to RGB
        elif page.is_subsampled:
            return None
        orientation = int(getattr(page.tags.get(274), "value", 1))
        if (orientation != 1 or int(page.imagedepth) != 1 or page.dtype is None
                or np.dtype(page.dtype).newbyteorder("=") not in (np.uint8, np.uint16, np.float32)
                or photometric not in tiff.BASE_SAMPLES):
            return None
        try:
            kind = tiff.layout(page, self.name, self.notes, photometric=photometric)
        except ImgconvError:
            return None  # load() refuses it, in its words
        if kind.associated and kind.dtype == np.uint8:
            return None  # load() has Pillow un-premultiply 8-bit colour, rounding its own way
        return kind

    @cached_property
    def info(self) -> dict:
        """What load() carries: the page's ICC, XMP and dpi, and what Pillow reads (EXIF) where it can
        (asked for only where the output is written, not by each Dask band task)."""
        from PIL import Image

        from .reading import pillow_bomb_limit

        meta = tiff.page_meta(self.page)
        meta.pop("orientation", None)
        try:
            with pillow_bomb_limit(None), Image.open(self.name) as img:  # the header only: nothing decoded
                meta.update(metadata.read(img))
        except Exception:  # noqa: BLE001 - Pillow cannot open every TIFF; its EXIF is then not carried
            pass
        return metadata.clean(meta)

    def take(self, first: int, last: int) -> np.ndarray:
        """Rows first..last-1 (0 <= first < last <= height) as a rows x width x samples array."""
        try:
            if self._mapped:
                return tiff.convert(self._map(first, last), self.kind)
            height = self.chunk_rows
            wanted = range(first // height, (last - 1) // height + 1)
            missing = [k for k in wanted if k not in self._cache]
            self._cache = {k: self._cache[k] for k in wanted if k in self._cache}  # keep what this band reuses
            self._cache.update(zip(missing, self._decode(missing), strict=True))
        except ImgconvError:
            raise
        except MemoryError:
            raise ImgconvError(f"{self.name}: not enough memory to decode this image") from None
        except Exception as e:  # noqa: BLE001 - untrusted bytes: any decoder failure means "cannot read it"
            detail = " ".join(str(e).split()).strip("'\"") or type(e).__name__
            raise ImgconvError(f"{self.name}: corrupt, truncated or unsupported image ({detail})") from None
        parts = [self._cache[k][max(first - k * height, 0) : last - k * height] for k in wanted]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _map(self, first: int, last: int) -> np.ndarray:
        """Rows of uncompressed pixels, memory-mapped (unmapped when the array is let go)."""
        page = self.page
        dtype = np.dtype(page.dtype).newbyteorder(self._tif.byteorder)
        row = self.shape[1] * int(page.samplesperpixel) * dtype.itemsize
        start = int(page.dataoffsets[0]) + first * row
        base = start - start % mmap.ALLOCATIONGRANULARITY
        view = mmap.mmap(self._file.fileno(), start - base + (last - first) * row, access=mmap.ACCESS_READ,
                         offset=base)
        view.madvise(mmap.MADV_SEQUENTIAL)
        pixels = np.frombuffer(view, dtype, (last - first) * row // dtype.itemsize, start - base)
        return pixels.reshape(last - first, self.shape[1], -1)

    def _decode(self, chunk_rows: list) -> list:
        """Chunk rows (rows of strips or tiles) decoded and converted, their segments decoded in parallel."""
        if not chunk_rows:
            return []
        page = self.page
        planes = self.grid[0] if page.planarconfig == 2 and page.samplesperpixel > 1 else 1
        rows, columns = self.grid[-3:-1] if page.planarconfig == 1 and page.samplesperpixel > 1 else self.grid[-2:]
        height, width = self.shape[:2]
        contig = int(page.samplesperpixel) if page.planarconfig == 1 else 1
        dtype = np.dtype(page.dtype)
        out = {k: np.zeros((planes, min(self.chunk_rows, height - k * self.chunk_rows), width, contig), dtype)
               for k in chunk_rows}
        index = [(s * rows + k) * columns + j for k in chunk_rows for s in range(planes) for j in range(columns)]
        for segment, (s, _, y, x, _), _ in self._pool_map(self._segment, index):
            if segment is None:  # an empty strip or tile: zeros
                continue
            k = y // self.chunk_rows
            top = y - k * self.chunk_rows
            band = out[k][s, top : top + segment.shape[1], x : x + segment.shape[2]]  # cut at the image's edge
            band[...] = segment[0, : band.shape[0], : band.shape[1]]
        return [tiff.convert(self._yxs(out[k]), self.kind) for k in chunk_rows]

    @staticmethod
    def _yxs(planes: np.ndarray) -> np.ndarray:
        """planes x rows x columns x contig samples -> rows x columns x samples."""
        return planes[0] if planes.shape[0] == 1 else np.moveaxis(planes[..., 0], 0, -1)

    def _segment(self, index: int):
        page = self.page
        count, offset = int(page.databytecounts[index]), int(page.dataoffsets[index])
        data = os.pread(self._file.fileno(), count, offset) if count and offset else None
        if data is not None and len(data) < count:
            raise ImgconvError(f"{self.name}: truncated (a strip or tile ends past the end of the file)")
        return page.decode(data, index, jpegtables=page.jpegtables, jpegheader=page.jpegheader)

    def _pool_map(self, function, items):
        if len(items) < 2 or cores() < 2:
            return map(function, items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(cores(), thread_name_prefix="imgconv-tiff")
        return self._pool.map(function, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._cache = {}
        if self._tif is not None:
            self._tif.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

