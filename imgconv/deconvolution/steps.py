"""The per-pixel work of a Richardson-Lucy iteration, each step one parallel pass over the arrays.

Between its two convolutions an RL iteration is pure memory traffic (a division, a product, the sums
the stopping rule and the extrapolation need).  As numpy expressions that is 4-6 passes over the image,
each allocating a temporary; here every step reads and writes each array once, in place, on every core.
Arrays are flat float32 views of C-contiguous H x W x C images; sums are accumulated in float64.
Arithmetic is plain IEEE (no fastmath), so the division and product round exactly as numpy's would:
that is what lets plain RL match scikit-image to float32 rounding.
"""

import numpy as np
from numba import njit, prange

#: Added to the re-blurred estimate before dividing, as scikit-image's richardson_lucy does (1e-12):
#: it only matters where the estimate is exactly zero.
EPS = np.float32(1e-12)


@njit(parallel=True, cache=True)
def ratio(observed, blurred):
    """blurred <- observed / (blurred + EPS): the data term y / (H x)."""
    for i in prange(blurred.shape[0]):
        blurred[i] = observed[i] / (blurred[i] + EPS)


@njit(parallel=True, cache=True)
def multiply(estimate, correction):
    """estimate <- estimate * correction; returns (|new - old|^2, |old|^2) for the stopping rule."""
    change = 0.0
    size = 0.0
    for i in prange(estimate.shape[0]):
        old = estimate[i]
        new = old * correction[i]
        estimate[i] = new
        change += (np.float64(new) - old) ** 2
        size += np.float64(old) ** 2
    return change, size


@njit(parallel=True, cache=True)
def accelerated_step(predicted, correction, step):
    """The RL step from the predicted point y, and the dot products the extrapolation needs.

    correction <- x_new = y * correction;  step holds g_prev on entry and g = x_new - y on exit.
    Returns (g . g_prev, g_prev . g_prev) (Biggs & Andrews 1997, eq. 22).
    """
    cross = 0.0
    norm = 0.0
    for i in prange(predicted.shape[0]):
        y = predicted[i]
        new = y * correction[i]
        correction[i] = new
        g = new - y
        previous = step[i]
        cross += np.float64(g) * previous
        norm += np.float64(previous) * previous
        step[i] = g
    return cross, norm


@njit(parallel=True, cache=True)
def extrapolate(new, old, alpha, predicted):
    """predicted <- max(new + alpha * (new - old), 0); returns (|new - old|^2, |old|^2)."""
    a = np.float32(alpha)
    change = 0.0
    size = 0.0
    for i in prange(new.shape[0]):
        n = new[i]
        o = old[i]
        d = n - o
        predicted[i] = max(n + a * d, np.float32(0.0))
        change += np.float64(d) ** 2
        size += np.float64(o) ** 2
    return change, size


@njit(cache=True)
def _unit_gradient(x, i, j, c, eps2):
    """(ux, uy) = grad x / |grad x| at (i, j) of channel c: forward differences, zero past the edges."""
    height, width = x.shape[0], x.shape[1]
    centre = np.float64(x[i, j, c])
    gx = np.float64(x[i, j + 1, c]) - centre if j + 1 < width else 0.0
    gy = np.float64(x[i + 1, j, c]) - centre if i + 1 < height else 0.0
    inverse = 1.0 / np.sqrt(gx * gx + gy * gy + eps2)
    return gx * inverse, gy * inverse


@njit(parallel=True, cache=True)
def tv_divide(estimate, correction, lam, eps):
    """correction <- correction / (1 - lam * div(grad x / |grad x|)), x = estimate (Dey et al. 2006).

    The divergence is the backward difference of the forward-difference unit gradient (its adjoint, as
    in Chambolle 2004), per channel; |grad x| is regularised by eps (image units) so flat areas do not
    divide by zero.  Each component of a unit gradient is in [-1, 1], so the divergence is in [-4, 4] and
    lam < 0.25 keeps the denominator positive.
    """
    height, width, channels = estimate.shape
    eps2 = np.float64(eps) ** 2
    for i in prange(height):
        for j in range(width):
            for c in range(channels):
                ux, uy = _unit_gradient(estimate, i, j, c, eps2)
                div = ux + uy
                if j > 0:
                    div -= _unit_gradient(estimate, i, j - 1, c, eps2)[0]
                if i > 0:
                    div -= _unit_gradient(estimate, i - 1, j, c, eps2)[1]
                correction[i, j, c] = correction[i, j, c] / np.float32(1.0 - lam * div)
