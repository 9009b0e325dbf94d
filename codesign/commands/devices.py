"""codesign devices: the FPGA and GPU database, with sources."""

from __future__ import annotations

NAME = "devices"
HELP = "list the FPGA boards and GPUs of the device database (each figure sourced)"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the database as JSON (with every source)")
    p.add_argument("--sources", action="store_true", help="also print each device's sources")
    p.add_argument("--links", action="store_true",
                   help="list the inter-card links of multi-card designs instead (with --sources: their sources)")


def run(args) -> int:
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from ..devices import list_devices
    from ..fsutil import dumps_json

    if getattr(args, "links", False):
        return _links(args)
    devs = list_devices()
    if args.json:
        print(dumps_json({d.name: asdict(d) for d in devs}), end="")
        return 0
    con = Console(width=max(120, Console().width))
    t = Table(title="FPGA boards")
    for c in ("name", "part", "DSP", "LUT", "BRAM36", "URAM", "memory", "GB/s", "ch", "static W", "MHz", "USD"):
        t.add_column(c, justify="left" if c in ("name", "part", "memory") else "right")
    for d in devs:
        if d.kind == "fpga":
            t.add_row(d.name, d.part, f"{d.dsp:,} {d.dsp_kind}", f"{d.lut:,}", f"{d.bram36:,}", f"{d.uram:,}",
                      f"{d.mem_gb:g} GB {d.mem_kind}", f"{d.mem_bw_gbs:g}", str(d.mem_channels), f"{d.static_w:g}",
                      str(d.kernel_mhz), f"{d.price_usd:,.0f}")
    con.print(t)
    g = Table(title="GPUs")
    for c in ("name", "memory", "GB/s", "FP16 TFLOPS", "INT8 TOPS", "TDP W", "idle W", "USD"):
        g.add_column(c, justify="left" if c in ("name", "memory") else "right")
    for d in devs:
        if d.kind == "gpu":
            g.add_row(d.name, f"{d.mem_gb:g} GB {d.mem_kind}", f"{d.mem_bw_gbs:g}", f"{d.peak_fp16_tflops:g}",
                      f"{d.peak_int8_tops:g}", f"{d.tdp_w:g}", f"{d.idle_w:g}", f"{d.price_usd:,.0f}")
    con.print(g)
    if args.sources:
        for d in devs:
            s = Table(title=f"{d.name}: sources")
            s.add_column("field")
            s.add_column("source")
            for k, v in d.sources.items():
                s.add_row(k, v)
            con.print(s)
    return 0


def _links(args) -> int:
    from dataclasses import asdict

    from rich.console import Console
    from rich.table import Table

    from ..devices import list_links
    from ..fsutil import dumps_json

    links = list_links()
    if args.json:
        print(dumps_json({lk.name: asdict(lk) for lk in links}), end="")
        return 0
    con = Console(width=max(120, Console().width))
    t = Table(title="inter-card links (multi-card designs: --devices/--tp/--pp, --link)")
    for c in ("name", "Gb/s", "efficiency", "latency us", "pJ/bit", "port W", "ports", "boards"):
        t.add_column(c, justify="left" if c in ("name", "boards") else "right")
    for lk in links:
        t.add_row(lk.name, f"{lk.gbps:g}", f"{lk.efficiency:g}", f"{lk.latency_us:g}", f"{lk.pj_per_bit:g}",
                  f"{lk.port_w:g}", str(lk.ports) if lk.ports else "host", ", ".join(lk.devices))
    con.print(t)
    if args.sources:
        for lk in links:
            s = Table(title=f"{lk.name}: sources")
            s.add_column("field")
            s.add_column("source")
            for k, v in lk.sources.items():
                s.add_row(k, v)
            con.print(s)
    return 0
