"""Decoding: any image file to a `Picture` in its own pixel type, upright, with the metadata to carry.

Pillow decodes everything except 16-bit colour PNG and 16-bit/float colour TIFF (`png`, `tiff`), which it
would read as 8 bits.  Odd modes are converted with a note; an image over the pixel limit is refused from
its header, before any decoding; any failure of a decoder is one ImgconvError line.
"""

from __future__ import annotations

import io
import struct
import sys
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImgconvError
from . import jpeg, logs, metadata, plugins, png, settings, tiff
from .picture import Picture

#: Images larger than this many pixels are refused (a decompression bomb guard).  The default is where
#: Pillow itself stops (twice its warning limit); `--max-pixels` changes it, 0 means no limit.
DEFAULT_MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
#: Pillow modes read as they are (the rest are converted on load, with a note).
NATIVE = {"L": np.uint8, "LA": np.uint8, "RGB": np.uint8, "RGBA": np.uint8, "CMYK": np.uint8,
          "I;16": np.uint16, "I;16L": np.uint16, "I;16B": np.uint16, "I;16N": np.uint16,
          "I": np.int32, "F": np.float32}
CONVERT = {"1": "L", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "YCbCr": "RGB", "HSV": "RGB", "PA": "RGBA"}
#: Pillow's ImageOps.exif_transpose, as numpy: orientation -> function of an H x W x C array.
ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}
#: TIFF compressions Pillow's libtiff decodes (none, CCITT, LZW, JPEG, Deflate, PackBits, LZMA, Zstandard);
#: the others (WebP, JPEG 2000, JPEG XL, LERC, JBIG...) go to tifffile, before libtiff can complain on stderr.
PILLOW_TIFF_CODECS = {1, 2, 3, 4, 5, 6, 7, 8, 32773, 32809, 32946, 34676, 34677, 34925, 50000}


def load(path, *, max_pixels: int | None = None) -> Picture:
    """Read an image file ("-" is standard input).  Any problem is an ImgconvError with a one-line message.

    max_pixels: refuse larger images before decoding them (None: DEFAULT_MAX_PIXELS, 0: no limit).
    """
    name = "stdin" if str(path) == "-" else str(path)
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    data = _read_bytes(path, name)
    notes: list = []
    with warnings.catch_warnings(record=True) as caught, logs.as_notes(notes):
        warnings.simplefilter("always")
        picture = _load_bytes(data, name, max_pixels, notes)
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, Image.DecompressionBombWarning)):
            picture.notes.append(f"decoder warning: {w.message}")
    return picture


def _read_bytes(path, name) -> bytes:
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except FileNotFoundError:
        raise ImgconvError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImgconvError(f"{name}: is a directory, not an image") from None
    except PermissionError:
        raise ImgconvError(f"{name}: permission denied (cannot read it)") from None
    except OSError as e:
        raise ImgconvError(f"{name}: cannot read ({e.strerror or e})") from None
    if not data:
        raise ImgconvError(f"{name}: empty file, not an image")
    return data


@contextmanager
def pillow_bomb_limit(max_pixels):
    """Pillow's own decompression-bomb check (it errs above twice MAX_IMAGE_PIXELS) set to our limit.

    Off while the file is opened: the image's own size is checked right after, with imgconv's message.
    On at our limit while it decodes: images inside the file (an icon's PNG or JPEG 2000, a GIF frame, a
    TIFF tile) are checked by Pillow as it meets them, before they are decoded."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels / 2 if max_pixels else None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _load_bytes(data: bytes, name: str, max_pixels, notes: list) -> Picture:
    def check_size(size):
        check_pixel_limit(size, name, max_pixels)

    try:
        plugin = plugins.identify(data)
        if plugin:
            return _load_plugin(plugin, data, check_size, notes)
        with pillow_bomb_limit(None):
            try:
                img = Image.open(io.BytesIO(data))
            except UnidentifiedImageError:
                if data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):  # a TIFF or BigTIFF Pillow cannot hold
                    return _load_tiff(data, name, None, check_size, notes)
                if data[:8] == png.SIGNATURE and data[12:16] == b"IHDR":
                    check_size(struct.unpack(">II", data[16:24]))
                raise ImgconvError(f"{name}: not an image, or a format imgconv cannot read") from None
        with img, pillow_bomb_limit(max_pixels):
            check_size(img.size)
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"only the first of {img.n_frames} frames is filtered")
            if img.format == "PNG":
                for _ in png.chunks(data):  # every chunk's CRC: Pillow does not check IDAT's
                    pass
                if png.is_wide(data):
                    return _load_png(data, notes)
            if img.format == "TIFF" and (_tiff_is_wide(img) or not _pillow_decodes_tiff(img)
                                         or _pillow_misreads_tiff(img, data)):
                return _load_tiff(data, name, img, check_size, notes)
            if jpeg.decodes(img):
                return _load_jpeg(data, img, notes)
            picture = _load_pillow(img, name, notes)
            picture.encoding = settings.of_file(img.format, data, img)
            return picture
    except ImgconvError:
        raise
    except Image.DecompressionBombError:  # an image inside the file (see pillow_bomb_limit)
        raise ImgconvError(f"{name}: an image inside the file is over the limit of {max_pixels:,} pixels "
                           "(a decompression-bomb guard); raise it with --max-pixels") from None
    except MemoryError:
        raise ImgconvError(f"{name}: not enough memory to decode this image") from None
    except Exception as e:  # noqa: BLE001 - untrusted bytes: any decoder failure means "cannot read it"
        detail = " ".join(str(e).split()).strip("'\"")  # one line, whatever the library wrote
        if len(detail) < 8:  # e.g. a bare IndexError(0) from deep inside a parser
            detail = f"{type(e).__name__} {detail}".strip()
        raise ImgconvError(f"{name}: corrupt, truncated or unsupported image ({detail})") from None


def check_pixel_limit(size, name, max_pixels) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImgconvError(f"{name}: image has zero width or height ({width}x{height})")
    if max_pixels and width * height > max_pixels:
        raise ImgconvError(f"{name}: {width}x{height} = {width * height:,} pixels is over the limit of "
                           f"{max_pixels:,} (a decompression-bomb guard); raise it with --max-pixels")


def _pillow_decodes_tiff(img) -> bool:
    return img.tag_v2.get(259, 1) in PILLOW_TIFF_CODECS


def _tiff_is_wide(img) -> bool:
    """More than 8 bits per sample with two or more samples: Pillow would read it as 8 bits."""
    bits = img.tag_v2.get(258, (1,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return img.tag_v2.get(277, 1) >= 2 and max(bits) > 8


def _pillow_misreads_tiff(img, data: bytes) -> bool:
    """TIFFs Pillow decodes wrongly: white-is-zero over 8 bits (not inverted), and big-endian compressed
    floats (bytes not swapped); tifffile reads them right (found by tests/test_stream.py)."""
    tags = img.tag_v2
    bits = tags.get(258, (1,))
    bits = max(bits) if isinstance(bits, tuple) else bits
    formats = tags.get(339, (1,))
    floats = 3 in (formats if isinstance(formats, tuple) else (formats,))
    return (tags.get(262) == 0 and bits > 8) or (floats and data[:2] == b"MM" and tags.get(259, 1) != 1)


def _load_pillow(img: Image.Image, name: str, notes: list) -> Picture:
    info = metadata.read(img)
    _decode(img, notes)
    upright = ImageOps.exif_transpose(img)
    if upright is not None:
        img = upright
    mode = img.mode
    if mode in ("L", "RGB") and "transparency" in img.info:
        notes.append(f"{mode} image with a transparent colour: given an alpha channel")
        img = img.convert("RGBA")
        img = img.convert("LA") if mode == "L" else img
    elif mode == "P":
        transparent = "transparency" in img.info or (img.palette is not None and img.palette.mode == "RGBA")
        target = "RGBA" if transparent else "RGB"
        notes.append(f"palette (P) image converted to {target}; the output is {target}, not a palette image")
        img = img.convert(target)
    elif mode == "LAB":
        notes.append("CIELAB image converted to sRGB through littleCMS; the output is RGB")
        img = _lab_to_srgb(img)
    elif mode in CONVERT:
        what = "1-bit image" if mode == "1" else f"{mode} image"
        notes.append(f"{what} converted to {CONVERT[mode]}")
        img = img.convert(CONVERT[mode])
    elif mode not in NATIVE:
        raise ImgconvError(f"{name}: unsupported image mode {mode!r}")
    if img.mode == "I":
        notes.append("32-bit integer image: white is taken as 65535")
    pixels = np.asarray(img)
    pixels = pixels.astype(NATIVE[img.mode], copy=False)  # I;16B etc. to native byte order
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    return Picture(np.ascontiguousarray(pixels), alpha=img.mode in ("LA", "RGBA"), info=info, notes=notes,
                   cmyk=img.mode == "CMYK")


def _decode(img: Image.Image, notes: list) -> None:
    """img.load(); a TIFF's libtiff messages become part of the error, or notes, not stderr lines."""
    if img.format != "TIFF":
        img.load()
        return
    written = []
    try:
        with logs.c_stderr(written):
            img.load()
    except OSError as e:
        said = _libtiff_said(written)
        if said:
            raise OSError(f"{e}; {said[-1]}") from None
        raise
    notes += _libtiff_said(written)


def _libtiff_said(written: list) -> list:
    """"tempfile.tif: Using code not yet in table." -> "libtiff: Using code not yet in table." (blank lines
    dropped)."""
    return [f"libtiff: {line.strip().split(': ', 1)[-1]}" for line in written if line.strip()]


def _load_plugin(fmt: str, data: bytes, check_size, notes: list) -> Picture:
    """HEIF or JPEG XL: decoded upright by libheif/libjxl, so the EXIF orientation is dropped, not applied."""
    pixels, meta, alpha, lossless = plugins.FORMATS[fmt].read(data, check_size, notes)
    picture = _upright(pixels, meta, 1, alpha=alpha, cmyk=False, notes=notes)
    picture.encoding = {"format": fmt, "lossless": lossless}
    return picture


def _lab_to_srgb(img: Image.Image) -> Image.Image:
    """CIELAB (D50, as TIFF and ICC define it) to sRGB, through Pillow's littleCMS."""
    from PIL import ImageCms

    return ImageCms.profileToProfile(img, ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"),
                                     outputMode="RGB")


def _load_jpeg(data: bytes, img, notes: list) -> Picture:
    """8-bit grey or colour JPEG: the pixels by imagecodecs, straight into the array, the header by Pillow."""
    pixels = jpeg.decode(data)
    meta, orientation = metadata.read(img), img.getexif().get(0x0112, 1)
    picture = _upright(pixels, meta, orientation, alpha=False, cmyk=False, notes=notes)
    picture.encoding = settings.of_file(img.format, data, img)
    return picture


def _load_png(data: bytes, notes: list) -> Picture:
    """16-bit colour or grey+alpha PNG: the pixels by imagecodecs, the metadata by Pillow (see `png`)."""
    pixels = png.decode(data)
    if pixels.shape[2] == 4 and data[25] == 2:
        notes.append("RGB image with a transparent colour: given an alpha channel")
    with png.metadata_image(data) as header:
        meta, orientation = metadata.read(header), header.getexif().get(0x0112, 1)
    picture = _upright(pixels, meta, orientation, alpha=pixels.shape[2] in (2, 4), cmyk=False, notes=notes)
    picture.encoding = settings.of_file("PNG", data)
    return picture


def _load_tiff(data: bytes, name: str, img, check_size, notes: list) -> Picture:
    """TIFFs Pillow cannot hold, via tifffile; EXIF as Pillow reads it, when Pillow can open the file."""
    pixels, meta, alpha, cmyk, kept = tiff.read(data, name, check_size, notes)
    if img is not None:
        meta.update({k: v for k, v in metadata.read(img).items() if k == "exif"})
    picture = _upright(pixels, meta, meta.pop("orientation", 1), alpha=alpha, cmyk=cmyk, notes=notes)
    picture.encoding = kept
    return picture


def _upright(pixels, meta, orientation, *, alpha, cmyk, notes) -> Picture:
    """A picture decoded outside Pillow: turned upright with numpy, orientation dropped from the metadata."""
    if orientation in ORIENT:
        pixels = ORIENT[orientation](pixels)
    return Picture(np.ascontiguousarray(pixels), alpha=alpha, info=metadata.clean(meta), notes=notes, cmyk=cmyk)
