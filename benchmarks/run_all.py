"""The whole benchmark suite, one command:

    python benchmarks/run_all.py            # whole jobs vs peers, engines vs peers (4K), big filters, memory,
                                            # deblur
    python benchmarks/run_all.py --quick    # fewer rounds: a smoke run

Runs bench_e2e.py, bench_engines.py, bench_filters.py, bench_memory.py and
bench_deblur.py in turn (each in its own
process, so one's memory or threads cannot disturb another's) and leaves their tables in
benchmarks/results/.
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
        ["bench_e2e.py"] + (["--rounds", "3"] if quick else []),
        ["bench_engines.py"] + (["--quick"] if quick else []),
        ["bench_filters.py"] + (["--rounds", "2"] if quick else []),
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
