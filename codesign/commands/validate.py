"""codesign validate: predictions beside published FPGA and GPU measurements, with % error."""

from __future__ import annotations

NAME = "validate"
HELP = "compare the model's predictions with published FPGA accelerators and GPU measurements"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print rows and median errors as one JSON object")


def run(args) -> int:
    from ..fsutil import dumps_json
    from ..baselines.gpu_validation import rows as gpu_rows
    from ..model.validation import TARGETS, fpga_rows, summary

    rows = fpga_rows() + [{**r, "kind": "gpu"} for r in gpu_rows()]
    med = summary(rows)
    verdict = {m: {**med[m], "target_pct": t, "met": med[m]["median_abs_error_pct"] <= t}
               for m, t in TARGETS.items() if m in med}
    if args.json:
        print(dumps_json({"rows": rows, "median": med, "targets": verdict, "gpu_rows": "merged"}), end="")
        return 0
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(160, Console().width))
    t = Table(title="codesign validate: model vs published measurements (batch 1 decode)")
    for c in ("case", "kind", "device", "model", "metric", "published", "predicted", "error", "fit", "source"):
        t.add_column(c, justify="right" if c in ("published", "predicted", "error") else "left",
                     overflow="fold", max_width=60 if c == "source" else None)
    for r in rows:
        err = r["error_pct"]
        colour = "green" if abs(err) <= TARGETS.get(r["metric"], 20.0) else "yellow"
        t.add_row(r["case"], r.get("kind", ""), r["device"], r["model"], r["metric"], f"{r['published']:.4g}",
                  f"{r['predicted']:.4g}", f"[{colour}]{err:+.1f}%[/{colour}]",
                  "cal" if r.get("calibration") else "", r["source"])
    con.print(t)
    s = Table(title="median |error| over the table")
    for c in ("metric", "rows", "median |error|", "target", "met", "FPGA rows only", "rows not fitted to"):
        s.add_column(c)

    def pct(v, n):
        return f"{v:.1f}% (n={n})" if v is not None else "-"
    for m, v in med.items():
        tgt = TARGETS.get(m)
        s.add_row(m, str(v["n"]), f"{v['median_abs_error_pct']:.1f}%", f"{tgt:.0f}%" if tgt else "-",
                  ("yes" if v["median_abs_error_pct"] <= tgt else "[red]no[/red]") if tgt else "-",
                  pct(v["fpga_median_abs_error_pct"], v["fpga_n"]),
                  pct(v["held_out_median_abs_error_pct"], v["held_out_n"]))
    con.print(s)
    return 0
