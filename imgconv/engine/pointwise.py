"""Per-pixel work around the convolutions, compiled like the engines: BT.601 luminance for grey filters,
and the sRGB encoding of linear light.

numpy's `rgb @ weights` on a 4K uint8 image took 12 ms of Sobel's 20 here (OpenCV's cvtColor: 3 ms);
the luminance loop reads the interleaved image once and writes the grey plane once.  It takes any view
(an RGBA image's colour channels too), with the same arithmetic in the same order for every layout (no
fastmath), so a grey filter gives bit-identical results with or without an alpha channel.

numpy's sRGB encoding (a power per value) took 0.44 s on a 4 Mpx RGB image; the encoding loop reads a
table of the curve instead (imgconv.srgb).
"""

import numpy as np

from .loops import function_for, loop
from .threads import run_rows


@loop(exports="void(intp, intp, {image}[:, :, :], f4, f4, f4, {result}[:, ::1])", results=("f4",))
def luma_rows(first, end, image, w0, w1, w2, out):
    """Rows first .. end-1 of the grey plane."""
    width = out.shape[1]
    for i in range(first, end):
        dst = out[i]
        for j in range(width):
            red, green, blue = np.float32(image[i, j, 0]), np.float32(image[i, j, 1]), np.float32(image[i, j, 2])
            dst[j] = (w0 * red + w1 * green) + w2 * blue


def luma(image: np.ndarray, weights, runner: str = "aot", threads: int = 1) -> np.ndarray:
    """H x W x 1 float32 weighted sum of the first three channels of an H x W x C image (any strides).

    `runner` and `threads` as in a Plan: "aot" runs the ahead-of-time loop when it was built."""
    height, width = image.shape[:2]
    out = np.empty((height, width, 1), np.float32)
    function = function_for(luma_rows, runner, image.dtype, np.float32)
    run_rows(function, height, 1 if runner == "aot" else threads, image, *(np.float32(w) for w in weights),
             out.reshape(height, width))
    return out


@loop(exports="void(intp, intp, f4[:, :, :], f4[::1], f4, f4[:, :, :])", images=("f4",), results=("f4",))
def encode_rows(first, end, values, table, full, out):
    """Rows first .. end-1 of out = the sRGB encoding of values (linear light, white = full), times full,
    interpolated in `table`: the encoding at len(table) - 1 even steps of [0, 1] (out may be values)."""
    steps = table.shape[0] - 1
    for i in range(first, end):
        for j in range(values.shape[1]):
            for c in range(values.shape[2]):
                x = min(max(values[i, j, c] / full, np.float32(0.0)), np.float32(1.0)) * steps
                k = min(int(x), steps - 1)
                out[i, j, c] = (table[k] + (x - k) * (table[k + 1] - table[k])) * full


def encode(values: np.ndarray, table: np.ndarray, full: float, runner: str = "aot", threads: int = 1) -> None:
    """Encode H x W x C float32 linear light (white = full) to sRGB in place, by encode_rows."""
    function = function_for(encode_rows, runner, np.float32, np.float32)
    run_rows(function, values.shape[0], 1 if runner == "aot" else threads, values, table, np.float32(full), values)
