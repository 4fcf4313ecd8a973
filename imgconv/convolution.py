"""`imgconv.convolve`: the library entry point.  Data flows one way: kernel -> plan -> border -> engine.

The border is described once, by imgconv.border.Source (the image plus, per padded row and column, the
image row/column it copies), and every engine reads padded rows through it: the Numba engines gather
each padded row into a small cache-resident buffer as they go, so the padded image is never built
(one full-image copy saved); fft and im2col gather blocks of padded rows (Source.padded_rows).
uint8 and float32 images are passed as they are (uint8 rows are widened to float32 one at a time);
other types (uint16, int32) are converted to float32 first.  Results are stored by the engines as
float32 or uint8; other result types go through a float32 result.
"""

from __future__ import annotations

import numpy as np

from .border import MODES, Source
from .dtypes import to_dtype
from .engine import engine
from .engine.planner import Plan, plan
from .errors import ImgconvError
from .kernel import KernelInfo

__all__ = ["convolve", "plan", "run_plan", "run_fused", "source_for"]

#: Image and result types the engines read and store directly; anything else is converted.
NATIVE_TYPES = (np.float32, np.uint8)


def convolve(image, kernel, *, algo="auto", border="reflect", cval=0.0, correlate=False,
             dtype=np.float32, out=None, threads=None) -> np.ndarray:
    """Convolve each channel of an image with a 2D kernel, on the engine the planner picks.

    Parameters
    ----------
    image : array_like
        H x W or H x W x C, uint8, uint16 or float.
    kernel : array_like
        A 2D kernel of any size, odd or even, rectangular.
    algo : str
        "auto" (the planner's choice) or an engine of imgconv.ALGORITHMS.
    border : str
        How pixels beyond the edge are filled: reflect, mirror, nearest, wrap or constant
        (scipy.ndimage's names).
    cval : float
        The value beyond the edge for border="constant".
    correlate : bool
        Slide the kernel unflipped (cross-correlation) instead of convolving.
    dtype : numpy dtype
        The result's type: float32 (not clipped), or an integer type whose values are rounded
        half-to-even and clipped to its range, stored straight from the engine.
    out : numpy.ndarray, optional
        An array of the image's shape to fill (its dtype is the result's).
    threads : int, optional
        The most threads to use (default: every core).

    Returns
    -------
    numpy.ndarray
        The result, of the image's shape; identical (to float32 rounding) to
        ``scipy.ndimage.convolve(channel, kernel, mode=border, cval=cval)`` per channel (``correlate``
        with correlate=True), including the origin of even-sized kernels.

    Examples
    --------
    >>> import numpy as np, imgconv
    >>> image = np.zeros((5, 5), np.float32); image[2, 2] = 1
    >>> imgconv.convolve(image, [[1, 2, 1]])[2, 1:4]
    array([1., 2., 1.], dtype=float32)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ImgconvError(f"image must be a non-empty HxW or HxWxC array, got shape {image.shape}")
    info = KernelInfo(kernel, correlate=correlate)
    chosen = plan(info, image.shape, algo=algo, threads=threads)
    return run_plan(chosen, image, border=border, cval=cval, dtype=dtype, out=out)


def source_for(image: np.ndarray, padding, border="reflect", cval=0.0) -> Source:
    """The padded view of an HxWxC image that every engine reads (no copy for float32 and uint8)."""
    if border not in MODES:
        raise ImgconvError(f"unknown border mode {border!r}; choose from {', '.join(MODES)}")
    if image.dtype.type not in NATIVE_TYPES or (
        border == "constant" and image.dtype.kind == "u" and not _representable(cval, image.dtype)
    ):
        image = image.astype(np.float32)
    return Source(np.ascontiguousarray(image), padding, border, cval)


def _representable(value: float, dtype) -> bool:
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max


def run_plan(chosen: Plan, image: np.ndarray, *, border="reflect", cval=0.0, dtype=np.float32,
             out=None) -> np.ndarray:
    """Run an already-made plan on an image (so a caller can plan once and reuse it)."""
    planes = image if image.ndim == 3 else image[:, :, np.newaxis]
    if out is None:
        out = np.empty(image.shape, dtype)
    elif out.shape != image.shape or not out.flags.c_contiguous:
        raise ImgconvError(f"out must be a C-contiguous array of shape {image.shape}, got {out.shape}")
    elif np.may_share_memory(out, image):
        # The engines read the image while they write out: filtering in place needs a copy.
        planes = planes.copy()
    source = source_for(planes, chosen.kernel.padding, border, cval)
    result = out.reshape(planes.shape)
    if result.dtype.type in NATIVE_TYPES:
        engine(chosen.algo).run(source, chosen, result)
    else:  # e.g. uint16: the engine stores float32, rounded by the same rule after
        floats = np.empty(planes.shape, np.float32)
        engine(chosen.algo).run(source, chosen, floats)
        result[...] = to_dtype(floats, result.dtype)
    return out


def run_fused(plans, image: np.ndarray, *, border="reflect", cval=0.0, magnitude_scale=None,
              dtype=np.float32, algo="direct"):
    """Several same-sized kernels' plans in one pass over the image (the engine's run_many), run the
    way plans[0] says (runner, threads).

    Returns a list of responses (each like run_plan's), or, with `magnitude_scale`, the single image
    sqrt(sum of squared responses) * magnitude_scale -- Sobel's gradient magnitude without the two
    gradient images ever being stored.  `algo` is "direct" (one pass sharing a ring of rows) or
    "im2col" (one GEMM with a column per kernel).
    """
    run_many = engine(algo).run_many
    planes = image if image.ndim == 3 else image[:, :, np.newaxis]
    source = source_for(planes, plans[0].kernel.padding, border, cval)
    if magnitude_scale is not None:
        out = np.empty(planes.shape, dtype)
        run_many(source, plans, out, magnitude_scale)
        return out.reshape(image.shape)
    out = np.empty((len(plans),) + planes.shape, dtype)
    run_many(source, plans, out)
    return [o.reshape(image.shape) for o in out]
