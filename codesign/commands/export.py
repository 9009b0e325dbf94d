"""codesign export: a bitstream-ready vendor project (or a real iCE40 bitstream) from design.json."""

from __future__ import annotations

import json

NAME = "export"
HELP = ("write a bitstream-ready vendor project for a board (Vitis/Vivado), an iCE40 MPE-tile bitstream, or the "
        "whole processor as an ECP5 bitstream (ulx3s)")


def add_arguments(p) -> None:
    from ..export.boards import BOARDS
    p.add_argument("--design", required=True, help="design.json (from `codesign sweep` or `evaluate --save`)")
    p.add_argument("--board", required=True, help="target board: " + ", ".join(sorted(BOARDS)))
    p.add_argument("--out", required=True, help="output folder (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an output folder this tool wrote")
    p.add_argument("--vectors", default=None,
                   help="golden vectors folder from `codesign vectors` (default: SmolLM2-135M layer 0 decode step)")
    p.add_argument("--json", action="store_true", help="print the export summary as JSON")


def _check_board(design, board: str) -> None:
    """--board names a board export writes, and one for the design's device; every suggestion is one
    this command accepts."""
    from ..errors import CodesignError
    from ..export.boards import BOARDS

    key = board.strip().lower()
    fits = sorted(n for n, b in BOARDS.items() if b.device == design.device.lower())
    if key not in BOARDS:
        hint = (f"; for this design ({design.device}): --board {' or '.join(fits)}" if fits else
                f"; none is the design's device '{design.device}': re-run the sweep with --device set to one of "
                "them")
        raise CodesignError(f"unknown board {board!r}; boards: {', '.join(sorted(BOARDS))}{hint}", field="--board")
    b = BOARDS[key]
    if b.flow not in ("ice40", "ecp5") and b.device != design.device.lower():
        hint = (f"--board {' or '.join(fits)}" if fits else
                f"no board of this command has the design's device '{design.device}'; re-run the sweep with "
                f"--device {b.device} to export to {key}")
        raise CodesignError(f"design.json was chosen for device '{design.device}', not '{key}'; {hint}",
                            field="--board")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..design import load_design
    from ..export.writer import export_project

    design = load_design(args.design)
    _check_board(design, args.board)
    if args.vectors:
        from ..vectors.manifest_check import check_vector_folder
        check_vector_folder(args.vectors, "--vectors")
    summary = export_project(design, args.board, args.out, force=args.force, vectors=args.vectors)
    import sys
    for w in summary.get("warnings", []):      # a routed clock below the design's: said, never hidden
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    console = Console()
    console.print(f"[bold]exported[/bold] {design.model} for {summary['board']} -> {args.out}")
    if "banks" in summary:
        t = Table(title="memory-bank plan (link.cfg)")
        for c in ("port", "role", "banks"):
            t.add_column(c)
        for pb in summary["banks"]:
            t.add_row(pb["port"], pb["role"], f"{pb['first']}..{pb['last']}")
        console.print(t)
    if "cards" in summary:
        console.print(f"{summary['cards']} cards (tp {summary['tp']} x pp {summary['pp']}, link {summary['link']}): "
                      f"cards/card<i>.json, link.json")
        console.print(f"[yellow]{summary['modelled_only']}[/yellow]")
    if "used" in summary:
        fmax = ", ".join(f"{clk} {mhz:g}" for clk, mhz in summary["fmax_mhz"].items())
        t = Table(title=f"LFE5U-85F post-route utilisation (Fmax {fmax} MHz; the processor runs at "
                        f"{summary['processor_clock_mhz']:g} MHz for the design's {summary['design_freq_mhz']}; "
                        f"model Fmax {summary['predicted'].get('fmax_mhz', '-')} MHz)")
        for c in ("resource", "post-route", "model", "available"):
            t.add_column(c)
        for k, cap in summary["capacity"].items():
            t.add_row(k, str(summary["used"].get(k, 0)), str(summary["predicted"].get(k, "-")), str(cap))
        console.print(t)
    if "cells" in summary:
        t = Table(title=f"iCE40UP5K utilisation (Fmax {summary['fmax_mhz']} MHz vs design "
                        f"{summary['design_freq_mhz']} MHz)")
        for c in ("cell", "used", "available"):
            t.add_column(c)
        for k, cap in summary["capacity"].items():
            t.add_row(k, str(summary["cells"].get(k, 0)), str(cap))
        console.print(t)
    return 0
