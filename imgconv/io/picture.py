"""A decoded image, and the pixel types imgconv keeps: white is 255, 65535 or 1.0."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ImgconvError

#: The value of white for each pixel type.  32-bit integer images are taken to be widened 16-bit data.
FULL = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.int32): 65535.0,
        np.dtype(np.float32): 1.0}


@dataclass
class Picture:
    pixels: np.ndarray  # HxWxC, uint8 / uint16 / int32 / float32
    alpha: bool
    info: dict = field(default_factory=dict)  # metadata to carry: icc_profile, exif, xmp, text, comment, dpi
    notes: list = field(default_factory=list)  # conversions made on load, for --verbose
    cmyk: bool = False  # the 4 channels are C, M, Y, K inks (filtered as they are, see docs/fidelity.md)
    encoding: dict = field(default_factory=dict)  # how the file was encoded, for save() to keep (`settings`)

    @property
    def full(self) -> float:
        return FULL[self.pixels.dtype]

    @property
    def shape(self) -> tuple:
        return self.pixels.shape

    @property
    def dtype(self) -> np.dtype:
        return self.pixels.dtype


def to_dtype(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round to nearest and clip to the type's range (float outputs are kept as they are).

    A result already of that type is returned as it is.  Infinity or NaN (option values so large that
    float32 overflowed) has no pixel value: that is an ImgconvError, never an arbitrary cast.
    """
    dtype = np.dtype(dtype)
    if result.dtype == dtype and dtype.kind != "f":
        return result
    if not np.isfinite(result).all():
        raise ImgconvError("the result overflowed to infinity or NaN; "
                           "use smaller option values (kernel taps, amount, strength, cval)")
    if dtype.kind == "f":
        return result.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    return np.clip(np.rint(result), info.min, info.max).astype(dtype)


def rescale(pixels: np.ndarray, dtype) -> np.ndarray:
    """Convert between pixel types so that white stays white: rounded, clipped to the new range."""
    dtype = np.dtype(dtype)
    if pixels.dtype == dtype:
        return pixels
    scaled = pixels.astype(np.float64) * (FULL[dtype] / FULL[pixels.dtype])
    if dtype.kind == "f":
        return scaled.astype(dtype)
    return np.clip(np.rint(scaled), 0, FULL[dtype]).astype(dtype)
