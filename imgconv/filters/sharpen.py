"""Sharpen and Laplacian: identity + amount * (negative 4-neighbour Laplacian)."""

import numpy as np

from .base import Filter

#: The 4-neighbour Laplacian: sum of second differences along x and y.
LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
IDENTITY = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def sharpen_kernel(amount: float = 1.0) -> np.ndarray:
    """amount=1 gives [[0,-1,0],[-1,5,-1],[0,-1,0]]; rank 2, so it can run as two separable pairs."""
    return IDENTITY - amount * LAPLACIAN


def sharpen(amount: float = 1.0) -> Filter:
    return Filter("sharpen", (sharpen_kernel(amount),))
