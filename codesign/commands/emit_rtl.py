"""codesign emit-rtl: Verilog of the LLM processor for a design point, plus file list and cocotb tests."""

from __future__ import annotations

NAME = "emit-rtl"
HELP = "write the processor RTL (top wrapper with design.json parameters), file list and cocotb tests"


def add_arguments(p) -> None:
    p.add_argument("--design", required=True, help="design.json (from `codesign sweep` or `evaluate --save`)")
    p.add_argument("--out", required=True, help="output folder (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an output folder this tool wrote")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..design import load_design
    from ..gen.rtl.emit import emit_rtl

    design = load_design(args.design)
    man = emit_rtl(design, args.out, force=args.force)
    con = Console()
    con.print(f"[bold]emit-rtl[/bold] {man['top']} ({len(man['files'])} files) -> {args.out}")
    t = Table(title="parameters (read back with pyverilog, checked against design.json)")
    t.add_column("parameter")
    t.add_column("value", justify="right")
    for k, v in man["parameters"].items():
        t.add_row(k, str(v))
    con.print(t)
    con.print(f"ports: {len(man['pyverilog']['ports'])} (same names, directions and widths as codesign_top)")
    con.print(f"run the regression: codesign verify --design {args.design} --rtl-dir {args.out}")
    return 0
