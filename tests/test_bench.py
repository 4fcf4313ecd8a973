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


def test_warmup_compiles_every_entry_loop_for_every_signature_built_ahead_of_time(monkeypatch):
    """warmup's jobs, run here with compiling replaced by a record: every entry loop of every registered
    engine and pointwise step, for exactly the signatures setup.py builds ahead of time."""
    from imgconv import warmup
    from imgconv.engine import ENGINES, engine, loops

    compiled = set()

    class Recorder:
        def __init__(self, entry):
            self.entry = entry

        def compile(self, arguments):
            compiled.add((self.entry.py_func.__module__, self.entry.__name__, tuple(arguments)))

    monkeypatch.setattr(loops.Loop, "jitted", property(Recorder))
    for job in warmup.jobs():
        warmup._compile(job)
    from numba import types

    wanted = {(entry.py_func.__module__, entry.__name__, eval(signature, vars(types)).args)
              for entry in loops.entry_loops() for _, signature in entry.signatures()}
    assert compiled == wanted
    names = {(module.rsplit(".", 1)[-1], name) for module, name, _ in compiled}
    assert {(name, "fill_rows") for name in ENGINES if engine(name).NUMBA} <= names
    assert {("separable", "fill_rows_fixed"), ("direct", "fill_rows_int"), ("pointwise", "luma_rows"),
            ("pointwise", "encode_rows")} <= names


def test_warmup_command_compiles_so_that_first_use_compiles_nothing(tmp_path):
    """`imgconv warmup` into an empty Numba cache (one of its jobs, to keep the test short; the test above
    covers the list), then a fresh process runs that loop jitted on an image: loaded from the cache, not
    compiled."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    command = ("import sys\nimport imgconv.warmup\n"
               "every = imgconv.warmup.jobs()\n"
               "imgconv.warmup.jobs = lambda: [j for j in every if j[0].endswith('sat') and 'u1[:, ::1])' in j[2]"
               " and j[2].startswith('void(intp, intp, u1')]\n"
               "from imgconv.cli import main\nsys.argv = ['imgconv', 'warmup']\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", command], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "imgconv warmup" in proc.stdout and "sat.fill_rows" in proc.stdout
    check = ("import dataclasses, numpy as np\nfrom imgconv.convolution import run_plan\n"
             "from imgconv.engine import engine\nfrom imgconv.engine.planner import plan\n"
             "chosen = dataclasses.replace(plan(np.ones((3, 3)), (16, 16, 3), algo='sat'), runner='jit')\n"
             "run_plan(chosen, np.zeros((16, 16, 3), np.uint8), dtype=np.uint8)\n"
             "stats = engine('sat').fill_rows.jitted.stats\n"
             "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))\n")
    proc = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "0"]  # loaded from the cache, nothing compiled
