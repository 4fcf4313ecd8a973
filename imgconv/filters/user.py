"""A user's own kernel, from a string or a file."""

from __future__ import annotations

from ..errors import ImgconvError
from ..kernel import normalized, parse_kernel
from .base import Filter


def user_kernel(kernel: str | None = None, kernel_file: str | None = None, normalize: bool = False,
                correlate: bool = False) -> Filter:
    """Convolve with your own kernel (any size, odd or even, rectangular).

    Parameters
    ----------
    kernel : str, optional
        Kernel rows separated by ";", e.g. "1 2 1; 2 4 2; 1 2 1".
    kernel_file : str, optional
        File of kernel rows ('#' starts a comment).
    normalize : bool
        Divide the kernel by its sum (keeps brightness).
    correlate : bool
        Slide the kernel unflipped (cross-correlation).

    Examples
    --------
    imgconv convolve in.png out.png --kernel "1 2 1; 2 4 2; 1 2 1" --normalize
    """
    if (kernel is None) == (kernel_file is None):
        raise ImgconvError("give exactly one of --kernel or --kernel-file")
    taps = parse_kernel(kernel if kernel is not None else _read(kernel_file))
    return Filter("convolve", (normalized(taps) if normalize else taps,), correlate=correlate)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ImgconvError(f"--kernel-file {path}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
