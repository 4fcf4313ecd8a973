"""imgconv: image filtering where every filter is a convolution run on the fastest engine.

The public API is imported lazily so that `imgconv --help` never pays for numpy or numba.
"""

__version__ = "0.1.0"
__all__ = ["convolve", "deconvolve", "plan", "ALGORITHMS", "ImgconvError", "__version__"]


def __getattr__(name):
    if name in ("convolve", "plan"):
        from . import convolution

        return getattr(convolution, name)
    if name == "deconvolve":
        from .deconvolution import deconvolve

        return deconvolve
    if name == "ALGORITHMS":
        from .engine import ALGORITHMS

        return ALGORITHMS
    if name == "ImgconvError":
        from .errors import ImgconvError

        return ImgconvError
    raise AttributeError(f"module 'imgconv' has no attribute {name!r}")
