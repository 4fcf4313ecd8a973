"""`imgconv.convolve`: the library entry point.  Data flows one way: kernel -> plan -> border -> engine.

The border is described once, by imgconv.border.Source (the image plus, per padded row and column, the
image row/column it copies), and every engine reads padded rows through it: the Numba engines gather
each padded row into a small cache-resident buffer as they go, so the padded image is never built
(one full-image copy saved); fft and im2col, which need it whole, call Source.materialize().
uint8 images are passed as they are and widened to float32 one row at a time (the uint8 fast path);
other types (uint16 included: rarer, and each type is one more Numba compilation) are converted first.
"""

from __future__ import annotations

import contextlib
import importlib

import numpy as np

from .border import MODES, Source
from .engine.planner import Plan, plan
from .errors import ImgconvError
from .kernel import KernelInfo

__all__ = ["convolve", "plan", "run_plan", "run_fused", "source_for"]

#: Image types the engines read directly (widening a row at a time); anything else is converted first.
NATIVE_TYPES = (np.float32, np.uint8)


def convolve(image, kernel, *, algo="auto", border="reflect", cval=0.0, correlate=False,
             dtype=np.float32, out=None) -> np.ndarray:
    """Convolve each channel of an HxW or HxWxC image with a 2D kernel; float32 result, not clipped.

    Identical (to float32 rounding) to `scipy.ndimage.convolve(channel, kernel, mode=border, cval=cval)`
    per channel, or `scipy.ndimage.correlate` with `correlate=True`, including even-sized kernels' origin.
    `dtype` is the result's type: an integer type (e.g. numpy.uint8) gets values rounded half-to-even and
    clipped to its range, written straight from the engine (no float32 result image in between).
    `out`, if given, is an array of the image's shape (and its dtype is the result's) filled in place.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ImgconvError(f"image must be a non-empty HxW or HxWxC array, got shape {image.shape}")
    info = KernelInfo(kernel, correlate=correlate)
    chosen = plan(info, image.shape, algo=algo)
    return run_plan(chosen, image, border=border, cval=cval, dtype=dtype, out=out)


def source_for(image: np.ndarray, padding, border="reflect", cval=0.0) -> Source:
    """The padded view of an HxWxC image that every engine reads (no copy for float32/uint8/uint16)."""
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
        out = np.empty(planes.shape, dtype)
    elif out.shape != image.shape or not out.flags.c_contiguous:
        raise ImgconvError(f"out must be a C-contiguous array of shape {image.shape}, got {out.shape}")
    elif np.may_share_memory(out, image):
        # The Numba engines read the image while they write out: filtering in place needs a copy.
        planes = planes.copy()
    source = source_for(planes, chosen.kernel.padding, border, cval)
    out = out.reshape(planes.shape)
    if chosen.runner == "numpy":  # Numba not loaded and not worth loading for this one run (planner)
        from .engine import numpy_runner

        numpy_runner.run(source, chosen, out)
        return out.reshape(image.shape)
    engine = importlib.import_module(f".engine.{chosen.algo}", __package__)
    with _notice(chosen.algo, source, out):
        engine.run(source, chosen, out)
    return out.reshape(image.shape)


def _notice(algo, source, out):
    """The CLI's "compiling..." spinner if Numba is about to compile this engine (see imgconv.warmup)."""
    from . import engine

    if engine.compile_notice is None:
        return contextlib.nullcontext()
    return engine.compile_notice(algo, source.image.dtype, out.dtype)


def run_fused(plans, image: np.ndarray, *, border="reflect", cval=0.0, magnitude_scale=None,
              dtype=np.float32, algo="direct"):
    """Several same-sized kernels' plans in one direct pass over the image (imgconv.engine.direct.run_many).

    Returns a list of responses (each like run_plan's), or, with `magnitude_scale`, the single image
    sqrt(sum of squared responses) * magnitude_scale -- Sobel's gradient magnitude without the two
    gradient images ever being stored.  `algo` is "direct" (one pass sharing a ring of rows) or
    "im2col" (one GEMM with a column per kernel).
    """
    engine = importlib.import_module(f".engine.{algo}", __package__)

    planes = image if image.ndim == 3 else image[:, :, np.newaxis]
    source = source_for(planes, plans[0].kernel.padding, border, cval)
    if magnitude_scale is not None:
        out = np.empty(planes.shape, dtype)
        with _notice(algo, source, out):
            engine.run_many(source, plans, out, magnitude_scale)
        return out.reshape(image.shape)
    out = np.empty((len(plans),) + planes.shape, dtype)
    with _notice(algo, source, out):
        engine.run_many(source, plans, out)
    return [o.reshape(image.shape) for o in out]
