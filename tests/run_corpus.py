"""Run a folder of odd and broken image files through every filter command and report what went wrong.

    python tests/run_corpus.py FOLDER [--commands all|first] [--timeout 60] [--jobs 2] [--only PATTERN]

Pillow's own test images are a good corpus (`pip download --no-binary :all: --no-deps pillow`, then
`Tests/images`).  The only allowed outcomes, as in tests/test_fuzz.py: exit 0 with a complete output that
imgconv reads back, or exit 1 with one `imgconv: ...` line on stderr (counting what C libraries write to
the process's file descriptor 2 behind Python's back) and no output.  Never a traceback, an "internal
error", a hang (no answer within --timeout), a crash, a partial or temporary file.  Each case runs in a
worker process, replaced when it dies or hangs.  Not collected by pytest: what it found is rebuilt, small,
in tests/test_odd_files.py; docs/fidelity.md ("Odd files") says what and how it was fixed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from worker import Worker

COMMANDS = [["blur", "--sigma", "1"], ["box", "--size", "3"], ["sharpen"], ["unsharp"], ["emboss"], ["sobel"],
            ["convolve", "--kernel", "1 2 1; 2 4 2; 1 2 1", "--normalize"], ["blur", "--linear"]]
OUTPUTS = ["png", "jpg", "tif", "webp", "heic", "jxl", "avif", "bmp", "gif"]
#: Seconds after which a case is reported as slow (a hang is --timeout).
SLOW = 30


def run_case(source: str, args: list, out_name: str) -> dict:
    """One `imgconv ARGS` in this worker: exit code, stderr (Python's and fd 2's), output state."""
    from click.testing import CliRunner

    from imgconv.cli import cli
    from imgconv.io import load
    from imgconv.io.logs import c_stderr

    folder = Path(tempfile.mkdtemp(prefix="imgconv-corpus-"))
    os.symlink(source, folder / ("in" + Path(source).suffix))
    os.chdir(folder)
    native = []
    start = time.perf_counter()
    with c_stderr(native):
        result = CliRunner().invoke(cli, [args[0], "in" + Path(source).suffix, out_name, *args[1:]],
                                    catch_exceptions=True)
    seconds = time.perf_counter() - start
    leaked = "".join(line + "\n" for line in native)
    outcome = {"exit": result.exit_code, "stderr": result.stderr, "leaked": leaked, "seconds": seconds,
               "escaped": None, "files": sorted(p.name for p in folder.iterdir() if not p.is_symlink())}
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        outcome["escaped"] = "".join(traceback.format_exception(*result.exc_info))
    out = folder / out_name
    if result.exit_code == 0 and out.exists():
        try:
            load(out, max_pixels=0)
        except Exception as e:
            outcome["unreadable"] = str(e)
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    return outcome


def problems(outcome: dict, out_name: str) -> list:
    found = []
    lines = outcome["stderr"].strip().splitlines()
    if outcome["escaped"]:
        found.append("exception escaped: " + outcome["escaped"].strip().splitlines()[-1])
    if outcome["leaked"].strip():
        found.append("C library wrote to stderr: " + outcome["leaked"].strip().splitlines()[0][:120])
    if "Traceback" in outcome["stderr"] or "internal error" in outcome["stderr"]:
        found.append("internal error: " + (lines[0] if lines else ""))
    if outcome["exit"] == 0:
        if outcome["files"] != [out_name]:
            found.append(f"exit 0 but files {outcome['files']}")
        if outcome.get("unreadable"):
            found.append(f"output unreadable: {outcome['unreadable']}")
    elif outcome["exit"] == 1:
        if len(lines) != 1 or not lines[0].startswith("imgconv: "):
            found.append(f"error is not one line: {lines}")
        if outcome["files"]:
            found.append(f"error left files {outcome['files']}")
    else:
        found.append(f"exit code {outcome['exit']}: {lines[:1]}")
    if outcome["seconds"] > SLOW:
        found.append(f"slow: {outcome['seconds']:.1f} s")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--commands", choices=["all", "first"], default="all",
                        help="all: every command on each file that reads; first: blur only")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--only", default="*")
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).rglob(args.only) if p.is_file())
    worker = Worker(args.timeout)
    bad = 0
    for i, path in enumerate(files):
        cases = COMMANDS if args.commands == "all" else COMMANDS[:1]
        for j, command in enumerate(cases):
            out_name = f"out.{OUTPUTS[(i + j) % len(OUTPUTS)]}"
            outcome = worker.run(run_case, str(path.resolve()), command, out_name)
            found = [outcome] if isinstance(outcome, str) else problems(outcome, out_name)
            if found:
                bad += 1
                print(f"{path.name} | {' '.join(command)} -> {out_name} | " + " ; ".join(found), flush=True)
            if isinstance(outcome, dict) and outcome["exit"] == 1 and j == 0:
                break  # the input does not read: every other command fails the same way
    worker.close()
    print(f"{len(files)} files, {bad} bad cases", file=sys.stderr)


if __name__ == "__main__":
    main()
