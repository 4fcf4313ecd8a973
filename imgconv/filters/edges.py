"""Edge operators: gradient pairs (Sobel, Scharr, Prewitt, Roberts, Kirsch, Frei-Chen) and their compass sets.

Each operator is one 3x3 kernel at 0 degrees; its other directions are ImageMagick's rotations of it
(``magick/morphology.c``, RotateKernelInfo): a 3x3 kernel turns by 45 degrees by moving its eight
outer taps one place clockwise round the ring.  ``edges`` combines two perpendicular responses into
the gradient magnitude, or takes the maximum over all eight directions (the compass operator, as
libvips's ``compass`` and the Kirsch edge detector do).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Literal

import numpy as np

from ..errors import ImgconvError
from .base import Filter
from .sobel import _scaled_magnitude, strongest_edge

_SQ2 = math.sqrt(2.0)

Operator = Literal["sobel", "scharr", "prewitt", "roberts", "kirsch", "frei-chen"]
Combine = Literal["magnitude", "max"]

#: Each operator's 0-degree kernel, as ImageMagick defines it under the same name (Kirsch, Sobel,
#: Prewitt, Roberts, FreiChen type 0) and libvips/OpenCV for Scharr.  They are convolution kernels
#: (imgconv flips them), so the response is positive where the image brightens towards +x (east).
OPERATORS = {
    "sobel": np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]),
    "scharr": np.array([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]]),
    "prewitt": np.array([[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]]),
    "roberts": np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]),
    "kirsch": np.array([[5.0, -3.0, -3.0], [5.0, 0.0, -3.0], [5.0, -3.0, -3.0]]),
    "frei-chen": np.array([[1.0, 0.0, -1.0], [_SQ2, 0.0, -_SQ2], [1.0, 0.0, -1.0]]),
}

#: The outer ring of a 3x3 kernel, clockwise on screen from the top-left corner.
_RING = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))


def rotate_3x3(kernel: np.ndarray, steps: int = 1) -> np.ndarray:
    """Turn a 3x3 kernel clockwise (on screen) by `steps` * 45 degrees: its ring of taps moves round.

    Parameters
    ----------
    kernel : array_like
        A 3x3 kernel.
    steps : int
        Number of 45-degree steps, clockwise; negative turns anticlockwise.  Two steps are an exact
        90-degree rotation (``numpy.rot90(kernel, -1)``).

    Returns
    -------
    numpy.ndarray
        The turned kernel (float64).  ImageMagick's ``Sobel:45`` is ``rotate_3x3(Sobel, 1)``.

    Examples
    --------
    >>> rotate_3x3(OPERATORS["sobel"], 1).tolist()
    [[2.0, 1.0, 0.0], [1.0, 0.0, -1.0], [0.0, -1.0, -2.0]]
    """
    kernel = np.array(kernel, np.float64)
    if kernel.shape != (3, 3):
        raise ImgconvError(f"only a 3x3 kernel turns by 45 degrees, got {kernel.shape[0]}x{kernel.shape[1]}")
    rows, cols = np.array(_RING).T
    turned = kernel.copy()
    turned[np.roll(rows, -steps), np.roll(cols, -steps)] = kernel[rows, cols]  # ring[k] -> ring[k + steps]
    return turned


def compass_kernels(kernel: np.ndarray) -> tuple[np.ndarray, ...]:
    """The eight 45-degree turns of a 3x3 kernel, 0, 45, ... 315 degrees clockwise (ImageMagick's ``@`` list).

    Parameters
    ----------
    kernel : array_like
        A 3x3 kernel, the 0-degree direction.

    Returns
    -------
    tuple of numpy.ndarray
        ``rotate_3x3(kernel, step)`` for step 0 to 7: the compass operator's eight kernels.

    Examples
    --------
    >>> [float(k[1, 0]) for k in compass_kernels(OPERATORS["kirsch"])]
    [5.0, 5.0, -3.0, -3.0, -3.0, -3.0, -3.0, 5.0]
    """
    return tuple(rotate_3x3(kernel, step) for step in range(8))


def gradient_pair(operator: str) -> tuple[np.ndarray, np.ndarray]:
    """The operator's two perpendicular kernels: 0 and 90 degrees (x and y); Roberts' cross is 45 and 135.

    Parameters
    ----------
    operator : str
        One of OPERATORS.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        For "sobel" exactly (SOBEL_X, SOBEL_Y): responses positive towards east and towards south.

    Examples
    --------
    >>> gradient_pair("roberts")[0].tolist()     # the diagonal difference of Roberts' cross
    [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    base = _operator(operator)
    first = 1 if operator == "roberts" else 0
    return rotate_3x3(base, first), rotate_3x3(base, first + 2)


def _operator(name: str) -> np.ndarray:
    if name not in OPERATORS:
        raise ImgconvError(f"unknown edge operator {name!r}; choose from {', '.join(OPERATORS)}")
    return OPERATORS[name]


def _scaled_maximum(source, responses, full, *, scale):
    """The largest of the responses, per pixel, times scale.

    Never negative for kernels with a zero centre whose eight rotations cancel (every operator but
    Roberts); Roberts' is below 0 where a pixel outshines all eight neighbours (black once clipped).
    """
    out = np.maximum.reduce(responses)
    out *= scale
    return out


def edges(operator: Operator = "sobel", combine: Combine = "magnitude") -> Filter:
    """Edges of the luminance, grey, scaled so the strongest edge any image can have is white.

    Parameters
    ----------
    operator : str
        sobel, scharr, prewitt, roberts, kirsch or frei-chen.
    combine : str
        magnitude: sqrt(gx^2 + gy^2) of two perpendicular responses (Roberts: its two diagonals);
        max: the largest of the eight compass directions (Kirsch's way).

    Examples
    --------
    imgconv edges in.jpg out.png --operator kirsch --combine max
    """
    base = _operator(operator)
    if combine == "magnitude":
        kernels = gradient_pair(operator)
        finish = partial(_scaled_magnitude, scale=1.0 / strongest_edge(kernels))
    elif combine == "max":
        kernels = compass_kernels(base)
        finish = partial(_scaled_maximum, scale=1.0 / base[base > 0].sum())
    else:
        raise ImgconvError(f"combine must be magnitude or max, got {combine!r}")
    return Filter(f"edges-{operator}-{combine}", kernels, finish=finish, grey=True)
