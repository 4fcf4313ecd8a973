"""What a batch shows on stderr: a rich progress bar (files, Mpx/s, ETA), failures as they happen, a summary.

The bar appears only for more than one file, on a terminal, and not with --quiet; failures are always
reported, one line each.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class BatchProgress:
    def __init__(self, total: int, quiet: bool = False):
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.total = total
        self.megapixels = 0.0
        show = not quiet and self.console.is_terminal
        self._bar = Progress(
            TextColumn("[bold]filtering"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=self.console, transient=True,
        ) if show else None

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
