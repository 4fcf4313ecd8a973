"""Atomic file writes: nothing is ever visible at the output path but the complete file.

The data goes to an unnamed temporary file in the output's folder (Linux O_TMPFILE, so even a killed
process leaves nothing behind), is synced, and is given its name by a rename; where the system or the
filesystem has no O_TMPFILE, to a hidden `.NAME.*.part` file instead, removed on every error.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from ..errors import ImgconvError


def write_atomic(path, data: bytes) -> None:
    """Replace `path` with `data` all at once: nothing is ever visible at `path` but the complete file,
    and nothing is left behind on any failure (an error, Ctrl-C, a full disk or, with O_TMPFILE, a kill)."""
    path = Path(path)
    directory = path.parent
    mode = None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # replacing a file keeps its permissions
    except OSError:
        pass
    try:
        _write_tmpfile(directory, path, data, mode)
    except ImgconvError:
        raise
    except PermissionError:
        raise ImgconvError(f"{path}: permission denied (cannot write in {directory})") from None
    except FileNotFoundError:
        raise ImgconvError(f"{path}: the folder {directory} does not exist") from None
    except OSError as e:
        reason = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
        raise ImgconvError(f"{path}: cannot write: {reason}") from None


def _write_tmpfile(directory: Path, path: Path, data: bytes, mode) -> None:
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    except (AttributeError, OSError) as e:  # no O_TMPFILE here (not Linux, or the filesystem lacks it)
        if isinstance(e, (PermissionError, FileNotFoundError)):
            raise
        return _write_named_tmp(directory, path, data, mode)
    temp = directory / f".{path.name}.{secrets.token_hex(4)}.part"
    linked = False
    try:
        _write_all(fd, data)
        if mode is not None:
            os.fchmod(fd, mode)
        try:
            os.link(f"/proc/self/fd/{fd}", temp, follow_symlinks=True)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            os.close(fd)
            fd = -1
            return _write_named_tmp(directory, path, data, mode)
        linked = True
        os.replace(temp, path)
        linked = False
    finally:
        if fd >= 0:
            os.close(fd)
        if linked:
            temp.unlink(missing_ok=True)
    _sync_dir(directory)


def _write_named_tmp(directory: Path, path: Path, data: bytes, mode) -> None:
    import tempfile  # only here, where there is no O_TMPFILE

    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    try:
        _write_all(fd, data)
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(temp).unlink(missing_ok=True)
        raise
    _sync_dir(directory)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
