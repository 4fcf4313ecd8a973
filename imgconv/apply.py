"""Apply a Filter to an image's pixels: alpha, luminance and the finishing step around the convolutions.

The rule for alpha: a filter that smooths (a weighted average, see Filter.smooths) filters alpha too,
with colour premultiplied by alpha so transparent pixels cannot bleed dark fringes into the edges;
every other filter leaves alpha exactly as it was.

Fusion: when a filter has several kernels of one size (Sobel x and y) and the planner estimates one
direct pass cheaper than separate passes (planner.should_fuse), they run together through
convolution.run_fused (with --algo im2col: one GEMM with a column per kernel); if the filter's finish is Sobel's scaled gradient magnitude, that is computed in
the same pass, so neither gradient image is ever stored.  The pixels are the same either way.
"""

from __future__ import annotations

import functools

import numpy as np

from .convolution import NATIVE_TYPES, run_fused, run_plan
from .engine.planner import Plan, plan, should_fuse
from .filters import Filter
from .filters.base import first_response
from .kernel import KernelInfo

#: ITU-R BT.601 luma weights, the ones Pillow uses for RGB -> L.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1) undone: encoded 0..1 -> linear light 0..1."""
    v = np.clip(v, 0.0, None)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """Linear light 0..1 -> sRGB-encoded 0..1 (the inverse of srgb_to_linear)."""
    v = np.clip(v, 0.0, None)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


def apply_filter(pixels: np.ndarray, filt: Filter, full: float, *, alpha: bool = False, algo="auto",
                 border="reflect", cval=0.0, on_plan=None, linear: bool = False, out_dtype=None) -> np.ndarray:
    """Filter an HxWxC image whose last channel is alpha if `alpha`; float32 result, not clipped.

    `full` is the value of white (255, 65535, 1.0); `on_plan(plan)` is told each engine choice.
    `linear`: a filter that smooths averages light, not sRGB code values -- colour is decoded to linear
    light before and encoded after (alpha is not a colour and stays as it is); other filters ignore it.
    `out_dtype` (e.g. numpy.uint8, to save the result as the image came): the result in that type,
    rounded half-to-even and clipped (io.to_dtype's rule).  A plain one-kernel filter then has the engine
    store it directly -- no float32 image of the result at all (12 MP: 144 MB and two passes saved).
    """
    if out_dtype is not None and np.dtype(out_dtype).kind in "ui" and not alpha and not linear \
            and len(filt.kernels) == 1 and filt.finish is first_response and not filt.grey:
        chosen = plan(KernelInfo(filt.kernels[0], correlate=filt.correlate), pixels.shape, algo=algo)
        if on_plan:
            on_plan(chosen)
        source = pixels if pixels.dtype.type in NATIVE_TYPES else pixels.astype(np.float32)
        return run_plan(chosen, source, border=border, cval=cval, dtype=np.dtype(out_dtype))
    colour = pixels[..., :-1] if alpha else pixels
    opacity = pixels[..., -1:].astype(np.float32) if alpha else None
    if filt.grey and colour.shape[-1] >= 3:
        colour = _luminance(colour)
    smooth_alpha = alpha and filt.smooths
    linear = linear and filt.smooths
    # uint8/uint16/float32 go to the engines as they are: they widen one row at a time (no float32 copy
    # of the whole image); finish steps that use `source` (unsharp) promote it to float32 themselves.
    keep = colour.dtype.type in NATIVE_TYPES and not smooth_alpha and not linear
    source = colour if keep else colour.astype(np.float32)
    if linear:
        source = srgb_to_linear(source / full) * full
        cval = float(srgb_to_linear(np.float32(cval / full))) * full
    if smooth_alpha:
        source = np.concatenate([source * (opacity / full), opacity], axis=-1)

    plans = [plan(KernelInfo(kernel, correlate=filt.correlate), source.shape, algo=algo) for kernel in filt.kernels]
    scale = _magnitude_scale(filt)
    fuse = all(p.runner == "numba" for p in plans) and (should_fuse(plans, source.shape, algo) or (
        scale is not None and len(plans) == 1 and plans[0].algo == "direct"))
    fused_algo = "im2col" if algo == "im2col" else "direct"
    if fuse:
        how = "one GEMM, a column per kernel" if fused_algo == "im2col" else "one direct pass"
        note = f"fused: {len(plans)} kernel(s) in {how}" + (", magnitude included" if scale else "")
        plans = [Plan(fused_algo, p.kernel, note, p.estimates) for p in plans]
    if on_plan:
        for chosen in plans:
            on_plan(chosen)
    if fuse and scale is not None:
        result = run_fused(plans, source, border=border, cval=cval, magnitude_scale=scale, algo=fused_algo)
    else:
        if fuse:
            responses = run_fused(plans, source, border=border, cval=cval, algo=fused_algo)
        else:
            responses = [run_plan(chosen, source, border=border, cval=cval) for chosen in plans]
        result = filt.finish(source, responses, full)

    if smooth_alpha:
        colour_out, opacity = result[..., :-1], result[..., -1:]
        np.divide(colour_out * full, opacity, out=colour_out, where=opacity > 1e-6 * full)
        result = np.concatenate([colour_out, opacity], axis=-1)
    elif alpha:
        result = np.concatenate([result, opacity], axis=-1)
    if linear:
        channels = result.shape[-1] - 1 if alpha else result.shape[-1]
        result[..., :channels] = linear_to_srgb(result[..., :channels] / full) * full
    if out_dtype is not None and np.dtype(out_dtype) != result.dtype:
        from .io import to_dtype

        result = to_dtype(result, out_dtype)
    return result


def _magnitude_scale(filt: Filter):
    """Sobel's finish is scale * sqrt(sum of squared responses): the scale, or None for any other finish."""
    from .filters.sobel import _scaled_magnitude

    finish = filt.finish
    if isinstance(finish, functools.partial) and finish.func is _scaled_magnitude:
        return float(finish.keywords["scale"])
    return None


def _luminance(colour: np.ndarray) -> np.ndarray:
    """BT.601 luminance as H x W x 1 float32: the Numba kernel once Numba is loaded (3-4x faster than
    numpy's matmul on uint8), numpy otherwise (a one-shot CLI run need not load Numba for it)."""
    import sys

    if "numba" in sys.modules and colour.dtype.type in NATIVE_TYPES:
        from .engine.pointwise import luma

        return luma(colour, LUMA)
    return (colour[..., :3] @ LUMA)[..., np.newaxis]
