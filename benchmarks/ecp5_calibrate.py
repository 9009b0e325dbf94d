"""Place-and-route builds of the whole processor on the ULX3S (LFE5U-85F) for the ECP5 resource and
clock model (codesign/model/ecp5_calibration.py). Run by hand (each build takes tens of minutes of
WebAssembly Yosys + nextpnr); each writes one small JSON record, committed as the fit's source:

    python benchmarks/ecp5_calibrate.py NAME [NAME ...]     # names from SIZES below
    python benchmarks/ecp5_calibrate.py --list

Records go to codesign/model/data/ecp5_builds/NAME.json; the build folders to runs/ecp5/NAME.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.design import Design, Hardware, Quant  # noqa: E402
from codesign.export import ecp5  # noqa: E402
from codesign.fsutil import dumps_json  # noqa: E402

# name -> (rows, cols, sfu_lanes, role). W4A8 group 32, 64-bit ports, the tiny design's buffers.
# The fit runs vary lanes, rows and SFU lanes independently; the hold-out runs are other sizes.
SIZES = {
    "r1c8s1": (1, 8, 1, "fit"),
    "r2c8s2": (2, 8, 2, "fit"),
    "r1c16s2": (1, 16, 2, "fit"),
    "r2c16s1": (2, 16, 1, "fit"),
    "r4c8s1": (4, 8, 1, "holdout"),
    "r1c4s1": (1, 4, 1, "holdout"),
}
FREQ_MHZ = 50


def design_for(rows: int, cols: int, sfu: int) -> Design:
    return Design(model="smollm2-135m", device="ulx3s",
                  quant=Quant(wbits=4, abits=8, kvbits=8, group=32),
                  hw=Hardware(rows=rows, cols=cols, sfu_lanes=sfu, freq_mhz=FREQ_MHZ, port_bits=64,
                              wbuf_depth=512, abuf_depth=1024, kvbuf_depth=16, weight_channels=1,
                              kv_channels=1)).validate()


def build(name: str) -> dict:
    rows, cols, sfu, role = SIZES[name]
    design = design_for(rows, cols, sfu)
    out = ROOT / "runs" / "ecp5" / name
    t0 = time.time()
    sources, img = ecp5.emit_board(design, out / "rtl")
    res = ecp5.build_bitstream(out / "build", out / "rtl", sources, ecp5.TOP, float(FREQ_MHZ))
    synth = ecp5.synth_counts(json.loads((out / "build" / "synth_stat.json").read_text()))
    rec = {"name": name, "role": role, "design": design.to_dict(), "used": res.used, "synth": synth,
           "fmax_mhz": res.fmax_mhz, "target_mhz": FREQ_MHZ, "seconds": res.seconds,
           "wall_s": round(time.time() - t0, 1), "bitstream_bytes": res.bitstream.stat().st_size,
           "tools": ecp5.tool_versions(), "machine": "2 shared cores (this project's dev machine)",
           "command": f"python benchmarks/ecp5_calibrate.py {name}",
           "date": time.strftime("%Y-%m-%d", time.gmtime())}
    dest = ROOT / "codesign" / "model" / "data" / "ecp5_builds" / f"{name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(dumps_json(rec))
    return rec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="build names: " + ", ".join(SIZES))
    ap.add_argument("--list", action="store_true", help="list the sizes and exit")
    a = ap.parse_args()
    if a.list or not a.names:
        for n, (r, c, s, role) in SIZES.items():
            print(f"{n}: rows {r} cols {c} sfu_lanes {s} ({role})")
        return 0
    for n in a.names:
        if n not in SIZES:
            print(f"unknown build {n!r}; allowed: {', '.join(SIZES)}", file=sys.stderr)
            return 2
    for n in a.names:
        rec = build(n)
        print(json.dumps({k: rec[k] for k in ("name", "used", "fmax_mhz", "seconds", "wall_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
