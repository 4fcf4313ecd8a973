"""`Filter`: what a command does, as data -- the kernels to convolve and how their responses become pixels.

Like Pillow's ImageFilter (a kernel with its scale and offset), everything after the convolutions is
declared in a `Finish`, never written as a function: apply() reads it to store a plain result straight
from the engine, to compute Sobel's magnitude inside the direct loop, or to finish in numpy otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernel import as_kernel

COMBINE = ("one", "magnitude", "max")


@dataclass(frozen=True)
class Finish:
    """How a filter's responses become its result, in the image's own scale (white is `full`).

    combine:   "one" the single response, "magnitude" sqrt of the sum of their squares, "max" the
               largest response at each pixel (compass operators).
    scale:     multiplies the combined response.
    detail:    None, or the weight of the detail (source - response) added to the source (unsharp
               masking), or alone with keep_source False (high pass); where |2 * (source - response)|
               < threshold * full the detail is left out (ImageMagick's unsharp rule).
    threshold: see detail, a fraction of white.
    keep_source: see detail.
    offset:    added last, as a fraction of white (emboss's and high pass's mid-grey).
    """

    combine: str = "one"
    scale: float = 1.0
    detail: float | None = None
    threshold: float = 0.0
    keep_source: bool = True
    offset: float = 0.0

    def __post_init__(self):
        if self.combine not in COMBINE:
            raise ValueError(f"combine must be one of {COMBINE}, got {self.combine!r}")

    @property
    def plain(self) -> bool:
        """The result is the one response itself."""
        return self == Finish()

    @property
    def magnitude_scale(self) -> float | None:
        """The scale of a finish that is only a scaled gradient magnitude (what the direct loop fuses)."""
        if self.combine == "magnitude" and self.detail is None and self.offset == 0:
            return self.scale
        return None

    def apply(self, source: np.ndarray, responses: list, full: float) -> np.ndarray:
        """The result from the responses (float32, each like source), in numpy."""
        if self.combine == "one":
            result = responses[0]
        elif self.combine == "magnitude":
            result = np.sqrt(sum(r * r for r in responses)) if len(responses) > 1 else np.abs(responses[0])
        else:
            result = np.maximum.reduce(responses)
        if self.scale != 1:
            result = result * np.float32(self.scale)
        if self.detail is not None:
            source = source.astype(np.float32, copy=False)
            difference = source - result
            if self.threshold > 0:
                difference[np.abs(2 * difference) < self.threshold * full] = 0.0
            result = np.float32(self.detail) * difference
            if self.keep_source:
                result += source
        if self.offset:
            result = result + np.float32(self.offset * full)
        return result


@dataclass(frozen=True)
class Filter:
    """Kernels plus a finishing step.

    kernels:      2D convolution kernels (float64), each convolved with every channel.
    finish:       how the responses become the result (a Finish).
    grey:         the filter works on luminance and its output is grey (Sobel).
    correlate:    the kernels are correlation kernels (not flipped).
    within_image: the kernels must fit inside the image (a box mean of pixels that are not there is
                  no mean): checked against each image before it is filtered.
    linear:       averages light, so by default it is filtered in linear light (a lens); --linear and
                  --no-linear decide for every filter that smooths.
    """

    name: str
    kernels: tuple
    finish: Finish = field(default_factory=Finish)
    grey: bool = False
    correlate: bool = False
    within_image: bool = False
    linear: bool = False

    def __post_init__(self):
        # Checked where the filter is built, so a bad kernel is a usage error before any file is read.
        object.__setattr__(self, "kernels", tuple(as_kernel(k) for k in self.kernels))

    @property
    def smooths(self) -> bool:
        """A weighted average (no negative taps, result is the response): alpha is filtered with colour.

        Blurs average alpha too, with colour premultiplied so transparent pixels do not darken edges;
        sharpen, emboss, edge filters and unsharp keep alpha as it is.
        """
        return self.finish.plain and all(np.all(k >= 0) for k in self.kernels)

    def too_big_for(self, height: int, width: int) -> str | None:
        """Why this filter cannot run on an image of this size, or None."""
        if self.within_image:
            k1, k2 = max(k.shape[0] for k in self.kernels), max(k.shape[1] for k in self.kernels)
            if k1 > height or k2 > width:
                return f"{self.name} kernel {k1}x{k2} is larger than the {width}x{height} image"
        return None
