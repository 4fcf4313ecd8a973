"""The two ways a Numba engine runs (imgconv.engine.loops): the loops compiled ahead of time at install
and their jitted versions on several threads compute the same bits; and what the planner picks from
where a process stands (a fresh process never imports Numba for a photo)."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import imgconv
from imgconv.convolution import run_plan
from imgconv.engine import ENGINES, engine, loops, planner
from imgconv.engine.planner import plan
from imgconv.engine.threads import cores
from imgconv.filters import box_kernel, emboss_kernel, gaussian_kernel, sharpen_kernel
from imgconv.kernel import KernelInfo

from conftest import low_rank_kernel, random_image, runs_kernel

needs_aot = pytest.mark.skipif(loops.aot_module() is None, reason="imgconv._loops was not built at install")

NUMBA_ENGINES = [name for name in ENGINES if engine(name).NUMBA]


def fresh_process(code: str) -> list[str]:
    """The words `code` prints in a new Python process (where nothing is imported or loaded yet)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_the_loops_were_compiled_at_install_where_a_compiler_exists():
    """setup.py's build may fail quietly (the loops are then jitted on first use); where a C compiler is
    present, as in CI, a failure is a bug -- this test makes it loud instead of skipping the rest."""
    import shutil
    import sysconfig

    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None or loops.aot_module() is None and "IMGCONV_JIT" in __import__("os").environ:
        pytest.skip("no C compiler here (or IMGCONV_JIT set): the jitted loops are what runs")
    assert loops.aot_module() is not None, "pip install did not build imgconv._loops: see its build log"


def kernel_for(algo, rng):
    return {"separable": low_rank_kernel(rng, (5, 4), 2), "direct": rng.standard_normal((4, 5)),
            "sat": box_kernel(5), "spans": runs_kernel(rng, (5, 6))}[algo]


@needs_aot
@pytest.mark.parametrize("border", ["reflect", "wrap", "constant"])
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("result", [np.uint8, np.float32])
@pytest.mark.parametrize("algo", NUMBA_ENGINES)
def test_ahead_of_time_and_jitted_loops_agree_bit_for_bit(rng, algo, dtype, result, border):
    """Same loops, two compilers, any thread count: identical results (so a file's bytes never depend on
    which way it ran).  The jitted way runs on 3 threads over a tall image, so every row range works."""
    image = random_image(rng, (301, 37, 3), dtype)
    chosen = plan(kernel_for(algo, rng), image.shape, algo=algo)
    outputs = {}
    for runner, threads in (("aot", 1), ("jit", 3), ("jit", 1)):
        how = dataclasses.replace(chosen, runner=runner, threads=threads)
        outputs[runner, threads] = run_plan(how, image, border=border, cval=7.0, dtype=result)
    assert all(np.array_equal(outputs["aot", 1], o) for o in outputs.values())


FIXED_POINT_KERNELS = {"gauss-1.5": ("separable", gaussian_kernel(1.5)),
                       "gauss-20 (split rows)": ("separable", gaussian_kernel(20.0)),
                       "sharpen": ("direct", sharpen_kernel(1.0)), "emboss": ("direct", emboss_kernel())}


@needs_aot
@pytest.mark.parametrize("border", ["reflect", "wrap", "constant"])
@pytest.mark.parametrize("name", sorted(FIXED_POINT_KERNELS))
def test_fixed_point_loops_agree_bit_for_bit(rng, name, border):
    """The uint8 -> uint8 fixed-point entry loops (imgconv.engine._fixed), built both ways, any thread count."""
    algo, kernel = FIXED_POINT_KERNELS[name]
    image = random_image(rng, (301, 37, 3), "uint8")
    chosen = plan(kernel, image.shape, algo=algo)
    outputs = [run_plan(dataclasses.replace(chosen, runner=runner, threads=threads), image, border=border, cval=7.0,
                        dtype=np.uint8) for runner, threads in (("aot", 1), ("jit", 3), ("jit", 1))]
    assert all(np.array_equal(outputs[0], o) for o in outputs)


@needs_aot
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_luminance_loop_agrees_bit_for_bit(rng, dtype):
    from imgconv.engine.pointwise import luma

    rgba = random_image(rng, (41, 23, 4), dtype)
    weights = (0.299, 0.587, 0.114)
    aot, jit = luma(rgba[..., :3], weights, runner="aot"), luma(rgba[..., :3], weights, runner="jit", threads=2)
    assert np.array_equal(aot, jit)
    assert np.array_equal(aot, luma(np.ascontiguousarray(rgba[..., :3]), weights, runner="aot"))


@needs_aot
def test_srgb_encoding_loop_agrees_bit_for_bit(rng):
    from imgconv.engine.pointwise import encode
    from imgconv.srgb import _encoding

    linear = rng.random((33, 17, 4), dtype=np.float32) * 255
    aot, jit = linear.copy(), linear.copy()
    encode(aot[..., :3], _encoding(), 255.0, runner="aot")
    encode(jit[..., :3], _encoding(), 255.0, runner="jit", threads=2)
    assert np.array_equal(aot, jit)


@needs_aot
def test_a_fresh_process_filters_ahead_of_time_without_importing_numba():
    """A photo plans the ahead-of-time loops (importing Numba would cost more than it saves) and filtering
    it never imports Numba; a huge image is worth Numba's threads; once the jitted loops are loaded, even
    a small image uses them."""
    code = ("import sys, numpy as np, imgconv\n"
            "from imgconv.filters import gaussian_kernel\n"
            "photo = imgconv.plan(gaussian_kernel(2), (1600, 2560, 3), threads=2)\n"
            "imgconv.convolve(np.zeros((160, 256, 3), np.uint8), gaussian_kernel(2), threads=2)\n"
            "loaded = 'numba' in sys.modules\n"
            "huge = imgconv.plan(gaussian_kernel(2), (30000, 30000, 3), threads=2)\n"
            "imgconv.convolve(np.zeros((16, 16, 3), np.uint8), gaussian_kernel(2), algo='separable', threads=2)\n"
            "print(photo.runner, loaded, huge.runner, huge.threads)\n")
    assert fresh_process(code) == ["aot", "False", "jit", "2"]


@needs_aot
def test_a_plan_run_many_times_pays_for_numba_once():
    """A 4 Mpx photo convolved once runs ahead of time on one thread, but a plan that will run 100 times
    shares the cost of importing Numba and loading the jitted loops between its runs and takes both threads;
    deconvolve plans that way (it has imported Numba for its per-pixel steps: 30 iterations are enough)."""
    code = ("import numpy as np, imgconv\n"
            "from imgconv.filters import gaussian_kernel\n"
            "once = imgconv.plan(gaussian_kernel(2), (1600, 2560, 3), threads=2)\n"
            "often = imgconv.plan(gaussian_kernel(2), (1600, 2560, 3), threads=2, runs=100)\n"
            "stats = {}\n"
            "imgconv.deconvolve(np.ones((1600, 2560, 3), np.float32), 'gaussian:2', iterations=30, tolerance=1,\n"
            "                   stats=stats)\n"
            "print(once.runner, once.threads, often.runner, often.threads, *[p.runner for p in stats['plans']])\n")
    deconvolving = "jit" if cores() >= 2 else "aot"  # one core: the jitted loops cannot be faster
    assert fresh_process(code) == ["aot", "1", "jit", "2", deconvolving, deconvolving]


def test_an_engine_is_ready_for_a_type_once_its_loops_for_that_type_are_loaded():
    """After a float32 run the separable engine is ready for float32 images (deconvolution's), not for
    uint8 ones (its fixed-point loop is not loaded yet), nor for images of unknown type."""
    code = ("import dataclasses, numpy as np, imgconv\n"
            "from imgconv.convolution import run_plan\n"
            "from imgconv.engine import engine, planner\n"
            "from imgconv.filters import gaussian_kernel\n"
            "chosen = imgconv.plan(gaussian_kernel(2), (64, 64, 3), algo='separable')\n"
            "run_plan(dataclasses.replace(chosen, runner='jit', threads=2), np.zeros((64, 64, 3), np.float32))\n"
            "module = engine('separable')\n"
            "print(planner._jit_ready(module, np.float32), planner._jit_ready(module, np.uint8) > 0,\n"
            "      planner._jit_ready(module) > 0)\n")
    assert fresh_process(code) == ["0.0", "True", "True"]


def test_getting_ready_is_shared_between_runs():
    kernel = KernelInfo(gaussian_kernel(2.0))
    module = engine("separable")
    once = {runner: s for s, runner, _ in planner.ways("separable", kernel, (100, 100, 3), 2)}
    often = {runner: s for s, runner, _ in planner.ways("separable", kernel, (100, 100, 3), 2, runs=10)}
    ready = planner._jit_ready(module)
    assert once["jit"] - often["jit"] == pytest.approx(ready * 0.9)
    assert once.get("aot") == often.get("aot")


def test_once_the_jitted_loops_are_loaded_they_are_used(rng):
    image = random_image(rng, (64, 64, 3), "uint8")
    chosen = plan(gaussian_kernel(1.0), image.shape, algo="separable", threads=2)
    # loads (or compiles) the engine's jitted loops: the float32 one, and the fixed-point uint8 one
    run_plan(dataclasses.replace(chosen, runner="jit"), image)
    run_plan(dataclasses.replace(chosen, runner="jit"), image, dtype=np.uint8)
    again = plan(gaussian_kernel(1.0), image.shape, algo="separable", threads=2)
    assert (again.runner, again.threads) == ("jit", 2)


def test_one_thread_never_pays_for_numba(rng):
    """With one thread the jitted loops cannot be faster, so they are used only without a built module."""
    chosen = plan(gaussian_kernel(2.0), (4000, 6000, 3), threads=1)
    assert chosen.runner == ("aot" if loops.aot_module() is not None else "jit") and chosen.threads == 1


def test_estimates_count_getting_ready():
    """Numba engines' estimates include the import when Numba is not loaded yet (in a fresh process)."""
    code = ("import imgconv\nfrom imgconv.engine import planner\nfrom imgconv.filters import gaussian_kernel\n"
            "from imgconv.kernel import KernelInfo\n"
            "k = KernelInfo(gaussian_kernel(2))\n"
            "ways = {r: s for s, r, t in planner.ways('separable', k, (100, 100, 3), 2)}\n"
            "print(ways['jit'] - planner.seconds('separable', k, (100, 100, 3)) / 2)\n")
    (extra,) = fresh_process(code)
    from imgconv.engine.planner import LOOP_LOAD_SECONDS, NUMBA_IMPORT_SECONDS

    assert float(extra) == pytest.approx(NUMBA_IMPORT_SECONDS + LOOP_LOAD_SECONDS)


def test_library_convolve_threads_argument(rng):
    image = random_image(rng, (50, 40, 3), "float32")
    one = imgconv.convolve(image, gaussian_kernel(1.0), threads=1)
    two = imgconv.convolve(image, gaussian_kernel(1.0), threads=2)
    assert np.array_equal(one, two)
