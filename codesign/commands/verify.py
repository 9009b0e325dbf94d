"""codesign verify: the full-layer RTL regression (SmolLM2-135M layer 0 decode step, bit-exact after
every instruction) on Verilator or Icarus, and the cycle table against the analytical model."""

from __future__ import annotations

import json

NAME = "verify"
HELP = "run the RTL on a real SmolLM2 layer (cocotb, Verilator/Icarus); bit-exact check + cycle table vs model"


def add_arguments(p) -> None:
    p.add_argument("--design", required=True, help="design.json")
    p.add_argument("--sim", default="verilator", help="simulator: verilator or icarus")
    p.add_argument("--rtl-dir", default=None,
                   help="RTL folder: an emit-rtl output, or external RTL (files.f) with codesign_top's ports")
    p.add_argument("--context", type=int, default=16, help="keys in the KV cache after the step")
    p.add_argument("--vectors", default=None, help="use this golden vector folder instead of generating one")
    p.add_argument("--random", default=None, metavar="DIMS",
                   help="a small random layer instead of SmolLM2, e.g. d_model=64,n_heads=4,n_kv_heads=2,"
                        "head_dim=16,d_ffn=96 (taken, and said so, when the design's buffers cannot hold "
                        "the SmolLM2 layer)")
    p.add_argument("--per-instruction", action="store_true", help="also print every instruction's cycles")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..design import load_design
    from ..errors import CodesignError
    from ..gen.rtl.verify import verify

    if args.context < 1:
        raise CodesignError(f"got {args.context}; allowed: an integer >= 1", field="--context")
    design = load_design(args.design)
    res = verify(design, args.sim, rtl_dir=args.rtl_dir, context=args.context, vectors_dir=args.vectors,
                 random_dims=args.random)
    rep = res.report
    if args.json:
        print(json.dumps({"passed": res.passed, "sim": res.sim, "vectors": str(res.vectors), "rtl": str(res.rtl),
                          "note": res.note, "report": rep, "cycle_table": res.table}, indent=1, sort_keys=True))
        return 0 if res.passed else 1
    con = Console(width=max(120, Console().width))
    verdict = "[bold green]PASS[/bold green]" if res.passed else "[bold red]FAIL[/bold red]"
    if res.note:
        con.print(f"note: {res.note}")
    mode = rep.get("mode", "per-instruction trace")
    con.print(f"{verdict} {args.sim}: {len(rep.get('steps', []))} instructions checked ({mode}), "
              f"{rep.get('cycles')} cycles; vectors {res.vectors}")
    if rep.get("mismatch"):
        con.print(f"[red]{rep['mismatch']['message']}[/red]")
    if rep.get("error"):
        con.print(f"[red]{rep['error']}[/red]")
    if res.table:
        t = Table(title="cycles per instruction type: RTL simulation vs analytical model (target: within 10%)")
        for c in ("op", "count", "RTL cycles", "model cycles", "model error", "within 10%"):
            t.add_column(c, justify="left" if c == "op" else "right")
        for r in res.table:
            err = r["error_pct"]
            t.add_row(r["op"], str(r["count"]), str(r["rtl"]), "n/a" if r["model"] is None else str(r["model"]),
                      "n/a" if err is None else f"{err:+.1f}%",
                      "n/a" if err is None else ("yes" if abs(err) <= 10 else "[red]no[/red]"))
        con.print(t)
        con.print(f"simulated memory: cocotbext-axi AxiRam, one {design.hw.port_bits}-bit word per cycle per m_axi "
                  f"port (gmem_w, gmem_kv, gmem_io), a few cycles of latency; the model prices "
                  f"{design.hw.weight_channels} weight and {design.hw.kv_channels} KV channels of {design.device} "
                  f"memory with its latency (docs/RTL.md, cycles)")
        if res.table[0]["basis"] != "codesign.model.instruction_cycles":
            con.print(res.table[0]["basis"])
    if args.per_instruction and rep.get("steps"):
        t = Table(title="per instruction")
        for c in ("#", "op", "layer op", "cycles", "ok"):
            t.add_column(c)
        for s in rep["steps"]:
            t.add_row(str(s["index"]), s["op"], s["layer_op"], str(s["cycles"]), "yes" if s["ok"] else "NO")
        con.print(t)
    return 0 if res.passed else 1
