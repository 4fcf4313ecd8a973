"""Kernel builders, one small module per filter.  Each returns a `Filter` (kernels + finishing step).

BUILTIN_KERNELS names the plain kernels `imgconv kernels` can list and show.
"""

from .base import Filter
from .box import box, box_kernel
from .emboss import emboss, emboss_kernel
from .gaussian import blur, gaussian_kernel
from .lens import disk_kernel, lens
from .motion import motion, motion_kernel
from .sharpen import LAPLACIAN, sharpen, sharpen_kernel
from .sobel import SOBEL_X, SOBEL_Y, sobel
from .unsharp import unsharp

BUILTIN_KERNELS = {
    "gaussian": (lambda: gaussian_kernel(2.0), "Gaussian blur, sigma 2 (13x13)"),
    "box-3": (lambda: box_kernel(3), "3x3 mean"),
    "box-31": (lambda: box_kernel(31), "31x31 mean"),
    "sharpen": (lambda: sharpen_kernel(1.0), "identity + Laplacian sharpening, amount 1"),
    "laplacian": (lambda: LAPLACIAN, "4-neighbour Laplacian"),
    "emboss": (lambda: emboss_kernel(45.0, 1.0), "emboss lit from 45 degrees (add mid-grey after)"),
    "sobel-x": (lambda: SOBEL_X, "Sobel derivative along x"),
    "sobel-y": (lambda: SOBEL_Y, "Sobel derivative along y"),
    "motion-15": (lambda: motion_kernel(15.0, 0.0), "motion blur, 15 px moving east (streak trails west)"),
    "disk-5": (lambda: disk_kernel(5.0), "lens blur, anti-aliased disk of radius 5"),
    "hexagon-5": (lambda: disk_kernel(5.0, 6), "lens blur, 6-blade aperture of radius 5"),
}

__all__ = [
    "Filter", "BUILTIN_KERNELS", "blur", "box", "sharpen", "unsharp", "emboss", "sobel",
    "gaussian_kernel", "box_kernel", "sharpen_kernel", "emboss_kernel", "LAPLACIAN", "SOBEL_X", "SOBEL_Y",
    "motion", "motion_kernel", "lens", "disk_kernel",
]
