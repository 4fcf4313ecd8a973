"""`imgconv.deconvolve`: undo a known blur -- Richardson-Lucy (plain, accelerated, TV) or Wiener.

  rl.py      the Richardson-Lucy loop: two planned convolutions and fused per-pixel steps per iteration
  steps.py   those per-pixel steps (Numba)
  wiener.py  the one-pass FFT Wiener filter
  job.py     one file through load -> deconvolve -> save, for `imgconv deblur` and its batches
PSFs (specs, files, checks) are in imgconv.psf.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..border import MODES
from ..errors import ImgconvError
from ..psf import check_fits, check_psf, load_psf

__all__ = ["deconvolve", "METHODS", "DEFAULT_LAMBDA", "DEFAULT_BALANCE"]

METHODS = ("rl", "wiener")
#: TV weight (Dey et al. 2006): the best mean PSNR over the benchmark photos (sigma 2 blur, 1% noise; 0.002-0.01 tried).
DEFAULT_LAMBDA = 0.004
#: Wiener's noise-to-signal weight of the Laplacian prior.
DEFAULT_BALANCE = 0.01
#: lambda must stay below this so the TV denominator 1 - lambda * div (div in [-4, 4]) stays positive.
MAX_LAMBDA = 0.25


def deconvolve(image, psf, method: str = "rl", iterations: int = 20, *, tolerance: float | None = None,
               accelerate: bool = True, regularize: str | None = None, lam: float = DEFAULT_LAMBDA,
               balance: float = DEFAULT_BALANCE, border: str = "reflect", cval: float = 0.0,
               initial="observed", algo: str = "auto", on_iteration=None, stats=None) -> np.ndarray:
    """Deconvolve an H x W or H x W x C image (uint8, uint16 or float) by `psf`; float32 result, not clipped.

    psf: a 2D array (normalised to sum 1; origin at its centre index, as imgconv.convolve's) or a
        spec string as `imgconv deblur --psf` takes ("gaussian:2", a file name...).
    method "rl": Richardson-Lucy, `iterations` steps (fewer if the relative change of an iteration falls
        below `tolerance`), extrapolated (Biggs & Andrews) unless `accelerate=False`; `regularize="tv"`
        adds total-variation regularisation of weight `lam` (Dey et al.).  Negative pixels are taken as 0.
        `initial`: "observed" (start from the blurred image), a number (a flat start; scikit-image's
        richardson_lucy starts at 0.5) or an array (e.g. a previous result, to go on from it).
    method "wiener": one FFT pass with the Laplacian prior weighted by `balance`.
    border / cval: how the image continues beyond its edges (imgconv's border modes; cval in image units).
    algo: force the convolution engine (RL only).
    on_iteration(k, change, estimate): called after each RL iteration k with the relative change and the
        current estimate (shaped like the image; to read, not to modify).
    stats: a dict to receive "iterations", "change" (the last relative change) and "plans" (the
        planner's choices for the two convolutions).
    Channels are deconvolved alike and independently; the result is in the image's own scale.
    """
    if method not in METHODS:
        raise ImgconvError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if border not in MODES:
        raise ImgconvError(f"unknown border mode {border!r}; choose from {', '.join(MODES)}")
    observed = _as_image(image)
    psf = load_psf(psf) if isinstance(psf, str) else check_psf(psf)
    check_fits(psf, observed.shape)
    if method == "wiener":
        if not (_is_number(balance) and math.isfinite(balance) and balance > 0):
            raise ImgconvError(f"balance must be a positive number, got {balance!r}")
        from .wiener import wiener

        result = wiener(observed, psf, float(balance), border, cval)
        return result.reshape(np.shape(image))
    tv_lambda = _check_rl(iterations, tolerance, regularize, lam)
    np.maximum(observed, 0.0, out=observed)

    from ..engine.planner import plan
    from ..kernel import KernelInfo
    from . import steps  # noqa: F401  (loads Numba first, so the planner never picks its numpy runner)
    from .rl import richardson_lucy

    # Each plan runs once per iteration on float32 arrays: loading the multi-threaded loops pays off over
    # the iterations, and is free once this process has them.
    forward = plan(KernelInfo(psf), observed.shape, algo=algo, runs=int(iterations), dtype=np.float32)
    adjoint = plan(KernelInfo(psf, correlate=True), observed.shape, algo=algo, runs=int(iterations),
                   dtype=np.float32)
    start = _initial(initial, observed)
    result, info = richardson_lucy(observed, forward, adjoint, int(iterations), initial=start,
                                   accelerate=accelerate, tv_lambda=tv_lambda, tolerance=tolerance,
                                   border=border, cval=cval, on_iteration=_reshaped(on_iteration, np.shape(image)))
    if isinstance(stats, dict):
        stats.update(iterations=info.iterations, change=info.change, plans=[forward, adjoint])
    return result.reshape(np.shape(image))


def _reshaped(on_iteration, shape):
    """on_iteration with the estimate shaped like the caller's image (H x W stays H x W)."""
    if on_iteration is None:
        return None
    return lambda k, change, estimate: on_iteration(k, change, estimate.reshape(shape))


def _as_image(image) -> np.ndarray:
    """A float32 H x W x C copy of the image (the caller's array is never modified)."""
    array = np.asarray(image)
    if array.ndim not in (2, 3) or array.size == 0:
        raise ImgconvError(f"image must be a non-empty HxW or HxWxC array, got shape {array.shape}")
    if array.dtype.kind not in "uif":
        raise ImgconvError(f"image must hold numbers, got {array.dtype}")
    observed = np.array(array if array.ndim == 3 else array[:, :, np.newaxis], dtype=np.float32, order="C")
    if not np.isfinite(observed).all():
        raise ImgconvError("image contains NaN or infinity")
    return observed


def _check_rl(iterations, tolerance, regularize, lam):
    """The RL options checked; returns the TV weight (None without TV)."""
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ImgconvError(f"iterations must be a whole number >= 1, got {iterations!r}")
    if tolerance is not None and not (_is_number(tolerance) and math.isfinite(tolerance) and tolerance >= 0):
        raise ImgconvError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if regularize in (None, "none"):
        return None
    if regularize != "tv":
        raise ImgconvError(f"unknown regularization {regularize!r}; choose tv (or none)")
    if not (_is_number(lam) and 0 < lam < MAX_LAMBDA):
        raise ImgconvError(f"lambda must be between 0 and {MAX_LAMBDA} (exclusive), got {lam!r}")
    return float(lam)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _initial(initial, observed: np.ndarray) -> np.ndarray:
    if isinstance(initial, str):
        if initial != "observed":
            raise ImgconvError(f"initial must be 'observed', a number or an array, got {initial!r}")
        return observed.copy()
    if np.ndim(initial) > 0:
        start = np.array(initial, dtype=np.float32, order="C").reshape(observed.shape)
        if not (np.isfinite(start).all() and (start >= 0).all()):
            raise ImgconvError("an initial estimate must be finite and >= 0")
        return start
    value = float(initial)
    if not (math.isfinite(value) and value > 0):
        raise ImgconvError(f"a flat initial estimate must be a positive number, got {initial!r}")
    return np.full_like(observed, value)
