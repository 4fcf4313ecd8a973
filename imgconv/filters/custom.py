"""A user's own kernel as a Filter, with the extras kernel files can ask for."""

from __future__ import annotations

from functools import partial

from .base import Filter, first_response
from .emboss import _add_offset


def custom(kernel, *, correlate: bool = False, offset: float = 0.0, name: str = "convolve") -> Filter:
    """Convolve (or correlate) with `kernel`, then add `offset` times white (a libvips .mat offset).

    ``custom(**vars(imgconv.syntax.load_kernel(path)))``-style use: KernelFile's taps, correlate and
    offset map onto these arguments (a user's --correlate flips `correlate`).
    """
    finish = partial(_add_offset, offset=float(offset)) if offset else first_response
    return Filter(name, (kernel,), finish=finish, correlate=correlate)
