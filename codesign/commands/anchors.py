"""``codesign anchors``: a design beside published FPGA designs' configurations, in the same model."""

from __future__ import annotations

NAME = "anchors"
HELP = "a design beside published FPGA designs (FlightLLM, ...) in the same model and accuracy table"
DESCRIPTION = ("Evaluates the published configurations of FPGA LLM processors (cases of `codesign validate`: "
               "board, bits, array, memory plan) for the design's model and workload, beside the design, in the "
               "same analytical model and accuracy table; prints the design's ratios over each (tokens/s, tokens/J, "
               "USD/Mtoken) and the accuracy losses, with the anchor's published figures where its paper measured "
               "the same model.")


def add_arguments(p) -> None:
    from ..search.anchors import DEFAULT_ANCHORS
    p.add_argument("--design", required=True, help="design.json (e.g. runs/default/best.json)")
    p.add_argument("--anchors", default=",".join(DEFAULT_ANCHORS),
                   help="validation cases to compare with, separated by commas (`codesign validate` lists them)")
    p.add_argument("--json", action="store_true", help="print the comparison as one JSON object")


def run(args) -> int:
    from ..design import load_design
    from ..fsutil import dumps_json
    from ..search.anchors import compare_to_anchors

    design = load_design(args.design)
    names = [a for a in (s.strip() for s in args.anchors.split(",")) if a]
    res = compare_to_anchors(design, names)
    if args.json:
        print(dumps_json(res), end="")
        return 0
    from rich.console import Console
    from rich.table import Table

    def f(v, fmt=".3g"):
        return "-" if v is None else format(v, fmt)

    d = res["design"]
    q = design.quant
    t = Table(title=f"{res['model']}: the design beside published configurations (modelled in the same model; "
                    f"published where the paper measured this model)")
    for c in ("design", "board", "quant", "tok/s", "tok/J", "USD/Mtok", "acc loss %", "of roofline",
              "x tok/s", "x tok/J", "x USD/Mtok"):
        t.add_column(c, justify="left" if c in ("design", "board", "quant") else "right")
    t.add_row("this design", design.device, q.label(),
              f(d["decode_tokens_per_s"]), f(d["tokens_per_j"]), f(d["usd_per_mtoken"]), f(d["accuracy_loss_pct"], ".2f"),
              f"{d['roofline_fraction']:.0%}", "", "", "")
    for a in res["anchors"]:
        m, r, aq = a["modelled"], a["ratios"], a["modelled"]["design"]["quant"]
        quant = (f"W{aq['wbits']}A{aq['abits']}KV{aq['kvbits']} g{aq['group']}" + (" zp" if aq["zero_point"] else "")
                 + ("" if aq.get("sparsity", "dense") == "dense" else f" {aq['sparsity']}"))
        t.add_row(f"{a['anchor']} (modelled)", a["device"], quant, f(m["decode_tokens_per_s"]), f(m["tokens_per_j"]),
                  f(m["usd_per_mtoken"]),
                  f(m["accuracy_loss_pct"], ".2f") + (f" {m['accuracy_method']}" if m.get("accuracy_method") else ""),
                  f"{m['roofline_fraction']:.0%}",
                  f"{r['decode_tokens_per_s']:.2f}x", f"{r['tokens_per_j']:.2f}x", f"{r['usd_per_mtoken']:.2f}x")
        p = a["published"]
        if p:
            t.add_row(f"{a['anchor']} (published)", a["device"], "", f(p["decode_tokens_per_s"]), f(p["tokens_per_j"]),
                      "", "", "", f"{r.get('decode_tokens_per_s_vs_published', float('nan')):.2f}x",
                      f"{r['tokens_per_j_vs_published']:.2f}x" if "tokens_per_j_vs_published" in r else "-", "")
    con = Console(width=max(170, Console().width))
    con.print(t)
    con.print("x = this design / the anchor (USD/Mtok: lower is better); an anchor's accuracy loss is its "
              "configuration's lowest over the table's quantizers (its paper does not state one). "
              f"{res['accuracy']['note']}")
    return 0
