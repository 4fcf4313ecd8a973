"""Per-pixel work around the convolutions, compiled like the engines: BT.601 luminance for grey filters,
and the sRGB encoding of linear light.

numpy's `rgb @ weights` on a 4K uint8 image took 12 ms of Sobel's 20 here (OpenCV's cvtColor: 3 ms);
the luminance loop reads the interleaved image once and writes the grey plane once.  It takes any view
(an RGBA image's colour channels too), with the same arithmetic in the same order for every layout (no
fastmath), so a grey filter gives bit-identical results with or without an alpha channel.

numpy's sRGB encoding (a power per value) took 0.44 s on a 4 Mpx RGB image; the encoding loop reads a
table of the curve instead (imgconv.srgb), over whole rows (252 -> 165 ms on 15 Mpx RGB).  A float32
result is stored as 8 or 16 bits by the engines' own rounding rule in one pass (imgconv.dtypes.to_dtype).
"""

import numpy as np

from ._rows import store
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


@loop(exports="void(intp, intp, f4[:, ::1], intp, intp, f4[::1], f4)", images=("f4",), results=("f4",))
def encode_rows(first, end, values, step, channels, table, full):
    """Rows first .. end-1 of values (H x W*step) encoded to sRGB in place: the first `channels` of each
    pixel's `step` values (linear light, white = full), interpolated in `table` (the encoding at len(table)
    - 1 even steps of [0, 1]), times full.  The rest (alpha) are left as they are."""
    steps = table.shape[0] - 1
    scale = np.float32(steps) / full
    top = np.float32(steps)
    for i in range(first, end):
        row = values[i]
        if step == channels:  # every value: one loop the compiler vectorises
            for m in range(row.shape[0]):
                x = min(max(row[m] * scale, np.float32(0.0)), top)
                k = min(int(x), steps - 1)
                row[m] = (table[k] + (x - k) * (table[k + 1] - table[k])) * full
        else:
            for j in range(0, row.shape[0], step):
                for c in range(j, j + channels):
                    x = min(max(row[c] * scale, np.float32(0.0)), top)
                    k = min(int(x), steps - 1)
                    row[c] = (table[k] + (x - k) * (table[k + 1] - table[k])) * full


def encode(values: np.ndarray, table: np.ndarray, full: float, channels: int | None = None, runner: str = "aot",
           threads: int = 1) -> None:
    """Encode the first `channels` (default all) of an H x W x C float32 image of linear light (white =
    full) to sRGB in place, by encode_rows (which reads whole rows: a view is encoded through a copy)."""
    if not values.flags.c_contiguous:
        rows = np.ascontiguousarray(values)
        encode(rows, table, full, channels, runner, threads)
        values[...] = rows
        return
    height, width, step = values.shape
    function = function_for(encode_rows, runner, np.float32, np.float32)
    run_rows(function, height, 1 if runner == "aot" else threads, values.reshape(height, width * step), step,
             step if channels is None else channels, table, np.float32(full))


@loop(exports="void(intp, intp, f4[:, ::1], f4, f4, {result}[:, ::1], u1[::1])", images=("f4",),
      results=("u1", "u2"))
def round_rows(first, end, values, lo, hi, out, bad):
    """Rows first .. end-1 of out = values rounded half to even and clipped to [lo, hi] (the engines'
    store); bad[0] = 1 where a value is infinite or NaN (all exponent bits set: it has no pixel value)."""
    exponent = np.uint32(0x7F800000)
    for i in range(first, end):
        row = values[i]
        bits = row.view(np.uint32)
        worst = np.uint32(0)
        for m in range(bits.shape[0]):
            worst = max(worst, bits[m] & exponent)
        if worst == exponent:
            bad[0] = 1
        store(row, out[i], lo, hi, True)


def round_to(values: np.ndarray, dtype):
    """(values rounded half to even and clipped to uint8 or uint16, all finite?) by round_rows in one pass
    over C-contiguous float32 values (numpy's rint, clip and astype took 0.29 s and three float32 copies
    on 15 Mpx RGB); None where round_rows was not built ahead of time (so a run never imports Numba for it)."""
    function = round_rows.compiled(np.float32, dtype)
    if function is None:
        return None
    out = np.empty(values.shape, dtype)
    if out.size == 0:
        return out, True
    height = values.shape[0] if values.ndim else 1
    bad = np.zeros(1, np.uint8)
    info = np.iinfo(dtype)
    function(0, height, values.reshape(height, -1), np.float32(info.min), np.float32(info.max),
             out.reshape(height, -1), bad)
    return out, not bad[0]
