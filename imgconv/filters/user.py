"""A user's own kernel, from a string or a file, in imgconv's, ImageMagick's or libvips's syntax."""

from __future__ import annotations

from ..errors import ImgconvError
from ..kernel import normalized, parse_kernel
from .base import Filter
from .custom import custom


def user_kernel(kernel: str | None = None, kernel_file: str | None = None, scale: str | None = None,
                normalize: bool = False, correlate: bool = False) -> Filter:
    """Convolve with your own kernel (any size, odd or even, rectangular).

    Parameters
    ----------
    kernel : str, optional
        Rows separated by ";" ("1 2 1; 2 4 2; 1 2 1") or an ImageMagick kernel ("3x3: 1,2,1 2,4,2 1,2,1",
        "Disk:5", "LoG:0x2").
    kernel_file : str, optional
        A file: rows of numbers ('#' starts a comment) or an ImageMagick kernel; .mat (libvips, with its
        scale and offset); .npy (numpy).
    scale : str, optional
        ImageMagick's convolve:scale: "!" normalise, "^" zero-sum, a factor, "50%", with ",100%" to blend
        the identity back in.
    normalize : bool
        Divide the kernel by its sum (keeps brightness).
    correlate : bool
        Slide the kernel unflipped (cross-correlation).

    Examples
    --------
    imgconv convolve in.png out.png --kernel "1 2 1; 2 4 2; 1 2 1" --normalize
    """
    from ..syntax import KernelFile, load_kernel, scale_kernel

    if (kernel is None) == (kernel_file is None):
        raise ImgconvError("give exactly one of --kernel or --kernel-file")
    spec = KernelFile(parse_kernel(kernel)) if kernel is not None else load_kernel(kernel_file)
    taps = scale_kernel(spec.taps, scale) if scale else spec.taps
    if normalize:
        taps = normalized(taps)
    return custom(taps, correlate=spec.correlate != correlate, offset=spec.offset)
