"""Wiener(-Hunt) deconvolution: one FFT pass, the same filter as scikit-image's `restoration.wiener`.

    X = conj(T) / (|T|^2 + balance |L|^2) * Y

T is the PSF's transfer function and L the discrete Laplacian's (4 - 2 cos u - 2 cos v), the prior that
penalises high frequencies; `balance` weighs it against the data (roughly the noise-to-signal power
ratio: more noise wants more balance).  The FFT treats the image as periodic, so a real photo's
opposite edges would meet in a jump that deconvolution turns into ringing.  Instead the image is first
extended on every side by the border mode (default reflect) by MARGIN_PSFS PSF sizes (rounded up to
fast FFT lengths): the periodic seam is then that far from the image, where its ringing has died away,
and the edge pixels see the same border as Richardson-Lucy's.  `wrap` is periodic already: no padding.
Each channel is transformed on its own (float32, numpy's pocketfft), so the extra memory is a few
channel-sized arrays; the filter is computed once for all channels.
"""

from __future__ import annotations

import numpy as np

from ..border import pad
from ..engine.fft import fast_length

#: Padding on each side, in PSF sizes (at least MIN_MARGIN pixels).
MARGIN_PSFS = 3
MIN_MARGIN = 16


def padding(shape, psf_shape, border: str = "reflect"):
    """((top, bottom), (left, right)) the image is extended by before its FFT (none for `wrap`)."""
    if border == "wrap":
        return ((0, 0), (0, 0))
    pads = []
    for n, k in zip(shape[:2], psf_shape):
        margin = max(MARGIN_PSFS * k, MIN_MARGIN)
        total = fast_length(n + 2 * margin)
        pads.append((margin, total - n - margin))
    return tuple(pads)


def transfer_function(kernel: np.ndarray, shape) -> np.ndarray:
    """rfft2 of `kernel` zero-padded to `shape` with its centre (k // 2) rolled to the origin (complex64)."""
    padded = np.zeros(shape, np.float32)
    padded[: kernel.shape[0], : kernel.shape[1]] = kernel
    padded = np.roll(padded, (-(kernel.shape[0] // 2), -(kernel.shape[1] // 2)), axis=(0, 1))
    return np.fft.rfft2(padded)


def laplacian_power(shape) -> np.ndarray:
    """|L|^2 on the rfft2 grid of `shape`: L = 4 - 2 cos(2 pi u / H) - 2 cos(2 pi v / W), the transfer
    function of the 5-point Laplacian [[0,-1,0],[-1,4,-1],[0,-1,0]] (real: it is symmetric)."""
    height, width = shape
    rows = (2 - 2 * np.cos(2 * np.pi * np.arange(height) / height)).astype(np.float32)
    cols = (2 - 2 * np.cos(2 * np.pi * np.arange(width // 2 + 1) / width)).astype(np.float32)
    return (rows[:, None] + cols[None, :]) ** 2


def wiener_filter(psf: np.ndarray, shape, balance: float) -> np.ndarray:
    """conj(T) / (|T|^2 + balance |L|^2) on an rfft2 grid of `shape`, as complex64."""
    transfer = transfer_function(psf, shape)
    power = transfer.real**2 + transfer.imag**2
    power += np.float32(balance) * laplacian_power(shape)
    transfer = np.conj(transfer, out=transfer)
    transfer /= power
    return transfer


def wiener(observed: np.ndarray, psf: np.ndarray, balance: float, border: str = "reflect",
           cval: float = 0.0) -> np.ndarray:
    """Deconvolve an H x W x C float32 image; H x W x C float32 result (not clipped)."""
    height, width, channels = observed.shape
    (top, bottom), (left, right) = padding(observed.shape, psf.shape, border)
    shape = (height + top + bottom, width + left + right)
    filt = wiener_filter(psf, shape, balance)
    out = np.empty_like(observed)
    for c in range(channels):
        channel = pad(observed[:, :, c : c + 1], ((top, bottom), (left, right)), border, cval)[:, :, 0]
        spectrum = np.fft.rfft2(channel)
        spectrum *= filt
        out[:, :, c] = np.fft.irfft2(spectrum, s=shape)[top : top + height, left : left + width]
    return out
