"""Batches and pipelines: many inputs, globs, templates, parallel jobs, failures, chains, Dask."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from imgconv.apply import apply_filter
from imgconv.batch import Job, plan_jobs, threads_per_worker
from imgconv.cli import cli
from imgconv.errors import ImgconvError
from imgconv.filters import blur, sharpen

from conftest import SAMPLES


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def photos(tmp_path):
    """photos/a/{p1,p2}.jpg, photos/b/q1.png, and photos/a/bad.jpg (not an image)."""
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy(SAMPLES / "astronaut.jpg", root / "a" / "p1.jpg")
    shutil.copy(SAMPLES / "coffee.jpg", root / "a" / "p2.jpg")
    shutil.copy(SAMPLES / "camera.png", root / "b" / "q1.png")
    (root / "a" / "bad.jpg").write_bytes(b"this is not a jpeg")
    return root


def files_under(folder):
    """Every file under `folder` (none if it does not exist), as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def engine_lines(output):
    """The --verbose lines naming the engine each file ran on."""
    return [line for line in output.splitlines() if line.startswith("engine ")]


def test_glob_keeps_relative_folders_and_template(photos, tmp_path):
    jobs = plan_jobs([str(photos / "**" / "*.*")], out_dir=str(tmp_path / "out"), template="{stem}_{filter}{ext}",
                     filter_name="blur")
    targets = sorted(os.path.relpath(j.target, tmp_path / "out") for j in jobs)
    assert targets == ["a/bad_blur.jpg", "a/p1_blur.jpg", "a/p2_blur.jpg", "b/q1_blur.png"]


def test_format_changes_extension_and_two_path_form(tmp_path):
    jobs = plan_jobs(["x/in.jpg"], out_dir="o", template="{name}", fmt="png")
    assert jobs == [Job("x/in.jpg", os.path.join("o", "in.png"), make_parent=True)]
    assert plan_jobs(["in.jpg", "out.png"]) == [Job("in.jpg", "out.png")]
    with pytest.raises(ImgconvError):
        plan_jobs(["a.jpg", "b.jpg", "c.jpg"])  # several inputs need --out-dir
    with pytest.raises(ImgconvError):
        plan_jobs([str(tmp_path / "*.nothing")], out_dir="o")  # a glob matching nothing


def test_two_inputs_writing_one_output_is_refused(photos):
    with pytest.raises(ImgconvError, match="both write"):
        plan_jobs([str(photos / "a" / "p1.jpg"), str(photos / "a" / "p2.jpg")], out_dir="o", template="same.png")


def test_threads_never_oversubscribe():
    for cores in (1, 2, 8):
        for jobs in (1, 2, 3, 8, 16):
            assert threads_per_worker(jobs, cores) >= 1
            assert jobs * threads_per_worker(jobs, cores) <= max(cores, jobs)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_file_does_not_stop_the_batch(photos, tmp_path, jobs):
    out = tmp_path / "out"
    result = run("blur", photos / "**" / "*.*", "--out-dir", out, "--jobs", jobs, "--sigma", "1")
    assert result.exit_code == 1
    assert "bad.jpg" in result.output and "2 failed" not in result.output
    assert files_under(out) == ["a/p1.jpg", "a/p2.jpg", "b/q1.png"]  # no partial or temp files
    assert "3 done, 0 skipped, 1 failed" in result.output


def test_parallel_outputs_equal_serial_outputs(photos, tmp_path):
    (photos / "a" / "bad.jpg").unlink()
    for jobs in ("1", "2"):
        assert run("sharpen", photos / "**" / "*.*", "--out-dir", tmp_path / jobs, "--jobs", jobs).exit_code == 0
    for name in files_under(tmp_path / "1"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_fail_fast_and_skip_existing(photos, tmp_path):
    out = tmp_path / "out"
    bad_first = [photos / "a" / "bad.jpg", photos / "a" / "p1.jpg", photos / "a" / "p2.jpg"]
    result = run("blur", *bad_first, "--out-dir", out, "--fail-fast", "--jobs", "1")
    assert result.exit_code == 1 and "bad.jpg" in result.output
    assert files_under(out) == []  # stopped at the bad file: the two good ones after it never ran
    assert run("blur", photos / "a" / "p1.jpg", photos / "a" / "p2.jpg", "--out-dir", out).exit_code == 0
    stamp = (out / "p1.jpg").stat().st_mtime_ns
    result = run("blur", photos / "a" / "p1.jpg", photos / "a" / "p2.jpg", "--out-dir", out, "--skip-existing")
    assert result.exit_code == 0 and "2 skipped" in result.output
    assert (out / "p1.jpg").stat().st_mtime_ns == stamp


def test_parallel_fail_fast_stops_at_the_first_failure(photos, tmp_path):
    """--fail-fast with worker processes: after the first failure no further file starts.  Jobs are fed
    2 per worker ahead, so at most the 3 given out with the bad one can still be written.  The good
    photos are large enough (9 Mpx) that none is done before the bad one has failed, even when the
    worker given the bad one starts late (with coffee.jpg itself, a busy CI machine once wrote 4)."""
    many = photos / "many"
    many.mkdir()
    with Image.open(SAMPLES / "coffee.jpg") as img:
        img.resize((img.width * 6, img.height * 6)).save(many / "big.jpg", quality=90)
    good = []
    for i in range(12):
        good.append(many / f"g{i:02d}.jpg")
        shutil.copy(many / "big.jpg", good[-1])
    out = tmp_path / "out"
    result = run("blur", photos / "a" / "bad.jpg", *good, "--out-dir", out, "--fail-fast", "--jobs", "2", "--quiet")
    assert result.exit_code == 1 and "bad.jpg" in result.output
    written = files_under(out)
    assert len(written) <= 3, written
    for name in written:
        with Image.open(out / name) as img:
            img.load()  # what was written is complete


class _DiesWhenUnpickled(str):
    """A source path that kills the worker process it is sent to (os._exit when unpickled there): a
    worker dying while it holds exactly this file, as a crash in a codec or the OOM killer would."""

    def __reduce__(self):
        return (os._exit, (70,))


def test_a_worker_that_dies_fails_only_the_file_it_held(photos, tmp_path):
    from imgconv.batch import run_batch
    from imgconv.job import Options, run_job

    sources = [photos / "a" / "p1.jpg", photos / "a" / "p2.jpg", photos / "b" / "q1.png"]
    reference = {}
    for src in sources:  # each file filtered on its own, in this process
        reference[src.name] = tmp_path / "ref" / src.name
        assert run_job(Job(str(src), str(reference[src.name]), make_parent=True), [blur(1.0)], Options()).ok
    out = tmp_path / "out"
    jobs = [Job(str(src), str(out / f"{i}-{src.name}"), make_parent=True) for i, src in enumerate(sources * 3)]
    killer = Job(_DiesWhenUnpickled(str(sources[0])), str(out / "killer.jpg"), make_parent=True)
    jobs.insert(4, killer)  # in the middle: other files are in flight in the other worker and queued
    summary = run_batch(jobs, [blur(1.0)], Options(), workers=2)
    assert [o.job.target for o in summary.failed] == [killer.target], [o.error for o in summary.failed]
    assert "the worker process died" in summary.failed[0].error
    assert len(summary.done) == len(jobs) - 1
    assert files_under(out) == sorted(os.path.basename(j.target) for j in jobs if j is not killer)
    for job in jobs:
        if job is not killer:
            assert Path(job.target).read_bytes() == reference[Path(job.source).name].read_bytes()


def test_a_file_written_before_its_pool_broke_is_not_run_again(tmp_path):
    """When a pool breaks, a sibling of the dead worker may have written its output just before its own
    outcome was lost: re-running it would fail ("already exists") or, with --in-place, filter it twice.
    A held job whose output changed since it was given out counts as done; the others run again."""
    import multiprocessing

    from imgconv.batch import _file_state, _run_alone
    from imgconv.job import Options

    written, again = tmp_path / "written.png", tmp_path / "again.png"
    state = _file_state(written)
    written.write_bytes(b"written by the lost job")  # after it was given out
    held = [(Job(str(tmp_path / "no-such-input.png"), str(written)), state),  # would fail if run
            (Job(str(SAMPLES / "camera.png"), str(again)), _file_state(again))]
    outcomes = []
    stop = _run_alone(held, [blur(1.0)], Options(), False, multiprocessing.get_context("forkserver"),
                      lambda outcome: outcomes.append(outcome) or False, False)
    assert not stop and [(o.job, o.ok) for o in outcomes] == [(job, True) for job, _ in held], outcomes
    assert written.read_bytes() == b"written by the lost job" and Image.open(again).size == (512, 512)


def test_a_worker_stopped_by_its_pool_leaves_no_temporary_file(tmp_path):
    """When a worker dies the pool stops the others with SIGTERM.  Sent in the middle of writing a file
    through a named temporary file (as where there is no O_TMPFILE), it must leave no temporary file:
    the worker removes it, then exits."""
    import signal
    import subprocess
    import sys
    import textwrap

    out = tmp_path / "out"
    out.mkdir()
    script = textwrap.dedent(f"""
        import os, signal
        from imgconv import batch
        from imgconv.filters import blur
        from imgconv.job import Job, Options
        del os.O_TMPFILE  # write through a named temporary file
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGTERM)  # stopped while the file is written
        batch._worker_start()
        job = Job({str(SAMPLES / "camera.png")!r}, {str(out / "x.png")!r})
        batch._job_in_worker(job, [blur(1.0)], Options(), False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert files_under(out) == [] and not list(out.iterdir())  # no output, no temporary file


@pytest.mark.parametrize("runner", ["pool", "dask"])
def test_each_worker_runs_its_engines_on_its_share_of_the_cores(photos, tmp_path, monkeypatch, runner):
    """With --jobs 2 every job carries max(1, cores // 2) engine threads, and that is what the engine
    ran with inside the worker (the plans --verbose reports come from the workers).  The parent is made
    to believe in 2 * (cores + 1) cores, so the share (cores + 1) is a number no worker would choose
    by itself; --threads overrides the share."""
    import imgconv.batch
    from imgconv.engine.threads import cores

    extra = []
    if runner == "dask":
        pytest.importorskip("dask.distributed")
        extra = ["--dask"]
    believed = 2 * (cores() + 1)
    monkeypatch.setattr(imgconv.batch, "machine_cores", lambda: believed)
    (photos / "a" / "bad.jpg").unlink()
    command = ["blur", photos / "**" / "*.*", "--algo", "fft", "--jobs", "2", "-v", *extra]
    result = run(*command, "--out-dir", tmp_path / "share")
    assert result.exit_code == 0, result.output
    lines = engine_lines(result.output)
    assert len(lines) == 3 and all(f"[numpy, {believed // 2} thread(s)]" in line for line in lines), lines
    if runner == "pool":
        result = run(*command, "--out-dir", tmp_path / "three", "--threads", "3")
        assert result.exit_code == 0, result.output
        lines = engine_lines(result.output)
        assert len(lines) == 3 and all("[numpy, 3 thread(s)]" in line for line in lines), lines


def test_output_template_through_the_cli(photos, tmp_path):
    (photos / "a" / "bad.jpg").unlink()
    out = tmp_path / "out"
    result = run("sharpen", photos / "**" / "*.*", "--out-dir", out,
                 "--output-template", "{parent}-{stem}.{filter}{ext}", "--format", "png")
    assert result.exit_code == 0, result.output
    assert files_under(out) == ["a/a-p1.sharpen.png", "a/a-p2.sharpen.png", "b/b-q1.sharpen.png"]
    for name, src in [("a/a-p1.sharpen.png", "a/p1.jpg"), ("b/b-q1.sharpen.png", "b/q1.png")]:
        single = tmp_path / f"single-{Path(src).stem}.png"  # the same file through the two-path form
        assert run("sharpen", photos / src, single).exit_code == 0
        assert np.array_equal(np.asarray(Image.open(out / name)), np.asarray(Image.open(single)))


@pytest.mark.parametrize("template", ["{stem", "{nope}{ext}", "{0}{ext}", "{stem}}"])
def test_malformed_output_template_is_a_usage_error_before_anything_runs(photos, tmp_path, template):
    out = tmp_path / "out"
    result = run("blur", photos / "**" / "*.*", "--out-dir", out, "--output-template", template)
    assert result.exit_code == 2 and "--output-template" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_chain_equals_filters_applied_in_turn(tmp_path):
    out = tmp_path / "chain.png"
    result = run("apply", SAMPLES / "camera.png", out, "--step", "blur sigma=1.5", "--step", "sharpen amount=0.5")
    assert result.exit_code == 0, result.output
    pixels = np.asarray(Image.open(SAMPLES / "camera.png"))[:, :, None]
    expected = apply_filter(apply_filter(pixels, blur(1.5), 255.0), sharpen(0.5), 255.0)
    expected = np.clip(np.rint(expected[:, :, 0]), 0, 255)
    assert np.abs(np.asarray(Image.open(out)).astype(int) - expected).max() <= 1


@pytest.mark.parametrize("step", ["nope sigma=1", "blur sigma", "blur sigma=abc", "blur bogus=1"])
def test_bad_steps_are_usage_errors(step, tmp_path):
    result = run("apply", SAMPLES / "camera.png", tmp_path / "x.png", "--step", step)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "x.png").exists()


def test_dask_local_cluster_matches_local_run(photos, tmp_path):
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    (photos / "a" / "bad.jpg").unlink()
    assert run("blur", photos / "**" / "*.*", "--out-dir", tmp_path / "local", "--sigma", "1.0").exit_code == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run("blur", photos / "**" / "*.*", "--out-dir", tmp_path / "dask", "--sigma", "1.0",
                     "--scheduler", cluster.scheduler_address)
        assert result.exit_code == 0, result.output
        # --threads is what the engines use inside the cluster's workers (the plans come from there)
        threads = run("blur", photos / "**" / "*.*", "--out-dir", tmp_path / "threads", "--algo", "fft",
                      "--threads", "3", "-v", "--scheduler", cluster.scheduler_address)
    assert threads.exit_code == 0, threads.output
    lines = engine_lines(threads.output)
    assert len(lines) == 3 and all("[numpy, 3 thread(s)]" in line for line in lines), lines
    names = files_under(tmp_path / "local")
    assert names == files_under(tmp_path / "dask") and len(names) == 3
    for name in names:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()


def test_unreachable_scheduler_is_one_line_and_writes_nothing(photos, tmp_path):
    pytest.importorskip("dask.distributed")
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    out = tmp_path / "out"
    result = run("blur", photos / "a" / "p1.jpg", photos / "a" / "p2.jpg", "--out-dir", out, "--scheduler", address)
    assert result.exit_code == 2, result.output
    assert f"cannot reach the Dask scheduler at {address}" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_dask_reports_failures_like_local(photos, tmp_path):
    pytest.importorskip("dask.distributed")
    result = run("blur", photos / "a" / "*.jpg", "--out-dir", tmp_path / "out", "--dask", "--jobs", "2")
    assert result.exit_code == 1
    assert "bad.jpg" in result.output and "2 done, 0 skipped, 1 failed" in result.output


def test_stdin_to_stdout_pipeline_of_three_commands(tmp_path):
    """cat in.jpg | imgconv blur - - | imgconv sharpen - - --format jpg | imgconv sobel - out.png"""
    import subprocess
    import sys

    out = tmp_path / "edges.png"
    imgconv = [sys.executable, "-m", "imgconv.cli"]
    with open(SAMPLES / "coffee.jpg", "rb") as source:
        blur_p = subprocess.Popen(imgconv + ["blur", "-", "-"], stdin=source, stdout=subprocess.PIPE)
        sharpen_p = subprocess.Popen(imgconv + ["sharpen", "-", "-", "--format", "jpg"], stdin=blur_p.stdout,
                                     stdout=subprocess.PIPE)
        blur_p.stdout.close()
        try:
            sobel_p = subprocess.run(imgconv + ["sobel", "-", str(out)], stdin=sharpen_p.stdout, timeout=300)
            sharpen_p.stdout.close()
            assert blur_p.wait(timeout=300) == 0 and sharpen_p.wait(timeout=300) == 0 and sobel_p.returncode == 0
        finally:
            for proc in (blur_p, sharpen_p):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=60)
    with Image.open(out) as img:
        assert img.mode == "L" and img.size == (600, 400)


def test_stdout_defaults_to_png_and_equals_a_file_output(tmp_path):
    data = (SAMPLES / "camera.png").read_bytes()
    piped = CliRunner().invoke(cli, ["box", "-", "-", "--size", "5"], input=data)
    assert piped.exit_code == 0
    assert run("box", SAMPLES / "camera.png", tmp_path / "box.png", "--size", "5").exit_code == 0
    assert piped.stdout_bytes[:8] == b"\x89PNG\r\n\x1a\n"
    from io import BytesIO

    assert np.array_equal(np.asarray(Image.open(BytesIO(piped.stdout_bytes))),
                          np.asarray(Image.open(tmp_path / "box.png")))


def test_bad_stdin_and_bad_format_are_clean_errors():
    result = CliRunner().invoke(cli, ["blur", "-", "-"], input=b"not an image")
    assert result.exit_code == 1 and "stdin" in result.output and not result.stdout_bytes.startswith(b"\x89PNG")
    assert run("blur", SAMPLES / "camera.png", "-", "--format", "xyz").exit_code == 2


def test_ctrl_c_stops_a_batch_with_no_partial_output(tmp_path):
    """SIGINT to the whole process group mid-batch: exit 130, and every output there is complete.

    The interrupt is sent once the first output exists -- a sign that work has started, however long
    starting took (imports, a cold Numba cache) -- and the other 59 files take seconds more, so it
    always lands on work in flight; the test asserts that it did (exit 130, some outputs but not all).
    """
    import signal
    import subprocess
    import sys
    import time

    count = 60
    folder = tmp_path / "in"
    folder.mkdir()
    photo = Image.open(SAMPLES / "coffee.jpg").resize((1600, 1200))
    for i in range(count):
        photo.save(folder / f"p{i:02d}.jpg", quality=90)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "imgconv.cli", "blur", str(folder / "*.jpg"), "--out-dir", str(out),
                             "--sigma", "8", "--jobs", "2"], stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not any(out.glob("*.jpg")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(out.glob("*.jpg")) and proc.poll() is None, "the batch never started writing, or ended first"
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    written = sorted(out.glob("*"))
    assert proc.returncode == 130, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert 0 < len(written) < count  # the interrupt stopped a batch in flight
    for path in written:
        assert not path.name.startswith(".")  # no temporary file left behind
        with Image.open(path) as img:
            img.load()  # complete: decodes to the end


def test_progress_bar_on_a_terminal_and_silent_otherwise(photos, tmp_path):
    """stderr on a pseudo-terminal: the bar (files done, Mpx/s, ETA) and the summary; --quiet: neither."""
    import pty
    import re
    import select
    import subprocess
    import sys
    import time

    (photos / "a" / "bad.jpg").unlink()

    def stderr_on_a_tty(*extra):
        leader, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "imgconv.cli", "blur", str(photos / "**" / "*.*"),
                                 "--out-dir", str(tmp_path / f"out{len(extra)}"), *extra],
                                stderr=follower, stdout=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        deadline = time.monotonic() + 120
        try:
            while True:
                ready, _, _ = select.select([leader], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    pytest.fail(f"the batch's terminal output did not end within 120 s: {b''.join(chunks)!r}")
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert proc.wait(timeout=120) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=60)
            os.close(leader)
        text = b"".join(chunks).decode("utf-8", "replace")
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # without the terminal's colour codes

    shown = stderr_on_a_tty()
    assert "filtering" in shown and "3/3" in shown and "Mpx/s" in shown and "ETA" in shown
    assert "3 done, 0 skipped, 0 failed" in shown
    assert stderr_on_a_tty("--quiet").strip() == ""
