"""Numba loops, compiled two ways from one source: ahead of time at install, or just in time.

`@loop` marks a function written in the Numba subset.  Nothing is compiled when a module defining
loops is imported, so planning never loads Numba.  A loop can then run two ways:

* ahead of time (`aot`): `pip install` compiles every entry loop (one that declares `exports`) for
  each pair of image and result types into the extension module `imgconv._loops` with numba.pycc
  (see setup.py).  Importing it takes under a millisecond and never imports Numba, so a fresh
  process filters at once.  Such functions hold the GIL: they run on one thread.
* just in time (`jit`): `Loop.jitted` is `numba.njit(cache=True, nogil=True)` of the same function,
  compiled on first use (or loaded from Numba's on-disk cache) once Numba is imported (~0.3 s).  Loops
  release the GIL, so engines run row ranges of one image on several threads (`threads.run_rows`).
  This is also the fallback where no C compiler was available at install.

Loops call other loops by name.  For Numba to compile such a call, a `Loop` object met as a global is
typed as its jitted dispatcher (`numba.extending.typeof_impl`, Numba's public extension API).
Entry loops take the output rows they fill as their first two arguments (`first`, `end`).
"""

from __future__ import annotations

import importlib
import sys

#: Image and result types each entry loop is compiled for ahead of time (Numba's type codes).
#: Other types are converted to float32 first (images) or stored through a float32 result (results).
AOT_IMAGE_TYPES = ("u1", "f4")
AOT_RESULT_TYPES = ("u1", "f4")
#: The type an engine sums a row of an image's values in: float32 holds sums of up to 65793 uint8
#: values exactly (an engine given a longer row widens the image first); float64 for float images.
SUM_TYPES = {"u1": "f4", "f4": "f8"}

_aot_module = None


class Loop:
    """A function in the Numba subset, compiled when first needed (see the module docstring).

    exports: the signature of an entry loop with `{image}` and `{result}` where the image's and the
    result's Numba type codes go, e.g. "void(intp, intp, {image}[:, ::1], {result}[:, ::1])", and
    `{sum}` for SUM_TYPES[image].
    images, results: the image and result types it is compiled for ahead of time.
    options: extra numba.njit options.  Entry loops take none: pycc compiles them with its defaults,
    and the jitted version must compute exactly what the ahead-of-time one does.
    """

    def __init__(self, function, exports: str | None = None, images=AOT_IMAGE_TYPES, results=AOT_RESULT_TYPES,
                 **options):
        self.py_func = function
        self.exports = exports
        self.images = images
        self.results = results
        self.options = options
        self.__name__ = function.__name__
        self.__doc__ = function.__doc__
        self._jitted = None

    def __repr__(self):
        return f"<loop {self.py_func.__module__}.{self.__name__}>"

    @property
    def jitted(self):
        """The Numba dispatcher (imports Numba, compiles or loads from cache on first call)."""
        if self._jitted is None:
            from numba import njit

            teach_numba()
            self._jitted = njit(cache=True, nogil=True, **self.options)(self.py_func)
        return self._jitted

    def export_name(self, image: str, result: str) -> str:
        return f"{self.py_func.__module__.rsplit('.', 1)[-1]}_{self.__name__}__{image}_{result}"

    def signatures(self):
        """(export name, signature) for every ahead-of-time variant of an entry loop."""
        return [(self.export_name(i, r), self.exports.format(image=i, result=r, sum=SUM_TYPES[i]))
                for i in self.images for r in self.results]

    def compiled(self, image_dtype, result_dtype):
        """The ahead-of-time function for these types, or None (not built, or not these types)."""
        module = aot_module()
        if module is None:
            return None
        return getattr(module, self.export_name(type_code(image_dtype), type_code(result_dtype)), None)

    def is_loaded(self) -> bool:
        """Has the jitted version been compiled or loaded from the cache in this process?"""
        return self._jitted is not None and bool(self._jitted.signatures)


def loop(function=None, *, exports: str | None = None, images=AOT_IMAGE_TYPES, results=AOT_RESULT_TYPES,
         **options):
    """Decorator: `@loop` for a helper loop, `@loop(exports="void(...)")` for an entry loop."""
    if function is None:
        return lambda f: Loop(f, exports, images, results, **options)
    return Loop(function, exports, images, results, **options)


def function_for(entry: Loop, runner: str, image_dtype, result_dtype):
    """What runs `entry`: its ahead-of-time build for runner "aot" (when built for these types), else
    its jitted version."""
    if runner == "aot":
        function = entry.compiled(image_dtype, result_dtype)
        if function is not None:
            return function
    return entry.jitted


def type_code(dtype) -> str:
    """Numba's type code of a numpy dtype ("u1", "f4"...), as entry loops' `images` and `results` name them."""
    import numpy as np

    return {"uint8": "u1", "float32": "f4", "uint16": "u2", "float64": "f8"}.get(np.dtype(dtype).name, "?")


def aot_module():
    """imgconv._loops if it was built at install (and IMGCONV_JIT is not set), else None."""
    global _aot_module
    if _aot_module is None:
        import os

        if os.environ.get("IMGCONV_JIT"):
            _aot_module = False
        else:
            try:
                _aot_module = importlib.import_module("imgconv._loops")
            except ImportError:
                _aot_module = False
    return _aot_module or None


def numba_loaded() -> bool:
    return "numba" in sys.modules


_taught = False


class IRLoop(Loop):
    """A helper loop whose jitted version is LLVM IR made by `build()` (a Numba intrinsic, built on first
    use, so importing an engine never imports Numba); loops call it by name like any other helper, and
    `function` is what it computes in plain Python (NumPy), for the tests."""

    def __init__(self, function, build):
        super().__init__(function)
        self._build = build

    @property
    def jitted(self):
        if self._jitted is None:
            from numba import njit

            teach_numba()
            self._jitted = njit(nogil=True)(self._build())
        return self._jitted


def teach_numba() -> None:
    """Let Numba type a Loop met as a global as its jitted dispatcher (so loops can call loops)."""
    global _taught
    if _taught:
        return
    from numba.core import types
    from numba.extending import typeof_impl

    @typeof_impl.register(Loop)
    def _typeof_loop(value, context):
        return types.Dispatcher(value.jitted)

    _taught = True


def entries(module) -> list[Loop]:
    """The entry loops a module defines."""
    return [v for v in vars(module).values() if isinstance(v, Loop) and v.exports]


def entry_loops() -> list[Loop]:
    """Every entry loop of every registered engine and of the pointwise steps (what setup.py compiles
    ahead of time and `imgconv warmup` compiles just in time)."""
    from . import ENGINES, engine, pointwise

    return [entry for module in [engine(name) for name in ENGINES] + [pointwise] for entry in entries(module)]


def build(output_dir: str, module_name: str = "_loops") -> None:
    """Compile every entry loop ahead of time into `output_dir`/`module_name`.so (numba.pycc)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending-deprecation notice
        from numba.pycc import CC

    teach_numba()
    cc = CC(module_name, source_module="imgconv.engine.loops")
    cc.output_dir = output_dir
    cc.target_cpu = "host"  # built on the machine that runs it, like the JIT
    for entry in entry_loops():
        for name, signature in entry.signatures():
            cc.export(name, signature)(entry.py_func)
    cc.compile()
