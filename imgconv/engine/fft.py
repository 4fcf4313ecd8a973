"""FFT engine: O(log(M*N)) per pixel whatever the kernel size, so it wins for big dense kernels.

The border is applied by padding (imgconv.border) before the transform, never by circular wrap: the
transform length only needs to cover the padded image, because the wrapped-around part of a circular
convolution lands outside the valid region we keep.  Lengths are rounded up to 5-smooth numbers,
which pocketfft (numpy.fft) transforms fastest; the kernel's transform is computed once and reused for
every channel, and channels are transformed one at a time to bound memory.
"""

import numpy as np

from ..border import Source


def fast_length(n: int) -> int:
    """Smallest 5-smooth integer (2^a 3^b 5^c) >= n."""
    best = 1 << max(0, (n - 1).bit_length())
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            m = f35
            while m < n:
                m *= 2
            best = min(best, m)
            f35 *= 3
        f5 *= 5
    return best


def run(padded, plan, out: np.ndarray) -> None:
    """Fill `out` (HxWxC) from `padded` (a Source, materialised here, or a padded float32 array)."""
    if isinstance(padded, Source):
        padded = padded.materialize()
    taps = plan.kernel.taps
    k1, k2 = taps.shape
    height, width, channels = out.shape
    shape = (fast_length(padded.shape[0]), fast_length(padded.shape[1]))
    # Correlation with taps is convolution with the flipped taps.  numpy >= 2 transforms float32 in
    # single precision (complex64), half the memory traffic of float64.
    kernel_spectrum = np.fft.rfft2(taps[::-1, ::-1].astype(np.float32), s=shape)
    for c in range(channels):
        spectrum = np.fft.rfft2(padded[:, :, c], s=shape)
        spectrum *= kernel_spectrum
        full = np.fft.irfft2(spectrum, s=shape)
        del spectrum
        _store(full[k1 - 1 : k1 - 1 + height, k2 - 1 : k2 - 1 + width], out[:, :, c])


def _store(values, out):
    if out.dtype.kind in "ui":
        info = np.iinfo(out.dtype)
        np.clip(np.rint(values), info.min, info.max, out=values)
    out[...] = values
