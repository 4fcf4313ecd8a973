"""Richardson-Lucy deconvolution: plain, accelerated (Biggs & Andrews 1997) and TV-regularised (Dey et al. 2006).

One iteration is  x <- x * H^T(y / (H x)),  H the blur: two convolutions through imgconv's planner and
engines, planned once for all iterations (the PSF on the separable engine if it is rank 1, else direct
or FFT), and one or two fused per-pixel passes (steps.py).  Every array is float32 and allocated before
the first iteration; the loop only writes into them.

Edges: each convolution extends the image with the border mode, so the model is "the scene beyond the
frame continues as the border mode says" (default reflect).  H^T is the correlation with the PSF, under
the same border mode (a constant border's outside is a known constant, not a variable, so H^T pads the
ratio with zero).  For a symmetric PSF (Gaussian, disk) under reflect that is exactly H's transpose --
the blur matrix with a reflecting (Neumann) boundary is symmetric -- so each step is exact RL for that
model; for other PSFs or modes it is exact away from the border and close within a PSF radius of it.

Acceleration (Biggs & Andrews, Applied Optics 36(8), 1997, section 3): after each RL step x_{k+1} = phi(y_k)
the next step starts from the extrapolated point y_{k+1} = x_{k+1} + alpha (x_{k+1} - x_k), with
alpha = g_k . g_{k-1} / g_{k-1} . g_{k-1} in [0, 1] and g_k = x_{k+1} - y_k, clipped at zero
(MATLAB's deconvlucy does the same).

TV regularisation (Dey et al., Microscopy Research and Technique 69(4), 2006, eq. 13): the step is divided
by 1 - lambda div(grad x / |grad x|), which smooths noise and ringing but keeps edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..convolution import run_plan
from . import steps

#: TV only: |grad x| is regularised by eps = TV_EPS_PER_LAMBDA * lambda * (the image's brightest value).
#: Where the gradient is well below eps the TV factor is 1 + lambda x Laplacian(x) / eps, an explicit
#: diffusion step that damps every frequency without flipping its sign only if lambda x / eps <= 1/8
#: (the 5-point Laplacian's eigenvalues reach -8).  A smaller eps grows a checkerboard in flat areas.
TV_EPS_PER_LAMBDA = 8.0


@dataclass
class Stats:
    """What a run did: iterations run and the last relative change |x_{k+1} - x_k| / |x_k|."""

    iterations: int = 0
    change: float = math.nan


def richardson_lucy(observed, forward, adjoint, iterations, *, initial, accelerate=True, tv_lambda=None,
                    tolerance=None, border="reflect", cval=0.0, on_iteration=None):
    """Deconvolve `observed` (H x W x C float32, >= 0, C-contiguous); returns (estimate, Stats).

    forward / adjoint: the planner's Plans for convolving with the PSF and correlating with it.
    initial: the first estimate (an array of observed's shape; it becomes the estimate, updated in place).
    tolerance: stop once the relative change of an iteration falls below it.
    on_iteration(k, change, estimate) is called after each iteration (estimate: x_k, to look at only).
    """
    tv_eps = TV_EPS_PER_LAMBDA * (tv_lambda or 0.0) * max(float(observed.max()), 1e-30)
    adjoint_cval = 0.0 if border == "constant" else cval
    blurred = np.empty_like(observed)
    correction = np.empty_like(observed)
    flat = _flat(observed)

    def step(x):
        """correction <- the factor that one RL (or RL-TV) step multiplies x by."""
        run_plan(forward, x, border=border, cval=cval, out=blurred)
        steps.ratio(flat, _flat(blurred))
        run_plan(adjoint, blurred, border=border, cval=adjoint_cval, out=correction)
        if tv_lambda:
            steps.tv_divide(x, correction, tv_lambda, tv_eps)

    stats = Stats()
    if not accelerate:
        estimate = initial
        for k in range(1, iterations + 1):
            step(estimate)
            change, size = steps.multiply(_flat(estimate), _flat(correction))
            if _done(stats, k, change, size, tolerance, on_iteration, estimate):
                break
        return estimate, stats

    predicted = initial  # y_k, where the next step starts
    estimate = initial.copy()  # x_k
    step_dir = np.zeros(observed.shape, np.float32)  # g_{k-1}; calloc: no pass to fill it
    for k in range(1, iterations + 1):
        step(predicted)
        cross, norm = steps.accelerated_step(_flat(predicted), _flat(correction), _flat(step_dir))
        alpha = min(max(cross / norm, 0.0), 1.0) if norm > 0 else 0.0
        # correction now holds x_{k+1}: extrapolate from it into `predicted`, then keep it as x_k.
        change, size = steps.extrapolate(_flat(correction), _flat(estimate), alpha, _flat(predicted))
        estimate, correction = correction, estimate
        if _done(stats, k, change, size, tolerance, on_iteration, estimate):
            break
    return estimate, stats


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)


def _done(stats, k, change, size, tolerance, on_iteration, estimate) -> bool:
    stats.iterations = k
    stats.change = math.sqrt(change / size) if size > 0 else 0.0
    if on_iteration is not None:
        on_iteration(k, stats.change, estimate)
    return tolerance is not None and stats.change < tolerance
