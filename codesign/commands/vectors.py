"""codesign vectors: golden test vectors of one decoder layer for the HLS and RTL tests."""

from __future__ import annotations

NAME = "vectors"
HELP = "write golden test vectors (memory images, instruction words, expected output after every instruction)"


def add_arguments(p) -> None:
    p.add_argument("--design", help="design.json (quantization, MPE rows x cols); required unless --check")
    p.add_argument("--model", help="checkpoint: a known name (smollm2-135m), a .gguf file or an HF folder "
                                   "(default: the design's model)")
    p.add_argument("--layer", type=int, default=0, help="decoder layer index")
    p.add_argument("--context", type=int, default=64,
                   help="keys attended by the last token; context - tokens real-text tokens fill the KV cache first")
    p.add_argument("--tokens", type=int, default=1, help="1 = a decode step; > 1 = a prefill chunk")
    p.add_argument("--random", metavar="SPEC",
                   help="a small random layer instead of a checkpoint, e.g. "
                        "'d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96[,n_experts=4,top_k=2]'")
    p.add_argument("--seed", type=int, default=0, help="seed of --random")
    p.add_argument("--out", help="output folder (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="replace an output folder this tool wrote")
    p.add_argument("--report", action="store_true",
                   help="also print SQNR / cosine / max abs error of the integer layer against the float layer")
    p.add_argument("--check", metavar="DIR", help="verify a vector folder (hashes, then replay every instruction)")


def _print_report(rep: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"integer layer vs float reference ({rep['tokens']} tokens: prefill + 1 decode)")
    for c in ("reference", "tensor", "SQNR dB", "cosine", "max abs err", "max abs ref"):
        t.add_column(c)
    for ref in ("float", "datapath"):
        for part in ("output", "update", "decode_update"):
            m = rep[ref][part]
            t.add_row(ref, part, f"{m['sqnr_db']:.2f}", f"{m['cosine']:.6f}", f"{m['max_abs']:.4g}",
                      f"{m['ref_max_abs']:.4g}")
    Console().print(t)
    t = Table(title="per unit, decode token (SQNR dB vs float / vs datapath reference)")
    for c in ("unit", "float SQNR", "float cosine", "datapath SQNR", "datapath cosine"):
        t.add_column(c)
    for op, m in rep["float"]["decode_ops"].items():
        d = rep["datapath"]["decode_ops"][op]
        t.add_row(op, f"{m['sqnr_db']:.2f}", f"{m['cosine']:.6f}", f"{d['sqnr_db']:.2f}", f"{d['cosine']:.6f}")
    Console().print(t)


def run(args) -> int:
    from ..design import load_design
    from ..errors import CodesignError
    from ..vectors import read_vectors, replay, write_vectors

    if args.check:
        from ..vectors.manifest_check import check_vector_folder, replay_failure

        check_vector_folder(args.check, "--check")
        vec = read_vectors(args.check)
        try:
            bad = replay(vec)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError, ZeroDivisionError) as e:
            raise replay_failure(e, args.check, "--check") from None
        if bad:
            raise CodesignError(f"steps {bad} differ from the expected files", field="--check")
        m = vec.manifest
        print(f"{args.check}: {len(vec.files)} files verified (SHA-256), {m['instructions']} instructions "
              f"replayed, all equal")
        return 0
    if not args.design or not args.out:
        raise CodesignError("--design and --out are required (or --check DIR)", field="--design")
    design = load_design(args.design)
    src = None
    if args.report:   # load the layer once for both the vectors and the report
        from ..vectors import random_config, random_source, real_source
        src = (random_source(random_config(args.random), args.context, args.seed) if args.random
               else real_source(args.model or design.model, args.layer, args.context))
    man = write_vectors(design, args.model, args.layer, args.out, context=args.context, tokens=args.tokens,
                        random_dims=args.random, seed=args.seed, force=args.force, source=src)
    total = sum(f["bytes"] for f in man["files"].values())
    print(f"wrote {args.out}: {man['model']['name']} layer {args.layer}, {man['phase']} m={man['tokens']} "
          f"context={man['context']}, W{design.quant.wbits}A{design.quant.abits}KV{design.quant.kvbits} "
          f"g{design.quant.group}, MPE {design.hw.rows}x{design.hw.cols}: {man['instructions']} instructions, "
          f"{len(man['files'])} files, {total} bytes")
    if src is not None:
        import numpy as np

        from ..quant.layer_error import compare_layer
        rep = compare_layer(src.weights, src.cfg, design.quant, np.asarray(src.x[:args.context]),
                            rope_theta=src.rope_theta, norm_eps=src.norm_eps)
        _print_report(rep)
    return 0
