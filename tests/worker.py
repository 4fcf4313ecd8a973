"""One spawned process that runs cases for tests/test_fuzz.py and tests/run_corpus.py, replaced when a
case crashes it or hangs in it.  The process's id is asked for when it starts, so a hang is ended with
os.kill rather than through the pool's internals."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context


class Worker:
    def __init__(self, timeout: float, initializer=None):
        self.timeout, self.initializer = timeout, initializer
        self.pool = self.pid = None

    def run(self, function, *args):
        """function(*args) in the worker process, or "hang" (no answer in `timeout` seconds: the process
        is killed) or "crash" (the process died)."""
        if self.pool is None:
            self.pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=self.initializer)
            self.pid = self.pool.submit(os.getpid).result()
        future = self.pool.submit(function, *args)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            self.kill()
            return "hang"
        except BrokenProcessPool:
            self.pool = None
            return "crash"

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None

    def kill(self):
        if self.pool is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
