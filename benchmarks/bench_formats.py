"""points.csv against points.parquet: time to produce, write and read back the sweep's points (issue 18).

On --points grid points of the default LLaMA-2-7B / U280 space (evaluated once, outside the timing),
each the fastest of --repeat runs:
  rows     formatting each chunk's rows: CSV text (csvfast) or an Arrow IPC stream of typed columns
           (what a worker sends back and the checkpoint keeps)
  file     assembling points.csv / points.parquet from those chunk parts (outputs.write_points)
  read     loading the file into pandas (codesign.load_sweep's readers)
and the file sizes.

    python benchmarks/bench_formats.py [--points N] [--chunk C] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from codesign.design import Workload  # noqa: E402
from codesign.devices import get_device  # noqa: E402
from codesign.search.accuracy import load_accuracy  # noqa: E402
from codesign.search.arrow_rows import ipc_rows, write_parquet  # noqa: E402
from codesign.search.constraints import Constraints  # noqa: E402
from codesign.search.defaults import default_space  # noqa: E402
from codesign.search.engine import Sweeper  # noqa: E402


def best_of(repeat: int, fn) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=1 << 16)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()

    sw = Sweeper("llama2-7b", "u280", Workload(), default_space(get_device("u280")), Constraints(),
                 load_accuracy("llama2-7b"))
    n = min(a.points, sw.space.size)
    starts = list(range(0, n, a.chunk))
    cols = [sw.evaluate_indices(np.arange(s, min(s + a.chunk, n), dtype=np.int64)) for s in starts]
    ipc_rows(sw, cols[0])   # warm-up: pyarrow's import
    load0 = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-formats-"))
    try:
        csv_parts = [sw.csv_rows(c) for c in cols]
        ipc_parts = [ipc_rows(sw, c) for c in cols]
        for i, (c, p) in enumerate(zip(csv_parts, ipc_parts)):
            (work / f"{i:06d}.csv").write_bytes(c)
            (work / f"{i:06d}.arrow").write_bytes(p)
        t_rows = {"csv": best_of(a.repeat, lambda: [sw.csv_rows(c) for c in cols]),
                  "parquet": best_of(a.repeat, lambda: [ipc_rows(sw, c) for c in cols])}

        def write_csv():
            with open(work / "points.csv", "wb") as out:
                out.write(sw.csv_header())
                for i in range(len(starts)):
                    out.write((work / f"{i:06d}.csv").read_bytes())

        def write_pq():
            write_parquet(work / "points.parquet", [work / f"{i:06d}.arrow" for i in range(len(starts))])

        t_file = {"csv": best_of(a.repeat, write_csv), "parquet": best_of(a.repeat, write_pq)}
        import pandas as pd

        from codesign.api import _read_csv
        t_read = {"csv": best_of(a.repeat, lambda: _read_csv(work / "points.csv")),
                  "parquet": best_of(a.repeat, lambda: pd.read_parquet(work / "points.parquet"))}
        size = {"csv": (work / "points.csv").stat().st_size, "parquet": (work / "points.parquet").stat().st_size}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{n:,} points of the default llama2-7b / u280 space, chunks of {a.chunk:,}, best of {a.repeat}; "
          f"{os.cpu_count()} CPUs, load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'format':<8} {'rows s':>8} {'rows pts/s':>12} {'file s':>8} {'read s':>8} {'read pts/s':>12} {'MB':>8}")
    for f in ("csv", "parquet"):
        print(f"{f:<8} {t_rows[f]:>8.3f} {n / t_rows[f]:>12,.0f} {t_file[f]:>8.3f} {t_read[f]:>8.3f} "
              f"{n / t_read[f]:>12,.0f} {size[f] / 1e6:>8.1f}")
    w_csv, w_pq = t_rows["csv"] + t_file["csv"], t_rows["parquet"] + t_file["parquet"]
    print(f"parquet vs csv: writing {w_csv / w_pq:.1f}x faster (rows + file), reading {t_read['csv'] / t_read['parquet']:.1f}x "
          f"faster, {size['csv'] / size['parquet']:.1f}x smaller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
