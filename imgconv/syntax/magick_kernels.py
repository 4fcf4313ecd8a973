"""ImageMagick's named convolution kernels, each as ImageMagick 6 builds it (Q16).

Source: ``magick/morphology.c`` (AcquireKernelBuiltIn, ParseKernelName's defaults) and ``magick/gem.c``
(GetOptimalKernelWidth1D/2D), documented at https://imagemagick.org/Usage/convolve/ and
https://imagemagick.org/Usage/morphology/#kernel.  Arguments missing from the string are 0, as in
ImageMagick, unless noted.  The tests compare every name with ``convert -morphology Convolve NAME
-define morphology:showKernel=1`` where ImageMagick is installed.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ImgconvError
from ..filters.edges import OPERATORS
from ..filters.gaussian import MAX_RADIUS
from ..filters.laplacian import VARIANTS, laplacian_kernel
from .imagemagick import EPSILON, Args, MagickKernel, parse_args, rotate, scale_values

#: 1 / QuantumRange of the usual (Q16) ImageMagick build: a Gaussian's auto-sized edge falls below it.
QUANTUM_SCALE = 1.0 / 65535.0

#: The widest kernel a named kernel may make (as wide as imgconv's widest blur).
MAX_SIZE = 2 * MAX_RADIUS + 1


def _size(width: float) -> int:
    """A kernel width, refused beyond MAX_SIZE before anything that big is allocated."""
    if not width <= MAX_SIZE:
        raise ImgconvError(f"that kernel would be more than {MAX_SIZE} taps wide; use a smaller radius or sigma")
    return int(width)


def _centred(values: np.ndarray) -> MagickKernel:
    return MagickKernel(values, ((values.shape[0] - 1) // 2, (values.shape[1] - 1) // 2))


def _optimal_width(sigma: float, dims: int) -> int:
    """GetOptimalKernelWidth1D/2D for radius 0: the widest odd size whose edge tap, relative to the
    sampled Gaussian's sum, is still at least QUANTUM_SCALE (and 1e-12); 3 for sigma ~ 0."""
    sigma = abs(sigma)
    if sigma <= EPSILON:
        return 3
    width = 5
    while True:
        _size(width - 2)
        j = width // 2
        g = np.exp(-(np.arange(-j, j + 1.0) ** 2) / (2 * sigma * sigma))
        total = g.sum() if dims == 1 else g.sum() ** 2
        # 2D: the tap at (j, 0) -- ImageMagick compares exp(-j^2 / 2 sigma^2) with the 2D sum.
        if g[-1] / total < QUANTUM_SCALE or g[-1] / total < EPSILON:
            return width - 2
        width += 2


def _width(args: Args, sigma: float, dims: int) -> int:
    """Kernel width: 2 * int(radius) + 1 for a radius of 1 or more, else ImageMagick's optimal width."""
    if args.rho >= 1.0:
        return _size(2 * int(args.rho) + 1)
    if args.rho > EPSILON:
        return 3  # GetOptimalKernelWidth of a radius below 1: 2 * ceil(radius) + 1
    return _optimal_width(sigma, dims)


def _gaussian_2d(size: int, sigma: float) -> np.ndarray:
    """exp(-(u^2 + v^2) / 2 sigma^2) / (2 pi sigma^2) sampled; a unit impulse when sigma ~ 0."""
    r = (size - 1) // 2
    u = np.arange(-r, r + 1.0)
    if sigma <= EPSILON:
        out = np.zeros((size, size))
        out[r, r] = 1.0
        return out
    return np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma * sigma)) / (2 * math.pi * sigma * sigma)


def _finish(values: np.ndarray) -> np.ndarray:
    """CalcKernelMetaData then CorrelateNormalize: taps below 1e-12 zeroed, then positive taps to sum 1
    and negative taps to sum -1 separately."""
    values = np.where(np.abs(values) < EPSILON, 0.0, values)
    return scale_values(values, 1.0, "^")


def gaussian(args: Args) -> MagickKernel:
    """Gaussian:{radius}x{sigma} -- 2D sampled Gaussian, normalised."""
    sigma = abs(args.sigma)
    return _centred(_finish(_gaussian_2d(_width(args, sigma, 2), sigma)))


def log(args: Args) -> MagickKernel:
    """LoG:{radius}x{sigma} -- (1 - R) exp(-R) / (pi sigma^4), R = (u^2 + v^2) / 2 sigma^2; then positive
    and negative taps scaled separately to +1 and -1."""
    sigma = abs(args.sigma)
    size = _width(args, sigma, 2)
    if sigma <= EPSILON:
        return _centred(_finish(_gaussian_2d(size, 0.0)))
    r = (size - 1) // 2
    u = np.arange(-r, r + 1.0)
    big_r = (u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma * sigma)
    return _centred(_finish((1 - big_r) * np.exp(-big_r) / (math.pi * sigma**4)))


def dog(args: Args) -> MagickKernel:
    """DoG:{radius},{sigma1},{sigma2} -- Gaussian(sigma1) - Gaussian(sigma2), sized for the larger sigma,
    then positive and negative taps scaled separately to +1 and -1 (no longer a plain difference)."""
    s1, s2 = abs(args.sigma), abs(args.xi)
    size = _width(args, s1 if s1 >= s2 else s2, 2)
    return _centred(_finish(_gaussian_2d(size, s1) - _gaussian_2d(size, s2)))


def _gaussian_1d_ranked(width: int, sigma: float, one_sided: bool) -> np.ndarray:
    """ImageMagick's "KernelRank 3" 1D Gaussian: sampled at thirds of a pixel and summed into each tap
    (GetBlurKernel's method, said to come from Photoshop)."""
    values = np.zeros(width)
    if sigma <= EPSILON:
        values[0 if one_sided else (width - 1) // 2] = 1.0
        return values
    s = 3 * sigma
    if one_sided:
        u = np.arange(width * 3)
        np.add.at(values, u // 3, np.exp(-(u * u) / (2 * s * s)))
    else:
        v = (width * 3 - 1) // 2
        u = np.arange(-v, v + 1)
        np.add.at(values, (u + v) // 3, np.exp(-(u * u) / (2 * s * s)) / (math.sqrt(2 * math.pi) * s))
    return values


def blur(args: Args) -> MagickKernel:
    """Blur:{radius}x{sigma}[,{angle}] -- 1D Gaussian (KernelRank 3), normalised, turned by angle."""
    sigma = abs(args.sigma)
    width = _width(args, sigma, 1)
    values = _finish(_gaussian_1d_ranked(width, sigma, one_sided=False)[None, :])
    return rotate(_centred(values), args.xi, "Blur")


def comet(args: Args) -> MagickKernel:
    """Comet:{width}x{sigma}[,{angle}] -- half a 1D Gaussian, origin at its peak (the first tap),
    normalised, turned by angle.  The first argument is the width, not a radius."""
    sigma = abs(args.sigma)
    width = _size(args.rho) if args.rho >= 1.0 else (_width(args, sigma, 1) - 1) // 2 + 1
    values = _gaussian_1d_ranked(width, sigma, one_sided=True)
    values = scale_values(values[None, :], 1.0, "!")
    return rotate(MagickKernel(values, (0, 0)), args.xi, "Comet")


def laplacian(args: Args) -> MagickKernel:
    """Laplacian:{type} -- see imgconv.filters.laplacian_kernel (ImageMagick uses type 0 for an unknown
    type; imgconv refuses it)."""
    variant = int(args.rho)
    if variant not in VARIANTS:
        raise ImgconvError(f"Laplacian:{args.rho:g}: the type must be one of {', '.join(map(str, VARIANTS))}")
    return _centred(laplacian_kernel(variant))


def _turned(base: str | np.ndarray, kind: str):
    def build(args: Args) -> MagickKernel:
        values = OPERATORS[base] if isinstance(base, str) else base
        return rotate(_centred(values.copy()), args.rho, kind)
    build.__doc__ = f"{kind}:{{angle}} -- the 3x3 kernel turned clockwise by angle (45-degree steps)."
    return build


_SQ2 = math.sqrt(2.0)
#: FreiChen types 1..19 before their scale; ImageMagick multiplies types 1, 2 and 11..14 by
#: 1.0/2.0*MagickSQ2 -- that is sqrt(2)/2 in C, though its comments say "/ 2*sqrt(2)".
_FREI_CHEN = {
    0: ([[1, 0, -1], [_SQ2, 0, -_SQ2], [1, 0, -1]], 1.0),
    1: ([[1, 0, -1], [_SQ2, 0, -_SQ2], [1, 0, -1]], _SQ2 / 2),
    2: ([[1, _SQ2, 0], [_SQ2, 0, -_SQ2], [0, -_SQ2, -1]], _SQ2 / 2),
    11: ([[1, 0, -1], [_SQ2, 0, -_SQ2], [1, 0, -1]], _SQ2 / 2),
    12: ([[1, _SQ2, 1], [0, 0, 0], [1, _SQ2, 1]], _SQ2 / 2),
    13: ([[_SQ2, -1, 0], [-1, 0, 1], [0, 1, -_SQ2]], _SQ2 / 2),
    14: ([[0, 1, -_SQ2], [-1, 0, 1], [_SQ2, -1, 0]], _SQ2 / 2),
    15: ([[0, -1, 0], [1, 0, 1], [0, -1, 0]], 1 / 2),
    16: ([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], 1 / 2),
    17: ([[1, -2, 1], [-2, 4, -2], [-1, -2, 1]], 1 / 6),
    18: ([[-2, 1, -2], [1, 4, 1], [-2, 1, -2]], 1 / 6),
    19: ([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 1 / 3),
}


def frei_chen(args: Args) -> MagickKernel:
    """FreiChen:{type},{angle} -- Frei-Chen kernels; a large type (over 30) is an angle for type 0.
    Type 10 (all nine as a list) is not supported: imgconv convolves with one kernel."""
    kind = int(args.rho)
    if kind == 10:
        raise ImgconvError("FreiChen:10 is a list of nine kernels; imgconv convolves with one (use types 11-19)")
    values, scale = _FREI_CHEN.get(kind, _FREI_CHEN[0])
    kernel = _centred(np.array(values, np.float64) * scale)
    if abs(args.sigma) >= EPSILON:
        return rotate(kernel, args.sigma, "FreiChen")
    if abs(args.rho) > 30:
        return rotate(kernel, args.rho, "FreiChen")
    return kernel


def _shape(inside, default_size: int, size_of=lambda rho: 2 * int(rho) + 1):
    """A flat shape: `scale` (the second argument, default 1) where inside(u, v, half), NaN elsewhere."""
    def build(args: Args) -> MagickKernel:
        size = default_size if args.rho < 1.0 else _size(size_of(args.rho))
        half = (size - 1) // 2
        u = np.arange(size) - half
        scale = args.sigma if "sigma" in args.given else 1.0
        values = np.where(inside(u[None, :], u[:, None], half, args), scale, np.nan)
        return MagickKernel(values, (half, half))
    return build


def _disk_inside(u, v, half, args):
    limit = 18 if args.rho < 0.4 else int(args.rho * args.rho)
    return u * u + v * v <= limit


def disk(args: Args) -> MagickKernel:
    """Disk:{radius}[,{scale}] -- binary: taps with u^2 + v^2 <= int(radius^2); size 2 int(radius) + 1;
    no radius (below 0.4) is 9x9 with u^2 + v^2 <= 18."""
    size = 9 if args.rho < 0.4 else _size(2 * int(abs(args.rho)) + 1)
    return _shape(_disk_inside, size, lambda rho: size)(args)


diamond = _shape(lambda u, v, half, a: np.abs(u) + np.abs(v) <= half, 3)
diamond.__doc__ = "Diamond:{radius}[,{scale}] -- |u| + |v| <= radius (default 1)."
square = _shape(lambda u, v, half, a: np.ones_like(u + v, bool), 3, lambda rho: int(2 * rho + 1))
square.__doc__ = "Square:{radius}[,{scale}] -- all taps; size int(2 radius + 1) (so Square:1.5 is 4x4)."
octagon = _shape(lambda u, v, half, a: np.abs(u) + np.abs(v) <= half + half // 2, 5)
octagon.__doc__ = "Octagon:{radius}[,{scale}] -- |u| + |v| <= radius + radius // 2 (default radius 2)."
plus = _shape(lambda u, v, half, a: (u == 0) | (v == 0), 5)
plus.__doc__ = "Plus:{radius}[,{scale}] -- the two axes (default radius 2)."
cross = _shape(lambda u, v, half, a: (u == v) | (u == -v), 5)
cross.__doc__ = "Cross:{radius}[,{scale}] -- the two diagonals (default radius 2)."


def ring(args: Args) -> MagickKernel:
    """Ring:{radius1},{radius2}[,{scale}] -- int(r_small^2) < u^2 + v^2 <= int(r_big^2), size from the
    larger radius; no radii: 7x7 with 7 < u^2 + v^2 <= 11.  ImageMagick truncates scale to a whole number."""
    small, big = sorted((args.rho, args.sigma))
    size = _size(2 * int(big) + 1)
    limit1, limit2 = int(small * small), int(big * big)
    if limit2 <= 0:
        size, limit1, limit2 = 7, 7, 11
    half = (size - 1) // 2
    u = np.arange(size) - half
    r2 = u[None, :] ** 2 + u[:, None] ** 2
    scale = float(int(args.xi)) if "xi" in args.given else 1.0
    return MagickKernel(np.where((limit1 < r2) & (r2 <= limit2), scale, np.nan), (half, half))


def unity(args: Args) -> MagickKernel:
    """Unity[:{scale}] -- a single tap (default 1)."""
    return MagickKernel(np.array([[args.rho if "rho" in args.given else 1.0]]), (0, 0))


def rectangle(args: Args) -> MagickKernel:
    """Rectangle:{W}x{H}[+X+Y] -- all ones, origin +X+Y (default the centre)."""
    rho, sigma = args.rho, args.sigma
    if "rho" not in args.given:
        rho = sigma
    if rho < 1.0:
        rho = 3.0
    if sigma < 1.0:
        sigma = rho
    width, height = _size(rho), _size(sigma)
    x = int(args.xi) if "xi" in args.given else (width - 1) // 2
    y = int(args.psi) if "psi" in args.given else (height - 1) // 2
    if not (0 <= x < width and 0 <= y < height):
        raise ImgconvError(f"Rectangle origin +{x}+{y} is outside the {width}x{height} kernel")
    return MagickKernel(np.ones((height, width)), (y, x))


#: name (lower case) -> (builder, most arguments, usage).
NAMED = {
    "unity": (unity, 1, "Unity[:scale]"),
    "gaussian": (gaussian, 2, "Gaussian:radiusxsigma"),
    "log": (log, 2, "LoG:radiusxsigma"),
    "dog": (dog, 3, "DoG:radius,sigma1,sigma2"),
    "blur": (blur, 3, "Blur:radiusxsigma[,angle]"),
    "comet": (comet, 3, "Comet:widthxsigma[,angle]"),
    "laplacian": (laplacian, 1, "Laplacian:type"),
    "sobel": (_turned("sobel", "Sobel"), 1, "Sobel[:angle]"),
    "roberts": (_turned("roberts", "Roberts"), 1, "Roberts[:angle]"),
    "prewitt": (_turned("prewitt", "Prewitt"), 1, "Prewitt[:angle]"),
    "compass": (_turned(np.array([[1.0, 1, -1], [1, -2, -1], [1, 1, -1]]), "Compass"), 1, "Compass[:angle]"),
    "kirsch": (_turned("kirsch", "Kirsch"), 1, "Kirsch[:angle]"),
    "freichen": (frei_chen, 2, "FreiChen[:type[,angle]]"),
    "diamond": (diamond, 2, "Diamond[:radius[,scale]]"),
    "square": (square, 2, "Square[:radius[,scale]]"),
    "octagon": (octagon, 2, "Octagon[:radius[,scale]]"),
    "disk": (disk, 2, "Disk[:radius[,scale]]"),
    "plus": (plus, 2, "Plus[:radius[,scale]]"),
    "cross": (cross, 2, "Cross[:radius[,scale]]"),
    "ring": (ring, 3, "Ring:radius1,radius2[,scale]"),
    "rectangle": (rectangle, 4, "Rectangle:WxH[+X+Y]"),
}


def named_kernel(name: str, arguments: str) -> MagickKernel:
    """Build ImageMagick's kernel `name` (any case) from its argument string."""
    entry = NAMED.get(name.lower())
    if entry is None:
        raise ImgconvError(f"unknown kernel name {name!r}; ImageMagick kernels imgconv knows: "
                           + ", ".join(usage.split("[")[0].split(":")[0] for _, _, usage in NAMED.values()))
    build, most, usage = entry
    if any(flag in arguments for flag in "@<>"):
        raise ImgconvError(f"{name}: ImageMagick's rotation lists ('@', '>', '<') are not supported: "
                           "imgconv convolves with one kernel")
    if any(flag in arguments for flag in "!^%"):
        raise ImgconvError(f"{name}: unexpected '!', '^' or '%' in {arguments!r} (scaling is a separate option)")
    args = parse_args(arguments, name)
    if len(args) > most:
        raise ImgconvError(f"{name} takes at most {most} argument{'s' if most > 1 else ''} ({usage}), "
                           f"got {len(args)} in {arguments!r}")
    return build(args)
