"""Decoder and encoder log messages become --verbose notes instead of stray stderr lines."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager

#: Held while file descriptor 2 is swapped for a capture (c_stderr; re-entrant: captures nest).
_FD2 = threading.RLock()
#: Loggers of the libraries that decode and encode for imgconv.
LOGGERS = ("PIL", "tifffile", "imagecodecs")


class _NoteHandler(logging.Handler):
    def __init__(self, notes):
        super().__init__(logging.WARNING)
        self.notes = notes

    def emit(self, record):
        self.notes.append(f"decoder: {record.getMessage()}")


@contextmanager
def as_notes(notes: list):
    """Pillow, tifffile and imagecodecs log odd files' problems to stderr; make them notes instead
    (the error itself, if any, is reported once, as one line)."""
    handler = _NoteHandler(notes)
    # libpng's complaint that imagecodecs did not ask for interlace handling: libpng turns it on itself
    handler.addFilter(lambda record: "Interlace handling should be turned on" not in record.getMessage())
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, propagate in zip(loggers, saved):
            logger.removeHandler(handler)
            logger.propagate = propagate


@contextmanager
def c_stderr(lines: list):
    """What C code writes straight to file descriptor 2 meanwhile (libtiff's error handler, which Pillow
    leaves in place, prints "Using code not yet in table." for a damaged LZW strip), collected into
    `lines` instead of shown.  File descriptor 2 is the process's: one thread at a time swaps it (two
    interleaved swaps could leave it pointing at the other's file), and only around one decoder call."""
    sys.stderr.flush()
    with _FD2, tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines += capture.read().decode(errors="replace").splitlines()
