"""ImageMagick kernel strings, as ``-morphology Convolve`` and ``-define convolve:scale`` read them.

Source: ImageMagick's ``magick/morphology.c`` (ParseKernelArray, ParseKernelName, RotateKernelInfo,
ScaleKernelInfo) and https://imagemagick.org/Usage/morphology/#user and /Usage/convolve/.

* ``"WxH[+X+Y]: v v v ..."`` and ``"N: ..."`` (N x N): W*H numbers row by row, separated by spaces or
  commas; ``nan`` or ``-`` marks a tap outside the kernel (for a convolution, the same as 0).  The origin
  -- the tap that lands on the output pixel -- is +X+Y from the top left, by default the centre (the
  one left of / above it for an even size).
* ``"Name[:args]"``: the named kernels of ``magick_kernels.NAMED``, arguments as ImageMagick's
  geometry strings give them (``0x2``, ``0,1,2``, ``0x3+45``, ``0x3,45``).

What imgconv does not take: lists of kernels (``;``) and the rotation expansions ``@ > <`` (imgconv
convolves with one kernel), the old bare "1,2,1,2,4,2,1,2,1" form (imgconv's own "1 2 1; ..."
syntax reads such text instead), and 45-degree turns of anything but a 3x3 kernel, which ImageMagick
also refuses (it warns and leaves e.g. ``Blur:0x3,45`` horizontal; imgconv says so and stops).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import ImgconvError
from ..filters.edges import rotate_3x3
from ..kernel import as_kernel

#: ImageMagick's MagickEpsilon: kernel values smaller than this are zeroed, sums smaller are "zero".
EPSILON = 1e-12


@dataclass(frozen=True)
class MagickKernel:
    """A kernel as ImageMagick holds it: values (NaN = not part of the kernel) and its origin."""

    values: np.ndarray
    origin: tuple[int, int]  # (row, column) of the tap applied to the output pixel

    def taps(self) -> np.ndarray:
        """The convolution kernel imgconv runs: NaN taps 0, zero-padded so the origin is scipy's centre.

        scipy (and every imgconv engine) puts an H x W kernel's origin at (H // 2, W // 2), for
        convolution and correlation alike; ImageMagick's origin can be any tap.  Padding with zeros on
        the short side moves the centre onto it without changing a single product.
        """
        taps = np.nan_to_num(self.values, nan=0.0)
        pads = []
        for size, before in zip(taps.shape, self.origin):
            after = size - 1 - before
            # A padded length n has n // 2 taps before its centre and (n - 1) // 2 after.
            pads.append((max(after - before, 0), max(before - after - 1, 0)))
        return np.pad(taps, pads)


@dataclass(frozen=True)
class Args:
    """A geometry argument string: rho x sigma + xi + psi, and which of them were given."""

    values: tuple = (0.0, 0.0, 0.0, 0.0)
    given: frozenset = field(default_factory=frozenset)

    rho = property(lambda self: self.values[0])
    sigma = property(lambda self: self.values[1])
    xi = property(lambda self: self.values[2])
    psi = property(lambda self: self.values[3])

    def __len__(self):
        return len(self.given)


_SLOTS = ("rho", "sigma", "xi", "psi")
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(rf"\s*(?P<sep>[xX,/]?)\s*(?P<sign>[+-]*)(?P<num>{_NUMBER})")


def parse_args(text: str, what: str) -> Args:
    """ImageMagick's geometry arguments: "rho[x sigma][+xi[+psi]]" or "rho,sigma,xi,psi" (or a mix).

    After 'x' comes sigma; a signed number straight after the previous one (no separator) is an
    offset, so in "0x3+45" and "0+45" 45 is xi; after ',' or '/' comes the next slot in turn.
    """
    values, slot, pos, text = {}, -1, 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        first = slot < 0
        if m is None or (not first and not m["sep"] and not m["sign"]):
            raise ImgconvError(f"{what}: cannot read the arguments {text!r} (at {text[pos:].strip()!r}); "
                               "expected numbers like 0x2, 0,1,2 or 0x3+45")
        if first:
            slot = 1 if m["sep"] else 0  # ",100%" or "x2": rho left out
        elif m["sep"] in ("x", "X") and slot == 0:
            slot = 1
        elif not m["sep"]:
            slot = max(slot + 1, 2)  # an offset: xi, then psi
        else:
            slot += 1
        if slot > 3:
            raise ImgconvError(f"{what}: too many arguments in {text!r} (at most 4)")
        value = float(m["num"])
        if not math.isfinite(value):
            raise ImgconvError(f"{what}: {m['num']!r} is not a finite number")
        values[slot] = -value if m["sign"].count("-") % 2 else value  # "+-3" is -3
        pos = m.end()
    return Args(tuple(values.get(i, 0.0) for i in range(4)), frozenset(_SLOTS[i] for i in values))


_ARRAY = re.compile(r"^(?P<w>\d+)(?:[xX](?P<h>\d+))?(?:(?P<x>[+-]\d+)(?P<y>[+-]\d+))?$")
_FLOATS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}


def looks_like_imagemagick(text: str) -> bool:
    """An ImageMagick kernel string: has a ':' (size or name prefix) or starts with a kernel name.

    imgconv's own syntax ("1 2 1; 2 4 2; 1 2 1") has neither; a first word like "inf" or "nan" is
    a number in that syntax, not a name.
    """
    words = text.split(None, 1)
    if ":" in text:
        return True
    return bool(words) and words[0][0].isalpha() and words[0].lower().rstrip(",;") not in _FLOATS


def parse_imagemagick(text: str) -> np.ndarray:
    """An ImageMagick kernel string as the convolution kernel imgconv runs (origin honoured, NaN -> 0).

    Examples
    --------
    >>> parse_imagemagick("3x1+0+0: 1 2 3").tolist()        # origin on the first tap: padded to centre it
    [[0.0, 0.0, 1.0, 2.0, 3.0]]
    >>> parse_imagemagick("Sobel:90").tolist()
    [[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]]
    """
    return as_kernel(read_kernel(text).taps())


def read_kernel(text: str) -> MagickKernel:
    """Parse an ImageMagick kernel string into its values (NaN kept) and origin."""
    from .magick_kernels import named_kernel

    body = text.strip().strip(";").strip()
    if ";" in body:
        raise ImgconvError("ImageMagick kernel lists (several kernels separated by ';') are not supported: "
                           "imgconv convolves with one kernel")
    if not body:
        raise ImgconvError("kernel is empty")
    name = re.match(r"[A-Za-z]+", body)
    if name:
        return named_kernel(name.group(), body[name.end():].lstrip(" \t\n,:"))
    return _array(body)


def _array(body: str) -> MagickKernel:
    """"WxH+X+Y: values" (or "N: values")."""
    size, sep, rest = body.partition(":")
    if not sep:
        raise ImgconvError(f"kernel {body!r}: expected an ImageMagick kernel 'WxH: values' or a name")
    geometry = size.replace(" ", "")
    if any(flag in geometry for flag in "@<>"):
        raise ImgconvError("ImageMagick's rotation lists ('@', '>', '<') are not supported: imgconv convolves "
                           "with one kernel")
    m = _ARRAY.match(geometry)
    if m is None:
        raise ImgconvError(f"kernel size {size.strip()!r} is not W, WxH or WxH+X+Y with whole numbers")
    width = int(m["w"])
    height = int(m["h"]) if m["h"] is not None else width
    if width < 1 or height < 1:
        raise ImgconvError(f"kernel size {width}x{height}: width and height must be at least 1")
    x = int(m["x"]) if m["x"] is not None else (width - 1) // 2
    y = int(m["y"]) if m["y"] is not None else (height - 1) // 2
    if not (0 <= x < width and 0 <= y < height):
        raise ImgconvError(f"kernel origin {m['x']}{m['y']} is outside the {width}x{height} kernel "
                           f"(x must be 0 to {width - 1}, y 0 to {height - 1})")
    tokens = [t for t in re.split(r"[\s,]+", rest) if t]
    if len(tokens) != width * height:
        raise ImgconvError(f"a {width}x{height} kernel needs {width * height} values, got {len(tokens)}")
    values = np.array([_value(t) for t in tokens]).reshape(height, width)
    if np.isnan(values).all():
        raise ImgconvError("kernel has no values (every tap is nan or '-')")
    return MagickKernel(values, (y, x))


def _value(token: str) -> float:
    if token.lower() == "nan" or token == "-":
        return math.nan
    try:
        value = float(token)
    except ValueError:
        raise ImgconvError(f"kernel: {token!r} is not a number") from None
    if not math.isfinite(value):
        raise ImgconvError(f"kernel: {token!r} is not a finite number")
    return value


# --- rotation and scaling, as ImageMagick does them -------------------------------------------------


def rotate(kernel: MagickKernel, angle: float, name: str) -> MagickKernel:
    """ImageMagick's RotateKernelInfo: 45-degree turns of 3x3 kernels, 90 of square or 1D ones, 180 of any.

    Angles are clockwise on screen and go to the nearest step ImageMagick takes (Prewitt:30 is
    Prewitt:45).  A 1D kernel turns 90 degrees by transposition.  Blur is symmetric, so a half turn
    leaves it alone.  A turn ImageMagick cannot do is an error here (ImageMagick warns and skips it).
    """
    values, (oy, ox) = kernel.values, kernel.origin
    angle = angle % 360.0
    if angle > 337.5 or angle <= 22.5:
        return kernel
    if name.lower() == "blur":
        if 135.0 < angle <= 225.0:
            return kernel
        if 225.0 < angle <= 315.0:
            angle -= 180.0
    if 22.5 < angle % 90.0 <= 67.5:
        if values.shape != (3, 3):
            raise ImgconvError(f"{name}: ImageMagick turns only 3x3 kernels by 45 degrees, this one is "
                               f"{values.shape[1]}x{values.shape[0]} (it warns and leaves it unturned); "
                               "use a multiple of 90 degrees, or imgconv's motion blur for any angle")
        values = rotate_3x3(values, 1)
        x, y = ox - 1, oy - 1
        if x == y:
            x = 0
        elif x == 0:
            x = -y
        elif x == -y:
            y = 0
        elif y == 0:
            y = x
        ox, oy = x + 1, y + 1
        angle = (angle + 315.0) % 360.0
    if 45.0 < angle % 180.0 <= 135.0:
        height, width = values.shape
        if height == 1 or width == 1:
            values, (oy, ox) = values.T, (ox, oy)
            angle = (angle + (270.0 if values.shape[1] == 1 else 90.0)) % 360.0
        elif height == width:
            values, (oy, ox) = np.rot90(values, -1), (ox, width - 1 - oy)
            angle = (angle + 270.0) % 360.0
        else:
            raise ImgconvError(f"{name}: ImageMagick cannot turn a {width}x{height} kernel by 90 degrees")
    if 135.0 < angle <= 225.0:
        height, width = values.shape
        values, (oy, ox) = values[::-1, ::-1], (height - 1 - oy, width - 1 - ox)
    return MagickKernel(np.ascontiguousarray(values), (oy, ox))


def scale_values(values: np.ndarray, factor: float = 1.0, normalize: str | None = None) -> np.ndarray:
    """ImageMagick's ScaleKernelInfo: optionally normalise, then multiply by `factor`; NaN taps stay NaN.

    normalize "!": divide by |sum|, or by the positive sum if the taps sum to zero; "^": positive taps
    to sum 1 and negative ones to sum -1 separately (a zero-sum kernel; ImageMagick's
    CorrelateNormalize, which its Gaussian, LoG and DoG kernels get).
    """
    finite = values[~np.isnan(values)]
    positive, negative = finite[finite > 0].sum(), finite[finite < 0].sum()
    pos_scale = neg_scale = 1.0
    if normalize == "!":
        total = positive + negative
        pos_scale = neg_scale = abs(total) if abs(total) >= EPSILON else positive
        if pos_scale == 0:
            raise ImgconvError("cannot normalise a kernel whose taps are all zero")
    elif normalize == "^":
        pos_scale = positive if abs(positive) >= EPSILON else 1.0
        neg_scale = -negative if abs(negative) >= EPSILON else 1.0
    with np.errstate(invalid="ignore"):
        return np.where(values < 0, values * (factor / neg_scale), values * (factor / pos_scale))


def scale_kernel(taps: np.ndarray, spec: str) -> np.ndarray:
    """Apply ImageMagick's ``-define convolve:scale=spec`` to a kernel (its origin at the centre).

    spec is "[factor][!|^][,unity][%]": normalise with "!" (to sum 1; a zero-sum kernel to positive
    taps summing 1) or "^" (positive and negative taps separately to +1 and -1), multiply by factor
    (default 1), then add `unity` times the identity at the origin (ImageMagick's way of blending
    with the original: "-100,200%" turns a blur into an unsharp mask).  "%" makes both numbers percent.

    Examples
    --------
    >>> scale_kernel(np.array([[1.0, 2.0, 1.0]]), "!").tolist()
    [[0.25, 0.5, 0.25]]
    >>> scale_kernel(np.array([[1.0, 2.0, 1.0]]), "-100!,200%").tolist()     # 2 x identity - blur
    [[-0.25, 1.5, -0.25]]
    """
    taps = as_kernel(taps)
    text = spec.replace(" ", "")
    flags = set(re.findall(r"[!^%]", text))
    if {"!", "^"} <= flags:
        raise ImgconvError(f"scale {spec!r}: use one of '!' (normalise) and '^' (zero-sum), not both")
    args = parse_args(re.sub(r"[!^%]", "", text), f"scale {spec!r}")
    if args.given - {"rho", "sigma"}:
        raise ImgconvError(f"scale {spec!r}: expected at most two numbers, 'factor[,unity]'")
    percent = 0.01 if "%" in flags else 1.0
    factor = args.rho * percent if "rho" in args.given else 1.0
    normalize = "!" if "!" in flags else "^" if "^" in flags else None
    scaled = scale_values(taps, factor, normalize)
    if "sigma" in args.given:
        scaled[taps.shape[0] // 2, taps.shape[1] // 2] += args.sigma * percent
    return as_kernel(scaled)
