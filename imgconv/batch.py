"""Batches: turn the command line's inputs into (source, target) jobs and run them, locally or on Dask.

One job function (imgconv.job.run_job) serves every runner -- in-process, a process pool, a Dask
cluster -- and never raises, so one bad file can never stop or corrupt the rest.  `run` is what a
filter command does: plan the jobs, choose workers and threads, run, report progress.

Threads: the engines can split one image between threads.  With `jobs` worker processes on a machine
of `cores` cores, each worker's engines get max(1, cores // jobs) threads, so the two levels of
parallelism never oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .engine.threads import cores as machine_cores
from .errors import ImgconvError
from .io import output_format
from .job import STDIO, Job, Options, Outcome, run_job

GLOB_CHARS = set("*?[")


@dataclass
class Summary:
    outcomes: list = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def failed(self):
        return [o for o in self.outcomes if not o.ok]

    @property
    def done(self):
        return [o for o in self.outcomes if o.ok and not o.skipped]

    @property
    def skipped(self):
        return [o for o in self.outcomes if o.skipped]


def expand_inputs(patterns) -> list[tuple[str, Path]]:
    """Each input as (path, base): `base` is the folder its relative output path is taken from.

    A quoted glob is expanded here (recursively with `**`), in sorted order; its base is the part of
    the pattern before the first wildcard, so `photos/**/*.jpg` keeps the folders under `photos/`.
    """
    inputs = []
    for pattern in patterns:
        if pattern == STDIO or not GLOB_CHARS & set(pattern):
            inputs.append((pattern, Path(pattern).parent))
            continue
        matches = sorted(m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m))
        if not matches:
            raise ImgconvError(f"{pattern}: no files match")
        parts = Path(pattern).parts
        literal = next(i for i, part in enumerate(parts) if GLOB_CHARS & set(part))
        base = Path(*parts[:literal]) if literal else Path(".")
        inputs.extend((m, base) for m in matches)
    return inputs


def target_for(source: str, base: Path, out_dir, template: str, fmt: str | None, filter_name: str) -> str:
    """The output path of `source` under `out_dir`, from `template` (fields: stem, ext, name, parent, filter)."""
    if source == STDIO:
        raise ImgconvError("stdin (-) needs an explicit output: use `imgconv FILTER - OUT`")
    path = Path(source)
    ext = f".{fmt.lower().lstrip('.')}" if fmt else path.suffix
    relative_parent = path.parent.relative_to(base) if path.parent.is_relative_to(base) else Path()
    try:
        name = template.format(stem=path.stem, ext=ext, name=path.stem + ext, parent=path.parent.name,
                               filter=filter_name)
    except (KeyError, IndexError, ValueError) as e:
        raise ImgconvError(f"--output-template {template!r}: unknown or malformed field ({e})") from None
    return str(Path(out_dir) / relative_parent / name)


def plan_jobs(paths, *, out_dir=None, template="{name}", fmt=None, filter_name="") -> list[Job]:
    """`IN OUT` (two paths, no --out-dir) or many inputs with --out-dir."""
    if out_dir is None:
        if len(paths) != 2:
            raise ImgconvError(f"give IN OUT, or several inputs with --out-dir (got {len(paths)} path(s))")
        return [Job(paths[0], paths[1])]
    jobs = [Job(src, target_for(src, base, out_dir, template, fmt, filter_name), make_parent=True)
            for src, base in expand_inputs(paths)]
    targets = {}
    for job in jobs:
        if job.target in targets:
            raise ImgconvError(f"{targets[job.target]} and {job.source} would both write {job.target}; "
                               "use --output-template with {parent} or keep folders apart")
        targets[job.target] = job.source
    return jobs


def threads_per_worker(jobs: int, cores: int | None = None) -> int:
    """Engine threads for each of `jobs` workers so that jobs x threads never exceeds the cores."""
    cores = cores or machine_cores()
    return max(1, cores // max(1, jobs))


def run(paths, filters, options: Options, *, out_dir=None, template="{name}", jobs=None, skip_existing=False,
        fail_fast=False, scheduler=None, on_outcome=None, on_start=None, on_band=None) -> Summary:
    """What a filter command does: plan the jobs (IN OUT, many inputs with --out-dir, or --in-place),
    choose worker processes and engine threads, run them.  Usage errors (bad names, templates, formats)
    raise ImgconvError before anything is read; `on_start(count)` is told how many jobs will run, and
    on_band(done, total) the bands of a single huge image as they are written."""
    name = "+".join(f.name for f in filters)
    if options.in_place:
        planned = in_place_jobs(paths, out_dir)
    else:
        planned = plan_jobs(paths, out_dir=out_dir, template=template, fmt=options.fmt, filter_name=name)
    for job in planned:  # an output name (or --format) imgconv cannot write, found before any file is read
        output_format(job.target, options.fmt)
    workers = min(jobs or machine_cores(), len(planned))
    if scheduler == "local" and len(planned) == 1:
        workers = jobs or machine_cores()  # a single huge TIFF is split into bands between them
    if workers > 1 and options.threads is None:
        options = replace(options, threads=threads_per_worker(workers))
    if on_start:
        on_start(len(planned))
    return run_batch(planned, filters, options, workers=workers, skip_existing=skip_existing,
                     fail_fast=fail_fast, on_outcome=on_outcome, scheduler=scheduler, on_band=on_band)


def in_place_jobs(paths, out_dir=None) -> list[Job]:
    """--in-place: every input is its own output."""
    if out_dir or STDIO in paths:
        raise ImgconvError("--in-place writes each output over its input: give files, no --out-dir or stdin")
    jobs = [Job(source, source) for source, _ in expand_inputs(paths)]
    if not jobs:
        raise ImgconvError("--in-place: give the files to filter")
    return jobs


def run_batch(jobs, filters, options, *, workers: int = 1, skip_existing=False, fail_fast=False,
              on_outcome=None, scheduler=None, on_band=None) -> Summary:
    """Run every job; `on_outcome(outcome)` is told of each as it finishes (for the progress bar), and
    on_band(done, total) of the bands of a single job's huge image."""
    summary = Summary()
    clock = time.perf_counter()

    def record(outcome):
        summary.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
        return fail_fast and not outcome.ok

    try:
        if scheduler:
            from .distributed import run_on_dask

            run_on_dask(scheduler, jobs, filters, options, skip_existing, record, workers, on_band=on_band)
        elif len(jobs) == 1:
            record(run_job(jobs[0], filters, options, skip_existing, on_band=on_band))
        elif workers <= 1:
            for job in jobs:
                if record(run_job(job, filters, options, skip_existing)):
                    break
        else:
            _run_pool(jobs, filters, options, workers, skip_existing, record)
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.seconds = time.perf_counter() - clock
    return summary


def _run_pool(jobs, filters, options, workers, skip_existing, record) -> None:
    """Worker processes fed a few jobs ahead, so --fail-fast and Ctrl-C stop promptly.

    Workers start from a fork server (never fork() a process whose thread pools are running) that has
    imported imgconv once, so each starts in milliseconds; each job's options carry its engine threads.
    A worker that dies (a crash in a codec, the OOM killer) fails only the file it held: a dead worker
    breaks the whole pool, so the files the pool still held run again one at a time (_run_alone) and
    only one that kills its worker again fails (one whose output was written meanwhile -- its outcome
    lost with the pool -- is done, not run twice); the pool is replaced and the batch goes on.  The
    pool stops its other workers with SIGTERM, which ends the file in progress as an error would
    (_worker_start): its temporary file is removed.

    Ctrl-C is this process's to handle: the fork server and the workers start with SIGINT blocked (see
    _sigint_held), so an interrupt neither kills the server halfway through its imports nor a worker
    halfway through a file; this process stops submitting and waits for the files in flight, which
    count in the summary.
    """
    import multiprocessing  # (a one-file run never pays for these imports)
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["imgconv.job", "imgconv.engine.separable"])  # workers start warm
    queue = iter(jobs)
    stop = False
    while not stop:
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start)
        pending, before = {}, {}  # before: each job's output as it was when the job was given out
        try:
            while True:
                while not stop and len(pending) < 2 * workers:
                    job = next(queue, None)
                    if job is None:
                        break
                    before[job] = _file_state(job.target)
                    with _sigint_held():  # a submit may start the fork server or a worker
                        pending[pool.submit(_job_in_worker, job, filters, options, skip_existing)] = job
                if not pending:
                    return
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = any(isinstance(f.exception(), BrokenProcessPool) for f in finished)
                if broken:  # a worker died: shutting down settles every future the pool held
                    pool.shutdown(wait=True)
                    finished = list(pending)
                held = []  # jobs whose outcome a broken pool lost (which one killed its worker is unknown)
                for future in finished:
                    job = pending.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        held.append(job)
                    else:
                        stop = record(future.result()) or stop
                if broken:
                    stop = _run_alone([(job, before[job]) for job in held], filters, options, skip_existing,
                                      context, record, stop) or stop
                    break  # start a fresh pool for the rest
        except KeyboardInterrupt:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)  # the files in flight are finished, and count
            for future in pending:
                if future.done() and not future.cancelled() and future.exception() is None:
                    record(future.result())
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_held():
    """Block SIGINT in this thread for the block: processes started meanwhile inherit the mask, and an
    interrupt that arrives meanwhile is delivered (as KeyboardInterrupt) when the block ends."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


#: In a worker: a job is running (a SIGTERM then unwinds it before the worker exits).
_in_job = False


def _worker_start() -> None:
    """Worker initializer.  When a worker dies, the pool stops the others with SIGTERM; by default that
    kills a worker halfway through writing a file, leaving its temporary file behind where the system
    offers no unnamed one (O_TMPFILE).  Here SIGTERM ends the job in progress as an error would --
    atomic writes remove their temporary file -- and then the worker exits."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame) -> None:
    if _in_job:
        raise SystemExit(128 + signum)  # unwound through the job's clean-ups, then _job_in_worker exits
    os._exit(128 + signum)


def _job_in_worker(job, filters, options, skip_existing) -> Outcome:
    """run_job in a pool worker (see _worker_start)."""
    global _in_job
    _in_job = True
    try:
        return run_job(job, filters, options, skip_existing)
    except SystemExit as stopped:
        os._exit(stopped.code if isinstance(stopped.code, int) else 1)
    finally:
        _in_job = False


def _file_state(path: str):
    """What identifies a file's current contents (outputs are renamed into place whole), or None."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


def _run_alone(held, filters, options, skip_existing, context, record, stop) -> bool:
    """Run each (job, its output's state when given out) by itself in a one-worker pool; a job whose
    worker dies fails.  A job whose output changed meanwhile was done before the pool broke (outputs
    are written whole or not at all): it is not run twice.  True: stop."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    for job, state in held:
        if stop:  # --fail-fast: the rest are not run, as if never started
            break
        if _file_state(job.target) != state:
            stop = record(Outcome(job, ok=True)) or stop
            continue
        with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_start) as alone:
            try:
                with _sigint_held():  # the worker starts with SIGINT blocked, as in _run_pool
                    future = alone.submit(_job_in_worker, job, filters, options, skip_existing)
                outcome = future.result()
            except BrokenProcessPool:
                outcome = _died(job)
        stop = record(outcome) or stop
    return stop


def _died(job: Job) -> Outcome:
    return Outcome(job, ok=False, error=f"{job.source}: the worker process died")
