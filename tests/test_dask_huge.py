"""One huge TIFF split into band tasks on a 2-worker Dask LocalCluster: the same bytes as a local run."""

import os

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

from imgconv.cli import cli

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def band_tasks(cluster) -> int:
    """How many band tasks the cluster's scheduler has run so far."""
    from dask.distributed import Client

    with Client(cluster.scheduler_address) as client:
        return client.run_on_scheduler(
            lambda dask_scheduler: sum(p.state_counts["memory"] for name, p in dask_scheduler.task_prefixes.items()
                                       if name == "band"))


def image(tmp_path, name, shape, dtype=np.uint8, **kwargs):
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    path = tmp_path / name
    tifffile.imwrite(path, pixels, photometric="rgb" if shape[-1] >= 3 else "minisblack", metadata=None,
                     extrasamples=["unassalpha"] if shape[-1] == 4 else None, **kwargs)
    return path


CASES = {
    "uncompressed": (dict(shape=(403, 311, 3)), ["blur", "--sigma", "2"]),
    "zstd tiles, 16-bit RGBA": (dict(shape=(403, 311, 4), dtype=np.uint16, compression="zstd", tile=(64, 64)),
                                ["sharpen"]),
    "deflate strips, a chain, wrapped": (dict(shape=(403, 311, 3), compression="zlib", rowsperstrip=10),
                                         ["apply", "--step", "blur sigma=1.5", "--step", "sobel", "--border", "wrap"]),
}


@pytest.mark.parametrize("case", CASES)
def test_one_huge_tiff_on_two_workers_is_the_local_file_byte_for_byte(tmp_path, cluster, case):
    layout, command = CASES[case]
    source = image(tmp_path, "in.tif", **layout)
    name, options = (command[0], command[1:])
    local, remote = tmp_path / "local.tif", tmp_path / "dask.tif"
    done = run(name, source, local, "--band-rows", "37", *options)
    assert done.exit_code == 0, done.output
    before = band_tasks(cluster)
    done = run(name, source, remote, "--band-rows", "37", "--scheduler", cluster.scheduler_address, "-v", *options)
    assert done.exit_code == 0, done.output
    assert "each band a task on the Dask cluster" in done.output
    assert band_tasks(cluster) - before == 11  # ceil(403 / 37) bands, each a task
    assert remote.read_bytes() == local.read_bytes()


def test_a_small_single_image_is_still_one_task(tmp_path, cluster):
    source = image(tmp_path, "in.tif", (64, 48, 3))
    before = band_tasks(cluster)
    done = run("blur", source, tmp_path / "out.tif", "--scheduler", cluster.scheduler_address, "-v")
    assert done.exit_code == 0, done.output
    assert "streamed" not in done.output and band_tasks(cluster) == before


def test_a_band_failing_on_a_worker_fails_the_file_with_one_line_and_no_output(tmp_path, cluster):
    source = image(tmp_path, "in.tif", (256, 64, 3), compression="zlib", tile=(32, 32))
    with tifffile.TiffFile(source) as tif:
        page = tif.pages.first
        offset, count = page.dataoffsets[9], page.databytecounts[9]
    data = bytearray(source.read_bytes())
    data[offset : offset + count] = b"\xff" * count
    source.write_bytes(bytes(data))
    done = run("blur", source, tmp_path / "out.tif", "--band-rows", "16", "--scheduler", cluster.scheduler_address)
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"imgconv: {source}: corrupt, truncated or unsupported image")
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]
