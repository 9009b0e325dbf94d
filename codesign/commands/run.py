"""codesign run: a whole model generating text on the processor (issue 17): every decoder layer and
the final RMSNorm as one instruction stream per step on the golden model, the HLS C-simulation or
the RTL; the KV cache kept across tokens; embedding, LM head and greedy sampling on the host."""

from __future__ import annotations

import json

NAME = "run"
HELP = "generate text with a whole model on the golden model, the HLS C-simulation or the RTL"
BACKENDS = ("golden", "csim", "verilator", "icarus")


def add_arguments(p) -> None:
    p.add_argument("--design", required=True, help="design.json (e.g. hw/rtl/designs/run_small.json)")
    p.add_argument("--prompt", default="The capital of France is", help="prompt text (default: %(default)r)")
    p.add_argument("--tokens", type=int, default=8, help="tokens to generate, greedy (default: %(default)s)")
    p.add_argument("--backend", default="golden",
                   help="golden (integer executor), csim (HLS C-simulation), verilator or icarus (RTL) "
                        "(default: %(default)s)")
    p.add_argument("--model", default=None, help="checkpoint (default: the design's model, e.g. smollm2-135m)")
    p.add_argument("--random", default=None, metavar="DIMS",
                   help="a small random model instead of the checkpoint (for the RTL), e.g. "
                        "n_layers=2,vocab=256,d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96; "
                        "its prompt is the prompt's UTF-8 bytes modulo vocab, its output token ids")
    p.add_argument("--seed", type=int, default=0, help="seed of the --random model (default: %(default)s)")
    p.add_argument("--chunk", type=int, default=None,
                   help="prompt tokens per prefill GEMM (default: as many as the activation buffer holds)")
    p.add_argument("--no-smoothing", action="store_true",
                   help="checkpoint weights without the accuracy table's SmoothQuant folding")
    p.add_argument("--check-golden", action="store_true",
                   help="also run the golden model and require identical tokens and hidden states")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _prompt_ids(src, prompt: str) -> list[int]:
    if src.tokenizer is not None:
        return src.tokenizer.encode(prompt)
    return [b % src.cfg.vocab for b in prompt.encode("utf-8")]


def _text(src, ids: list[int]) -> str:
    return src.tokenizer.decode(ids) if src.tokenizer is not None else " ".join(map(str, ids))


def run(args) -> int:
    import time

    import numpy as np

    from ..design import load_design
    from ..errors import CodesignError
    from ..vectors.model_run import GoldenBackend, generate, model_from_spec, prepare_for

    if args.backend not in BACKENDS:
        raise CodesignError(f"got {args.backend!r}; allowed: {', '.join(BACKENDS)}", field="--backend")
    if args.tokens < 1:
        raise CodesignError(f"got {args.tokens}; allowed: an integer >= 1", field="--tokens")
    if args.chunk is not None and args.chunk < 1:
        raise CodesignError(f"got {args.chunk}; allowed: an integer >= 1", field="--chunk")
    design = load_design(args.design)
    from ..gen.template import template_params
    template_params(design)     # the generators' refusals (unified memory, a wide mode above 8 bits)
    t0 = time.perf_counter()
    spec = ({"kind": "random", "dims": args.random, "seed": args.seed} if args.random is not None else
            {"kind": "checkpoint", "name": args.model or design.model, "smooth": not args.no_smoothing})
    src = model_from_spec(spec)
    model = prepare_for(src, design)
    ids = _prompt_ids(src, args.prompt)
    load_s = time.perf_counter() - t0
    build_s = 0.0
    t1 = time.perf_counter()
    if args.backend in ("golden", "csim"):
        if args.backend == "golden":
            backend = GoldenBackend()
        else:
            from ..gen.hls.model_csim import CsimBackend
            backend = CsimBackend(design)
            build_s = backend.build_s
        res = generate(model, design, backend, ids, args.tokens, chunk=args.chunk)
        new_ids, steps, hidden = res.new_ids, res.steps, res.hidden
    else:
        from ..gen.rtl.model_rtl import run_rtl
        rep = run_rtl(design, args.backend, spec, ids, args.tokens, chunk=args.chunk)
        new_ids, steps, hidden, build_s = rep["new_ids"], rep["result_steps"], rep["hidden"], rep["build_s"]
    wall_s = time.perf_counter() - t1
    check = None
    if args.check_golden and args.backend != "golden":
        ref = generate(model, design, GoldenBackend(), ids, args.tokens, chunk=args.chunk, model_cycles=False)
        same_h = len(ref.hidden) == len(hidden) and all(np.array_equal(a, b) for a, b in zip(ref.hidden, hidden))
        check = {"golden_ids": ref.new_ids, "identical_tokens": ref.new_ids == new_ids, "identical_hidden": same_h}
    out = _summary(args, design, src, model, ids, new_ids, steps, load_s, build_s, wall_s, check)
    if args.json:
        print(json.dumps(out, indent=1, sort_keys=True))
    else:
        _print(out)
    return 0 if check is None or (check["identical_tokens"] and check["identical_hidden"]) else 1


def _summary(args, design, src, model, ids, new_ids, steps, load_s, build_s, wall_s, check) -> dict:
    cfg = model.cfg
    prefill = steps[:len(steps) - (len(new_ids) - 1)]
    decode = steps[len(prefill):]
    measured = {"golden": None, "csim": "kernel loop beats (cs_beats, the C-simulation's cycle count)",
                "verilator": "RTL clock cycles (the core's counter, ap_start to ap_done)",
                "icarus": "RTL clock cycles (the core's counter, ap_start to ap_done)"}[args.backend]
    dec_s = sum(s["seconds"] for s in decode)
    return {
        "backend": args.backend, "design": args.design, "model": cfg.name, "layers": cfg.n_layers,
        "model_source": src.description,
        "split": {"host": "token embedding lookup (float row -> ACT_FRAC int32), LM head (float64 product with the "
                          "checkpoint's LM head / tied embeddings), greedy argmax",
                  "processor": f"{cfg.n_layers} decoder layers + the final RMSNorm, one instruction stream per step "
                               f"({steps[0]['instructions']} instructions)"},
        "prompt": args.prompt, "prompt_ids": ids, "new_ids": new_ids, "text": _text(src, new_ids),
        "prefill": {"mode": "GEMM over prompt chunks" if max(s["m"] for s in prefill) > 1 else
                    "token by token (the activation buffer holds one token's tensors)",
                    "chunks": [s["m"] for s in prefill], "seconds": sum(s["seconds"] for s in prefill)},
        "decode": {"steps": len(decode), "seconds": dec_s,
                   "seconds_per_token": dec_s / len(decode) if decode else None,
                   "tokens_per_s": len(decode) / dec_s if decode and dec_s else None},
        "seconds": {"load": load_s, "build": build_s, "run": wall_s},
        "measured_cycles": measured,
        "steps": steps, "check_golden": check,
    }


def _print(o: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(120, Console().width))
    con.print(f"[bold]{o['model']}[/bold] ({o['layers']} layers) on {o['design']}, backend [bold]{o['backend']}[/bold]")
    con.print(f"split: processor = {o['split']['processor']}; host = {o['split']['host']}")
    sm = o["model_source"].get("smoothing")
    if sm:
        con.print(f"weights: SmoothQuant alpha {sm['alpha']} on {sm['calibration_windows']} calibration windows "
                  "folded in, as the accuracy table's rows")
    p = o["prefill"]
    con.print(f"prefill: {len(o['prompt_ids'])} prompt tokens, {p['mode']}: chunks {p['chunks']}, {p['seconds']:.2f} s")
    con.print(f"prompt: {o['prompt']!r}")
    con.print(f"output: {o['text']!r}", markup=False)
    con.print(f"token ids: {o['new_ids']}")
    d = o["decode"]
    if d["steps"]:
        con.print(f"decode: {d['steps']} steps, {d['seconds_per_token']:.3f} s per token = "
                  f"{d['tokens_per_s']:.3f} tokens/s of simulation ({o['backend']})")
    s = o["seconds"]
    con.print(f"time: load {s['load']:.1f} s, build {s['build']:.1f} s, run {s['run']:.1f} s")
    t = Table(title="cycles per step: " + (o["measured_cycles"] or "golden model (no timing; the analytical "
                                                                      "model's cycles only)"))
    # the RTL runs against cocotbext-axi AxiRam: the model with that memory is its comparison; the
    # C-simulation counts loop beats without a memory model: the device model's figure is shown beside it
    basis = "simulated_axiram" if o["backend"] in ("verilator", "icarus") else "device"
    for c in ("step", "tokens", "context", "measured", "model (device memory)", "model (simulated AxiRam)",
              f"measured / model ({basis.replace('_', ' ')})"):
        t.add_column(c, justify="right")
    for i, st in enumerate(o["steps"]):
        mc = st.get("model_cycles") or {}
        ratio = (f"{st['cycles'] / mc[basis]:.2f}" if st.get("cycles") and mc.get(basis) else "n/a")
        t.add_row(str(i), str(st["m"]), str(st["context"]), "n/a" if st.get("cycles") is None else f"{st['cycles']:.0f}",
                  f"{mc.get('device', float('nan')):.0f}", f"{mc.get('simulated_axiram', float('nan')):.0f}", ratio)
    con.print(t)
    if o["check_golden"] is not None:
        c = o["check_golden"]
        ok = c["identical_tokens"] and c["identical_hidden"]
        con.print(("[green]identical to the golden model[/green]" if ok else "[red]DIFFERS from the golden model[/red]")
                  + f": tokens {c['golden_ids']}, hidden states {'identical' if c['identical_hidden'] else 'differ'}")
