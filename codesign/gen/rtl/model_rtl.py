"""The RTL backend of `codesign run`: codesign_top (hw/rtl, this design's parameters) on Verilator
or Icarus under cocotb, the whole generation inside the bench (sim/test_model_run.py): the host
side (embedding, LM head, greedy sampling) runs between kernel runs, the KV cache stays in the
simulated AXI memory. The simulator build is cached per (simulator, parameters, RTL sources)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ...design import Design
from ...errors import CodesignError
from .params import core_params
from .verify import ROOT, _key, cache_dir, rtl_sources, source_digest

SIMULATORS = ("verilator", "icarus")


def build(design: Design, sim: str, cache: Path | None = None):
    """(cocotb runner, build folder, build seconds) of codesign_top for the design."""
    sys.path.insert(0, str(ROOT / "sim"))
    import rtl_build

    if sim not in SIMULATORS:
        raise CodesignError(f"got {sim!r}; allowed: {', '.join(SIMULATORS)}", field="--backend")
    params = core_params(design)
    folder = (cache or cache_dir()) / "rtl_model_build" / f"{sim}-{_key([params, source_digest(rtl_sources())])}"
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runner = rtl_build.build(sim, "codesign_top", rtl_build.core_sources(), params, folder)
    return runner, folder, time.perf_counter() - t0


def run_rtl(design: Design, sim: str, model_spec: dict, prompt_ids: list, tokens: int, chunk: int | None = None,
            cache: Path | None = None, max_cycles: int = 50_000_000) -> dict:
    """Generate ``tokens`` tokens on the RTL; the bench's report (new_ids, hidden, per-step cycles and
    model cycles) plus build_s and run_s."""
    sys.path.insert(0, str(ROOT / "sim"))
    import rtl_build

    runner, folder, build_s = build(design, sim, cache)
    with tempfile.TemporaryDirectory(prefix="codesign-run-rtl-") as tmp:
        spec_path, report_path = Path(tmp) / "spec.json", Path(tmp) / "report.json"
        spec_path.write_text(json.dumps({"design": design.to_dict(), "model": model_spec,
                                         "prompt_ids": [int(i) for i in prompt_ids], "tokens": int(tokens),
                                         "chunk": chunk}))
        t0 = time.perf_counter()
        n, failed, xml = rtl_build.run(runner, "codesign_top", ["test_model_run"], folder, f"run{time.time_ns()}",
                                       {"RUN_SPEC": spec_path, "REPORT": report_path, "CORE_PATH": "u_core",
                                        "MAX_CYCLES": max_cycles})
        run_s = time.perf_counter() - t0
        report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    if n != 1 or failed or not report:
        raise CodesignError(f"the RTL run failed ({report.get('error') or 'no report'}; log {xml})",
                            field="--backend")
    report["build_s"], report["run_s"] = build_s, run_s
    report["hidden"] = [np.asarray(h, dtype=np.int64) for h in report["hidden"]]
    return report
