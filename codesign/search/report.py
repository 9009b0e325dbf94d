"""Terminal output (rich) and the multi-sweep comparison table."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from ..fsutil import atomic_write_bytes, atomic_write_json
from . import csvfast

COMPARISON_COLUMNS = (
    "model", "device", "points", "feasible", "meets_constraints", "pareto_size",
    "wbits", "abits", "kvbits", "group", "zero_point", "rows", "cols", "weight_channels", "port_bits",
    "freq_mhz", "decode_tokens_per_s", "energy_per_token_j", "power_w", "usd_per_mtoken", "utilization",
    "roofline_fraction", "accuracy_loss_pct", "bottleneck", "accuracy",
)


def _fmt(v: Any, spec: str = ".3g") -> str:
    if v is None:
        return "-"
    return format(v, spec)


class SweepUI:
    def __init__(self, quiet: bool = False):
        from rich.console import Console

        self.quiet = quiet
        self.console = Console()
        if not self.console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
            self.console = Console(width=200)
        self.err = Console(stderr=True)

    def note(self, text: str) -> None:
        self.err.print(text)

    @contextlib.contextmanager
    def progress(self, total: int) -> Iterator[Callable[[int, str], Callable[[int], None]]]:
        if self.quiet:
            yield lambda base, label: (lambda done: None)
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("points"), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=self.err, transient=False) as prog:
            task = prog.add_task("sweep", total=total)

            def advance(base: int, label: str) -> Callable[[int], None]:
                def update(done: int) -> None:
                    prog.update(task, completed=base + done, description=f"sweep {label}")
                return update

            yield advance

    def show_result(self, job, sweeper, state, res: dict, top: int, where: Path) -> None:
        if self.quiet:
            return
        from rich.table import Table

        summary = res["summary"]
        chosen = res["chosen"][:top]
        c = summary["counts"]
        acc = sweeper.accuracy
        t = Table(title=f"top designs: {job.model} on {job.device} (batch {job.workload.batch}, "
                        f"prompt {job.workload.prompt}, generate {job.workload.generate})")
        for col in ("design", "quant", "MPE / SFU", "memory", "MHz", "tok/s", "J/token", "W", "USD/Mtok",
                    "util", "acc loss %", "of roofline", "held back by (decode)"):
            t.add_column(col, justify="left" if col in ("design", "quant", "memory", "held back by (decode)")
                         else "right")
        for ch in chosen:
            q, h, v = ch.design.quant, ch.design.hw, ch.values
            acc_txt = _fmt(v.get("accuracy_loss_pct"), ".2f") if acc.known else "n/m"
            t.add_row(ch.label, q.label(),
                      f"{h.rows}x{h.cols} / {h.sfu_lanes}", f"{h.weight_channels}+{h.kv_channels} ch x{h.port_bits}b",
                      str(h.freq_mhz), _fmt(v["decode_tokens_per_s"], ".4g"),
                      _fmt(v["energy_per_token_j"], ".4g"), _fmt(v["power_w"], ".3g"),
                      _fmt(v["usd_per_mtoken"], ".3g"), _fmt(v["utilization"], ".0%"),
                      acc_txt, _fmt(v["roofline_fraction"], ".0%"), ch.bottleneck.get("text", "-"))
        self.console.print(t)
        self.console.print(f"{c['points']:,} points, {c['feasible']:,} feasible, "
                           f"{c['meets_constraints']:,} within constraints, Pareto front "
                           f"{summary['pareto']['size']:,}")
        self.console.print(acc.describe())
        for name, e in summary["constraints"].items():
            if e["bound"] is not None and not e["applied"]:
                self.console.print(f"constraint {name}={e['bound']}: {e['note']}")
        pts = summary["points_csv"].get("file", "points.csv")
        files = ([pts] if summary["points_csv"]["mode"] != "none" else []) + [
            "pareto.csv", "best.json", "summary.json"] + summary["plots"] + ["report.html"]
        self.console.print(f"wrote {where}/ ({', '.join(files)})")
        if summary["points_csv"]["mode"] == "none":
            self.console.print(f"{pts} {summary['points_csv']['note']}")

    def show_comparison(self, written: list, out: Path) -> None:
        if self.quiet:
            return
        from rich.table import Table

        t = Table(title="comparison: best J/token design per model x device")
        for col in ("model", "device", "W/A/KV", "rows x cols", "tok/s", "J/token", "W", "USD/Mtok",
                    "of roofline", "held back by", "accuracy"):
            t.add_column(col)
        for row in comparison_rows(written):
            t.add_row(row["model"], row["device"], f"{row['wbits']}/{row['abits']}/{row['kvbits']}",
                      f"{row['rows']}x{row['cols']}", _fmt(row["decode_tokens_per_s"], ".4g"),
                      _fmt(row["energy_per_token_j"], ".4g"), _fmt(row["power_w"], ".3g"),
                      _fmt(row["usd_per_mtoken"], ".3g"), _fmt(row["roofline_fraction"], ".0%"),
                      row["bottleneck"], row["accuracy"])
        self.console.print(t)
        self.console.print(f"wrote {out}/comparison.csv and {out}/report.html")


def comparison_rows(written: list) -> list[dict]:
    rows = []
    for job, sweeper, state, res in written:
        s = res["summary"]
        primary = next(c for c in res["chosen"] if c.index == s["best_design"]["index"])
        q, h, v = primary.design.quant, primary.design.hw, primary.values
        rows.append({
            "model": job.model, "points": s["counts"]["points"],
            # a multi-card plan's row names its split (search/cards.py)
            "device": job.device if job.parallel.devices == 1 else
            f"{job.device} x{job.parallel.devices} tp{job.parallel.tp} pp{job.parallel.pp}",
            "feasible": s["counts"]["feasible"], "meets_constraints": s["counts"]["meets_constraints"],
            "pareto_size": s["pareto"]["size"],
            "wbits": q.wbits, "abits": q.abits, "kvbits": q.kvbits, "group": q.group, "zero_point": q.zero_point,
            "rows": h.rows, "cols": h.cols, "weight_channels": h.weight_channels, "port_bits": h.port_bits,
            "freq_mhz": h.freq_mhz,
            **{k: v.get(k) for k in ("decode_tokens_per_s", "energy_per_token_j", "power_w", "usd_per_mtoken",
                                     "utilization", "roofline_fraction", "accuracy_loss_pct")},
            "bottleneck": primary.bottleneck.get("text", ""),
            "accuracy": sweeper.accuracy.describe(),
        })
    return rows


def write_comparison(stage: Path, written: list) -> None:
    import numpy as np

    rows = comparison_rows(written)
    spec = []
    for col in COMPARISON_COLUMNS:
        vals = [r[col] for r in rows]
        if isinstance(vals[0], bool):
            spec.append(("bool", np.array(vals), None))
        elif isinstance(vals[0], int):
            spec.append(("int", np.array(vals, dtype=np.int64), None))
        elif isinstance(vals[0], str):
            labels = sorted(set(vals))
            spec.append(("labels", np.array([labels.index(x) for x in vals]), labels))
        else:
            spec.append(("float", np.array([np.nan if x is None else x for x in vals], dtype=np.float64), None))
    atomic_write_bytes(stage / "comparison.csv", csvfast.header_line(COMPARISON_COLUMNS)
                       + csvfast.format_csv_rows(spec))
    atomic_write_json(stage / "comparison.json", {"rows": rows})


def eprint(*a) -> None:
    print(*a, file=sys.stderr)
