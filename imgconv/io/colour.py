"""ICC profiles and CMYK: a profile must describe the output's colours; CMYK becomes RGB only where it must."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .picture import FULL, Picture, to_dtype


def as_rgb(picture: Picture) -> Picture:
    """A CMYK picture as RGB (through its ICC profile when it has one), for filters that need colour."""
    if not picture.cmyk:
        return picture
    notes: list = []  # only what this conversion did
    pixels, info = cmyk_to_rgb(picture.pixels, picture.info, "the filter works on RGB luminance", notes)
    return Picture(pixels, alpha=False, info=info, notes=notes, cmyk=False, encoding=picture.encoding)


def _profile_space(profile: bytes) -> bytes:
    return bytes(profile[16:20]) if len(profile) >= 20 else b""


def check_profile(meta: dict, colour_channels: int, cmyk: bool, notes: list) -> None:
    """An ICC profile must describe the output's colour space (a grey Sobel result cannot carry an RGB one)."""
    profile = meta.get("icc_profile")
    if not profile:
        return
    want = b"CMYK" if cmyk else (b"GRAY" if colour_channels == 1 else b"RGB ")
    space = _profile_space(profile)
    if space != want:
        del meta["icc_profile"]
        notes.append(f"ICC profile dropped: it describes {space.decode('latin-1').strip() or 'unknown'} "
                     f"colour, the output is {want.decode().strip()}")


def cmyk_to_rgb(pixels, meta, why, notes):
    """CMYK output to a format that holds no CMYK: through the embedded ICC profile when there is one."""
    meta = dict(meta)
    profile = meta.pop("icc_profile", None)
    rgb = None
    if profile and pixels.dtype == np.uint8 and _profile_space(profile) == b"CMYK":
        try:
            from PIL import ImageCms

            image = Image.fromarray(np.ascontiguousarray(pixels), "CMYK")
            srgb = ImageCms.createProfile("sRGB")
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            rgb = np.asarray(ImageCms.profileToProfile(image, source, srgb, outputMode="RGB"))
            meta["icc_profile"] = ImageCms.ImageCmsProfile(srgb).tobytes()
            notes.append(f"{why}: CMYK converted to sRGB through the image's ICC profile")
        except Exception:  # noqa: BLE001 - a profile littleCMS cannot use: fall back to the plain formula
            rgb = None
    if rgb is None:
        notes.append(f"{why}: CMYK converted to RGB without colour management (no usable profile)")
        full = FULL[pixels.dtype]
        inks = pixels.astype(np.float32) / full
        rgb = to_dtype((1 - inks[..., :3]) * (1 - inks[..., 3:]) * full, pixels.dtype)
    return np.ascontiguousarray(rgb), meta
