"""Unsharp mask, as ImageMagick means it: add back `amount` times (image - Gaussian blur), except where
that difference is small (ImageMagick's UnsharpMaskImage: a pixel is left alone where
|2 * (image - blur)| < threshold * full range)."""

from ..errors import ImgconvError
from .base import Filter, Finish
from .gaussian import gaussian_kernel


def unsharp(sigma: float = 1.0, amount: float = 1.0, threshold: float = 0.0) -> Filter:
    """Unsharp mask (ImageMagick's -unsharp 0xSIGMA+AMOUNT+THRESHOLD).

    Parameters
    ----------
    sigma : float
        Blur sigma of the mask.
    amount : float
        How much detail to add back.
    threshold : float
        Leave pixels alone where twice the detail is under this fraction of full range (0..1).

    Examples
    --------
    imgconv unsharp in.jpg out.jpg --amount 1.5 --threshold 0.02
    """
    if not 0.0 <= threshold <= 1.0:
        raise ImgconvError(f"threshold is a fraction of the full range, 0 to 1; got {threshold}")
    return Filter("unsharp", (gaussian_kernel(sigma),), finish=Finish(detail=amount, threshold=threshold))
