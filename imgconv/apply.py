"""Apply a Filter to an image's pixels: alpha, luminance and the finishing step around the convolutions.

The rule for alpha: a filter that smooths (a weighted average, see Filter.smooths) filters alpha too,
with colour premultiplied by alpha so transparent pixels cannot bleed dark fringes into the edges;
every other filter leaves alpha exactly as it was.
"""

from __future__ import annotations

import numpy as np

from .convolution import run_plan
from .engine.planner import plan
from .filters import Filter
from .kernel import KernelInfo

#: ITU-R BT.601 luma weights, the ones Pillow uses for RGB -> L.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def apply_filter(pixels: np.ndarray, filt: Filter, full: float, *, alpha: bool = False, algo="auto",
                 border="reflect", cval=0.0, on_plan=None) -> np.ndarray:
    """Filter an HxWxC image whose last channel is alpha if `alpha`; float32 result, not clipped.

    `full` is the value of white (255, 65535, 1.0); `on_plan(plan)` is told each engine choice.
    """
    colour = pixels[..., :-1] if alpha else pixels
    opacity = pixels[..., -1:].astype(np.float32) if alpha else None
    if filt.grey and colour.shape[-1] >= 3:
        colour = colour[..., :3] @ LUMA
        colour = colour[..., np.newaxis]
    smooth_alpha = alpha and filt.smooths
    source = colour.astype(np.float32)
    if smooth_alpha:
        source = np.concatenate([source * (opacity / full), opacity], axis=-1)

    responses = []
    for kernel in filt.kernels:
        chosen = plan(KernelInfo(kernel, correlate=filt.correlate), source.shape, algo=algo)
        if on_plan:
            on_plan(chosen)
        responses.append(run_plan(chosen, source, border=border, cval=cval))
    result = filt.finish(source, responses, full)

    if smooth_alpha:
        colour_out, opacity = result[..., :-1], result[..., -1:]
        np.divide(colour_out * full, opacity, out=colour_out, where=opacity > 1e-6 * full)
        result = np.concatenate([colour_out, opacity], axis=-1)
    elif alpha:
        result = np.concatenate([result, opacity], axis=-1)
    return result
