"""The command line's options: those every filter command takes, and those generated from a Filter
builder -- names, types and defaults from its signature, help from its numpydoc docstring."""

from __future__ import annotations

import inspect
import re
import types
import typing

import click

BORDERS = ("reflect", "mirror", "nearest", "wrap", "constant")


def _algorithms():
    from .engine import ALGORITHMS

    return ("auto",) + ALGORITHMS


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


COMMON_OPTIONS = [
    click.option("--algo", type=click.Choice(_algorithms()), default="auto", show_default=True,
                 help="Engine to use; auto picks the fastest for the kernel and image."),
    click.option("--border", type=click.Choice(BORDERS), default="reflect", show_default=True,
                 help="How pixels beyond the edge are filled (scipy.ndimage's mode names)."),
    click.option("--cval", type=float, default=0.0, show_default=True,
                 help="Border value for --border constant, as a fraction of white (0 black, 1 white)."),
    click.option("--quality", type=click.IntRange(1, 100),
                 help="JPEG/WebP/AVIF/HEIC/JPEG XL quality (default: a JPEG input's own, else 95)."),
    click.option("--compression", type=click.Choice(("none", "deflate", "lzw", "zstd", "jpeg")),
                 help="TIFF output compression (default: a TIFF input's own, else deflate; jpeg for 8-bit)."),
    click.option("--overwrite", is_flag=True, help="Replace an existing output (even the input itself)."),
    click.option("--in-place", is_flag=True, help="Write each output over its own input: give IN... and no OUT."),
    click.option("--strip", is_flag=True, help="Drop metadata on purpose (EXIF, ICC profile, XMP, text)."),
    click.option("--linear/--no-linear", default=None,
                 help="Blur in linear light (sRGB decoded, filtered, encoded again): no dark fringes between "
                      "colours.  Default: lens blurs in linear light, other blurs do not."),
    click.option("--max-pixels", type=click.IntRange(min=0), metavar="N",
                 help="Refuse images over N pixels, a decompression-bomb guard "
                      "(default: Pillow's 178956970; 0: none)."),
    click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error."),
    click.option("--threads", type=click.IntRange(min=1), help="Threads for the engines (default: all cores)."),
    click.option("-v", "--verbose", is_flag=True, help="Print the chosen engine, why, and the time taken."),
]

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
    click.option("--band-rows", type=click.IntRange(min=1), help="Filter huge images in bands of this many rows."),
    click.option("--max-memory", type=ByteSize(), default="1G", show_default=True,
                 help="Working memory per image (beyond input and output); bigger images go in bands."),
]


def with_options(options, command=None):
    """Attach click options to a command (or, without `command`, a decorator doing so)."""
    if command is None:
        return lambda f: with_options(options, f)
    for option in reversed(options):
        command = option(command)
    return command


def parameter_names(builder) -> set[str]:
    return set(inspect.signature(builder).parameters)


def builder_options(builder) -> list:
    """click options for a Filter builder's parameters."""
    hints = typing.get_type_hints(builder)
    helps = _parameter_help(builder.__doc__ or "")
    options = []
    for p in inspect.signature(builder).parameters.values():
        flag, kind, text = "--" + p.name.replace("_", "-"), hints[p.name], helps.get(p.name, "")
        if kind is bool:
            options.append(click.option(flag, is_flag=True, help=text))
            continue
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):
            kind = args[0]
        ptype = click.Choice(typing.get_args(kind)) if typing.get_origin(kind) is typing.Literal else kind
        options.append(click.option(flag, type=ptype, default=p.default, show_default=p.default is not None,
                                    help=text))
    return options


def summary(builder) -> str:
    """A command's help: the builder's summary line and the command line of its Examples section."""
    doc = inspect.cleandoc(builder.__doc__ or "")
    first = doc.split("\n\n")[0].replace("\n", " ")
    example = re.search(r"Examples\n-+\n(imgconv [^\n]+)", doc)
    return f"{first}  Example: {example.group(1)}" if example else first


def _parameter_help(doc: str) -> dict[str, str]:
    """name -> description from a numpydoc Parameters section."""
    section = re.search(r"Parameters\n-+\n(.*?)(?:\n\n[A-Z]\w+\n-+|\Z)", inspect.cleandoc(doc), re.S)
    found = {}
    for name, text in re.findall(r"^(\w+) :[^\n]*\n((?:[ \t]+[^\n]*\n?)+)", section.group(1) if section else "", re.M):
        found[name] = " ".join(line.strip() for line in text.splitlines())
    return found
