"""`imgconv.convolve`: the library entry point.  Data flows one way: kernel -> plan -> pad -> engine."""

from __future__ import annotations

import importlib

import numpy as np

from .border import MODES, pad
from .engine.planner import Plan, plan
from .errors import ImgconvError
from .kernel import KernelInfo

__all__ = ["convolve", "plan", "run_plan"]


def convolve(image, kernel, *, algo="auto", border="reflect", cval=0.0, correlate=False) -> np.ndarray:
    """Convolve each channel of an HxW or HxWxC image with a 2D kernel; float32 result, not clipped.

    Identical (to float32 rounding) to `scipy.ndimage.convolve(channel, kernel, mode=border, cval=cval)`
    per channel, or `scipy.ndimage.correlate` with `correlate=True`, including even-sized kernels' origin.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ImgconvError(f"image must be a non-empty HxW or HxWxC array, got shape {image.shape}")
    info = KernelInfo(kernel, correlate=correlate)
    chosen = plan(info, image.shape, algo=algo)
    return run_plan(chosen, image, border=border, cval=cval)


def run_plan(chosen: Plan, image: np.ndarray, *, border="reflect", cval=0.0) -> np.ndarray:
    """Run an already-made plan on an image (so a caller can plan once and reuse it)."""
    if border not in MODES:
        raise ImgconvError(f"unknown border mode {border!r}; choose from {', '.join(MODES)}")
    planes = image if image.ndim == 3 else image[:, :, np.newaxis]
    padded = pad(planes, chosen.kernel.padding, border, cval)
    out = np.empty(planes.shape, np.float32)
    engine = importlib.import_module(f".engine.{chosen.algo}", __package__)
    engine.run(padded, chosen, out)
    return out.reshape(image.shape)
