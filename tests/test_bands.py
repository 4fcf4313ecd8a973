"""Huge images in bands: identical to the whole-image result, with a fraction of the working memory."""

import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgconv.apply import apply_filter
from imgconv.bands import apply_in_bands, halo, rows_for_budget
from imgconv.cli import cli
from imgconv.filters import Filter, blur, box, emboss, lens, sobel, unsharp

from conftest import BORDERS, SAMPLES

ASYMMETRIC = Filter("convolve", (np.arange(1.0, 13.0).reshape(4, 3) / 78,))  # even height: unequal halo


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("filt", [blur(2.0), sobel(), emboss(30), unsharp(2, 1, 0.02), box(8), lens(6), ASYMMETRIC],
                         ids=lambda f: f.name)
def test_bands_equal_the_whole_image(filt, border):
    image = np.random.default_rng(3).integers(0, 256, (101, 57, 4), dtype=np.uint8)
    for alpha in (False, True):
        options = dict(border=border, cval=40.0, alpha=alpha, out_dtype=np.uint8)
        plans = []
        whole = apply_filter(image, filt, 255.0, on_plan=plans.append, **options)
        # Bit for bit, except within one level on the FFT engine (picked for this tiny image when the loops
        # are jitted, IMGCONV_JIT=1): its rounding depends on the transform size, which a band changes.
        tolerance = 1 if any(p.algo == "fft" for p in plans) else 0
        for rows in (1, 7, 50):
            banded = apply_in_bands(image, filt, 255.0, rows=rows, **options)
            assert np.abs(banded.astype(int) - whole).max() <= tolerance, rows


def test_halo_follows_the_kernel_origin():
    assert halo(blur(2.0)) == (6, 6)
    assert halo(ASYMMETRIC) == (1, 2)  # convolution of an even kernel: scipy's origin puts 1 row above
    assert rows_for_budget((10_000, 20_000, 3), 64 << 20) == (64 << 20) // (20_000 * 3 * 4 * 6)


def test_large_image_in_bands_uses_a_fraction_of_the_memory():
    """A 3000x2000 RGBA blur (premultiplied alpha: several float32 copies) measured with tracemalloc."""
    image = np.random.default_rng(0).integers(0, 256, (3000, 2000, 4), dtype=np.uint8)
    filt = blur(1.5)
    options = dict(alpha=True, out_dtype=np.uint8)
    apply_in_bands(image[:64], filt, 255.0, rows=16, **options)  # compile/warm up outside the measurement

    def peak(run):
        tracemalloc.start()
        try:
            result = run()
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    whole, whole_peak = peak(lambda: apply_filter(image, filt, 255.0, **options))
    bands, bands_peak = peak(lambda: apply_in_bands(image, filt, 255.0, rows=200, **options))
    assert np.array_equal(whole, bands)
    output = image.nbytes
    assert bands_peak < 0.35 * whole_peak, (bands_peak, whole_peak)
    assert bands_peak < output + 200 * 2000 * 4 * 4 * 8  # the output plus a few band-sized arrays


def test_cli_band_rows_and_max_memory_give_the_same_file(tmp_path):
    runner = CliRunner()
    outputs = {}
    for name, extra in {"whole": [], "bands": ["--band-rows", "37"], "budget": ["--max-memory", "1M"]}.items():
        out = tmp_path / f"{name}.png"
        result = runner.invoke(cli, ["unsharp", str(SAMPLES / "coffee_rgba.png"), str(out), "-v", "--algo",
                                     "separable", *extra])  # one engine whatever the build (see above)
        assert result.exit_code == 0, result.output
        outputs[name] = np.asarray(Image.open(out))
        assert ("bands of" in result.output) == bool(extra)
    assert np.array_equal(outputs["whole"], outputs["bands"])
    assert np.array_equal(outputs["whole"], outputs["budget"])
    assert runner.invoke(cli, ["blur", str(SAMPLES / "camera.png"), str(tmp_path / "x.png"),
                               "--max-memory", "lots"]).exit_code == 2
