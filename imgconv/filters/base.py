"""`Filter`: what a command does, as data -- the kernels to convolve and how to turn responses into pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..kernel import as_kernel


def first_response(source, responses, full):
    """The plain convolution result: most filters are just their kernel."""
    return responses[0]


@dataclass(frozen=True)
class Filter:
    """Kernels plus a finishing step.

    kernels:   2D convolution kernels (float64), each convolved with every channel.
    finish:    (source, responses, full) -> result, in the image's own scale where `full` is white
               (255, 65535 or 1.0); must be a module-level function or partial so batches can pickle it.
    grey:      the filter works on luminance and its output is grey (Sobel).
    correlate: the kernels are correlation kernels (not flipped).
    """

    name: str
    kernels: tuple
    finish: Callable = first_response
    grey: bool = False
    correlate: bool = False

    def __post_init__(self):
        # Checked where the filter is built, so a bad kernel is a usage error before any file is read.
        object.__setattr__(self, "kernels", tuple(as_kernel(k) for k in self.kernels))

    @property
    def smooths(self) -> bool:
        """A weighted average (no negative taps, result is the response): alpha is filtered with colour.

        Blurs average alpha too, with colour premultiplied so transparent pixels do not darken edges;
        sharpen, emboss, edge filters and unsharp keep alpha as it is.
        """
        return self.finish is first_response and all(np.all(k >= 0) for k in self.kernels)
