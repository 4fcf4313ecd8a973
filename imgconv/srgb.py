"""sRGB and linear light (IEC 61966-2-1): the transfer functions, and fast ways to apply them to images.

Decoding an 8- or 16-bit image is a table lookup (exact: one entry per code value).  Encoding a float
result reads a table of the curve at TABLE_STEPS even steps, interpolated (imgconv.engine.pointwise):
within 4e-6 of white of the formula (0.001 of an 8-bit level; tests/test_srgb.py holds it to 1e-5),
where numpy's power per value took 0.44 s on a 4 Mpx RGB image.
"""

from __future__ import annotations

import functools

import numpy as np

#: Steps of the encoding table.
TABLE_STEPS = 16384


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer function undone: encoded 0..1 -> linear light 0..1."""
    v = np.clip(v, 0.0, None)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """Linear light 0..1 -> sRGB-encoded 0..1 (the inverse of srgb_to_linear)."""
    v = np.clip(v, 0.0, None)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055).astype(np.float32)


@functools.cache
def _decoding(dtype) -> np.ndarray:
    codes = np.arange(np.iinfo(dtype).max + 1, dtype=np.float64)
    return srgb_to_linear(codes / codes[-1]) * np.float32(codes[-1])


@functools.cache
def _encoding() -> np.ndarray:
    return linear_to_srgb(np.linspace(0.0, 1.0, TABLE_STEPS + 1))


def to_linear(pixels: np.ndarray, full: float) -> np.ndarray:
    """Linear light as float32, white = full (a table lookup for 8- and 16-bit images)."""
    if pixels.dtype in (np.uint8, np.uint16):
        return _decoding(pixels.dtype)[pixels]
    return srgb_to_linear(pixels / full) * np.float32(full)


def from_linear(values: np.ndarray, full: float, channels: int | None = None) -> None:
    """Encode the first `channels` (default all) of an H x W x C float32 image of linear light (white =
    full) to sRGB, in place (fastest on a C-contiguous image: others are encoded through a copy)."""
    from .engine.pointwise import encode

    encode(values, _encoding(), full, channels)
