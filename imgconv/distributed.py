"""Running a batch on a Dask distributed cluster (the optional `imgconv[dask]` extra).

Each file is one task running the same `run_job` as a local batch, so results and failures are
reported exactly as they are locally.  Files are read and written by the workers, so every worker
must see the same paths (a shared filesystem) -- the usual arrangement for a Dask cluster.
"""

from __future__ import annotations

from .engine.threads import cores
from .errors import ImgconvError
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


def run_on_dask(scheduler, jobs, filters, options, skip_existing, record, workers=None) -> None:
    """Submit one task per job; `record(outcome)` is called as each finishes (True means stop)."""
    from dask.distributed import as_completed

    client, cluster = _client(scheduler, workers or cores())
    try:
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
