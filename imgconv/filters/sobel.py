"""Sobel gradient, on luminance.  `both` is the gradient magnitude.

The output is scaled so that the strongest edge any image can have maps to full white.  That bound
is found exactly, not guessed: the response is a convex function of the 3x3 pixel values, so its
maximum over [0, 1]^9 is at one of the 512 black/white patterns, which we simply try.
"""

from __future__ import annotations

import itertools
from typing import Literal

import numpy as np

from ..errors import ImgconvError
from .base import Filter, Finish

#: Convolution kernels (imgconv flips them), so responses are positive where the image brightens
#: towards +x (east) and +row (south) respectively.
SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
SOBEL_Y = SOBEL_X.T.copy()

_PATTERNS = np.array(list(itertools.product((0.0, 1.0), repeat=9)))


def strongest_edge(kernels) -> float:
    """Largest possible magnitude of these 3x3 kernels' responses on an image with values in [0, 1]."""
    responses = [_PATTERNS @ k.ravel() for k in kernels]
    return float(np.sqrt(sum(r * r for r in responses)).max())


def sobel(axis: Literal["x", "y", "both"] = "both") -> Filter:
    """Sobel edges on luminance, grey output scaled so the strongest possible edge is white.

    Parameters
    ----------
    axis : {"x", "y", "both"}
        Gradient along x, y, or the magnitude of both.

    Examples
    --------
    imgconv sobel in.jpg edges.png
    """
    kernels = {"x": (SOBEL_X,), "y": (SOBEL_Y,), "both": (SOBEL_X, SOBEL_Y)}.get(axis)
    if kernels is None:
        raise ImgconvError(f"sobel axis must be x, y or both, got {axis!r}")
    finish = Finish(combine="magnitude", scale=1.0 / strongest_edge(kernels))
    return Filter(f"sobel-{axis}", kernels, finish=finish, grey=True)
