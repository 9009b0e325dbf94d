"""codesign validate: predictions beside published FPGA and GPU measurements, with % error, in sample
and leave-one-out."""

from __future__ import annotations

NAME = "validate"
HELP = "compare the model's predictions with published FPGA accelerators and GPU measurements"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print rows, median errors and targets as one JSON object")


def run(args) -> int:
    from ..baselines.gpu_validation import rows as gpu_rows
    from ..fsutil import dumps_json
    from ..model.validation import TARGETS, WORST_FACTOR, fpga_rows, summary, verdict

    rows = fpga_rows() + [{**r, "kind": "gpu"} for r in gpu_rows()]
    med = summary(rows)
    targets = verdict(rows, med)
    fit = rows[0]["fit"] if rows and "fit" in rows[0] else {}
    if args.json:
        print(dumps_json({"rows": rows, "median": med, "targets": targets, "fitted_constants": fit}), end="")
        return 0
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(160, Console().width))
    t = Table(title="codesign validate: model vs published measurements (batch 1 decode); FPGA rows also "
                    "leave-one-out (constants refitted without the row)")
    for c in ("case", "kind", "device", "model", "metric", "published", "predicted", "error", "leave-one-out",
              "flags", "source"):
        t.add_column(c, justify="right" if c in ("published", "predicted", "error", "leave-one-out") else "left",
                     overflow="fold", max_width=60 if c == "source" else (34 if c == "flags" else None))

    def coloured(err, metric):
        colour = "green" if abs(err) <= TARGETS.get(metric, 20.0) else "yellow"
        return f"[{colour}]{err:+.1f}%[/{colour}]"
    for r in rows:
        loo = coloured(r["error_loo_pct"], r["metric"]) if r.get("error_loo_pct") is not None else \
            ("fitted" if r.get("calibration") else "-")
        flags = "; ".join(r.get("flags", []))
        if r.get("kind") == "fpga":
            flags = "; ".join(x for x in (r.get("source_kind", ""), flags) if x)
        if r.get("devices", 1) > 1:      # a multi-card row: never fitted; the same model on one card beside it
            pl = r.get("parallel") or {}
            flags = "; ".join(x for x in (f"{r['devices']} cards (tp {pl.get('tp')} x pp {pl.get('pp')}), not fitted to; "
                                         f"one card: {r['one_card_predicted']:.4g}"
                                         f"{'' if r['one_card_feasible'] else ' (infeasible)'}", flags) if x)
        t.add_row(r["case"], r.get("kind", ""), r["device"], r["model"], r["metric"], f"{r['published']:.4g}",
                  f"{r['predicted']:.4g}", coloured(r["error_pct"], r["metric"]), loo, flags, r["source"])
    con.print(t)
    s = Table(title="median |error|")
    for c in ("metric", "FPGA rows", "FPGA in sample", "FPGA leave-one-out", "target (LOO)", "worst LOO factor",
              "met", "GPU rows", "GPU (not fitted to)"):
        s.add_column(c)

    def pct(v, n=None):
        return "-" if v is None else (f"{v:.1f}%" + (f" (n={n})" if n is not None else ""))
    for m, v in med.items():
        tg = targets.get(m)
        s.add_row(m, str(v["fpga_n"]), pct(v["fpga_median_abs_error_pct"]), pct(v["fpga_loo_median_abs_error_pct"]),
                  f"{tg['target_pct']:.0f}%" if tg else "-",
                  f"{tg['worst_factor']:.2f}x (limit {WORST_FACTOR:.0f}x)" if tg and tg["worst_factor"] else "-",
                  ("yes" if tg["met"] else "[red]no[/red]") if tg else "-",
                  str(v["gpu_n"]), pct(v["gpu_held_out_median_abs_error_pct"], v["gpu_held_out_n"]))
    con.print(s)
    if fit:
        con.print("fitted constants (all FPGA rows in the template's scope): "
                  + ", ".join(f"{k} = {v:g}" for k, v in fit.items()))
    return 0
