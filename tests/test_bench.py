"""`imgconv bench` and imgconv.bench: every runnable engine timed on the user's image, compared with
direct, peers added when installed; and imgconv.warmup."""

import numpy as np
from click.testing import CliRunner
from PIL import Image

from imgconv.bench import bench_filter, render, runnable_engines
from imgconv.cli import cli
from imgconv.filters import blur, box, sharpen, sobel


def test_runnable_engines():
    assert set(runnable_engines(blur(1.0), (10, 10, 3))) == {"direct", "im2col", "separable", "fft"}
    assert "sat" in runnable_engines(box(5), (10, 10, 3))
    assert "separable" in runnable_engines(sobel("both"), (10, 10, 1))


def test_bench_filter_rows(rng):
    image = (rng.random((24, 30, 3)) * 255).astype(np.uint8)
    rows = bench_filter(image, sharpen(1.0), 255.0, repeat=2)
    names = [r.name for r in rows]
    assert names[0] == "auto" and {"direct", "im2col", "separable", "fft"} <= set(names)
    assert all(r.median_ms > 0 and r.best_ms <= r.median_ms for r in rows)
    for r in rows:
        if r.max_diff is not None:
            assert r.max_diff < 1e-3 * 255, r
    assert "opencv" in names and "scipy" in names  # both installed for the tests
    assert rows[0].note.startswith("-> ")


def test_bench_filter_multi_kernel_has_no_peers(rng):
    image = rng.random((16, 16, 3), dtype=np.float32)
    rows = bench_filter(image, sobel("both"), 1.0, repeat=1)
    assert "opencv" not in [r.name for r in rows] and "fused" in rows[0].note


def test_render_table(rng):
    from io import StringIO

    from rich.console import Console

    image = rng.random((16, 16, 1), dtype=np.float32)
    buffer = StringIO()
    render(bench_filter(image, blur(1.0), 1.0, repeat=1, peers=False), Console(file=buffer, width=150), "t")
    text = buffer.getvalue()
    assert "auto" in text and "separable" in text and "max |diff| vs direct" in text


def test_cli_bench(tmp_path, rng):
    path = tmp_path / "in.png"
    Image.fromarray((rng.random((20, 24, 3)) * 255).astype(np.uint8)).save(path)
    result = CliRunner().invoke(cli, ["bench", "--repeat", "1", "--no-peers", str(path), "box", "--size", "5"])
    assert result.exit_code == 0, result.output
    assert "sat" in result.output and "auto" in result.output
    bad = CliRunner().invoke(cli, ["bench", str(path), "nosuchfilter"])
    assert bad.exit_code == 2


def test_warmup_compiles_every_jitted_loop():
    """warmup's jobs cover every Numba engine of the registry for every pair of types, and a job leaves
    that engine's jitted loop loaded (compiled, or loaded from Numba's cache)."""
    from imgconv import warmup
    from imgconv.engine import ENGINES, engine, loops

    jobs = warmup.jobs()
    numba_engines = {name for name in ENGINES if engine(name).NUMBA}
    assert {(a, i, r) for a in numba_engines for i, r in warmup.TYPES} <= set(jobs)
    assert {j[0] for j in jobs} == numba_engines | {"luma"}
    job, seconds = warmup._compile(("sat", "uint8", "uint8"))
    assert job == ("sat", "uint8", "uint8") and seconds > 0
    assert all(entry.is_loaded() for entry in loops.entries(engine("sat")))
