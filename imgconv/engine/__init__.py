"""The convolution engines, one module per algorithm, and the planner that chooses between them.

Every engine module has the same face: `run(padded, plan, out)`, where `padded` is an H'xW'xC float32
image already border-padded (see imgconv.border), `plan` is the planner's Plan, and `out` is the HxWxC
float32 result to fill with the valid cross-correlation of `padded` with `plan.kernel.taps`.
Engine modules are imported only when a plan picks them, so numba loads only when it is needed.
"""

ALGORITHMS = ("direct", "im2col", "separable", "fft", "sat")

#: Set by the CLI (imgconv.warmup.announce): compile_notice(algo, image_dtype, out_dtype) returns a
#: context manager entered around an engine run, which shows a spinner if Numba is about to compile.
compile_notice = None

#: Set by the CLI for a one-file run (imgconv.warmup.announce): the planner may then run a small filter on
#: numpy (engine/numpy_runner.py) rather than load Numba.  Off for the library and for batch workers, so
#: their results never depend on whether Numba happened to be loaded.
numpy_runner_allowed = False
