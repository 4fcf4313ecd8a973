"""Image I/O: the only place that knows about file formats, modes, bit depth, orientation and metadata.

load() gives a `Picture`: an HxWxC array in the file's own number type (uint8, uint16, int32 or float32),
whether its last channel is alpha, whether its channels are CMYK inks, and the metadata to carry to the
output (ICC profile, EXIF, XMP, PNG text, JPEG comment, dpi).  EXIF orientation is applied on load and
the tag removed, so the output is upright and says so.

save() encodes in memory, then writes atomically: to an unnamed temporary file in the output's folder
(O_TMPFILE, so even a killed process leaves nothing behind; a hidden `.NAME.*.part` file where the
system has no O_TMPFILE) that is renamed over the output only once complete and synced.

Pillow does the work except where it would lose bits: the pixels of 16-bit colour and grey+alpha PNG
(`png`, via imagecodecs) and 16-bit/float colour TIFF (`tiff`, via tifffile), imported only then.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import re
import secrets
import stat
import struct
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImgconvError

#: The value of white for each pixel type.  32-bit integer images are taken to be widened 16-bit data.
FULL = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.int32): 65535.0,
        np.dtype(np.float32): 1.0}
#: Images larger than this many pixels are refused (a decompression bomb guard).  The default is where
#: Pillow itself stops (twice its warning limit); `--max-pixels` changes it, 0 means no limit.
DEFAULT_MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
#: Pillow modes read as they are (the rest are converted on load, with a note).
NATIVE = {"L": np.uint8, "LA": np.uint8, "RGB": np.uint8, "RGBA": np.uint8, "CMYK": np.uint8,
          "I;16": np.uint16, "I;16L": np.uint16, "I;16B": np.uint16, "I;16N": np.uint16,
          "I": np.int32, "F": np.float32}
CONVERT = {"1": "L", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "YCbCr": "RGB", "HSV": "RGB", "PA": "RGBA"}
#: Metadata each output format can hold (what is not in the set is dropped, with a note).
HOLDS = {
    "JPEG": {"icc_profile", "exif", "xmp", "comment", "dpi"},
    "PNG": {"icc_profile", "exif", "xmp", "text", "dpi"},
    "TIFF": {"icc_profile", "exif", "xmp", "dpi"},
    "WEBP": {"icc_profile", "exif", "xmp"},
    "AVIF": {"icc_profile", "exif", "xmp"},
    "GIF": {"comment"},
    "BMP": {"dpi"},
}
META_NAMES = {"icc_profile": "ICC profile", "exif": "EXIF", "xmp": "XMP", "text": "PNG text",
              "comment": "comment", "dpi": "dpi"}
#: Formats that hold an alpha channel; others get the image composited over white.
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP", "GIF", "AVIF", "JPEG2000", "ICO", "ICNS", "TGA", "QOI", "DDS", "SGI"}
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
XMP_ORIENTATION = (re.compile(rb'\s*tiff:Orientation="[0-9]"'), re.compile(rb"<tiff:Orientation>[0-9]</tiff:Orientation>"))


@dataclass
class Picture:
    pixels: np.ndarray  # HxWxC, uint8 / uint16 / int32 / float32
    alpha: bool
    info: dict = field(default_factory=dict)  # metadata to carry: icc_profile, exif, xmp, text, comment, dpi
    notes: list = field(default_factory=list)  # conversions made on load, for --verbose
    cmyk: bool = False  # the 4 channels are C, M, Y, K inks (filtered as they are, see docs/fidelity.md)

    @property
    def full(self) -> float:
        return FULL[self.pixels.dtype]


# ------------------------------------------------------------------------------------------------ loading

def load(path, *, max_pixels: int | None = None) -> Picture:
    """Read an image file ("-" is standard input).  Any problem is an ImgconvError with a one-line message.

    max_pixels: refuse larger images before decoding them (None: DEFAULT_MAX_PIXELS, 0: no limit).
    """
    name = "stdin" if str(path) == "-" else str(path)
    max_pixels = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    data = _read_bytes(path, name)
    notes: list = []
    with warnings.catch_warnings(record=True) as caught, _decoder_logs(notes):
        warnings.simplefilter("always")
        picture = _load_bytes(data, name, max_pixels, notes)
    for w in caught:
        if not issubclass(w.category, DeprecationWarning):
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


class _NoteHandler(logging.Handler):
    def __init__(self, notes):
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record):
        self.notes.append(f"decoder: {record.getMessage()}")


@contextmanager
def _decoder_logs(notes: list):
    """Pillow and tifffile log odd files' problems to stderr; make them --verbose notes instead
    (the error itself, if any, is reported once, as one line)."""
    handler = _NoteHandler(notes)
    # libpng's complaint that imagecodecs did not ask for interlace handling: libpng turns it on itself
    handler.addFilter(lambda record: "Interlace handling should be turned on" not in record.getMessage())
    loggers = [logging.getLogger(name) for name in ("PIL", "tifffile", "imagecodecs")]
    saved = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, saved):
            logger.removeHandler(handler)
            logger.propagate = propagate


@contextmanager
def _no_pillow_bomb_check():
    """We check the pixel count ourselves, right after the header is read and before any decoding."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _load_bytes(data: bytes, name: str, max_pixels, notes: list) -> Picture:
    from . import png, tiff

    try:
        with _no_pillow_bomb_check():
            try:
                img = Image.open(io.BytesIO(data))
            except UnidentifiedImageError:
                if data[:4] in (b"II*\0", b"MM\0*"):  # a TIFF Pillow cannot hold (float RGB, 16-bit LA...)
                    return _load_tiff(data, name, None, max_pixels, notes)
                if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
                    _check_size(struct.unpack(">II", data[16:24]), name, max_pixels)
                raise ImgconvError(f"{name}: not an image, or a format imgconv cannot read") from None
            with img:
                _check_size(img.size, name, max_pixels)
                if getattr(img, "n_frames", 1) > 1:
                    notes.append(f"only the first of {img.n_frames} frames is filtered")
                if img.format == "PNG":
                    for _ in png.chunks(data):  # every chunk's CRC: Pillow does not check IDAT's
                        pass
                if img.format == "PNG" and png.is_wide(data):
                    pixels = png.decode(data)
                    if pixels.shape[2] == 4 and data[25] == 2:
                        notes.append("RGB image with a transparent colour: given an alpha channel")
                    with png.metadata_image(data) as header:
                        meta, orientation = _metadata(header), header.getexif().get(0x0112, 1)
                    return _wide_picture(pixels, meta, orientation, alpha=pixels.shape[2] in (2, 4), cmyk=False,
                                         notes=notes)
                if img.format == "TIFF" and _tiff_is_wide(img):
                    return _load_tiff(data, name, img, max_pixels, notes)
                return _load_pillow(img, name, notes)
    except ImgconvError:
        raise
    except Image.DecompressionBombError as e:
        raise ImgconvError(f"{name}: {e}") from None
    except (png.PNGError, tiff.TiffError) as e:
        raise ImgconvError(f"{name}: corrupt, truncated or unsupported image ({e})") from None
    except MemoryError:
        raise ImgconvError(f"{name}: not enough memory to decode this image") from None
    except Exception as e:  # noqa: BLE001 - untrusted bytes: any decoder failure means "cannot read it"
        detail = str(e) or type(e).__name__
        raise ImgconvError(f"{name}: corrupt, truncated or unsupported image ({detail})") from None


def _check_size(size, name, max_pixels) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImgconvError(f"{name}: image has zero width or height ({width}x{height})")
    if max_pixels and width * height > max_pixels:
        raise ImgconvError(f"{name}: {width}x{height} = {width * height:,} pixels is over the limit of "
                           f"{max_pixels:,} (a decompression-bomb guard); raise it with --max-pixels")


def _tiff_is_wide(img) -> bool:
    """More than 8 bits per sample with two or more samples: Pillow would read it as 8 bits."""
    bits = img.tag_v2.get(258, (1,))
    bits = bits if isinstance(bits, tuple) else (bits,)
    return img.tag_v2.get(277, 1) >= 2 and max(bits) > 8


def _load_pillow(img: Image.Image, name: str, notes: list) -> Picture:
    info = _metadata(img)
    img.load()
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


def _load_tiff(data: bytes, name: str, img, max_pixels, notes: list) -> Picture:
    """16-bit/float colour, 16-bit grey+alpha and other TIFFs Pillow cannot hold, via tifffile."""
    from . import tiff

    pixels, photometric, extra, meta = tiff.read(data, lambda size: _check_size(size, name, max_pixels))
    if img is not None:
        meta.update({k: v for k, v in _metadata(img).items() if k == "exif"})
    base = {"MINISBLACK": 1, "MINISWHITE": 1, "RGB": 3, "SEPARATED": 4}.get(photometric)
    if base is None or pixels.shape[2] < base or (photometric == "SEPARATED" and pixels.shape[2] != 4):
        raise ImgconvError(f"{name}: unsupported TIFF ({photometric} with {pixels.shape[2]} samples)")
    alpha = photometric != "SEPARATED" and bool(extra) and extra[0] in (1, 2) and pixels.shape[2] > base
    keep = base + alpha
    if pixels.shape[2] > keep:
        notes.append(f"{pixels.shape[2] - keep} extra sample(s) per pixel dropped")
        pixels = pixels[:, :, :keep]
    kind = pixels.dtype
    if kind in (np.uint8, np.uint16):
        pass
    elif kind.kind == "f":
        pixels = pixels.astype(np.float32)
    else:
        notes.append(f"{kind} samples filtered and saved as 32-bit float")
        pixels = pixels.astype(np.float32)
    if photometric == "MINISWHITE":
        notes.append("white-is-zero image inverted to black-is-zero")
        full = FULL[pixels.dtype]
        pixels[..., :1] = (full - pixels[..., :1]) if pixels.dtype.kind == "f" else ~pixels[..., :1]
    if alpha and extra[0] == 1:  # associated (premultiplied) alpha: un-premultiply
        notes.append("premultiplied alpha un-premultiplied")
        full = FULL[pixels.dtype]
        a = pixels[..., -1:].astype(np.float32)
        colour = np.divide(pixels[..., :-1].astype(np.float32) * full, a, out=np.zeros_like(a.repeat(keep - 1, -1)),
                           where=a > 0)
        pixels = np.concatenate([to_dtype(colour, pixels.dtype), pixels[..., -1:]], axis=-1)
    return _wide_picture(pixels, meta, meta.pop("orientation", 1), alpha=alpha, cmyk=photometric == "SEPARATED",
                         notes=notes)


def as_rgb(picture: Picture) -> Picture:
    """A CMYK picture as RGB (through its ICC profile when it has one), for filters that need colour."""
    if not picture.cmyk:
        return picture
    notes: list = []  # only what this conversion did
    pixels, info = _cmyk_to_rgb(picture.pixels, picture.info, "the filter works on RGB luminance", notes)
    return Picture(pixels, alpha=False, info=info, notes=notes, cmyk=False)


def _wide_picture(pixels, meta, orientation, *, alpha, cmyk, notes) -> Picture:
    """A picture decoded outside Pillow: made upright with numpy, orientation dropped from the metadata."""
    if orientation in ORIENT:
        pixels = ORIENT[orientation](pixels)
    return Picture(np.ascontiguousarray(pixels), alpha=alpha, info=_clean_meta(meta), notes=notes, cmyk=cmyk)


def _metadata(img: Image.Image) -> dict:
    """What to carry to the output, read from the file before decoding, orientation removed."""
    meta = {}
    for key in ("icc_profile", "comment", "dpi"):
        if img.info.get(key):
            meta[key] = img.info[key]
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if xmp:
        meta["xmp"] = xmp
    try:
        exif = img.getexif()
        if img.format == "TIFF":  # Pillow lists the file's layout tags as EXIF: keep only the picture's
            from .tiff import STRUCTURAL_TAGS

            kept = Image.Exif()
            for tag, value in exif.items():
                if tag in (0x8769, 0x8825):
                    ifd = exif.get_ifd(tag)
                    if ifd:
                        kept[tag] = dict(ifd)
                elif tag not in STRUCTURAL_TAGS:
                    kept[tag] = value
            exif = kept
        if len(exif):
            meta["exif"] = exif.tobytes()
    except Exception:  # noqa: BLE001 - corrupt EXIF is dropped, not fatal
        pass
    if img.format == "PNG":
        text = {k: v for k, v in getattr(img, "text", {}).items() if k != "XML:com.adobe.xmp"}
        if text:
            meta["text"] = text
    return _clean_meta(meta)


def _clean_meta(meta: dict) -> dict:
    """Drop the orientation (the pixels are upright now) from EXIF and XMP; XMP as bytes."""
    meta = dict(meta)
    if meta.get("exif"):
        try:
            exif = Image.Exif()
            exif.load(meta["exif"])
            if 0x0112 in exif:
                del exif[0x0112]
                meta["exif"] = exif.tobytes()
            if not len(exif):
                del meta["exif"]
        except Exception:  # noqa: BLE001
            del meta["exif"]
    if meta.get("xmp"):
        xmp = meta["xmp"]
        xmp = xmp.encode("utf-8") if isinstance(xmp, str) else bytes(xmp)
        for pattern in XMP_ORIENTATION:
            xmp = pattern.sub(b"", xmp)
        meta["xmp"] = xmp
    if isinstance(meta.get("comment"), str):
        meta["comment"] = meta["comment"].encode("utf-8")
    return {k: v for k, v in meta.items() if v}


# ------------------------------------------------------------------------------------------------ saving

def output_format(path, fmt: str | None = None) -> str:
    """Pillow's format name for an output: `fmt` (e.g. "png", "jpg") if given, else the path's
    extension; standard output ("-") defaults to PNG."""
    if fmt is None and str(path) == "-":
        return "PNG"
    ext = "." + fmt.lower().lstrip(".") if fmt else Path(path).suffix.lower()
    name = Image.registered_extensions().get(ext)
    if name is None or name not in Image.SAVE:
        what = f"unknown --format {fmt!r}" if fmt else f"{path}: unknown output extension {ext or '(none)'!r}"
        raise ImgconvError(f"{what}; use e.g. png, jpg, tif, webp")
    return name


def to_dtype(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round to nearest and clip to the type's range (float outputs are kept as they are)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return result.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.rint(result), info.min, info.max).astype(dtype)


def _rescale(pixels: np.ndarray, dtype) -> np.ndarray:
    """Convert between pixel types so that white stays white: rounded, clipped to the new range."""
    dtype = np.dtype(dtype)
    if pixels.dtype == dtype:
        return pixels
    scaled = pixels.astype(np.float64) * (FULL[dtype] / FULL[pixels.dtype])
    if dtype.kind == "f":
        return scaled.astype(dtype)
    return np.clip(np.rint(scaled), 0, FULL[dtype]).astype(dtype)


def save(pixels: np.ndarray, path, *, alpha: bool, info: dict | None = None, quality: int = 95,
         cmyk: bool = False, strip: bool = False, fmt: str | None = None) -> list:
    """Write `pixels` atomically to `path` ("-": standard output) in format `fmt` or the one its extension
    names; returns notes of anything the format could not hold (bit depth, alpha, metadata), for --verbose."""
    fmt = output_format(path, fmt)
    notes: list = []
    meta = {} if strip else {k: v for k, v in (info or {}).items() if v}
    with _decoder_logs(notes):
        data = encode(pixels, fmt, alpha=alpha, meta=meta, quality=quality, cmyk=cmyk, notes=notes)
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(path, data)
    return notes


def encode(pixels: np.ndarray, fmt: str, *, alpha: bool, meta: dict, quality: int = 95, cmyk: bool = False,
           notes: list | None = None) -> bytes:
    """The bytes of an image file in Pillow format `fmt`."""
    notes = [] if notes is None else notes
    meta = dict(meta)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    channels = pixels.shape[2]
    if not 1 <= channels <= 4 or (alpha and channels not in (2, 4)):
        raise ImgconvError(f"cannot save an image of {channels} channels (alpha={alpha})")
    if cmyk and channels != 4:
        cmyk = False
    if cmyk and fmt not in ("JPEG", "TIFF"):
        pixels, meta = _cmyk_to_rgb(pixels, meta, f"{fmt} holds no CMYK", notes)
        cmyk = False
    _check_profile(meta, channels - alpha, cmyk, notes)
    wide = pixels.dtype != np.uint8
    if fmt == "PNG" and wide:
        if pixels.dtype != np.uint16:
            notes.append("PNG holds no float or 32-bit samples: saved as 16-bit, clipped to 0..white")
            pixels = _rescale(pixels, np.uint16)
        if channels > 1:
            from . import png

            stand_in = _pillow_bytes(Image.new("L", (1, 1)), "PNG", meta, quality, notes)
            return png.encode(pixels, stand_in)
    elif fmt == "TIFF" and wide and channels > 1:
        from . import tiff

        if pixels.dtype == np.int32:
            pixels = pixels.astype(np.float32)
        _drop_unheld(meta, "TIFF", notes, also=("exif",) if meta.get("exif") else ())
        return tiff.write(pixels, meta, cmyk=cmyk)
    elif wide and not (fmt == "TIFF" or (channels == 1 and pixels.dtype == np.uint16 and fmt in ("PPM",))):
        notes.append(f"{fmt} holds 8 bits per sample: {pixels.dtype} samples reduced to 8 bits (rounded)")
        pixels = _rescale(pixels, np.uint8)
    image = _to_pillow(pixels, alpha, cmyk)
    return _pillow_bytes(image, fmt, meta, quality, notes)


def _to_pillow(pixels: np.ndarray, alpha: bool, cmyk: bool) -> Image.Image:
    channels = pixels.shape[2]
    if pixels.dtype != np.uint8:  # one channel here: uint16 -> I;16, int32 -> I, float32 -> F
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "CMYK" if cmyk else "RGBA"}[channels]
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else np.ascontiguousarray(pixels), mode)


def _flatten(image: Image.Image) -> Image.Image:
    """Composite an image with alpha over white (for formats that hold no alpha)."""
    base = Image.new(image.mode[:-1], image.size, 255)
    base.paste(image.convert(image.mode[:-1]), mask=image.getchannel("A"))
    return base


def _pillow_bytes(image: Image.Image, fmt: str, meta: dict, quality: int, notes: list) -> bytes:
    if fmt not in ALPHA_FORMATS and image.mode in ("LA", "RGBA"):
        notes.append(f"{fmt} holds no alpha: composited over white")
        image = _flatten(image)
    if fmt == "GIF" and image.mode in ("RGB", "RGBA"):
        notes.append("GIF holds 256 colours and on/off transparency: colours quantised")
    params = _pillow_params(fmt, meta, quality, notes)
    while True:
        buffer = io.BytesIO()
        try:
            image.save(buffer, format=fmt, **params)
            return buffer.getvalue()
        except (OSError, ValueError, KeyError, TypeError) as e:
            fallback = {"LA": "L", "RGBA": "RGB", "I;16": "L", "I": "L", "F": "L", "CMYK": "RGB", "L": "RGB"}
            if image.mode not in fallback or "cannot write" not in str(e) and "mode" not in str(e):
                raise ImgconvError(f"cannot encode a {image.mode} image as {fmt} ({e})") from None
            target = fallback[image.mode]
            notes.append(f"{fmt} cannot hold a {image.mode} image: saved as {target}")
            if image.mode in ("LA", "RGBA"):
                image = _flatten(image)
            elif image.mode in ("I;16", "I", "F"):
                full = {"I;16": 65535.0, "I": 65535.0, "F": 1.0}[image.mode]
                image = Image.fromarray(_rescale(np.asarray(image).astype(np.float32) / full, np.uint8), "L")
            else:
                image = image.convert(target)


def _pillow_params(fmt: str, meta: dict, quality: int, notes: list) -> dict:
    from PIL import PngImagePlugin

    _drop_unheld(meta, fmt, notes)
    params = {k: meta[k] for k in ("icc_profile", "exif", "dpi") if k in meta}
    if fmt in ("JPEG", "WEBP", "AVIF"):
        params["quality"] = quality
    if fmt in ("JPEG", "WEBP", "TIFF", "AVIF") and "xmp" in meta:
        params["xmp"] = meta["xmp"]
    if fmt in ("JPEG", "GIF") and "comment" in meta:
        params["comment"] = meta["comment"]
    if fmt == "PNG":
        params["compress_level"] = 1  # fast; level 6 costs several times longer for a few percent
        text = dict(meta.get("text") or {})
        if "xmp" in meta:
            text["XML:com.adobe.xmp"] = meta["xmp"].decode("utf-8", "replace")
        if text:
            info = PngImagePlugin.PngInfo()
            for key, value in text.items():
                info.add_itxt(str(key)[:79] or "Comment", str(value))
            params["pnginfo"] = info
    if fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
        if "exif" in meta and _has_sub_ifds(meta["exif"]):
            params["compression"] = "raw"  # libtiff's writer cannot store EXIF sub-directories
            notes.append("TIFF written uncompressed to keep the EXIF sub-directories")
        if "xmp" in meta:  # Pillow writes TIFF XMP (tag 700) only as one of the tags it is given as EXIF
            exif = Image.Exif()
            if "exif" in meta:
                exif.load(meta["exif"])
            exif[700] = meta["xmp"]
            params["exif"] = exif.tobytes()
            del params["xmp"]
    return params


def _has_sub_ifds(exif_bytes: bytes) -> bool:
    exif = Image.Exif()
    exif.load(exif_bytes)
    return 0x8769 in exif or 0x8825 in exif


def _drop_unheld(meta: dict, fmt: str, notes: list, also=()) -> None:
    held = HOLDS.get(fmt, set()) - set(also)
    dropped = [k for k in list(meta) if k not in held]
    for k in dropped:
        del meta[k]
    if dropped:
        names = ", ".join(META_NAMES.get(k, k) for k in dropped)
        notes.append(f"metadata this {fmt} output cannot hold was dropped: {names}")


def _profile_space(profile: bytes) -> bytes:
    return bytes(profile[16:20]) if len(profile) >= 20 else b""


def _check_profile(meta: dict, colour_channels: int, cmyk: bool, notes: list) -> None:
    """An ICC profile must describe the output's colour space (a grey Sobel result cannot carry an RGB one)."""
    profile = meta.get("icc_profile")
    if not profile:
        return
    want = b"CMYK" if cmyk else (b"GRAY" if colour_channels == 1 else b"RGB ")
    space = _profile_space(profile)
    if space != want:
        del meta["icc_profile"]
        notes.append(f"ICC profile dropped: it describes {space.decode('latin-1').strip() or 'unknown'} "
                     f"colour, the output is {want.decode().strip()}")


def _cmyk_to_rgb(pixels, meta, why, notes):
    """CMYK output to a format that holds no CMYK: through the embedded ICC profile when there is one."""
    meta = dict(meta)
    profile = meta.pop("icc_profile", None)
    rgb = None
    if profile and pixels.dtype == np.uint8 and _profile_space(profile) == b"CMYK":
        try:
            from PIL import ImageCms

            image = Image.fromarray(np.ascontiguousarray(pixels), "CMYK")
            srgb = ImageCms.createProfile("sRGB")
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            rgb = np.asarray(ImageCms.profileToProfile(image, source, srgb, outputMode="RGB"))[:, :, :]
            meta["icc_profile"] = ImageCms.ImageCmsProfile(srgb).tobytes()
            notes.append(f"{why}: CMYK converted to sRGB through the image's ICC profile")
        except Exception:  # noqa: BLE001 - a profile littleCMS cannot use: fall back to the plain formula
            rgb = None
    if rgb is None:
        notes.append(f"{why}: CMYK converted to RGB without colour management (no usable profile)")
        full = FULL[pixels.dtype]
        inks = pixels.astype(np.float32) / full
        rgb = to_dtype((1 - inks[..., :3]) * (1 - inks[..., 3:]) * full, pixels.dtype)
    return np.ascontiguousarray(rgb), meta


def write_atomic(path, data: bytes) -> None:
    """Replace `path` with `data` all at once: nothing is ever visible at `path` but the complete file,
    and nothing is left behind on any failure (an error, Ctrl-C, a full disk or, with O_TMPFILE, a kill)."""
    path = Path(path)
    directory = path.parent
    mode = None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # replacing a file keeps its permissions
    except OSError:
        pass
    try:
        _write_tmpfile(directory, path, data, mode)
    except ImgconvError:
        raise
    except PermissionError:
        raise ImgconvError(f"{path}: permission denied (cannot write in {directory})") from None
    except FileNotFoundError:
        raise ImgconvError(f"{path}: the folder {directory} does not exist") from None
    except OSError as e:
        reason = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
        raise ImgconvError(f"{path}: cannot write: {reason}") from None


def _write_tmpfile(directory: Path, path: Path, data: bytes, mode) -> None:
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    except (AttributeError, OSError) as e:  # no O_TMPFILE here (not Linux, or the filesystem lacks it)
        if isinstance(e, (PermissionError, FileNotFoundError)):
            raise
        return _write_named_tmp(directory, path, data, mode)
    temp = directory / f".{path.name}.{secrets.token_hex(4)}.part"
    linked = False
    try:
        _write_all(fd, data)
        if mode is not None:
            os.fchmod(fd, mode)
        try:
            os.link(f"/proc/self/fd/{fd}", temp, follow_symlinks=True)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            os.close(fd)
            fd = -1
            return _write_named_tmp(directory, path, data, mode)
        linked = True
        os.replace(temp, path)
        linked = False
    finally:
        if fd >= 0:
            os.close(fd)
        if linked:
            temp.unlink(missing_ok=True)
    _sync_dir(directory)


def _write_named_tmp(directory: Path, path: Path, data: bytes, mode) -> None:
    import tempfile

    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        _write_all(fd, data)
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_dir(directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
