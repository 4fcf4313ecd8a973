"""Image I/O: the only place that knows about file formats, modes, bit depth, orientation and metadata.

load() gives an `Picture`: an HxWxC array in the file's own number type (uint8, uint16 or float32),
whether its last channel is alpha, and what must be carried to the output (ICC profile, EXIF).
save() writes atomically: to a temporary file beside the output, renamed over it only when complete.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImgconvError

#: Pillow modes converted on load, to the mode filtering works in.
CONVERT_ON_LOAD = {"1": "L", "P": None, "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "PA": "RGBA"}
FULL = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}


@dataclass
class Picture:
    pixels: np.ndarray  # HxWxC, uint8 / uint16 / float32
    alpha: bool
    info: dict = field(default_factory=dict)  # metadata to carry: icc_profile, exif
    notes: list = field(default_factory=list)  # conversions made on load, for --verbose

    @property
    def full(self) -> float:
        return FULL[self.pixels.dtype]


def load(path) -> Picture:
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)  # also drops the orientation tag
            return _to_picture(img)
    except FileNotFoundError:
        raise ImgconvError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImgconvError(f"{path}: is a directory, not an image") from None
    except PermissionError:
        raise ImgconvError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise ImgconvError(f"{path}: not an image Pillow can read") from None
    except Image.DecompressionBombError as e:
        raise ImgconvError(f"{path}: {e}") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImgconvError(f"{path}: corrupt or truncated image ({e})") from None


def _to_picture(img: Image.Image) -> Picture:
    notes = []
    info = {k: img.info[k] for k in ("icc_profile",) if img.info.get(k)}
    exif = img.getexif()
    if len(exif):
        info["exif"] = exif.tobytes()
    mode = img.mode
    if mode in CONVERT_ON_LOAD:
        target = CONVERT_ON_LOAD[mode] or ("RGBA" if "transparency" in img.info or img.palette.mode == "RGBA" else "RGB")
        notes.append(f"converted {mode} to {target}")
        img = img.convert(target)
    elif mode == "I":
        notes.append("32-bit integer image filtered as float")
        img = img.convert("F")
    if img.size[0] == 0 or img.size[1] == 0:
        raise ImgconvError("image has zero width or height")
    pixels = np.asarray(img)
    if pixels.dtype.kind == "u" and pixels.dtype.itemsize == 2:  # I;16, I;16B ...: native uint16
        pixels = pixels.astype(np.uint16)
    if pixels.dtype not in FULL:
        pixels = pixels.astype(np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    return Picture(pixels, alpha=img.mode in ("LA", "RGBA"), info=info, notes=notes)


def output_format(path) -> str:
    ext = Path(path).suffix.lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ImgconvError(f"{path}: unknown output extension {ext or '(none)'!r}; use e.g. .png, .jpg, .tif, .webp")
    return fmt


def to_dtype(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round to nearest and clip to the type's range (float outputs are kept as they are)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return result.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.rint(result), info.min, info.max).astype(dtype)


def _to_image(pixels: np.ndarray, alpha: bool, fmt: str) -> Image.Image:
    channels = pixels.shape[2]
    if pixels.dtype == np.uint16:
        if channels == 1:
            return Image.fromarray(pixels[:, :, 0])  # I;16
        pixels = (pixels >> 8).astype(np.uint8)  # Pillow cannot write 16-bit colour
    if pixels.dtype == np.float32 and channels == 1 and fmt == "TIFF":
        return Image.fromarray(pixels[:, :, 0], "F")
    if pixels.dtype == np.float32:
        pixels = to_dtype(pixels * 255.0, np.uint8)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)
    if fmt == "JPEG" and image.mode in ("LA", "RGBA"):
        image = image.convert(image.mode[:-1])  # JPEG has no alpha
    return image


def save(pixels: np.ndarray, path, *, alpha: bool, info: dict | None = None, quality: int = 95) -> None:
    """Write atomically to `path` in the format its extension names."""
    fmt = output_format(path)
    image = _to_image(pixels, alpha, fmt)
    params = dict(info or {})
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = quality
    if fmt == "PNG":
        params["compress_level"] = 1  # fast; level 6 costs several times longer for a few percent
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt, **params)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
