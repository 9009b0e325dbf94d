"""codesign compile: the instruction list of one decoder layer (decode step or prefill chunk)."""

from __future__ import annotations

NAME = "compile"
HELP = "compile one decoder layer of a model into the processor's instruction list (docs/ISA.md)"


def add_arguments(p) -> None:
    p.add_argument("--design", required=True, help="design.json (quantization and hardware parameters)")
    p.add_argument("--model", help="model preset or HF config.json (default: the design's model)")
    p.add_argument("--phase", default="decode", choices=("decode", "prefill"), help="decode step or prefill chunk")
    p.add_argument("--tokens", type=int, help="prefill chunk tokens (default: the design's workload prompt)")
    p.add_argument("--context", type=int,
                   help="keys attended by the last token (default: decode = the design's decode context; "
                        "prefill = tokens)")
    p.add_argument("--layer", type=int, default=0,
                   help="decoder layer (its weight bits when the design is mixed precision: design.json layer_wbits)")
    p.add_argument("--batch", type=int, help="sequences decoded/prefilled together (default: the design's workload batch)")
    p.add_argument("--out", help="write the list: .json (fields per instruction) or .bin (uint32 words)")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    p.add_argument("--json", action="store_true", help="print the list as JSON instead of a table")


def run(args) -> int:
    import json
    from dataclasses import asdict
    from pathlib import Path

    from ..design import load_design
    from ..errors import CodesignError
    from ..fsutil import atomic_write_bytes, atomic_write_text, dumps_json
    from ..isa.compiler import compile_layer
    from ..isa.encoding import encode
    from ..quant.mixed_precision import design_unit_wbits
    from ..workload import load_model_config

    design = load_design(args.design)
    cfg = load_model_config(args.model or design.model)
    if args.phase == "decode":
        tokens = 1 if args.tokens is None else args.tokens
        context = args.context if args.context is not None else design.workload.decode_context
    else:
        tokens = args.tokens if args.tokens is not None else design.workload.prompt
        context = args.context if args.context is not None else tokens
    batch = args.batch if args.batch is not None else design.workload.batch
    instrs = compile_layer(cfg, design.quant, args.phase, tokens, context, hw=design.hw, batch=batch,
                           unit_wbits=design_unit_wbits(design, args.layer))
    rows = [{k: v for k, v in asdict(i).items()} for i in instrs]
    if args.out:
        out = Path(args.out)
        if out.exists() and not args.force:
            raise CodesignError(f"'{out}' already exists; pass --force to overwrite it", field="--out")
        if out.suffix == ".bin":
            atomic_write_bytes(out, encode(instrs).astype("<u4").tobytes(), field="--out")
        elif out.suffix == ".json":
            atomic_write_text(out, dumps_json({"model": cfg.name, "phase": args.phase, "tokens": tokens,
                                               "context": context, "batch": batch, "instructions": rows}),
                              field="--out")
        else:
            raise CodesignError(f"unknown extension '{out.suffix}'; allowed: .json, .bin", field="--out")
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{cfg.name}: one layer, {args.phase}, tokens={tokens}, batch={batch}, context={context} "
                    f"({len(instrs)} instructions, {len(instrs) * 64} bytes)")
    cols = ("#", "op", "layer_op", "m", "n", "k", "heads", "kv", "hd", "ctx", "src", "src2", "dst", "addr",
            "func", "slot", "shift", "mult", "imm", "wbits")
    for c in cols:
        t.add_column(c, justify="right" if c not in ("op", "layer_op") else "left")
    for n, i in enumerate(instrs):
        t.add_row(str(n), i.op, i.layer_op, *(str(x) for x in (i.m, i.n, i.k, i.heads, i.kv_heads, i.head_dim, i.ctx,
                                                               i.src, i.src2, i.dst, hex(i.addr), i.func, i.slot,
                                                               i.shift, i.mult, i.imm, i.wbits)))
    Console(width=200).print(t)
    if args.out:
        print(f"wrote {args.out}")
    return 0
