"""Point spread functions for deblurring: specs (`gaussian:2`, `motion:15,30`, `disk:4`), files, and checks.

A PSF is the image of one point of light: non-negative, summing to 1 (so deblurring keeps brightness),
with its centre at index (k1 // 2, k2 // 2) -- where `imgconv convolve` and scipy.ndimage put a kernel's
origin.  The builders are the blur filters' own (imgconv.filters), so `deblur --psf gaussian:2` undoes
exactly what `blur --sigma 2` does.

Files:
  *.npy                a 2D array, taken as it is (origin at its centre index), normalised to sum 1;
  an image (PNG, TIFF, any format imgconv reads)
                       a picture of a point of light, e.g. a star cropped from a photo: colour channels
                       are averaged, the values normalised to sum 1, and the array zero-padded so that
                       its centroid (the brightness-weighted mean position, rounded to a pixel) is the
                       centre -- the deblurred image is then not shifted, even for a lopsided PSF (a
                       motion streak's brightest pixel can be anywhere along it);
  anything else        kernel text, as `imgconv convolve --kernel-file` reads it, normalised to sum 1.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from .errors import ImgconvError

SPEC_HELP = ("gaussian:SIGMA, gaussian:fwhm=F, motion:LENGTH,ANGLE, disk:RADIUS, or a file "
             "(.npy, an image such as .png/.tif, or kernel text)")
#: FWHM of a Gaussian in units of its sigma: 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_SPEC = re.compile(r"^(gaussian|motion|disk):(.*)$", re.IGNORECASE)


def load_psf(spec: str) -> np.ndarray:
    """The PSF a --psf SPEC names, checked and normalised (float64, sum 1)."""
    spec = str(spec).strip()
    match = _SPEC.match(spec)
    if match:
        try:
            psf = _build(match.group(1).lower(), match.group(2).strip(), spec)
        except ImgconvError as e:
            message = str(e)
            raise ImgconvError(message if message.startswith("--psf") else f"--psf {spec!r}: {message}") from None
        return check_psf(psf, spec)
    path = Path(spec)
    if not spec or not path.is_file():
        raise ImgconvError(f"--psf {spec!r}: no such file and not a PSF spec; use {SPEC_HELP}")
    return check_psf(_read_file(path), spec)


def _build(kind: str, args: str, spec: str) -> np.ndarray:
    from . import filters

    numbers = _numbers(args, spec, kind)
    if kind == "gaussian":
        if len(numbers) != 1:
            raise ImgconvError(f"--psf {spec!r}: give gaussian:SIGMA or gaussian:fwhm=F")
        key, value = numbers[0]
        if key not in (None, "sigma", "fwhm"):
            raise ImgconvError(f"--psf {spec!r}: unknown gaussian parameter {key!r}; use SIGMA or fwhm=F")
        sigma = value / FWHM_PER_SIGMA if key == "fwhm" else value
        return filters.gaussian_kernel(sigma)
    if kind == "motion":
        if len(numbers) != 2 or any(k is not None for k, _ in numbers):
            raise ImgconvError(f"--psf {spec!r}: give motion:LENGTH,ANGLE (pixels, degrees)")
        return _builder("motion_kernel")(numbers[0][1], numbers[1][1], centered=False)
    if len(numbers) != 1 or numbers[0][0] is not None:
        raise ImgconvError(f"--psf {spec!r}: give disk:RADIUS (pixels)")
    return _builder("disk_kernel")(numbers[0][1])


def _numbers(args: str, spec: str, kind: str) -> list:
    """'2' -> [(None, 2.0)]; 'fwhm=4.7' -> [('fwhm', 4.7)]; '15,30' -> [(None, 15.0), (None, 30.0)]."""
    out = []
    for part in args.split(","):
        key, equals, value = part.partition("=")
        key, value = (key.strip().lower(), value) if equals else (None, key)
        try:
            number = float(value)
        except ValueError:
            raise ImgconvError(f"--psf {spec!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(number):
            raise ImgconvError(f"--psf {spec!r}: {value.strip()!r} is not a finite number")
        out.append((key, number))
    return out


def _builder(name: str):
    from . import filters

    build = getattr(filters, name, None)
    if build is None:
        raise ImgconvError(f"this imgconv has no imgconv.filters.{name} yet, so that PSF spec is unavailable; "
                           "use gaussian:SIGMA or a PSF file")
    return build


def _read_file(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ImgconvError(f"--psf {path}: not a readable .npy array ({e})") from None
    from PIL import Image

    if suffix in Image.registered_extensions():
        return _from_picture(path)
    from .kernel import parse_kernel

    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ImgconvError(f"--psf {path}: cannot read it as kernel text ({e})") from None
    try:
        return parse_kernel(text)
    except ImgconvError as e:
        raise ImgconvError(f"--psf {path}: {e}") from None


def _from_picture(path: Path) -> np.ndarray:
    """A PSF image: grey (colour channels averaged, alpha dropped), centred on its centroid."""
    from .io import load

    try:
        picture = load(path)
    except ImgconvError as e:
        raise ImgconvError(f"--psf {e}") from None
    pixels = picture.pixels[..., :-1] if picture.alpha else picture.pixels
    psf = pixels.astype(np.float64).mean(axis=2)
    check_psf(psf, str(path))  # before centring: the centroid needs a non-negative, non-zero PSF
    return centred(psf)


def centred(psf: np.ndarray) -> np.ndarray:
    """Zero-pad `psf` so that its centroid, rounded to a pixel, sits at the centre index k // 2."""
    total = psf.sum()
    pads = []
    for axis, n in enumerate(psf.shape):
        profile = psf.sum(axis=1 - axis)
        c = int(np.rint((profile * np.arange(n)).sum() / total))
        half = max(c, n - 1 - c)
        pads.append((half - c, half - (n - 1 - c)))
    return np.pad(psf, pads)


def check_psf(psf, name: str = "PSF") -> np.ndarray:
    """A valid PSF as float64 summing to 1, or an ImgconvError saying what is wrong with it."""
    try:
        taps = np.array(psf, dtype=np.float64)
    except (TypeError, ValueError):
        raise ImgconvError(f"{name}: the PSF must be a 2D array of numbers") from None
    if taps.ndim == 1:
        taps = taps[np.newaxis, :]
    if taps.ndim != 2 or taps.size == 0:
        raise ImgconvError(f"{name}: the PSF must be a non-empty 2D array, got shape {taps.shape}")
    if not np.isfinite(taps).all():
        raise ImgconvError(f"{name}: the PSF contains NaN or infinity")
    if (taps < 0).any():
        raise ImgconvError(f"{name}: the PSF has negative values (a PSF is light: every value >= 0)")
    total = taps.sum()
    if not total > 0:
        raise ImgconvError(f"{name}: the PSF is all zeros")
    return taps / total


def check_fits(psf: np.ndarray, image_shape, name: str = "") -> None:
    """A PSF larger than the image (in either direction) cannot be deconvolved from it."""
    k1, k2 = psf.shape
    height, width = image_shape[:2]
    if k1 > height or k2 > width:
        where = f"{name}: " if name else ""
        raise ImgconvError(f"{where}the PSF ({k2}x{k1}) is larger than the image ({width}x{height})")
