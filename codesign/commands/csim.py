"""codesign csim: compile and run the C-simulation of an emit-hls project, check every instruction."""

from __future__ import annotations

NAME = "csim"
HELP = "C-simulate an emit-hls project with g++ and check every instruction bit-exactly against golden"


def add_arguments(p) -> None:
    p.add_argument("dir", metavar="DIR", help="project folder written by `codesign emit-hls`")
    p.add_argument("--opt-level", type=int, default=2, choices=(0, 1, 2, 3), help="g++ optimisation level (-O<n>)")
    p.add_argument("--json", action="store_true", help="print the per-instruction report as JSON")


def run(args) -> int:
    import json
    import time
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from ..gen.hls.csim import run as run_csim

    folder = Path(args.dir)
    console = Console()
    with console.status("compiling testbench + kernel (g++)..."):
        from ..gen.hls.csim import build
        t0 = time.perf_counter()
        exe = build(folder, f"-O{args.opt_level}")
        build_s = time.perf_counter() - t0
    with console.status("running C-simulation..."):
        res = run_csim(folder, exe=exe)
    if args.json:
        print(json.dumps({"rows": res.rows, "final": res.final, "summary": res.summary, "passed": res.passed},
                         indent=2, sort_keys=True))
        return 0 if res.passed else 1
    else:
        from ..gen.hls.csim import model_cycles
        cyc = model_cycles(folder)
        t = Table(title=f"C-simulation of {folder} (bit-exact vs golden, after every instruction)",
                  caption="beats: iterations of the kernel's II=1 loops in this instruction (C-sim count); "
                          "model cycles: codesign.model instruction_cycles")
        for c in ("instr", "op", "elements", "mismatches", "max |diff|", "beats", "model cycles"):
            t.add_column(c, justify="right" if c != "op" else "left")
        for r in res.rows:
            style = "red" if r["mismatches"] else None
            mc = f"{cyc[r['instr']]:.0f}" if cyc and r["instr"] < len(cyc) else "-"
            t.add_row(str(r["instr"]), r["op"], str(r["elements"]), str(r["mismatches"]), str(r["max_abs_diff"]),
                      str(r.get("beats", "-")), mc, style=style)
        console.print(t)
    bad = res.first_mismatch
    if bad is not None or not res.passed:
        if bad is not None:
            console.print(f"[red]MISMATCH[/red] instruction {bad['instr']} ({bad['op']}): index {bad['index']}: "
                          f"expected {bad['expected']}, actual {bad['actual']} "
                          f"({bad['mismatches']} mismatching element(s); {res.summary.get('mismatches')} in total)")
        else:
            console.print(f"[red]FAILED[/red]: {res.stderr or res.summary}")
        return 1
    n = sum(r["elements"] for r in res.rows)
    console.print(f"final off-chip images (KV cache, layer output): {res.final.get('elements', 0)} bytes, "
                  f"{res.final.get('mismatches')} mismatches")
    console.print(f"[green]PASS[/green]: {len(res.rows)} instructions, {n} values bit-exact "
                  f"(build {build_s:.1f} s, run {res.run_s:.1f} s)")
    return 0
