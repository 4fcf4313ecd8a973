"""Kernel syntaxes from other tools, turned into the plain convolution kernels imgconv runs.

* ImageMagick kernel strings (``imagemagick``): "3x3: 1,2,1 2,4,2 1,2,1", "5x3+1+1: ...",
  "Gaussian:0x2", "Disk:5.3", ...; and its ``convolve:scale`` define (``scale_kernel``).
* libvips matrix files (``vips``): "width height [scale [offset]]" then rows.
* numpy ``.npy`` files holding a 2D array.

``imgconv.kernel.parse_kernel`` reads text in imgconv's own syntax or ImageMagick's; ``load_kernel``
reads a file of any of them by its extension.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ImgconvError
from .imagemagick import looks_like_imagemagick, parse_imagemagick, scale_kernel
from .vips import parse_mat

__all__ = ["KernelFile", "load_kernel", "looks_like_imagemagick", "parse_imagemagick", "parse_mat",
           "scale_kernel"]


@dataclass(frozen=True)
class KernelFile:
    """A kernel read from a file, with what the file says about applying it.

    taps:      the kernel (float64, 2D).
    correlate: slide it unflipped (libvips's convolution is a correlation: sum of pixel[i] * mask[i]).
    offset:    add offset * white to every result (libvips's offset, here as a fraction of white).
    """

    taps: np.ndarray
    correlate: bool = False
    offset: float = 0.0


def load_kernel(path) -> KernelFile:
    """Read a kernel file: ``.mat`` (libvips), ``.npy`` (numpy), anything else as text (imgconv's rows of
    numbers, or an ImageMagick kernel string)."""
    from ..kernel import as_kernel, parse_kernel

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            try:
                return KernelFile(as_kernel(np.load(path, allow_pickle=False)))
            except ValueError as e:
                if isinstance(e, ImgconvError):
                    raise
                raise ImgconvError(f"{path}: not a numpy array file ({e})") from None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ImgconvError(f"cannot read kernel file {path}: {e}") from None
    if suffix == ".mat":
        return parse_mat(text)
    return KernelFile(parse_kernel(text))
