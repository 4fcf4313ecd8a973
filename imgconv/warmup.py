"""`imgconv warmup`: compile the engines' jitted loops for this CPU now, instead of on first use.

The loops `pip install` compiled ahead of time (imgconv._loops) need nothing.  Their jitted versions --
what runs a huge image on several threads, and everything where no C compiler was there at install --
compile the first time they run with given argument types, then load from Numba's on-disk cache in
milliseconds.  warmup() compiles every entry loop (imgconv.engine.loops.entry_loops) for exactly the
signatures built ahead of time, with Numba's public `Dispatcher.compile`, in two processes at once.
"""

from __future__ import annotations

import time


def jobs() -> list[tuple[str, str, str]]:
    """(module, entry loop, signature) for every entry loop and every signature it is built for."""
    from .engine.loops import entry_loops

    return [(entry.py_func.__module__, entry.__name__, signature)
            for entry in entry_loops() for _, signature in entry.signatures()]


def _compile(job) -> tuple:
    """Compile (or load from the cache) one jitted loop for one signature; seconds taken.

    The signature is given as its argument types (a tuple), as a call with arrays would type it: Numba
    files its cache under what `compile` is given, and a call then finds it there."""
    import importlib

    from numba import types

    module, name, signature = job
    start = time.perf_counter()
    entry = getattr(importlib.import_module(module), name)
    arguments = eval(signature, {"__builtins__": {}}, vars(types)).args  # our own strings, Numba's type names
    entry.jitted.compile(arguments)
    return job, time.perf_counter() - start


def warmup(processes: int = 2) -> list[tuple[str, str, str, float]]:
    """Compile every job; (module, entry loop, signature, seconds) for each."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [(*job, seconds) for job, seconds in pool.map(_compile, jobs())]


def render(rows, console) -> None:
    from rich.table import Table

    table = Table("loop", "signature", "seconds", title="imgconv warmup")
    for module, name, signature, seconds in rows:
        table.add_row(f"{module.rsplit('.', 1)[-1]}.{name}", signature, f"{seconds:.2f}")
    console.print(table)
