"""codesign emit-hls: a Vitis HLS project (kernel, testbench, golden vectors, run_hls.tcl) from design.json."""

from __future__ import annotations

NAME = "emit-hls"
HELP = "write a Vitis HLS C++ project of the LLM processor (or an hls4ml FFN block) for a design point"

BACKENDS = ("vitis", "hls4ml")


def add_arguments(p) -> None:
    p.add_argument("--design", required=True, help="design.json (from `codesign sweep` or `evaluate --save`)")
    p.add_argument("--out", required=True, help="output folder (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an output folder this tool wrote")
    p.add_argument("--backend", default="vitis", help="vitis (the processor) or hls4ml (a SwiGLU FFN block)")
    p.add_argument("--vectors", default=None,
                   help="golden vectors folder from `codesign vectors` (default: SmolLM2-135M layer 0 "
                        "decode-step vectors, generated for this design)")
    p.add_argument("--ffn-dims", default=None, metavar="D,F",
                   help="hls4ml backend: slice the FFN block to d_model=D, d_ffn=F (an on-chip-sized block)")
    p.add_argument("--context", type=int, default=None,
                   help="KV-cache context of the generated decode step (default: the vector writer's)")


def run(args) -> int:
    from rich.console import Console

    from ..design import load_design
    from ..errors import CodesignError

    if args.backend not in BACKENDS:
        raise CodesignError(f"got {args.backend!r}; allowed: {', '.join(BACKENDS)}", field="--backend")
    design = load_design(args.design)
    if args.vectors:
        from ..vectors.manifest_check import check_vector_folder
        check_vector_folder(args.vectors, "--vectors")
    console = Console()
    if args.backend == "hls4ml":
        from ..gen.hls.hls4ml_ffn import emit_hls4ml_ffn
        dims = None
        if args.ffn_dims:
            try:
                dims = tuple(int(v) for v in args.ffn_dims.split(","))
            except ValueError:
                dims = ()
            if len(dims) != 2:
                raise CodesignError(f"got {args.ffn_dims!r}; expected two integers D,F", field="--ffn-dims")
        report = emit_hls4ml_ffn(design, args.out, force=args.force, dims=dims, console=console)
        w = {n: p.get("weight") for n, p in report["precisions"].items() if "weight" in p}
        console.print(f"  weights {w}, input {report['precisions']['x']['result']}; part {report['part']}")
        console.print(f"  wrote {args.out} (hls4ml_prj/, report.json, README.md)")
        return 0
    from ..gen.hls.project import emit_project
    summary = emit_project(design, args.out, force=args.force, vectors=args.vectors, context=args.context)
    console.print(f"[bold]emit-hls[/bold] {design.model} on {design.device} ({summary['part']}, "
                  f"{summary['clock_period_ns']:.3f} ns) -> {args.out}")
    console.print(f"  top {summary['top']}; {len(summary['sources'])} source files; vectors: "
                  f"{summary['vectors'].get('description', '')}")
    console.print(f"  next: codesign csim {args.out}")
    return 0
