"""The convolution engines, one module per algorithm, and the planner that chooses between them.

Every engine module has the same face: `run(src, plan, out)`.  `src` is an imgconv.border.Source
-- the unpadded image (float32 or uint8) plus the index maps that say which image row/column each padded
row/column copies.  `plan` is the planner's Plan, and `out` is the HxWxC result (float32, or an integer
type: rounded half-to-even and clipped) to fill with the valid cross-correlation of the padded image
with `plan.kernel.taps`.  Engines read padded rows through the maps and never branch on the border mode.
direct and im2col also have `run_many(src, plans, out, magnitude_scale=None)`: several same-sized
kernels in one pass (Sobel x and y, optionally with their gradient magnitude).

Engine modules are imported only when a plan picks them, so Numba loads only when it is needed;
numpy_runner.py runs direct/separable/sat without Numba for a one-file CLI run where loading Numba
would cost more than the filter (see planner.plan), and pointwise.py holds the luminance kernel.
"""

ALGORITHMS = ("direct", "im2col", "separable", "fft", "sat")

#: Set by the CLI (imgconv.warmup.announce): compile_notice(algo, image_dtype, out_dtype) returns a
#: context manager entered around an engine run, which shows a spinner if Numba is about to compile.
compile_notice = None

#: Set by the CLI for a one-file run (imgconv.warmup.announce): the planner may then run a small filter on
#: numpy (engine/numpy_runner.py) rather than load Numba.  Off for the library and for batch workers, so
#: their results never depend on whether Numba happened to be loaded.
numpy_runner_allowed = False
