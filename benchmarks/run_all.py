"""The whole benchmark suite, one command:

    python benchmarks/run_all.py            # engines vs peers (4K), start-up and end-to-end, memory (8K), deblur
    python benchmarks/run_all.py --quick    # 1080p engines, 3 rounds, fewer start-up runs: a smoke run

Runs bench_engines.py, bench_startup.py, bench_memory.py and bench_deblur.py in turn (each in its own process, so one's
memory or threads cannot disturb another's) and leaves their tables in benchmarks/results/.
fit_planner.py is separate: it rewrites the planner's constants (`--write`), which a benchmark run
should never do behind your back.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    quick = "--quick" in sys.argv[1:]
    steps = [
        ["bench_engines.py"] + (["--quick"] if quick else []),
        ["bench_startup.py"] + (["--runs", "3"] if quick else []),
        ["bench_memory.py"],
        ["bench_deblur.py"] + (["--quick"] if quick else []),
    ]
    failed = []
    for step in steps:
        print(f"== {' '.join(step)}", file=sys.stderr, flush=True)
        if subprocess.run([sys.executable, str(HERE / step[0])] + step[1:]).returncode != 0:
            failed.append(step[0])
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
