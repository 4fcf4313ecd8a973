"""Kernel builders, one small module per filter.  Each returns a `Filter` (kernels + finishing step).

BUILTIN_KERNELS names the plain kernels `imgconv kernels` can list and show.
"""

from .base import Filter
from .box import box, box_kernel
from .custom import custom
from .dog import dog, dog_kernel
from .edges import OPERATORS, compass_kernels, edges, gradient_pair, rotate_3x3
from .emboss import emboss, emboss_kernel
from .gaussian import blur, gaussian_kernel
from .highpass import highpass
from .laplacian import laplacian, laplacian_kernel
from .lens import disk_kernel, lens
from .log import log, log_kernel
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
    "log-2": (lambda: log_kernel(2.0), "negative Laplacian of Gaussian, sigma 2 (rank 2)"),
    "dog-1-2": (lambda: dog_kernel(1.0, 2.0), "difference of Gaussians, sigma 1 minus sigma 2 (rank 2)"),
    **{f"laplacian-{v}": (lambda v=v: laplacian_kernel(v), f"ImageMagick's Laplacian:{v} (centre positive)")
       for v in (0, 1, 2, 3, 5, 7, 15, 19)},
    **{op: (lambda op=op: OPERATORS[op], f"{op} edge kernel at 0 degrees (edges --operator {op})")
       for op in ("scharr", "prewitt", "roberts", "kirsch", "frei-chen")},
}

__all__ = [
    "Filter", "BUILTIN_KERNELS", "blur", "box", "sharpen", "unsharp", "emboss", "sobel",
    "gaussian_kernel", "box_kernel", "sharpen_kernel", "emboss_kernel", "LAPLACIAN", "SOBEL_X", "SOBEL_Y",
    "motion", "motion_kernel", "lens", "disk_kernel", "log", "log_kernel", "dog", "dog_kernel",
    "laplacian", "laplacian_kernel", "edges", "gradient_pair", "compass_kernels", "rotate_3x3", "OPERATORS",
    "highpass", "custom",
]
