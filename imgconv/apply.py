"""Apply a Filter to an image's pixels: alpha, luminance and the declared finish around the convolutions.

The rule for alpha: a filter that smooths (a weighted average, see Filter.smooths) filters alpha too,
with colour premultiplied by alpha so transparent pixels cannot bleed dark fringes into the edges;
every other filter leaves alpha exactly as it was.

What the finish declares decides how much the engines do (filters.base.Finish):
  * a plain finish: the engine stores the result in the image's own type directly (no float32 result);
  * a scaled gradient magnitude (Sobel): the kernels run fused in one direct pass with the magnitude
    computed before the store, so no gradient image is ever stored;
  * anything else: the responses are finished in numpy (Finish.apply).
Several kernels of one size also run fused when the planner estimates one pass cheaper
(planner.should_fuse; with --algo im2col, one GEMM with a column per kernel).  The pixels are the same.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .convolution import NATIVE_TYPES, run_fused, run_plan
from .dtypes import to_dtype
from .engine.planner import plan, should_fuse, ways
from .filters import Filter
from .kernel import KernelInfo
from .srgb import from_linear, srgb_to_linear, to_linear

#: ITU-R BT.601 luma weights, the ones Pillow uses for RGB -> L.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def apply_filter(pixels: np.ndarray, filt: Filter, full: float, *, alpha: bool = False, algo="auto",
                 border="reflect", cval=0.0, on_plan=None, linear: bool = False, out_dtype=None,
                 threads: int | None = None) -> np.ndarray:
    """Filter an HxWxC image whose last channel is alpha if `alpha`; float32 result, not clipped.

    `full` is the value of white (255, 65535, 1.0); `on_plan(plan)` is told each engine choice.
    `linear`: a filter that smooths averages light, not sRGB code values -- colour is decoded to linear
    light before and encoded after (alpha is not a colour and stays as it is); other filters ignore it.
    `out_dtype` (e.g. numpy.uint8, to save the result as the image came): the result in that type,
    rounded half-to-even and clipped (dtypes.to_dtype's rule).  A plain one-kernel filter then has the
    engine store it directly -- no float32 image of the result at all (12 MP: 144 MB and two passes saved).
    `threads`: the most threads the engines may use (default: every core).
    """
    if out_dtype is not None and np.dtype(out_dtype).kind in "ui" and not alpha and not linear \
            and len(filt.kernels) == 1 and filt.finish.plain and not filt.grey:
        chosen = plan(KernelInfo(filt.kernels[0], correlate=filt.correlate), pixels.shape, algo=algo,
                      threads=threads)
        if on_plan:
            on_plan(chosen)
        return run_plan(chosen, pixels, border=border, cval=cval, dtype=np.dtype(out_dtype))
    colour = pixels[..., :-1] if alpha else pixels
    opacity = pixels[..., -1:].astype(np.float32) if alpha else None
    if filt.grey and colour.shape[-1] >= 3:
        colour = luminance(colour)
    smooth_alpha = alpha and filt.smooths
    linear = linear and filt.smooths
    # uint8/float32 go to the engines as they are: they widen one row at a time (no float32 copy of the
    # whole image); run_plan converts other types; Finish.apply promotes `source` itself where it uses it.
    source = colour
    if linear:
        source = to_linear(colour, full)
        cval = float(srgb_to_linear(np.float32(cval / full))) * full
    elif smooth_alpha:
        source = colour.astype(np.float32)
    if smooth_alpha:
        source = np.concatenate([source * (opacity / full), opacity], axis=-1)

    plans = [plan(KernelInfo(kernel, correlate=filt.correlate), source.shape, algo=algo, threads=threads)
             for kernel in filt.kernels]
    scale = filt.finish.magnitude_scale
    fuse = should_fuse(plans, source.shape, algo) or (scale is not None and len(plans) == 1
                                                      and plans[0].algo == "direct")
    if fuse:
        fused_algo = "im2col" if algo == "im2col" else "direct"
        _, runner, used = min(ways(fused_algo, plans[0].kernel, source.shape, plans[0].threads))
        how = "one GEMM, a column per kernel" if fused_algo == "im2col" else "one direct pass"
        note = f"fused: {len(plans)} kernel(s) in {how}" + (", magnitude included" if scale else "")
        plans = [dataclasses.replace(p, algo=fused_algo, reason=note, runner=runner, threads=used) for p in plans]
    if on_plan:
        for chosen in plans:
            on_plan(chosen)
    if fuse and scale is not None:
        result = run_fused(plans, source, border=border, cval=cval, magnitude_scale=scale, algo=plans[0].algo)
    else:
        if fuse:
            responses = run_fused(plans, source, border=border, cval=cval, algo=plans[0].algo)
        else:
            responses = [run_plan(chosen, source, border=border, cval=cval) for chosen in plans]
        result = filt.finish.apply(source, responses, full)

    if smooth_alpha:
        colour_out, opacity = result[..., :-1], result[..., -1:]
        np.divide(colour_out * full, opacity, out=colour_out, where=opacity > 1e-6 * full)
        result = np.concatenate([colour_out, opacity], axis=-1)
    elif alpha:
        result = np.concatenate([result, opacity], axis=-1)
    if linear:
        result = np.ascontiguousarray(result)
        from_linear(result, full, result.shape[-1] - 1 if alpha else None)
    if out_dtype is not None and np.dtype(out_dtype) != result.dtype:
        result = to_dtype(result, out_dtype)
    return result


def luminance(colour: np.ndarray) -> np.ndarray:
    """BT.601 luminance as H x W x 1 float32, by the compiled loop (3-4x faster than numpy's matmul on
    uint8, and the same arithmetic whatever the layout)."""
    from .engine.pointwise import luma

    if colour.dtype.type not in NATIVE_TYPES:
        colour = colour.astype(np.float32)
    return luma(colour, LUMA)
