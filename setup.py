"""Build step: compile the engines' Numba loops ahead of time into the extension imgconv._loops.

numba.pycc turns every entry loop (imgconv.engine.loops) into machine code for this CPU, so a fresh
process filters at once instead of importing Numba (~0.3 s) or compiling (seconds).  Where that cannot
be done (no C compiler, an unusual platform) the build goes on without it and imgconv compiles the
same loops just in time on first use.  Everything else about the package is in pyproject.toml.
"""

import os
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildLoops(build_ext):
    def build_extension(self, ext):
        target = os.path.abspath(self.get_ext_fullpath(ext.name))
        output_dir = os.path.dirname(target)
        os.makedirs(output_dir, exist_ok=True)
        in_place = os.path.join(HERE, *ext.name.split(".")[:-1], os.path.basename(target))
        # A failed build must not leave an older one in use; the tree's copy is the editable install's,
        # so only an editable or in-place build removes it (`pip install .` from the tree leaves it be).
        editable = self.inplace or getattr(self, "editable_mode", False)
        for stale in {target, in_place} if editable else {target}:
            if os.path.exists(stale):
                os.remove(stale)
        sys.path.insert(0, HERE)
        with tempfile.TemporaryDirectory() as cache:
            os.environ["NUMBA_CACHE_DIR"] = cache  # nothing of the build's JIT is left in the tree
            try:
                from imgconv.engine.loops import build

                build(output_dir)
            except Exception as e:  # noqa: BLE001 - any failure: install without, compile at run time
                raise CompileError(f"imgconv: could not compile the engines ahead of time ({type(e).__name__}: "
                                   f"{e}); they will be compiled just in time on first use") from e


# optional: a failed build is a warning, and the package installs without the extension.
setup(ext_modules=[Extension("imgconv._loops", sources=[], optional=True)], cmdclass={"build_ext": BuildLoops})
