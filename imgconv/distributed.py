"""Running a batch on a Dask distributed cluster (the optional `imgconv[dask]` extra).

Each file is one task running the same `run_job` as a local batch, so results and failures are
reported exactly as they are locally.  Files are read and written by the workers, so every worker
must see the same paths (a shared filesystem) -- the usual arrangement for a Dask cluster.

One huge TIFF (a single input that imgconv.stream reads band by band) is split instead: each band is
a task (`stream.Recipe.band`) in which a worker reads the band's rows and halos from the shared file
and filters them, and the client gathers the bands in order -- a few tasks ahead, one band in hand --
and writes them through the same writer and atomic temporary file as a local run.  The client writes,
rather than workers writing tiles into one shared file, because a compressed tile's size and so its
place in the file is only known once it is encoded; because one writer gives the very bytes of a local
run, whatever the compression; and because the output stays all-or-nothing with no coordination
between machines.  The image crosses the network once, as filtered bands.
"""

from __future__ import annotations

from collections import deque

from .engine.threads import cores
from .errors import ImgconvError
from .io import output_format
from .job import run_job


def _client(scheduler: str, workers: int):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImgconvError("--dask/--scheduler need Dask: pip install 'imgconv[dask]'") from None
    if scheduler == "local":
        # One single-threaded worker process per job slot; each job's options say its engine threads.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout="10s"), None
    except (OSError, TimeoutError) as e:
        raise ImgconvError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None


def run_on_dask(scheduler, jobs, filters, options, skip_existing, record, workers=None, on_band=None) -> None:
    """Submit one task per job, or one per band of a single huge TIFF; `record(outcome)` is called as
    each job finishes (True means stop), on_band(done, total) as each band of a split image is written."""
    from dask.distributed import as_completed

    from . import stream

    client, cluster = _client(scheduler, workers or cores())
    try:
        if len(jobs) == 1 and stream.reads_bands(jobs[0].source, jobs[0].target,
                                                 output_format(jobs[0].target, options.fmt), options):
            record(run_job(jobs[0], filters, options, skip_existing, on_band=on_band,
                           runner=lambda recipe: bands_on(client, recipe)))
            return
        futures = client.map(run_job, jobs, filters=filters, options=options, skip_existing=skip_existing,
                             pure=False)
        for future in as_completed(futures):
            if record(future.result()):
                client.cancel(futures)
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def bands_on(client, recipe):
    """The bands of `recipe`'s result, in order, computed by the cluster's workers: two tasks per worker
    thread are in flight, and each band is fetched when its turn comes."""
    ahead = 2 * max(1, sum(client.nthreads().values()))
    pending = deque()
    try:
        for index in range(recipe.count):
            pending.append(client.submit(recipe.band, index, pure=False))
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.cancel(list(pending))
