"""The worker process the fuzz tests and the corpus run rely on to catch hangs and crashes."""

import os
import time

from worker import Worker


def test_worker_answers_reports_a_hang_and_a_crash_and_starts_again():
    worker = Worker(timeout=1.0)
    try:
        assert worker.run(abs, -3) == 3
        first = worker.pid
        started = time.monotonic()
        assert worker.run(time.sleep, 30) == "hang"
        assert time.monotonic() - started < 10
        assert worker.pool is None
        assert worker.run(abs, -4) == 4 and worker.pid != first  # a new process
        assert worker.run(os._exit, 3) == "crash"
        assert worker.run(abs, -5) == 5
    finally:
        worker.kill()
