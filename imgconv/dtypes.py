"""Pixel types: the value of white in each, and the one rule for storing a result in an integer type."""

from __future__ import annotations

import numpy as np

from .errors import ImgconvError

#: The value of white for each pixel type.  32-bit integer images are taken to be widened 16-bit data.
FULL = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.int32): 65535.0,
        np.dtype(np.float32): 1.0}


#: The error for a result with no pixel value.
OVERFLOWED = ("the result overflowed to infinity or NaN; "
              "use smaller option values (kernel taps, amount, strength, cval)")


def to_dtype(result: np.ndarray, dtype) -> np.ndarray:
    """Round half-to-even and clip to an integer type's range (float results are only cast).

    The engines' own loops store integer results by the same rule (imgconv.engine._rows.store).
    A result already of that type is returned as it is.  Infinity or NaN (option values so large that
    float32 overflowed) has no pixel value: that is an ImgconvError, never an arbitrary cast.
    """
    dtype = np.dtype(dtype)
    if result.dtype == dtype and dtype.kind != "f":
        return result
    if result.dtype == np.float32 and result.flags.c_contiguous and dtype in (np.uint8, np.uint16):
        from .engine.pointwise import round_to

        rounded = round_to(result, dtype)
        if rounded is not None:
            if not rounded[1]:
                raise ImgconvError(OVERFLOWED)
            return rounded[0]
    if not np.isfinite(result).all():
        raise ImgconvError(OVERFLOWED)
    if dtype.kind == "f":
        return result.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    return np.clip(np.rint(result), info.min, info.max).astype(dtype)


def store(values: np.ndarray, out: np.ndarray) -> None:
    """out[...] = values by to_dtype's rule (for engines that compute a block in numpy)."""
    out[...] = to_dtype(values, out.dtype)
