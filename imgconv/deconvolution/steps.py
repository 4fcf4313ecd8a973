"""The per-pixel work of a Richardson-Lucy iteration, each step one pass over the arrays on every core.

Between its two convolutions an RL iteration is pure memory traffic (a division, a product, the sums
the stopping rule and the extrapolation need).  As numpy expressions that is 4-6 passes over the image,
each allocating a temporary; here every step reads and writes each array once, in place.
Arrays are flat float32 views of C-contiguous H x W x C images; sums are accumulated in float64.
Per-pixel arithmetic is plain IEEE (no fastmath), so the division and product round exactly as numpy's
would: that is what lets plain RL match scikit-image to float32 rounding.  Only the sums may be reordered.

Each step is a nogil loop over a range, run on the engines' own thread pool (imgconv.engine.threads), not
on Numba's parallel (OpenMP) threads: those spin for a while after each parallel loop, and the
convolution that runs next on the engines' threads lost ~10% of its speed to them (measured on 2 cores).
"""

import numpy as np
from numba import njit

from ..engine.threads import cores, map_ranges

#: Added to the re-blurred estimate before dividing, as scikit-image's richardson_lucy does (1e-12):
#: it only matters where the estimate is exactly zero.
EPS = np.float32(1e-12)
#: The steps that also sum may reorder their float64 sums (LLVM's `reassoc`), which lets the loop run in
#: SIMD lanes (4x faster here); every per-pixel value is still computed in plain IEEE order.
REDUCE = {"reassoc"}
#: Every step compiles with error_model="numpy": a division by zero gives inf as in numpy (ratio's EPS
#: already avoids it), and without Python's zero check on every division LLVM vectorises the loops (~4x).
#: Below this many values a step runs on the caller's thread (handing out ranges costs more).
SERIAL_VALUES = 1 << 16


def _threads(values: int) -> int:
    return cores() if values >= SERIAL_VALUES else 1


def _sums(parts) -> tuple[float, float]:
    """The two sums each range returned, added up."""
    return sum(a for a, _ in parts), sum(b for _, b in parts)


@njit(nogil=True, cache=True, error_model="numpy")
def _ratio(first, end, observed, blurred):
    observed, blurred = observed[first:end], blurred[first:end]  # indexed from 0: LLVM vectorises the loop
    for i in range(blurred.shape[0]):
        blurred[i] = observed[i] / (blurred[i] + EPS)


def ratio(observed, blurred) -> None:
    """blurred <- observed / (blurred + EPS): the data term y / (H x)."""
    map_ranges(_ratio, blurred.shape[0], _threads(blurred.shape[0]), observed, blurred)


@njit(nogil=True, cache=True, fastmath=REDUCE, error_model="numpy")
def _multiply(first, end, estimate, correction):
    estimate, correction = estimate[first:end], correction[first:end]
    change = 0.0
    size = 0.0
    for i in range(estimate.shape[0]):
        old = estimate[i]
        new = old * correction[i]
        estimate[i] = new
        change += (np.float64(new) - old) ** 2
        size += np.float64(old) ** 2
    return change, size


def multiply(estimate, correction) -> tuple[float, float]:
    """estimate <- estimate * correction; returns (|new - old|^2, |old|^2) for the stopping rule."""
    return _sums(map_ranges(_multiply, estimate.shape[0], _threads(estimate.shape[0]), estimate, correction))


@njit(nogil=True, cache=True, fastmath=REDUCE, error_model="numpy")
def _accelerated_step(first, end, predicted, correction, step):
    predicted, correction, step = predicted[first:end], correction[first:end], step[first:end]
    cross = 0.0
    norm = 0.0
    for i in range(predicted.shape[0]):
        y = predicted[i]
        new = y * correction[i]
        correction[i] = new
        g = new - y
        previous = step[i]
        cross += np.float64(g) * previous
        norm += np.float64(previous) * previous
        step[i] = g
    return cross, norm


def accelerated_step(predicted, correction, step) -> tuple[float, float]:
    """The RL step from the predicted point y, and the dot products the extrapolation needs.

    correction <- x_new = y * correction;  step holds g_prev on entry and g = x_new - y on exit.
    Returns (g . g_prev, g_prev . g_prev) (Biggs & Andrews 1997, eq. 22).
    """
    n = predicted.shape[0]
    return _sums(map_ranges(_accelerated_step, n, _threads(n), predicted, correction, step))


@njit(nogil=True, cache=True, fastmath=REDUCE, error_model="numpy")
def _extrapolate(first, end, new, old, a, predicted):
    new, old, predicted = new[first:end], old[first:end], predicted[first:end]
    change = 0.0
    size = 0.0
    for i in range(new.shape[0]):
        n = new[i]
        o = old[i]
        d = n - o
        predicted[i] = max(n + a * d, np.float32(0.0))
        change += np.float64(d) ** 2
        size += np.float64(o) ** 2
    return change, size


def extrapolate(new, old, alpha, predicted) -> tuple[float, float]:
    """predicted <- max(new + alpha * (new - old), 0); returns (|new - old|^2, |old|^2)."""
    n = new.shape[0]
    return _sums(map_ranges(_extrapolate, n, _threads(n), new, old, np.float32(alpha), predicted))


@njit(nogil=True, cache=True, error_model="numpy")
def _unit_gradient_row(x2d, i, channels, eps2, ux, uy):
    """ux, uy <- grad x / |grad x| along row i of an H x (W*C) image: forward differences, 0 past the edge."""
    height, n = x2d.shape
    row = x2d[i]
    below = x2d[i + 1] if i + 1 < height else row  # the last row's vertical difference is 0
    inner = n - channels
    right = row[channels:]  # views indexed from 0, so LLVM sees no negative index and vectorises the loop
    for m in range(inner):
        gx = right[m] - row[m]
        gy = below[m] - row[m]
        inverse = np.float32(1.0) / np.sqrt(gx * gx + gy * gy + eps2)
        ux[m] = gx * inverse
        uy[m] = gy * inverse
    for m in range(max(inner, 0), n):  # the last column: no right neighbour
        gy = below[m] - row[m]
        uy[m] = gy / np.sqrt(gy * gy + eps2)
        ux[m] = np.float32(0.0)


@njit(nogil=True, cache=True, error_model="numpy")
def _tv_rows(first, last, estimate, correction, lam, eps):
    """tv_divide on rows first .. last-1: each row's unit gradient computed once (and the row above first)."""
    height, width, channels = estimate.shape
    n = width * channels
    x2d = estimate.reshape(height, n)
    out = correction.reshape(height, n)
    eps2 = np.float32(eps) ** 2
    lam32 = np.float32(lam)
    one = np.float32(1.0)
    ux = np.empty(n, np.float32)
    uy = np.empty(n, np.float32)
    uy_above = np.zeros(n, np.float32)
    if first > 0:
        _unit_gradient_row(x2d, first - 1, channels, eps2, ux, uy_above)
    for i in range(first, last):
        _unit_gradient_row(x2d, i, channels, eps2, ux, uy)
        dst = out[i]
        for m in range(min(channels, n)):  # the first column: no left neighbour
            dst[m] = dst[m] / (one - lam32 * (ux[m] + uy[m] - uy_above[m]))
        rest, ux_rest, uy_rest, above_rest = dst[channels:], ux[channels:], uy[channels:], uy_above[channels:]
        for m in range(n - channels):  # from the second column on (ux[m] is the left neighbour's)
            rest[m] = rest[m] / (one - lam32 * (ux_rest[m] - ux[m] + uy_rest[m] - above_rest[m]))
        uy, uy_above = uy_above, uy


def tv_divide(estimate, correction, lam, eps) -> None:
    """correction <- correction / (1 - lam * div(grad x / |grad x|)), x = estimate (Dey et al. 2006).

    The divergence is the backward difference of the forward-difference unit gradient (its adjoint, as
    in Chambolle 2004), per channel; |grad x| is regularised by eps (image units) so flat areas do not
    divide by zero.  Each component of a unit gradient is in [-1, 1], so the divergence is in [-4, 4] and
    lam < 0.25 keeps the denominator positive.  Rows go in ranges, one per task.
    """
    map_ranges(_tv_rows, estimate.shape[0], _threads(estimate.size), estimate, correction, np.float32(lam),
               np.float32(eps))
