"""codesign evaluate: one design point through the analytical model, with the full breakdown."""

from __future__ import annotations

from dataclasses import replace

NAME = "evaluate"
HELP = "evaluate one design point: latency, resources, power, J/token, $/Mtoken, roofline, per-op breakdown"

# flag -> (dataclass section, field). Values are parsed here (not by argparse) so that a bad value
# gives the project's one-line error naming the flag.
QUANT_FLAGS = {"--wbits": "wbits", "--abits": "abits", "--kvbits": "kvbits", "--group": "group",
               "--mixed": "mixed", "--hi-wbits": "hi_wbits"}
HW_FLAGS = {"--rows": "rows", "--cols": "cols", "--sfu-lanes": "sfu_lanes", "--wbuf-depth": "wbuf_depth",
            "--abuf-depth": "abuf_depth", "--kvbuf-depth": "kvbuf_depth",
            "--weight-channels": "weight_channels", "--kv-channels": "kv_channels",
            "--port-bits": "port_bits", "--freq-mhz": "freq_mhz"}
WORKLOAD_FLAGS = {"--prompt": "prompt", "--generate": "generate", "--context": "context", "--batch": "batch"}


def add_arguments(p) -> None:
    p.add_argument("--model", help="model preset (see `codesign models`) or a Hugging Face config.json")
    p.add_argument("--device", help="device name (see `codesign devices`) or a device .yaml/.json file")
    p.add_argument("--design", help="design.json to evaluate (flags given as well override its values)")
    from ..design import Hardware, Quant, Workload

    desc = {"wbits": "weight bits", "abits": "activation bits", "kvbits": "KV-cache bits",
            "group": "weights per quantization group",
            "mixed": "per-layer mixed precision: the N most sensitive units (layer attention / FFN projections, "
                     "the accuracy table's ranking) at --hi-wbits; 0 = uniform",
            "hi_wbits": "weight bits of the raised units", "rows": "MPE rows, the output lanes",
            "cols": "MPE columns, the input lanes", "sfu_lanes": "SFU lanes", "wbuf_depth": "weight buffer depth, tiles",
            "abuf_depth": "activation buffer depth, elements", "kvbuf_depth": "KV buffer depth, tokens",
            "weight_channels": "memory channels streaming weights", "kv_channels": "memory channels of the KV cache",
            "port_bits": "AXI port width, bits", "freq_mhz": "kernel clock, MHz", "prompt": "prompt (prefill) tokens",
            "generate": "generated (decode) tokens", "context": "decode context length", "batch": "batch size"}
    auto = {"weight_channels": "auto, the device's channels split 7:1 between weights and KV",
            "kv_channels": "auto, the device's channels split 7:1 between weights and KV",
            "abuf_depth": "auto, the smallest power of two holding a decode step's live vectors",
            "context": "prompt + generate/2"}

    def dflt(name, obj):
        return f" (default: {auto.get(name) or getattr(obj, name)}, or the --design's)"

    g = p.add_argument_group("quantization")
    for flag, name in QUANT_FLAGS.items():
        g.add_argument(flag, metavar="N", help=desc[name] + dflt(name, Quant()))
    g.add_argument("--zero-point", action="store_true", default=None, help="asymmetric weights (per-group zero point)")
    g.add_argument("--sparsity", metavar="N:M", help="N:M structured weight sparsity: dense, 2:4 or 4:8 (default: dense)")
    g.add_argument("--method", metavar="Q", help="weight quantizer the accuracy row is read for: rtn, gptq or awq "
                                                 "(default: rtn, or the --design's)")
    h = p.add_argument_group("hardware template")
    for flag, name in HW_FLAGS.items():
        h.add_argument(flag, metavar="N", help=desc[name] + dflt(name, Hardware()))
    w = p.add_argument_group("workload")
    for flag, name in WORKLOAD_FLAGS.items():
        w.add_argument(flag, metavar="N", help=desc[name] + dflt(name, Workload()))
    m = p.add_argument_group("multi-card (tensor / pipeline parallel)")
    m.add_argument("--devices", metavar="N", help="cards the design spans, = tp x pp (default: 1, or the --design's; "
                                                  "given alone: tp = N)")
    m.add_argument("--tp", metavar="N", help="tensor-parallel degree: cards splitting every layer (default: 1)")
    m.add_argument("--pp", metavar="N", help="pipeline stages of consecutive layers (default: 1)")
    m.add_argument("--link", metavar="NAME", help="inter-card link (default: the board's direct link, e.g. "
                                                 "qsfp28-100gbe on Alveo; see `codesign devices --links`)")
    p.add_argument("--stack", default="serving", help="software stack of a GPU device: eager or serving")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--save", metavar="design.json", help="write the design with its prediction filled in")


def _int(flag: str, value: str) -> int:
    from ..errors import CodesignError
    try:
        return int(str(value), 10)
    except ValueError:
        raise CodesignError(f"got {value!r}; expected an integer", field=flag) from None


def _auto_abuf(cfg, batch: int) -> int:
    """Smallest power of two >= the compiler's activation-buffer use of one decode step."""
    from ..design import HW_ALLOWED
    try:
        from ..isa.compiler import buffer_map
        need = buffer_map(cfg, batch)[1]
    except ImportError:
        need = batch * (3 * cfg.d_model + 2 * cfg.n_heads * cfg.head_dim + 2 * cfg.n_kv_heads * cfg.head_dim
                        + 2 * cfg.d_ffn)
    lo, hi = HW_ALLOWED["abuf_depth"]
    size = lo
    while size < need and size < hi:
        size *= 2
    return size


def build_design(args):
    """The Design the flags (and --design) describe, validated."""
    from ..design import Design, Hardware, Quant, Workload, load_design
    from ..devices import get_device
    from ..errors import CodesignError
    from ..workload import load_model_config

    base = load_design(args.design) if args.design else None
    model = args.model or (base.model if base else None)
    device = args.device or (base.device if base else None)
    if not model:
        raise CodesignError("required (or give --design)", field="--model")
    if not device:
        raise CodesignError("required (or give --design)", field="--device")
    cfg = load_model_config(model)       # errors name --model
    dev = get_device(device)             # errors name --device
    quant = base.quant if base else Quant()
    hw = base.hw if base else Hardware()
    wl = base.workload if base else Workload()
    from ..design import HW_ALLOWED, QUANT_ALLOWED, WORKLOAD_ALLOWED, check_value
    qv = {name: _int(flag, getattr(args, name)) for flag, name in QUANT_FLAGS.items() if getattr(args, name) is not None}
    if args.zero_point:
        qv["zero_point"] = True
    if getattr(args, "sparsity", None) is not None:
        qv["sparsity"] = check_value("--sparsity", args.sparsity, QUANT_ALLOWED["sparsity"])
    if getattr(args, "method", None) is not None:
        qv["method"] = check_value("--method", args.method, QUANT_ALLOWED["method"])
    hv = {name: _int(flag, getattr(args, name)) for flag, name in HW_FLAGS.items() if getattr(args, name) is not None}
    wv = {name: _int(flag, getattr(args, name)) for flag, name in WORKLOAD_FLAGS.items() if getattr(args, name) is not None}
    # check each flag against the allowed values, naming the flag
    for flag, name in QUANT_FLAGS.items():
        if name in qv:
            check_value(flag, qv[name], QUANT_ALLOWED[name])
    for flag, name in HW_FLAGS.items():
        if name in hv:
            check_value(flag, hv[name], HW_ALLOWED[name])
    for flag, name in WORKLOAD_FLAGS.items():
        if name in wv:
            check_value(flag, wv[name], WORKLOAD_ALLOWED.get(name, (1, 1 << 21)))
    wl = replace(wl, **wv)
    from ._flags import check_context
    check_context(wl, cfg, dev, replace(quant, **qv).kvbits)
    if base is None and getattr(dev, "kind", "fpga") == "fpga":
        kv = max(1, dev.mem_channels // 8)
        hv.setdefault("kv_channels", kv)
        hv.setdefault("weight_channels", max(1, dev.mem_channels - hv["kv_channels"]))
        hv.setdefault("abuf_depth", _auto_abuf(cfg, wl.batch))
    q = replace(quant, **qv)
    lw = []
    if q.mixed:      # the per-layer bits design.json carries (quant.mixed_precision)
        from ..quant.mixed_precision import layer_wbits
        lw = layer_wbits(cfg.n_layers, q.wbits, q.mixed, q.hi_wbits)
    design = Design(model=model, device=device, workload=wl, quant=q, hw=replace(hw, **hv), layer_wbits=lw,
                    parallel=_parallel(args, base, dev))
    return design.validate()


def _parallel(args, base, dev):
    """The design's multi-card plan from --devices / --tp / --pp / --link (over the --design's)."""
    from ..design import PARALLEL_ALLOWED, Parallel, check_value
    from ..errors import CodesignError
    par = base.parallel if base else Parallel()
    vals = {}
    for flag in ("devices", "tp", "pp"):
        v = getattr(args, flag, None)
        if v is not None:
            vals[flag] = check_value(f"--{flag}", _int(f"--{flag}", v), PARALLEL_ALLOWED[flag])
    if vals:
        tp, pp = vals.get("tp"), vals.get("pp")
        n = vals.get("devices")
        if tp is None and pp is None:
            tp, pp = n, 1                       # --devices alone: split every layer
        tp = tp if tp is not None else (n // pp if n and n % pp == 0 else 1)
        pp = pp if pp is not None else (n // tp if n and n % tp == 0 else 1)
        n = n if n is not None else tp * pp
        if n != tp * pp:
            raise CodesignError(f"got --devices {n} with --tp {tp} x --pp {pp}; allowed: devices = tp x pp",
                                field="--devices")
        par = replace(par, devices=n, tp=tp, pp=pp)
    link = getattr(args, "link", None)
    if link is not None:
        from ..devices import get_link
        par = replace(par, link=get_link(link).name)
    if par.devices > 1:
        if getattr(dev, "kind", "fpga") != "fpga":
            raise CodesignError("multi-card plans are modelled for the FPGA processor; GPU devices take one card",
                                field="--devices")
        from ..devices import default_link, get_link, list_links
        lk = get_link(par.link) if par.link else default_link(dev)
        if dev.name not in lk.devices:
            mine = sorted(x.name for x in list_links() if dev.name in x.devices)
            raise CodesignError(f"link {lk.name!r} is not on device '{dev.name}'; allowed: {', '.join(mine) or 'none'}",
                                field="--link")
    return par


def predict(design, stack: str = "serving") -> dict:
    """What `codesign evaluate --json` prints for a design: the FPGA model, or the GPU model for a GPU
    device (also the Python API's ``codesign.evaluate``)."""
    from ..devices import get_device
    from ..errors import CodesignError
    from ..model import evaluate_design

    dev = get_device(design.device)
    if dev.kind == "gpu":
        if design.quant.sparsity != "dense":
            raise CodesignError(f"got {design.quant.sparsity!r}: N:M sparsity is modelled for the FPGA "
                                "processor only; GPU devices take dense", field="--sparsity")
        try:
            from ..baselines.gpu_model import evaluate_gpu_design
        except ImportError as e:
            raise CodesignError(f"GPU devices need codesign.baselines.gpu_model ({e})", field="--device") from None
        from ..baselines.stacks import STACKS
        if stack not in STACKS:
            raise CodesignError(f"got {stack!r}; allowed: {', '.join(STACKS)}", field="--stack")
        return evaluate_gpu_design(design, stack=stack)
    return evaluate_design(design)


def run(args) -> int:
    from ..fsutil import dumps_json

    design = build_design(args)
    from ..devices import get_device
    dev = get_device(design.device)
    result = predict(design, args.stack)
    if args.save:
        prediction = {k: v for k, v in result.items() if k != "ops"}
        replace(design, prediction=prediction).save(args.save, field="--save")
    if args.json:
        print(dumps_json(result), end="")
        return 0
    _print_tables(design, result, gpu_stack=args.stack if dev.kind == "gpu" else None)
    return 0


def _fmt(v, unit=""):
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3e}{unit}"
        return f"{v:,.3f}{unit}"
    return f"{v}{unit}"


def _print_tables(design, r, gpu_stack=None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(100, Console().width))
    q, h = design.quant, design.hw
    hw = f"{gpu_stack} stack (GPU roofline model)" if gpu_stack else f"MPE {h.rows}x{h.cols}, {h.freq_mhz} MHz"
    title = (f"{design.model} on {design.device}: {q.label()}, {hw}, "
             f"batch {design.workload.batch}, prompt {design.workload.prompt}, context {design.workload.decode_context}")
    t = Table(title=title)
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("physical limit", justify="right")
    t.add_row("feasible", "yes" if r["feasible"] else "[red]no[/red]", "")
    for v in r.get("violations", []):
        t.add_row("  violation", f"[red]{v}[/red]", "")
    t.add_row("decode tokens/s", _fmt(r["decode_tokens_per_s"]), f"roofline {_fmt(r['roofline_tokens_per_s'])}")
    t.add_row("roofline fraction", _fmt(r["roofline_fraction"]), "")
    t.add_row("prefill latency", _fmt(r["prefill_latency_s"], " s"), "")
    t.add_row("power (decode)", _fmt(r["power_w"], " W"), "")
    t.add_row("energy / token (decode)", _fmt(r["energy_per_token_j"], " J"),
              f"memory min {_fmt(r['min_memory_energy_per_token_j'], ' J')}")
    if "energy_per_token_amortised_j" in r:
        t.add_row("energy / token (prefill amortised)", _fmt(r["energy_per_token_amortised_j"], " J"), "")
    t.add_row("USD / million tokens", _fmt(r["usd_per_mtoken"]), "")
    pl = r.get("parallel")
    if pl:
        t.add_row("cards", f"{pl['devices']} (tp {pl['tp']} x pp {pl['pp']}, {pl['link']['name']})", "")
        t.add_row("link time / token", _fmt(pl["link_s_per_token"], " s"),
                  f"{100 * pl['link_share_of_token_time']:.1f}% of the token time")
        t.add_row("  modelled only", pl["modelled_only"], "")
    t.add_row("compute utilisation", _fmt(r.get("compute_utilization", float("nan"))), "")
    t.add_row("bandwidth utilisation", _fmt(r.get("bandwidth_utilization", float("nan"))), "")
    res, util = r.get("resources", {}), r.get("utilization", {})
    for k in ("dsp", "lut", "ff", "bram36", "uram"):
        if k in res and not gpu_stack:
            u = util.get(k) if isinstance(util, dict) else None
            t.add_row(k, _fmt(float(res[k])), f"{100 * u:.1f}% of the kernel region" if u is not None else "")
    con.print(t)
    ops = [o for o in r.get("ops", []) if o.get("phase") == "decode"]
    if ops and "cycles" in ops[0]:
        o_t = Table(title="decode step, per instruction (x count = per step)")
        for c in ("name", "op", "count", "cycles", "compute", "memory", "fill", "bound", "share"):
            o_t.add_column(c, justify="right" if c not in ("name", "op", "bound") else "left")
        total = sum(o["time_s_total"] for o in ops) or 1.0
        def n(v):
            return f"{v:,.0f}"
        for o in ops:
            o_t.add_row(o["name"], o["op"], n(o["count"]), n(o["cycles"]), n(o["compute_cycles"]),
                        n(o["memory_cycles"]), n(o["fill_cycles"]), o["bound"],
                        f"{100 * o['time_s_total'] / total:.1f}%")
        con.print(o_t)
