"""Safety: never overwrite an input, never leave a partial output or a stray temporary file.

Permission tests need the kernel to refuse a read or a write.  As an unprivileged user the file or
folder is really chmod-ed; as root (as in CI), whom chmod does not stop, the call imgconv makes
(`open` in imgconv.io.reading, `os.open` for the write) is replaced in this process by one raising
the PermissionError the kernel would raise, and the CLI runs in-process (click's CliRunner).
"""

import errno
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imgconv.io.reading
from imgconv.cli import cli
from imgconv.errors import ImgconvError
from imgconv.io import load, save

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


@pytest.fixture
def photo(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


# --------------------------------------------------------------------------------- never overwrite

def test_output_equal_to_input_is_refused(photo):
    path, pixels = photo
    before = path.read_bytes()
    result = run("blur", path, path)
    assert result.exit_code == 1 and "is the input file" in result.output and "--overwrite" in result.output
    assert path.read_bytes() == before


def test_output_equal_to_input_through_another_name_is_refused(photo, tmp_path):
    path, _ = photo
    link = tmp_path / "same.png"
    os.link(path, link)
    result = run("blur", path, link)
    assert result.exit_code == 1 and "is the input file" in result.output


def test_overwrite_and_in_place_may_replace_the_input(photo):
    path, pixels = photo
    assert run("blur", path, path, "--overwrite").exit_code == 0
    assert not np.array_equal(np.asarray(Image.open(path)), pixels)
    changed = path.read_bytes()
    assert run("blur", path, "--in-place").exit_code == 0
    assert path.read_bytes() != changed
    assert listing(path.parent) == ["photo.png"]


def test_in_place_takes_several_files_and_no_out_dir(photo, tmp_path):
    path, _ = photo
    other = tmp_path / "other.png"
    shutil.copy(path, other)
    assert run("blur", path, other, "--in-place").exit_code == 0
    assert run("blur", path, "--in-place", "--out-dir", tmp_path / "o").exit_code == 2


def test_existing_output_is_refused_unless_overwrite(photo, tmp_path):
    path, _ = photo
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    result = run("blur", path, out)
    assert result.exit_code == 1 and "already exists" in result.output
    assert out.read_bytes() == b"precious"
    assert run("blur", path, out, "--overwrite").exit_code == 0
    assert load(out).pixels.shape == (20, 24, 3)


def test_overwriting_keeps_the_files_permissions(photo, tmp_path):
    path, _ = photo
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    out.chmod(0o640)
    assert run("blur", path, out, "--overwrite").exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_new_output_gets_the_umask_permissions(photo, tmp_path):
    path, _ = photo
    old = os.umask(0o022)
    try:
        assert run("blur", path, tmp_path / "new.png").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.png").stat().st_mode) == 0o644


# ------------------------------------------------------------------------------------- atomic writes

PIXELS = np.random.default_rng(4).integers(0, 256, (64, 64, 3), dtype=np.uint8)


@pytest.fixture(params=["O_TMPFILE", "named temporary file"])
def write_path(request, monkeypatch):
    """Run each atomic-write test both ways: O_TMPFILE and the mkstemp fallback."""
    if request.param != "O_TMPFILE":
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    return request.param


def test_encoder_error_leaves_nothing(tmp_path, monkeypatch, write_path):
    def broken(self, fp, format=None, **params):
        raise OSError("encoder error -2")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(ImgconvError, match="encoder error"):
        save(PIXELS, tmp_path / "out.png", alpha=False)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch, write_path, failure):
    out = tmp_path / "out.png"
    out.write_bytes(b"the old output")
    real_write = os.write

    def half_then_fail(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise failure

    monkeypatch.setattr(os, "write", half_then_fail)
    expected = ImgconvError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as caught:
        save(PIXELS, out, alpha=False)
    if isinstance(failure, OSError):
        assert "disk is full" in str(caught.value)
    assert listing(tmp_path) == ["out.png"] and out.read_bytes() == b"the old output"


def test_failure_at_the_rename_leaves_no_temp(tmp_path, monkeypatch, write_path):
    def no_rename(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(ImgconvError, match="Input/output error"):
        save(PIXELS, tmp_path / "out.png", alpha=False)
    assert listing(tmp_path) == []


def test_full_disk_through_the_cli_is_one_line(photo, tmp_path, monkeypatch):
    path, _ = photo

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    result = run("blur", path, tmp_path / "out.png")
    assert result.exit_code == 1 and "disk is full" in result.output and "Traceback" not in result.output
    assert listing(tmp_path) == ["photo.png"]


def test_a_killed_process_leaves_nothing(tmp_path):
    """SIGKILL in the middle of writing (after the data, before the rename): O_TMPFILE leaves no trace."""
    if not hasattr(os, "O_TMPFILE"):
        pytest.skip("no O_TMPFILE on this system")
    try:
        os.close(os.open(tmp_path, os.O_TMPFILE | os.O_WRONLY))
    except OSError:
        pytest.skip("this filesystem has no O_TMPFILE")
    script = textwrap.dedent(f"""
        import os, signal, sys
        import numpy as np
        import imgconv.io as imgio
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        imgio.save(np.zeros((300, 300, 3), np.uint8), {str(tmp_path / "out.png")!r}, alpha=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert listing(tmp_path) == []


def test_output_folder_missing_is_a_clear_error(photo, tmp_path):
    path, _ = photo
    result = run("blur", path, tmp_path / "no" / "such" / "out.png")
    assert result.exit_code == 1 and "does not exist" in result.output


# ------------------------------------------------------------------------------------ permissions
#
# Root reads and writes anything, so as root (CI) the refusal the kernel would give is simulated at the
# one call imgconv makes; as any other user the files are really chmod-ed.

def test_unreadable_input_is_one_line(photo, tmp_path, monkeypatch):
    path, _ = photo
    if os.geteuid() == 0:
        real_open = open

        def refuse(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(imgconv.io.reading, "open", refuse, raising=False)
    else:
        path.chmod(0o000)
    result = run("blur", path, tmp_path / "out.png")
    assert result.exit_code == 1 and "permission denied" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert listing(tmp_path) == ["photo.png"]


def test_write_permission_denied_is_one_line_and_leaves_nothing(photo, tmp_path, monkeypatch, write_path):
    path, _ = photo
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        real_open = os.open

        def refuse(file, flags, *args, **kwargs):
            if Path(file) == locked or Path(file).parent == locked:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    else:
        locked.chmod(0o555)
    result = run("box", path, locked / "out.png")
    assert result.exit_code == 1 and "permission denied" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert listing(locked) == []
