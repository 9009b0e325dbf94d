"""Sweep throughput on Dask workers (issue 18): points/s with 1 and 2 workers, beside the local engine.

The full per-chunk pipeline (``Sweeper.chunk_result``, no point rows) over --points grid points of the
default LLaMA-2-7B / U280 space, folded in chunk order as ``codesign sweep`` does, each the fastest of
--repeat runs:
  local   forked worker processes (runner.chunk_results), 1 and 2 processes
  dask    a local Dask cluster (search.dask_engine.DaskEngine, one thread per worker process), 1 and 2
          workers; the cluster's start-up is timed apart (it is paid once per sweep)
CPU time is this process plus its forked children; a Dask worker's CPU is not counted (it is not our
child), so the Dask rows give wall-clock points/s only. On a machine other jobs load, compare rows of
the same run.

    python benchmarks/bench_dask.py [--points N] [--chunk C] [--repeat R] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codesign.design import Workload  # noqa: E402
from codesign.devices import get_device  # noqa: E402
from codesign.search.accuracy import load_accuracy  # noqa: E402
from codesign.search.constraints import Constraints  # noqa: E402
from codesign.search.dask_engine import DaskEngine  # noqa: E402
from codesign.search.defaults import default_space  # noqa: E402
from codesign.search.engine import Sweeper  # noqa: E402
from codesign.search.runner import chunk_results  # noqa: E402


def run(engine, sw, tasks, workers):
    state = sw.new_state()
    for res in engine(sw, tasks, workers):
        res.fold_into(state)
    return state


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=2_000_000)
    ap.add_argument("--chunk", type=int, default=1 << 16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    a = ap.parse_args()
    counts = [int(w) for w in a.workers.split(",")]

    sw = Sweeper("llama2-7b", "u280", Workload(), default_space(get_device("u280")), Constraints(),
                 load_accuracy("llama2-7b"))
    n = min(a.points, sw.space.size)
    tasks = [(s, min(s + a.chunk, n), "none") for s in range(0, n, a.chunk)]
    sw.chunk_result(0, min(a.chunk, n), "none")   # warm-up: imports, program compilation caches
    ref = None
    load0 = os.getloadavg()[0]
    print(f"{n:,} points of the default llama2-7b / u280 space ({sw.space.size:,}), chunks of {a.chunk:,}, "
          f"best of {a.repeat}; {os.cpu_count()} CPUs visible")
    print(f"{'engine':<7} {'workers':>7} {'start s':>8} {'wall s':>8} {'points/s':>12}")
    for w in counts:
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            st = run(chunk_results, sw, tasks, w)
            times.append(time.perf_counter() - t)
        ref = ref or st.front.ids.tobytes()
        assert st.front.ids.tobytes() == ref
        print(f"{'local':<7} {w:>7} {'-':>8} {min(times):>8.2f} {n / min(times):>12,.0f}", flush=True)
    for w in counts:
        t = time.perf_counter()
        with DaskEngine(None, w) as eng:
            start = time.perf_counter() - t
            times = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                st = run(eng, sw, tasks, w)
                times.append(time.perf_counter() - t)
        assert st.front.ids.tobytes() == ref   # the same front, whichever engine
        print(f"{'dask':<7} {w:>7} {start:>8.2f} {min(times):>8.2f} {n / min(times):>12,.0f}", flush=True)
    print(f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after (wall figures assume idle CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
