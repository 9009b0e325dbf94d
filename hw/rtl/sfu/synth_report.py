"""Yosys `synth_xilinx -family xcup` resource counts of the SFU blocks.

    python hw/rtl/sfu/synth_report.py [--lanes 4,16] [--blocks sfu_add,...] [--json F]

Prints DSP48E2 / LUT / FF (and CARRY, SRL, BRAM) per block and lane count. Yosys
maps multipliers into DSP48E2 but builds accumulators in fabric, so LUT/FF are an
upper bound for what Vivado would give. `synth_block()` is importable (the core
helper's `codesign synth` uses it for the SFU row).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SFU_DIR = Path(__file__).resolve().parent

# Block -> HDL parameters besides SFU_LANES (defaults of the design space:
# W4A8, KV8, group 128, as codesign/design.py's Quant defaults).
BLOCKS: dict[str, dict[str, int]] = {
    "sfu_add": {},
    "sfu_quant": {"QBITS": 8, "QW": 8, "GROUP": 128},
    "sfu_rope": {},
    "sfu_swiglu": {},
    "sfu_softmax": {},
    "sfu_rmsnorm": {},
    "sfu_top": {"ABITS": 8, "KVBITS": 8, "GROUP": 128},
}


def sources() -> list[Path]:
    return [SFU_DIR / ln.strip() for ln in (SFU_DIR / "files.f").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]


def count_cells(by_type: dict[str, int]) -> dict[str, int]:
    """Group Yosys xilinx cell types into the resource classes the model predicts."""
    res = {"dsp": 0, "lut": 0, "ff": 0, "carry": 0, "srl": 0, "bram36": 0, "lutram": 0}
    for cell, k in by_type.items():
        if cell.startswith("DSP48"):
            res["dsp"] += k
        elif cell.startswith("LUT") or cell == "INV":   # INV is a LUT1
            res["lut"] += k
        elif cell.startswith("FD"):
            res["ff"] += k
        elif cell.startswith("CARRY"):
            res["carry"] += k
        elif cell.startswith("SRL"):
            res["srl"] += k
        elif cell.startswith("RAMB36"):
            res["bram36"] += k
        elif cell.startswith("RAMB18"):
            res["bram36"] += k / 2
        elif cell.startswith("RAM") and cell[3:4].isdigit():
            res["lutram"] += k
    return res


def synth_block(top: str, params: dict[str, int], work: Path | None = None) -> dict[str, int]:
    """Synthesize one SFU block (or sfu_top) with the given parameters; return cell counts."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        stat = work / f"{top}_stat.json"
        chparams = " ".join(f"-set {k} {v}" for k, v in params.items())
        files = " ".join(str(s) for s in sources())
        script = (f'read_verilog {files}; '
                  f"chparam {chparams} {top}; "
                  f"synth_xilinx -family xcup -flatten -noiopad -top {top}; "
                  f"tee -q -o {stat} stat -json")
        proc = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"yosys failed on {top} {params}:\n{(proc.stderr + proc.stdout)[-2000:]}")
        data = json.loads(stat.read_text())
        return count_cells(data["design"]["num_cells_by_type"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", default="4,16", help="comma-separated SFU_LANES values")
    ap.add_argument("--blocks", default=",".join(BLOCKS), help="comma-separated block names")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args(argv)
    lanes = [int(v) for v in args.lanes.split(",")]
    blocks = args.blocks.split(",")
    for b in blocks:
        if b not in BLOCKS:
            print(f"synth_report: error: --blocks: unknown {b!r}; allowed: {', '.join(BLOCKS)}",
                  file=sys.stderr)
            return 2
    rows = []
    for b in blocks:
        for n in lanes:
            params = {"SFU_LANES": n, **BLOCKS[b]}
            rows.append({"block": b, "params": params, **synth_block(b, params)})
    try:
        from rich.console import Console
        from rich.table import Table
        t = Table(title="SFU: Yosys synth_xilinx -family xcup (LUT/FF: upper bound)")
        for c in ("block", "SFU_LANES", "params", "DSP", "LUT", "FF", "CARRY", "SRL", "BRAM36"):
            t.add_column(c, justify="right" if c not in ("block", "params") else "left")
        for r in rows:
            other = ",".join(f"{k}={v}" for k, v in r["params"].items() if k != "SFU_LANES")
            t.add_row(r["block"], str(r["params"]["SFU_LANES"]), other, str(r["dsp"]), str(r["lut"]),
                      str(r["ff"]), str(r["carry"]), str(r["srl"]), str(r["bram36"]))
        Console().print(t)
    except ImportError:
        for r in rows:
            print(r)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
