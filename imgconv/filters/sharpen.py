"""Sharpen and Laplacian: identity + amount * (negative 4-neighbour Laplacian)."""

import numpy as np

from .base import Filter

#: The 4-neighbour Laplacian: sum of second differences along x and y.
LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
IDENTITY = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def sharpen_kernel(amount: float = 1.0) -> np.ndarray:
    """The 3x3 sharpening kernel identity - amount * Laplacian.

    Parameters
    ----------
    amount : float
        Strength of the Laplacian subtracted.

    Returns
    -------
    numpy.ndarray
        3x3 taps; rank 2, so it could run as two separable pairs.

    Examples
    --------
    >>> from imgconv.filters import sharpen_kernel
    >>> sharpen_kernel(1.0)
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    return IDENTITY - amount * LAPLACIAN


def sharpen(amount: float = 1.0) -> Filter:
    """3x3 sharpen: identity + amount * Laplacian.

    Parameters
    ----------
    amount : float
        Strength of the Laplacian added.

    Examples
    --------
    imgconv sharpen in.jpg out.jpg --amount 0.5
    """
    return Filter("sharpen", (sharpen_kernel(amount),))
