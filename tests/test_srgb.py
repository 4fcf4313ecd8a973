"""sRGB <-> linear light: the fast table paths against the IEC 61966-2-1 formulas written out here."""

import numpy as np
import pytest

from imgconv.srgb import from_linear, to_linear


def decode(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def encode(v):
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)


@pytest.mark.parametrize("dtype, full", [(np.uint8, 255.0), (np.uint16, 65535.0)])
def test_decoding_integer_images_is_exact(dtype, full):
    codes = np.arange(int(full) + 1, dtype=dtype).reshape(-1, 1, 1)
    np.testing.assert_allclose(to_linear(codes, full), decode(codes / full) * full, rtol=1e-6, atol=1e-6 * full)


def test_decoding_float_images(rng):
    values = rng.random((7, 9, 3), dtype=np.float32)
    np.testing.assert_allclose(to_linear(values, 1.0), decode(values.astype(np.float64)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("full", [255.0, 65535.0, 1.0])
def test_encoding_is_within_1e_5_of_white_of_the_formula(rng, full):
    linear = rng.random((40, 50, 4), dtype=np.float32) ** 3 * full  # many dark values, where the curve bends
    linear[0, :5, 0] = [0.0, 1e-9 * full, 0.0031308 * full, full, 1.5 * full]
    got = linear.copy()
    from_linear(got[..., :3], full)  # a strided view, as apply() passes an RGBA image's colour
    want = encode(np.clip(linear[..., :3].astype(np.float64) / full, 0, 1)) * full
    np.testing.assert_allclose(got[..., :3], want, rtol=0, atol=1e-5 * full)
    np.testing.assert_array_equal(got[..., 3], linear[..., 3])  # alpha untouched
    whole = linear.copy()
    from_linear(whole, full, 3)  # the whole RGBA image, colour channels only, as apply() passes it
    np.testing.assert_array_equal(whole, got)
