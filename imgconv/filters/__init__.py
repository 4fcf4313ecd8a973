"""Filters, one small module per filter: a builder returning a `Filter` (kernels + a declared finish),
and the kernel builders it uses.

FILTERS is the registry: every command `imgconv NAME` is generated from its builder's signature and
numpydoc docstring (imgconv.cli), and `imgconv apply --step` and `imgconv bench` read it too.  Adding a
filter is one module plus one line here.  BUILTIN_KERNELS names the plain kernels `imgconv kernels` lists.
"""

from .base import Filter, Finish
from .box import box, box_kernel
from .emboss import emboss, emboss_kernel
from .gaussian import blur, gaussian_kernel
from .sharpen import LAPLACIAN, sharpen, sharpen_kernel
from .sobel import SOBEL_X, SOBEL_Y, sobel
from .unsharp import unsharp
from .user import user_kernel

#: Command name -> Filter builder.
FILTERS = {
    "blur": blur,
    "box": box,
    "sharpen": sharpen,
    "unsharp": unsharp,
    "emboss": emboss,
    "sobel": sobel,
    "convolve": user_kernel,
}

BUILTIN_KERNELS = {
    "gaussian": (lambda: gaussian_kernel(2.0), "Gaussian blur, sigma 2 (13x13)"),
    "box-3": (lambda: box_kernel(3), "3x3 mean"),
    "box-31": (lambda: box_kernel(31), "31x31 mean"),
    "sharpen": (lambda: sharpen_kernel(1.0), "identity + Laplacian sharpening, amount 1"),
    "laplacian": (lambda: LAPLACIAN, "4-neighbour Laplacian"),
    "emboss": (lambda: emboss_kernel(45.0, 1.0), "emboss lit from 45 degrees (add mid-grey after)"),
    "sobel-x": (lambda: SOBEL_X, "Sobel derivative along x"),
    "sobel-y": (lambda: SOBEL_Y, "Sobel derivative along y"),
}

__all__ = [
    "Filter", "Finish", "FILTERS", "BUILTIN_KERNELS", "blur", "box", "sharpen", "unsharp", "emboss", "sobel",
    "user_kernel", "gaussian_kernel", "box_kernel", "sharpen_kernel", "emboss_kernel", "LAPLACIAN", "SOBEL_X",
    "SOBEL_Y",
]
