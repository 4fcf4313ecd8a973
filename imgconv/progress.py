"""What a batch shows on stderr: a rich progress bar (files, Mpx/s, ETA), failures as they happen, a summary.

The bar appears only on a terminal, and not with --quiet: for more than one file it counts files; for
one huge image streamed band by band (imgconv.stream) it counts that image's bands.  Failures are
always reported, one line each.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def _bar(console: Console, what: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{escape(what)}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=True,
    )


class BatchProgress:
    def __init__(self, total: int, quiet: bool = False):
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.total = total
        self.megapixels = 0.0
        show = not quiet and self.console.is_terminal
        self._bar = _bar(self.console, "filtering") if show else None

    def __enter__(self):
        if self._bar:
            self._bar.start()
            self._task = self._bar.add_task("files", total=self.total, rate="")
        return self

    def __exit__(self, *exc):
        if self._bar:
            self._bar.stop()
        return False

    def advance(self, outcome) -> None:
        if not outcome.ok:
            self.console.print(f"[bold red]imgconv:[/] {escape(outcome.error)}")
        self.megapixels += outcome.megapixels
        if self._bar:
            elapsed = self._bar.tasks[0].elapsed or 1e-9
            self._bar.update(self._task, advance=1, rate=f"{self.megapixels / elapsed:.1f} Mpx/s")

    def print_summary(self, summary) -> None:
        rate = self.megapixels / summary.seconds if summary.seconds else 0.0
        failed = len(summary.failed)
        style = "bold red" if failed else "bold green"
        self.console.print(
            f"[{style}]{len(summary.done)} done[/], {len(summary.skipped)} skipped, {failed} failed "
            f"in {summary.seconds:.1f} s ({rate:.1f} Mpx/s)"
        )


class BandProgress:
    """One huge image's bands as they are written: started by the first band, gone when the file is."""

    def __init__(self, name: str):
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.name = name
        self.show = self.console.is_terminal
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if not self.show:
            return
        if self._bar is None:
            self._bar = _bar(self.console, f"{self.name}: bands")
            self._bar.start()
            self._task = self._bar.add_task("bands", total=total, rate="")
        self._bar.update(self._task, completed=done, rate="")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
