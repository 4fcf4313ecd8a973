"""The `imgconv` command: a thin click layer.  Every filter command is generated from the filter registry
(imgconv.filters.FILTERS): its options come from the builder's signature and numpydoc docstring.

Heavy imports (numpy, Pillow, rich) happen inside commands.  Exit codes: 0 ok, 1 an input failed,
2 usage error (bad option, kernel or output name), 130 interrupted.
"""

from __future__ import annotations

import sys

import click

from .options import BATCH_OPTIONS, COMMON_OPTIONS, builder_options, parameter_names, summary, with_options


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


class CliError(click.ClickException):
    """A one-line, rich-styled error with an exit code (1 failed input, 2 usage)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None):
        from rich.markup import escape

        _stderr().print(f"[bold red]imgconv:[/] {escape(self.message)}")


class Commands(click.Group):
    """The filter commands are made from the registry when asked for: a run builds only its own."""

    def list_commands(self, ctx):
        from .filters import FILTERS

        return sorted(set(super().list_commands(ctx)) | set(FILTERS))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            from .filters import FILTERS

            if name in FILTERS:
                command = _filter_command(name, FILTERS[name])
        return command


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


def _filter_command(name, builder) -> click.Command:
    """`imgconv NAME IN... OUT` for a Filter builder: its own options, then every filter's."""
    def command(paths, **params):
        own = {k: params.pop(k) for k in parameter_names(builder)}
        _run(paths, [_build(builder, own)], params)

    command = with_options(builder_options(builder) + COMMON_OPTIONS + BATCH_OPTIONS, command)
    command = click.argument("paths", nargs=-1, metavar="IN... OUT")(command)
    return click.command(name=name, help=summary(builder))(command)


def filter_from_words(words) -> object:
    """A Filter from a command's words, e.g. ["blur", "--sigma", "1.5"] (`apply --step`, `bench`)."""
    from .filters import FILTERS

    if not words or words[0] not in FILTERS:
        raise CliError(f"start with a filter name ({', '.join(FILTERS)})", exit_code=2)
    builder = FILTERS[words[0]]
    command = with_options(builder_options(builder), click.Command(words[0]))
    try:
        ctx = command.make_context(words[0], list(words[1:]), resilient_parsing=False)
    except click.ClickException as e:
        raise CliError(f"{words[0]}: {e.format_message()}", exit_code=2) from None
    return _build(builder, ctx.params)


def _step_words(text: str) -> list[str]:
    """'blur sigma=1.5 linear=yes' -> ['blur', '--sigma', '1.5', ...] (a flag is given by a true value)."""
    import shlex

    words = shlex.split(text)
    out = words[:1]
    for word in words[1:]:
        key, equals, value = word.partition("=")
        if not equals:
            raise CliError(f"--step {text!r}: {word!r} should be name=value", exit_code=2)
        flag = "--" + key.replace("_", "-")
        if value.lower() in ("true", "yes", "on"):
            out.append(flag)
        elif value.lower() not in ("false", "no", "off"):
            out += [flag, value]
    return out


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
    """Run the filters over the inputs (imgconv.batch.run), report, set the exit code."""
    from dataclasses import fields

    from . import batch
    from .errors import ImgconvError
    from .job import Options

    options = Options(**{f.name: settings[f.name] for f in fields(Options) if f.name in settings})
    progress = bands = None

    def on_start(count):
        nonlocal progress
        if count > 1 and not settings["quiet"]:
            from .progress import BatchProgress

            progress = BatchProgress(count).__enter__()

    def on_band(done, total):  # one huge image streamed band by band shows its bands
        nonlocal bands
        if bands is None and not settings["quiet"]:
            from .progress import BandProgress

            bands = BandProgress("filtering")
        if bands:
            bands(done, total)

    def on_outcome(outcome):
        if bands:
            bands.close()
        if progress:
            progress.advance(outcome)
        elif not outcome.ok:
            CliError(outcome.error).show()
        if settings["verbose"] and outcome.report:
            _print_report(outcome.report)

    try:
        summary = batch.run(paths, filters, options, out_dir=settings["out_dir"], template=settings["output_template"],
                            jobs=settings["jobs"], skip_existing=settings["skip_existing"],
                            fail_fast=settings["fail_fast"], scheduler=settings["scheduler"],
                            on_outcome=on_outcome, on_start=on_start, on_band=on_band)
    except ImgconvError as e:
        raise CliError(str(e), exit_code=2) from None
    finally:
        if progress:
            progress.__exit__(None, None, None)
        if bands:
            bands.close()
    if progress:
        progress.print_summary(summary)
    if summary.interrupted:
        raise CliError("interrupted; finished outputs are complete, none is partial", exit_code=130)
    if summary.failed:  # each failure was already printed, as one line
        raise click.exceptions.Exit(1)


def _print_report(report):
    from rich.markup import escape

    console = _stderr()
    console.print(f"[bold]{escape(report.source)}[/] -> {escape(report.target)}")
    for note in report.notes:
        console.print(f"[dim]note:[/] {escape(note)}")
    for p in report.plans:
        console.print(f"[bold]engine[/] {escape(p.describe())}")
    stages = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in report.seconds.items())
    console.print(f"[bold]time[/] {stages} ({report.megapixels:.2f} Mpx)")


@cli.command(name="apply")
@click.argument("paths", nargs=-1, metavar="IN... OUT")
@click.option("--step", "steps", multiple=True, required=True, metavar="'FILTER name=value ...'",
              help="A filter and its options, e.g. 'blur sigma=1.5'; repeat to chain filters in order.")
@with_options(COMMON_OPTIONS + BATCH_OPTIONS)
def apply_steps(paths, steps, **settings):
    """Apply several filters in one go, without re-encoding in between.

    Example: imgconv apply in.jpg out.jpg --step 'blur sigma=1.5' --step 'sharpen amount=0.5'
    """
    filters = []
    for step in steps:
        try:
            filters.append(filter_from_words(_step_words(step)))
        except CliError as e:
            raise CliError(f"--step {step!r}: {e.message}", exit_code=2) from None
    _run(paths, filters, settings)


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
@with_options(COMMON_OPTIONS + BATCH_OPTIONS)
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
    """List the built-in kernels and ImageMagick's named kernels; `imgconv kernels show NAME` prints one."""
    if ctx.invoked_subcommand:
        return
    from rich.table import Table

    from .filters import BUILTIN_KERNELS
    from .syntax.magick_kernels import NAMED

    table = Table("name", "size", "description", title="built-in kernels")
    for name, (make, description) in BUILTIN_KERNELS.items():
        k = make()
        table.add_row(name, f"{k.shape[0]}x{k.shape[1]}", description)
    _stdout().print(table)
    usage = ", ".join(usage for _, _, usage in NAMED.values())
    _stdout().print(f"ImageMagick's named kernels (for --kernel and kernels show): {usage}", markup=False)


@kernels.command()
@click.argument("name")
def show(name):
    """Print a built-in kernel (or a kernel string like "1 2; 3 4"): taps, rank, separable factors."""
    from .errors import ImgconvError
    from .filters import BUILTIN_KERNELS
    from .kernel import describe, parse_kernel

    if name in BUILTIN_KERNELS:
        taps = BUILTIN_KERNELS[name][0]()
    else:
        try:
            taps = parse_kernel(name)
        except ImgconvError as e:
            raise CliError(f"{e} (kernel {name!r}; built-in: {', '.join(BUILTIN_KERNELS)})", 2) from None
    _stdout().print(describe(name, taps), markup=False)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.argument("filter_args", nargs=-1, type=click.UNPROCESSED, metavar="[FILTER [OPTIONS]]")
@click.option("--repeat", type=click.IntRange(min=1), default=5, show_default=True, help="Timed runs per engine.")
@click.option("--threads", type=click.IntRange(min=1), help="Threads for the engines and OpenCV (default: all cores).")
@click.option("--border", type=click.Choice(("reflect", "mirror", "nearest", "wrap", "constant")), default="reflect",
              show_default=True, help="How pixels beyond the edge are filled.")
@click.option("--no-peers", is_flag=True, help="Leave out OpenCV and scipy even if installed.")
def bench(image, filter_args, repeat, threads, border, no_peers):
    """Time every engine on your image and filter; max difference from `direct`; peers if installed.

    \b
    Examples:
      imgconv bench photo.jpg                      (blur, sigma 2)
      imgconv bench photo.jpg box --size 31
      imgconv bench --border mirror photo.jpg convolve --kernel "1 2 1; 2 4 2; 1 2 1"
    """
    from .bench import bench_filter, render
    from .errors import ImgconvError
    from .io import load

    filt = filter_from_words(list(filter_args) or ["blur"])
    try:
        picture = load(image)
    except ImgconvError as e:
        raise CliError(str(e), exit_code=1) from None
    h, w, c = picture.pixels.shape
    rows = bench_filter(picture.pixels, filt, picture.full, alpha=picture.alpha, border=border, repeat=repeat,
                        peers=not no_peers, threads=threads)
    render(rows, _stdout(), title=f"imgconv bench: {filt.name} on {image} ({w}x{h}x{c} {picture.pixels.dtype})")


@cli.command()
def warmup():
    """Compile the engines' jitted (multi-threaded) loops for this CPU now, instead of on first use."""
    from .warmup import render
    from .warmup import warmup as run_warmup

    with _stderr().status("Compiling the engines' loops for this CPU (once; Numba caches them)...", spinner="dots"):
        rows = run_warmup()
    render(rows, _stdout())


def main():
    """The console script: every outcome is an exit code and at most one line on stderr."""
    try:
        code = cli.main(prog_name="imgconv", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C outside a batch's own handling
        CliError("interrupted", exit_code=130).show()
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except Exception as e:  # a bug outside any one file's processing: still one line, unless --debug
        if "--debug" in sys.argv:
            raise
        CliError(f"internal error ({type(e).__name__}: {e}); run with --debug for the traceback").show()
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
