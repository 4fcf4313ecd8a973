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


def test_warmup_reaches_every_entry_loop_for_every_pair_of_types(monkeypatch):
    """warmup's jobs, run here with compiling replaced by a record of what would be compiled: every entry
    loop of the registry (imgconv.engine.loops.entry_loops: what setup.py builds ahead of time) for
    every image type and result type it is built for, and nothing else."""
    from imgconv import warmup
    from imgconv.engine import loops

    reached = set()

    def record(self):
        def call(*args):
            arrays = [a for a in args if isinstance(a, np.ndarray)]
            reached.add((self.__name__, self.py_func.__module__, arrays[0].dtype, arrays[-1].dtype))
        return call

    monkeypatch.setattr(loops.Loop, "jitted", property(record))
    for job in warmup.jobs():
        warmup._compile(job)
    wanted = {(entry.__name__, entry.py_func.__module__, np.dtype(image), np.dtype(result))
              for entry in loops.entry_loops() for image in entry.images for result in entry.results}
    assert reached == wanted


def test_warmup_command_compiles_so_that_first_use_compiles_nothing(tmp_path):
    """`imgconv warmup` into an empty Numba cache (one of its jobs, to keep the test short; the test above
    covers the list), then a fresh process runs that loop jitted: loaded from the cache, not compiled."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    job = ("sat", "uint8", "uint8")
    command = ("import sys\nimport imgconv.warmup\n"
               f"imgconv.warmup.jobs = lambda: [{job!r}]\n"
               "from imgconv.cli import main\nsys.argv = ['imgconv', 'warmup']\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", command], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "imgconv warmup" in proc.stdout and all(word in proc.stdout for word in job)
    check = ("from imgconv import warmup\nfrom imgconv.engine import engine\n"
             f"warmup._compile({job!r})\n"
             "stats = engine('sat').fill_rows.jitted.stats\n"
             "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))\n")
    proc = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "0"]  # one signature loaded from the cache, none compiled
