"""ImageMagick's discrete Laplacian kernels (``Laplacian:{type}`` in ``magick/morphology.c``).

They are centre-positive: the *negative* of the discrete Laplacian (imgconv's ``LAPLACIAN`` constant
is the true, centre-negative one, ``-laplacian_kernel(1)``), so a pixel brighter than its
surroundings responds positively.  All are zero-sum.
"""

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .midgrey import around_mid_grey

_VARIANTS = {
    0: "-1 -1 -1; -1 8 -1; -1 -1 -1",  # 8-neighbour
    1: "0 -1 0; -1 4 -1; 0 -1 0",  # 4-neighbour
    2: "-2 1 -2; 1 4 1; -2 1 -2",
    3: "1 -2 1; -2 4 -2; 1 -2 1",
    5: "-4 -1 0 -1 -4; -1 2 3 2 -1; 0 3 4 3 0; -1 2 3 2 -1; -4 -1 0 -1 -4",
    7: "-10 -5 -2 -1 -2 -5 -10; -5 0 3 4 3 0 -5; -2 3 6 7 6 3 -2; -1 4 7 8 7 4 -1; -2 3 6 7 6 3 -2; "
       "-5 0 3 4 3 0 -5; -10 -5 -2 -1 -2 -5 -10",
    15: "0 0 -1 0 0; 0 -1 -2 -1 0; -1 -2 16 -2 -1; 0 -1 -2 -1 0; 0 0 -1 0 0",  # 5x5 LoG, sigma ~1.4
    19: "0 -1 -1 -2 -2 -2 -1 -1 0; -1 -2 -4 -5 -5 -5 -4 -2 -1; -1 -4 -5 -3 0 -3 -5 -4 -1; "
        "-2 -5 -3 12 24 12 -3 -5 -2; -2 -5 0 24 40 24 0 -5 -2; -2 -5 -3 12 24 12 -3 -5 -2; "
        "-1 -4 -5 -3 0 -3 -5 -4 -1; -1 -2 -4 -5 -5 -5 -4 -2 -1; 0 -1 -1 -2 -2 -2 -1 -1 0",  # 9x9 LoG
}

#: The variants ImageMagick defines.
VARIANTS = tuple(_VARIANTS)


def laplacian_kernel(variant: int = 0) -> np.ndarray:
    """ImageMagick's ``Laplacian:variant`` kernel, unscaled (integer taps).

    Parameters
    ----------
    variant : int
        0 (3x3, 8-neighbour), 1 (3x3, 4-neighbour), 2, 3 (3x3 alternatives), 5 (5x5), 7 (7x7),
        15 (5x5 Laplacian of Gaussian), 19 (9x9 Laplacian of Gaussian).  ImageMagick quietly uses 0
        for any other number; imgconv refuses it.

    Returns
    -------
    numpy.ndarray
        float64, odd square, centre positive, taps summing to 0.  Source: ImageMagick
        ``magick/morphology.c`` (AcquireKernelBuiltIn, LaplacianKernel) and
        https://imagemagick.org/Usage/convolve/#laplacian.

    Examples
    --------
    >>> laplacian_kernel(1).tolist()
    [[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]]
    """
    if isinstance(variant, bool) or variant not in _VARIANTS:
        raise ImgconvError(f"Laplacian variant must be one of {', '.join(map(str, VARIANTS))}, got {variant!r}")
    return np.array([row.split() for row in _VARIANTS[variant].split(";")], np.float64)


def laplacian(variant: int = 0, strength: float = 1.0) -> Filter:
    """Laplacian edges with ImageMagick's kernels (Laplacian:variant), around mid-grey.

    Parameters
    ----------
    variant : int
        ImageMagick's type: 0, 1, 2, 3 (3x3), 5 (5x5), 7 (7x7), 15 (5x5 LoG) or 19 (9x9 LoG).
    strength : float
        Contrast: at 1 the strongest response any image can give is exactly black or white.

    Examples
    --------
    imgconv laplacian in.jpg out.png --variant 15
    """
    return around_mid_grey(f"laplacian-{variant}", laplacian_kernel(variant), strength)
