"""The `imgconv` command: a thin click layer over imgconv.filters and imgconv.job.

Heavy imports (numpy, numba, Pillow, rich) happen inside commands, so `imgconv --help` starts fast.
Exit codes: 0 ok, 1 an input failed, 2 usage error (bad option, kernel or output name).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys

import click

BORDERS = ("reflect", "mirror", "nearest", "wrap", "constant")
ALGOS = ("auto", "direct", "im2col", "separable", "fft", "sat")


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


class CliError(click.ClickException):
    """A one-line, rich-styled error with an exit code (1 failed input, 2 usage)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None):
        from rich.markup import escape

        _stderr().print(f"[bold red]imgconv:[/] {escape(self.message)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="imgconv")
def cli():
    """Fast image filters. Every filter is a convolution kernel, run on the engine that suits it best.

    \b
    Examples:
      imgconv blur photo.jpg soft.jpg --sigma 3
      imgconv sobel photo.jpg edges.png
      imgconv convolve photo.jpg out.png --kernel "1 2 1; 2 4 2; 1 2 1" --normalize
      imgconv kernels show sobel-x
    """


COMMON_OPTIONS = [
    click.option("--algo", type=click.Choice(ALGOS), default="auto", show_default=True,
                 help="Engine to use; auto picks the fastest for the kernel and image."),
    click.option("--border", type=click.Choice(BORDERS), default="reflect", show_default=True,
                 help="How pixels beyond the edge are filled (scipy.ndimage's mode names)."),
    click.option("--cval", type=float, default=0.0, show_default=True,
                 help="Border value for --border constant, as a fraction of white (0 black, 1 white)."),
    click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
                 help="JPEG/WebP quality."),
    click.option("--overwrite", is_flag=True, help="Replace an existing output (even the input itself)."),
    click.option("--in-place", is_flag=True, help="Write each output over its own input: give IN... and no OUT."),
    click.option("--strip", is_flag=True, help="Drop metadata on purpose (EXIF, ICC profile, XMP, text)."),
    click.option("--linear", is_flag=True,
                 help="Blur in linear light (sRGB decoded, filtered, encoded again): no dark fringes between colours."),
    click.option("--max-pixels", type=click.IntRange(min=0), metavar="N",
                 help="Refuse images over N pixels, a decompression-bomb guard (default: Pillow's 178956970; 0: none)."),
    click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error."),
    click.option("--threads", type=click.IntRange(min=1), help="Threads for the engines (default: all cores)."),
    click.option("-v", "--verbose", is_flag=True, help="Print the chosen engine, why, and the time taken."),
]

class ByteSize(click.ParamType):
    """A size like 512M, 2G or 1500000 (bytes)."""

    name = "size"
    UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        number, unit = text.rstrip("KMGT"), text[len(text.rstrip("KMGT")):]
        try:
            size = int(float(number) * self.UNITS[unit])
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size like 512M or 2G", param, ctx)
        if size <= 0:
            self.fail(f"{value!r} must be more than zero", param, ctx)
        return size


BATCH_OPTIONS = [
    click.option("-o", "--out-dir", type=click.Path(file_okay=False), help="Write every output into this folder."),
    click.option("--output-template", default="{name}", show_default=True,
                 help="Output file name under --out-dir; fields {stem} {ext} {name} {parent} {filter}."),
    click.option("--format", "fmt", help="Output format for --out-dir or stdout (png, jpg, tif, webp...)."),
    click.option("-j", "--jobs", type=click.IntRange(min=1), help="Files processed in parallel (default: cores)."),
    click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary."),
    click.option("--fail-fast", is_flag=True, help="Stop at the first file that fails."),
    click.option("--skip-existing", is_flag=True, help="Skip inputs whose output exists (resume a batch)."),
    click.option("--dask", "scheduler", flag_value="local", help="Run the batch on a local Dask cluster."),
    click.option("--scheduler", "scheduler", metavar="tcp://HOST:PORT", help="Run the batch on a Dask cluster."),
    click.option("--tile-rows", type=click.IntRange(min=1), help="Filter huge images in strips of this many rows."),
    click.option("--max-memory", type=ByteSize(), default="1G", show_default=True,
                 help="Working memory per image (beyond input and output); bigger images go in strips."),
]


def _with_options(options, command):
    for option in reversed(options):
        command = option(command)
    return command


def filter_command(builder):
    """Turn a Filter builder (its own options already attached) into an `imgconv NAME IN... OUT` command.

    The builder's own parameters build the Filter; every other option is a run setting: those named
    like job.Options' fields go there, the rest steer the batch.
    """
    own = set(inspect.signature(builder).parameters)

    @functools.wraps(builder)
    def command(paths, **params):
        settings = {k: params.pop(k) for k in list(params) if k not in own}
        _run(paths, [_build(builder, params)], settings)

    command = _with_options(COMMON_OPTIONS + BATCH_OPTIONS, command)
    command = click.argument("paths", nargs=-1, metavar="IN... OUT")(command)
    command = cli.command(name=builder.__name__)(command)
    FILTER_BUILDERS[command.name] = (command, builder, own)
    return command


#: name -> (click command, Filter builder, the builder's own parameter names); `apply --step` uses it.
FILTER_BUILDERS = {}


def _parse_step(text: str):
    """'blur sigma=1.5' -> the Filter `imgconv blur --sigma 1.5` would build (click converts the values)."""
    import shlex

    words = shlex.split(text)
    if not words or words[0] not in FILTER_BUILDERS:
        raise CliError(f"--step {text!r}: start with a filter name ({', '.join(FILTER_BUILDERS)})", exit_code=2)
    command, builder, own = FILTER_BUILDERS[words[0]]
    args = []
    for word in words[1:]:
        key, equals, value = word.partition("=")
        if not equals:
            raise CliError(f"--step {text!r}: {word!r} should be name=value", exit_code=2)
        flag = "--" + key.replace("_", "-")
        param = next((p for p in command.params if p.name == key.replace("-", "_") and p.name in own), None)
        if param is not None and getattr(param, "is_flag", False):
            if value.lower() in ("1", "true", "yes", "on"):
                args.append(flag)
        else:
            args += [flag, value]
    try:
        ctx = command.make_context(words[0], args, resilient_parsing=False)
    except click.ClickException as e:
        raise CliError(f"--step {text!r}: {e.format_message()}", exit_code=2) from None
    return _build(builder, {k: v for k, v in ctx.params.items() if k in own})


def _build(builder, params):
    import warnings

    from .errors import ImgconvError

    try:
        with warnings.catch_warnings():  # numpy overflow warnings: the error below says it in one line
            warnings.simplefilter("ignore")
            return builder(**params)
    except ImgconvError as e:
        raise CliError(str(e), exit_code=2) from None
    except (ArithmeticError, ValueError) as e:  # e.g. a float too large for the kernel's arithmetic
        raise CliError(f"{builder.__name__}: an option value is out of range ({e})", exit_code=2) from None
    except MemoryError:
        raise CliError(f"{builder.__name__}: an option value is too large (out of memory)", exit_code=2) from None


def _run(paths, filters, settings):
    """Plan the jobs (IN OUT, or many inputs with --out-dir), run them, report, set the exit code."""
    from dataclasses import fields

    from .batch import plan_jobs, run_batch, threads_per_worker
    from .errors import ImgconvError
    from .job import Options

    options = Options(**{f.name: settings[f.name] for f in fields(Options) if f.name in settings})
    name = "+".join(f.name for f in filters)
    try:
        if options.in_place:
            jobs = _in_place_jobs(paths, settings)
        else:
            jobs = plan_jobs(paths, out_dir=settings["out_dir"], template=settings["output_template"],
                             fmt=settings["fmt"], filter_name=name)
        _check_output_names(jobs, settings["fmt"])
    except ImgconvError as e:
        raise CliError(str(e), exit_code=2) from None
    workers = min(settings["jobs"] or os.cpu_count() or 1, len(jobs))
    threads = settings["threads"] or threads_per_worker(workers)
    if workers == 1 and settings["threads"]:  # in-process: set this process's Numba pool
        from .batch import set_engine_threads

        set_engine_threads(threads)

    from .warmup import announce, precompile

    if workers == 1:
        # a spinner if this run has to compile an engine first; several files: load Numba up front
        announce(_stderr(), preload=len(jobs) > 1)
    else:
        precompile(_stderr())  # compile once here, not in every worker at once

    from .progress import BatchProgress

    with BatchProgress(len(jobs), quiet=settings["quiet"] or len(jobs) == 1) as progress:
        def on_outcome(outcome):
            progress.advance(outcome)
            if settings["verbose"] and outcome.report:
                _print_report(outcome.report, progress.console)

        summary = run_batch(jobs, filters, options, workers=workers, threads=threads,
                            skip_existing=settings["skip_existing"], fail_fast=settings["fail_fast"],
                            on_outcome=on_outcome, scheduler=settings["scheduler"])
    if len(jobs) > 1 and not settings["quiet"]:
        progress.print_summary(summary)
    if summary.interrupted:
        raise CliError("interrupted; finished outputs are complete, none is partial", exit_code=130)
    if summary.failed:  # each failure was already printed, as one line, by progress.advance
        raise click.exceptions.Exit(1)


def _in_place_jobs(paths, settings):
    """--in-place: every input is its own output."""
    from .batch import Job, expand_inputs
    from .errors import ImgconvError

    if settings["out_dir"] or "-" in paths:
        raise ImgconvError("--in-place writes each output over its input: give files, no --out-dir or stdin")
    jobs = [Job(source, source) for source, _ in expand_inputs(paths)]
    if not jobs:
        raise ImgconvError("--in-place: give the files to filter")
    return jobs


def _check_output_names(jobs, fmt=None):
    """An output name (or --format) imgconv cannot write is a usage error (exit 2), found before any file is read."""
    from .io import output_format

    for job in jobs:
        output_format(job.target, fmt)


def _print_report(report, console=None):
    from rich.markup import escape

    console = console or _stderr()
    console.print(f"[bold]{escape(report.source)}[/] -> {escape(report.target)}")
    for note in report.notes:
        console.print(f"[dim]note:[/] {escape(note)}")
    for p in report.plans:
        console.print(f"[bold]engine[/] {escape(p.describe())}")
    stages = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in report.seconds.items())
    console.print(f"[bold]time[/] {stages} ({report.megapixels:.2f} Mpx)")


@filter_command
@click.option("--sigma", type=float, default=2.0, show_default=True, help="Standard deviation in pixels.")
@click.option("--radius", type=click.IntRange(min=0), help="Kernel radius (default ceil(3*sigma)).")
def blur(sigma, radius):
    """Gaussian blur.  Example: imgconv blur in.jpg out.jpg --sigma 3"""
    from .filters import blur as build

    return build(sigma, radius)


@filter_command
@click.option("--size", type=int, default=3, show_default=True,
              help="Box width and height N (1 to 4001, as wide as the widest blur).")
def box(size):
    """Box blur: the mean of each N x N neighbourhood.  Example: imgconv box in.png out.png --size 31"""
    from .filters import box as build

    return build(size)


@filter_command
@click.option("--amount", type=float, default=1.0, show_default=True, help="Strength of the Laplacian added.")
def sharpen(amount):
    """3x3 sharpen: identity + amount * Laplacian.  Example: imgconv sharpen in.jpg out.jpg --amount 0.5"""
    from .filters import sharpen as build

    return build(amount)


@filter_command
@click.option("--sigma", type=float, default=1.0, show_default=True, help="Blur sigma of the mask.")
@click.option("--amount", type=float, default=1.0, show_default=True, help="How much detail to add back.")
@click.option("--threshold", type=float, default=0.0, show_default=True,
              help="Only sharpen where the detail exceeds this fraction of full range (0..1).")
def unsharp(sigma, amount, threshold):
    """Unsharp mask (ImageMagick/GIMP meaning).  Example: imgconv unsharp in.jpg out.jpg --amount 1.5"""
    from .filters import unsharp as build

    return build(sigma, amount, threshold)


@filter_command
@click.option("--angle", type=float, default=45.0, show_default=True,
              help="Direction of the light, degrees counter-clockwise from east.")
@click.option("--strength", type=float, default=1.0, show_default=True, help="Relief depth.")
def emboss(angle, strength):
    """Emboss around mid-grey.  Example: imgconv emboss in.jpg out.png --angle 135"""
    from .filters import emboss as build

    return build(angle, strength)


@filter_command
@click.option("--axis", type=click.Choice(["x", "y", "both"]), default="both", show_default=True,
              help="Gradient along x, y, or the magnitude of both.")
def sobel(axis):
    """Sobel edges on luminance, grey output.  Example: imgconv sobel in.jpg edges.png"""
    from .filters import sobel as build

    return build(axis)


@filter_command
@click.option("--kernel", "kernel_text", help='Kernel rows separated by ";", e.g. "1 2 1; 2 4 2; 1 2 1".')
@click.option("--kernel-file", type=click.File("r"), help="File of kernel rows ('#' starts a comment).")
@click.option("--normalize", is_flag=True, help="Divide the kernel by its sum (keeps brightness).")
@click.option("--correlate", is_flag=True, help="Slide the kernel unflipped (cross-correlation).")
def convolve(kernel_text, kernel_file, normalize, correlate):
    """Convolve with your own kernel (any size, odd or even, rectangular).

    Example: imgconv convolve in.png out.png --kernel "1 2 1; 2 4 2; 1 2 1" --normalize
    """
    from .filters import Filter
    from .kernel import normalized, parse_kernel

    if (kernel_text is None) == (kernel_file is None):
        raise click.UsageError("give exactly one of --kernel or --kernel-file")
    taps = parse_kernel(kernel_text if kernel_text is not None else kernel_file.read())
    return Filter("convolve", (normalized(taps) if normalize else taps,), correlate=correlate)


@cli.command(name="apply")
@click.argument("paths", nargs=-1, metavar="IN... OUT")
@click.option("--step", "steps", multiple=True, required=True, metavar="'FILTER name=value ...'",
              help="A filter and its options, e.g. 'blur sigma=1.5'; repeat to chain filters in order.")
@functools.partial(_with_options, COMMON_OPTIONS + BATCH_OPTIONS)
def apply_steps(paths, steps, **settings):
    """Apply several filters in one go, without re-encoding in between.

    Example: imgconv apply in.jpg out.jpg --step 'blur sigma=1.5' --step 'sharpen amount=0.5'
    """
    _run(paths, [_parse_step(step) for step in steps], settings)


@cli.command()
@click.argument("paths", nargs=-1, metavar="IN... OUT")
@click.option("--psf", "psf_spec", required=True, metavar="SPEC",
              help="The blur to undo: gaussian:SIGMA, gaussian:fwhm=F, motion:LENGTH,ANGLE, disk:RADIUS, "
                   "or a file (a PSF image such as .png/.tif, a .npy array, or kernel text).")
@click.option("--method", type=click.Choice(["rl", "wiener"]), default="rl", show_default=True,
              help="rl: Richardson-Lucy (iterative); wiener: one FFT pass.")
@click.option("--iterations", type=int, default=20, show_default=True, help="Richardson-Lucy iterations.")
@click.option("--tolerance", type=float,
              help="Stop early once an iteration changes the image by less than this (relative).")
@click.option("--regularize", type=click.Choice(["none", "tv"]), default="none", show_default=True,
              help="tv: total-variation regularisation (less noise and ringing).")
@click.option("--lambda", "lam", type=float, default=0.004, show_default=True, help="Weight of --regularize tv.")
@click.option("--balance", type=float, default=0.01, show_default=True,
              help="Wiener's noise-to-signal weight (more noise: larger).")
@click.option("--no-accelerate", is_flag=True, help="Plain Richardson-Lucy steps (no Biggs-Andrews extrapolation).")
@functools.partial(_with_options, COMMON_OPTIONS + BATCH_OPTIONS)
@click.pass_context
def deblur(ctx, paths, psf_spec, method, iterations, tolerance, regularize, lam, balance, no_accelerate, **settings):
    """Undo a known blur (deconvolution); alpha is kept as it is.

    Example: imgconv deblur blurred.jpg sharp.jpg --psf gaussian:2 --regularize tv
    """
    from click.core import ParameterSource

    from .deconvolution import job
    from .errors import ImgconvError

    given = {name for name in ctx.params if ctx.get_parameter_source(name) != ParameterSource.DEFAULT}
    one_file = settings["out_dir"] is None and not settings["in_place"]
    try:
        deblur = job.make_deblur(psf_spec, method, iterations, tolerance, regularize, lam, balance,
                                 accelerate=not no_accelerate, given=given)
        job.check_sizes(deblur.psf, paths[:-1] if one_file else paths)  # a PSF larger than an input
    except ImgconvError as e:
        raise CliError(str(e), exit_code=2) from None
    if one_file and not settings["quiet"]:
        job.progress = job.iteration_bar(_stderr())  # one file, in this process: a bar over its iterations
    try:
        _run(paths, [deblur], settings)
    finally:
        job.progress = None


@cli.group(invoke_without_command=True)
@click.pass_context
def kernels(ctx):
    """List the built-in kernels; `imgconv kernels show NAME` prints one with its rank and factors."""
    if ctx.invoked_subcommand:
        return
    from rich.table import Table

    from .filters import BUILTIN_KERNELS

    table = Table("name", "size", "description")
    for name, (make, description) in BUILTIN_KERNELS.items():
        k = make()
        table.add_row(name, f"{k.shape[0]}x{k.shape[1]}", description)
    _stdout().print(table)


def _stdout():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@kernels.command()
@click.argument("name")
def show(name):
    """Print a built-in kernel (or a kernel string like "1 2; 3 4"): taps, rank, separable factors."""
    import numpy as np

    from .errors import ImgconvError
    from .filters import BUILTIN_KERNELS
    from .kernel import KernelInfo, parse_kernel

    if name in BUILTIN_KERNELS:
        taps = BUILTIN_KERNELS[name][0]()
    else:
        try:
            taps = parse_kernel(name)
        except ImgconvError as e:
            raise CliError(f"{e} (kernel {name!r}; built-in: {', '.join(BUILTIN_KERNELS)})", 2) from None
    info = KernelInfo(taps, correlate=True)
    out = _stdout()
    with np.printoptions(precision=5, suppress=True, linewidth=120):
        out.print(f"[bold]{name}[/] {taps.shape[0]}x{taps.shape[1]}, sum {taps.sum():.6g}")
        out.print(str(taps), markup=False)
        s = ", ".join(f"{v:.4g}" for v in info.singular_values[:6])
        out.print(f"rank {info.rank} (singular values {s}{'...' if len(info.singular_values) > 6 else ''})")
        if info.rank == 1:
            columns, rows = info.factors
            out.print("separable: yes, kernel = outer(column, row)")
            out.print(f"  column = {columns[0]}", markup=False)
            out.print(f"  row    = {rows[0]}", markup=False)
        else:
            out.print(f"separable: no (a sum of {info.rank} separable pairs)")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.argument("filter_args", nargs=-1, type=click.UNPROCESSED, metavar="[FILTER [OPTIONS]]")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True, help="Timed runs per engine.")
@click.option("--threads", type=click.IntRange(min=1), help="Threads for the engines and OpenCV (default: all cores).")
@click.option("--no-peers", is_flag=True, help="Leave out OpenCV and scipy even if installed.")
def bench(image, filter_args, repeat, threads, no_peers):
    """Time every engine on your image and filter; max difference from `direct`; peers if installed.

    \b
    Examples:
      imgconv bench photo.jpg                      (blur, sigma 2)
      imgconv bench photo.jpg box --size 31
      imgconv bench photo.jpg convolve --kernel "1 2 1; 2 4 2; 1 2 1" --border mirror
    """
    from .bench import bench_filter, render
    from .errors import ImgconvError
    from .io import load

    words = list(filter_args) or ["blur"]
    if words[0] not in FILTER_BUILDERS:
        raise CliError(f"unknown filter {words[0]!r}; choose from {', '.join(FILTER_BUILDERS)}", exit_code=2)
    command, builder, own = FILTER_BUILDERS[words[0]]
    try:
        ctx = command.make_context(words[0], words[1:], resilient_parsing=False)
    except click.ClickException as e:
        raise CliError(f"{words[0]}: {e.format_message()}", exit_code=2) from None
    filt = _build(builder, {k: v for k, v in ctx.params.items() if k in own})
    border, cval = ctx.params.get("border", "reflect"), ctx.params.get("cval", 0.0)
    if threads:
        from .batch import set_engine_threads

        set_engine_threads(threads)
        try:
            import cv2

            cv2.setNumThreads(threads)
        except ImportError:
            pass
    from .warmup import announce

    announce(_stderr(), preload=True)  # Numba loaded up front: auto is timed on the engines it will use
    try:
        picture = load(image)
    except ImgconvError as e:
        raise CliError(str(e), exit_code=1) from None
    h, w, c = picture.pixels.shape
    rows = bench_filter(picture.pixels, filt, picture.full, alpha=picture.alpha, border=border,
                        cval=cval * picture.full, repeat=repeat, peers=not no_peers)
    render(rows, _stdout(), title=f"imgconv bench: {filt.name} on {image} ({w}x{h}x{c} {picture.pixels.dtype})")


@cli.command()
def warmup():
    """Compile the Numba engines for this CPU now (done once; otherwise the first run compiles)."""
    from .warmup import render, warmup as run_warmup

    render(run_warmup(_stderr()), _stdout())


def main():
    try:
        cli(prog_name="imgconv")
    except Exception as e:  # a bug outside any one file's processing: still one line, unless --debug
        if "--debug" in sys.argv:
            raise
        CliError(f"internal error ({type(e).__name__}: {e}); run with --debug for the traceback").show()
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
