"""Decoder and encoder log messages become --verbose notes instead of stray stderr lines."""

from __future__ import annotations

import logging
from contextlib import contextmanager

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
