"""High pass, as photo editors mean it: the image minus its Gaussian blur, around mid-grey."""

from __future__ import annotations

from .base import Filter
from .gaussian import gaussian_kernel


def _highpass_finish(source, responses, full):
    """source - blur + full / 2: flat areas mid-grey, detail above or below it."""
    return source - responses[0] + 0.5 * full


def highpass(sigma: float = 3.0) -> Filter:
    """High pass: the image minus its Gaussian blur, around mid-grey (Photoshop's and GIMP's High Pass).

    One blur and a subtraction, not a rank-2 "identity minus Gaussian" kernel: the same pixels for
    half the work.  Each colour channel separately; alpha is kept.

    Parameters
    ----------
    sigma : float
        Standard deviation of the blur in pixels: detail finer than this is kept.

    Examples
    --------
    imgconv highpass in.jpg out.png --sigma 5
    """
    return Filter("highpass", (gaussian_kernel(sigma),), finish=_highpass_finish)
