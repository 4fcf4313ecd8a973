"""Encoding: a picture written straight into a file in any format imgconv writes, keeping what it can hold.

Pillow encodes everything except 8-bit grey and RGB JPEG (`jpeg`, via imagecodecs: faster, same bytes),
16-bit colour PNG and 16-bit/float colour TIFF (`png`, `tiff`, which Pillow would reduce to 8 bits).
The encoders write into the output's temporary file (`atomic.replacing`): no encoded copy in memory.
What a format cannot hold (bit depth, alpha, CMYK, metadata) is converted or dropped with a note; the
input's encoder settings are kept where the output format is the same (`settings`).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ImgconvError
from . import logs, metadata, plugins, settings
from .atomic import replacing
from .colour import check_profile, cmyk_to_rgb
from .picture import rescale

#: Formats that hold an alpha channel; others get the image composited over white.
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP", "GIF", "AVIF", "HEIF", "JXL", "JPEG2000", "ICO", "ICNS", "TGA", "QOI", "DDS",
                 "SGI"}


#: The common outputs, named without asking Pillow, whose answer loads every one of its plugins (~45 ms).
COMMON = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
          ".bmp": "BMP", ".gif": "GIF"}


#: The widest and tallest image each format holds (libjpeg's JPEG_MAX_DIMENSION, WebP's 14-bit sizes, GIF's
#: 16-bit ones); the others hold any image imgconv can hold in memory.
MAX_SIDE = {"JPEG": 65500, "WEBP": 16383, "GIF": 65535}


def check_fits(fmt: str, width: int, height: int, path) -> None:
    """Refuse, before anything is decoded, an image larger than an output format can hold."""
    side = MAX_SIDE.get(fmt)
    if side and max(width, height) > side:
        raise ImgconvError(f"{path}: a {fmt} holds at most {side:,} pixels a side; this image is "
                           f"{width:,}x{height:,}: write a TIFF (.tif), which is written band by band")


def output_format(path, fmt: str | None = None) -> str:
    """Pillow's format name for an output: `fmt` (e.g. "png", "jpg") if given, else the path's
    extension; standard output ("-") defaults to PNG."""
    if fmt is None and str(path) == "-":
        return "PNG"
    ext = "." + fmt.lower().lstrip(".") if fmt else Path(path).suffix.lower()
    if ext in COMMON:
        return COMMON[ext]
    name = plugins.EXTENSIONS.get(ext) or Image.registered_extensions().get(ext)
    if name is None or (name not in Image.SAVE and name not in plugins.FORMATS):
        what = f"unknown --format {fmt!r}" if fmt else f"{path}: unknown output extension {ext or '(none)'!r}"
        raise ImgconvError(f"{what}; use e.g. png, jpg, tif, webp, heic, jxl, avif")
    return name


def save(pixels: np.ndarray, path, *, alpha: bool, info: dict | None = None, quality: int | None = None,
         cmyk: bool = False, strip: bool = False, fmt: str | None = None, encoding: dict | None = None) -> list:
    """Write `pixels` atomically to `path` ("-": standard output) in format `fmt` or the one its extension
    names; returns notes of anything the format could not hold (bit depth, alpha, metadata), for --verbose.

    quality: None keeps the input's (a JPEG's, from `encoding`, the input Picture's settings) or uses 95.
    """
    fmt = output_format(path, fmt)
    notes: list = []
    meta = {} if strip else {k: v for k, v in (info or {}).items() if v}
    options = dict(alpha=alpha, meta=meta, quality=quality, cmyk=cmyk, encoding=encoding, notes=notes)
    with logs.as_notes(notes):
        if str(path) == "-":  # encoded whole first: a failed encoder must not leave half a file on a pipe
            buffer = io.BytesIO()
            encode_to(buffer, pixels, fmt, **options)
            sys.stdout.buffer.write(buffer.getbuffer())
            sys.stdout.buffer.flush()
        else:
            with replacing(path) as sink:
                encode_to(sink, pixels, fmt, **options)
    return notes


def encode(pixels: np.ndarray, fmt: str, *, alpha: bool, meta: dict, quality: int | None = None,
           cmyk: bool = False, encoding: dict | None = None, notes: list | None = None) -> bytes:
    """The bytes of an image file in Pillow format `fmt` (see `encode_to`)."""
    buffer = io.BytesIO()
    encode_to(buffer, pixels, fmt, alpha=alpha, meta=meta, quality=quality, cmyk=cmyk, encoding=encoding,
              notes=notes)
    return buffer.getvalue()


def encode_to(sink, pixels: np.ndarray, fmt: str, *, alpha: bool, meta: dict, quality: int | None = None,
              cmyk: bool = False, encoding: dict | None = None, notes: list | None = None) -> None:
    """Write an image file in Pillow format `fmt` to `sink` (a seekable binary stream)."""
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
        pixels, meta = cmyk_to_rgb(pixels, meta, f"{fmt} holds no CMYK", notes)
        cmyk = False
    check_profile(meta, channels - alpha, cmyk, notes)
    options = settings.for_output(fmt, encoding, quality, notes)
    wide = pixels.dtype != np.uint8
    if fmt in plugins.FORMATS:
        metadata.drop_unheld(meta, fmt, notes)
        metadata.fit(meta, fmt, notes)
        return plugins.FORMATS[fmt].write(sink, pixels, alpha=alpha, meta=meta, options=options, notes=notes)
    if fmt == "PNG" and wide:
        if pixels.dtype != np.uint16:
            notes.append("PNG holds no float or 32-bit samples: saved as 16-bit, clipped to 0..white")
            pixels = rescale(pixels, np.uint16)
        if channels > 1:  # the pixels by imagecodecs, the metadata chunks by Pillow (for a 1x1 stand-in)
            from . import png

            stand_in = io.BytesIO()
            _pillow_write(stand_in, Image.new("L", (1, 1)), "PNG", meta, options, encoding, notes)
            return png.encode(sink, pixels, stand_in.getvalue())
    elif fmt == "TIFF" and wide and channels > 1:
        from . import tiff

        if pixels.dtype == np.int32:
            pixels = pixels.astype(np.float32)
        metadata.drop_unheld(meta, "TIFF", notes, also=("exif",) if meta.get("exif") else ())
        metadata.fit(meta, "TIFF", notes)
        compression, predictor = settings.tiff_compression(encoding, pixels.dtype, notes)
        return tiff.write(sink, pixels, meta, cmyk=cmyk, compression=compression, predictor=predictor)
    elif wide and not (fmt == "TIFF" or (channels == 1 and pixels.dtype == np.uint16 and fmt in ("PPM",))):
        notes.append(f"{fmt} holds 8 bits per sample: {pixels.dtype} samples reduced to 8 bits (rounded)")
        pixels = rescale(pixels, np.uint8)
    if fmt == "JPEG" and not cmyk and channels in (1, 3):  # 8-bit grey or RGB: imagecodecs, Pillow's bytes
        from . import jpeg

        metadata.drop_unheld(meta, "JPEG", notes)
        metadata.fit(meta, "JPEG", notes)
        return jpeg.encode(pixels, sink, quality=options["quality"], subsampling=options.get("subsampling"),
                           meta=meta)
    _pillow_write(sink, _to_pillow(pixels, alpha, cmyk), fmt, meta, options, encoding, notes)


def _to_pillow(pixels: np.ndarray, alpha: bool, cmyk: bool) -> Image.Image:
    channels = pixels.shape[2]
    if pixels.dtype != np.uint8:  # one channel here: uint16 -> I;16, int32 -> I, float32 -> F
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]))
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "CMYK" if cmyk else "RGBA"}[channels]
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else np.ascontiguousarray(pixels), mode)


def _flatten(image: Image.Image) -> Image.Image:
    """Composite an image with alpha over white (for formats that hold no alpha)."""
    base = Image.new(image.mode[:-1], image.size, "white")
    base.paste(image.convert(image.mode[:-1]), mask=image.getchannel("A"))
    return base


#: A mode a format cannot hold -> the mode to try instead.
FALLBACK = {"LA": "L", "RGBA": "RGB", "I;16": "L", "I": "L", "F": "L", "CMYK": "RGB", "L": "RGB"}


def _pillow_write(sink, image: Image.Image, fmt: str, meta: dict, options: dict, encoding, notes: list) -> None:
    if fmt not in ALPHA_FORMATS and image.mode in ("LA", "RGBA"):
        notes.append(f"{fmt} holds no alpha: composited over white")
        image = _flatten(image)
    if fmt == "GIF" and image.mode in ("RGB", "RGBA"):
        notes.append("GIF holds 256 colours and on/off transparency: colours quantised")
    params = _pillow_params(fmt, image, meta, options, encoding, notes)
    while True:
        try:
            image.save(sink, format=fmt, **params)
            return
        except OSError as e:
            if e.errno is not None:  # the disk, not the encoder: for `replacing` to report
                raise
            error = e
        except (ValueError, KeyError, TypeError) as e:
            error = e
        if image.mode not in FALLBACK or "cannot write" not in str(error) and "mode" not in str(error):
            raise ImgconvError(f"cannot encode a {image.mode} image as {fmt} ({error})") from None
        sink.seek(0)
        sink.truncate(0)
        target = FALLBACK[image.mode]
        notes.append(f"{fmt} cannot hold a {image.mode} image: saved as {target}")
        if image.mode in ("LA", "RGBA"):
            image = _flatten(image)
        elif image.mode in ("I;16", "I", "F"):
            full = {"I;16": 65535.0, "I": 65535.0, "F": 1.0}[image.mode]
            image = Image.fromarray(rescale(np.asarray(image).astype(np.float32) / full, np.uint8), "L")
        else:
            image = image.convert(target)


def _pillow_params(fmt: str, image: Image.Image, meta: dict, options: dict, encoding, notes: list) -> dict:
    from PIL import PngImagePlugin

    metadata.drop_unheld(meta, fmt, notes)
    metadata.fit(meta, fmt, notes)
    params = {k: meta[k] for k in ("icc_profile", "exif", "dpi") if k in meta}
    if fmt in ("JPEG", "WEBP", "AVIF"):
        params["quality"] = options["quality"]
    if fmt == "JPEG" and options.get("subsampling"):
        params["subsampling"] = options["subsampling"]
    if fmt == "WEBP" and options.get("lossless"):  # effort 20, method 0: 13x faster, 12% bigger (fidelity.md)
        params.update(lossless=True, quality=20, method=0)
    if fmt == "AVIF":
        params["speed"] = 8  # libavif's 6 takes 5x as long for files 5% smaller (docs/fidelity.md)
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
        tiff_params, tags = _pillow_tiff_params(image, meta, options, encoding, notes)
        params.update(tiff_params)
        if "xmp" in meta:
            tags[700] = params.pop("xmp")
        if tags or "exif" in meta:  # Pillow writes extra TIFF tags (XMP, predictor) only from the EXIF it is given
            exif = Image.Exif()
            if "exif" in meta:
                exif.load(meta["exif"])
            for tag in metadata.STRUCTURAL_TAGS & set(exif):  # layout and resolution are the writer's own
                del exif[tag]
            for tag, value in tags.items():
                exif[tag] = value
            params["exif"] = exif.tobytes()  # as bytes: Pillow drops an Exif object's sub-directories
    return params


def _pillow_tiff_params(image: Image.Image, meta: dict, options: dict, encoding, notes: list):
    """(save options, extra tags): compression and predictor, the input TIFF's, else Deflate; raw when
    EXIF has sub-directories."""
    from PIL import TiffImagePlugin

    if "exif" in meta and _has_sub_ifds(meta["exif"]):
        notes.append("TIFF written uncompressed to keep the EXIF sub-directories")  # libtiff cannot write them
        return {"compression": "raw"}, {}
    dtype = np.dtype(np.float32 if image.mode == "F" else np.uint16 if image.mode.startswith("I") else np.uint8)
    compression, predictor = settings.tiff_compression(encoding, dtype, notes)
    if compression == 7 and image.mode not in ("L", "RGB", "CMYK"):
        notes.append(f"TIFF JPEG compression cannot hold a {image.mode} image: written with Deflate")
        compression, predictor = 8, None
    params = {"compression": TiffImagePlugin.COMPRESSION_INFO[compression]}
    if compression == 7:
        params["quality"] = options["quality"]
    return params, ({TiffImagePlugin.PREDICTOR: predictor} if predictor and predictor > 1 else {})


def _has_sub_ifds(exif_bytes: bytes) -> bool:
    exif = Image.Exif()
    exif.load(exif_bytes)
    return 0x8769 in exif or 0x8825 in exif
