"""What the HTML report shows, read from a finished sweep folder (and the optional verification files).

The report is built from the files a sweep wrote (summary.json, pareto.csv, best.json), never from the
sweep's memory, so ``codesign report DIR`` rebuilds the same page later and a report over several
sweeps is the same code. Only what summary.json counts is plotted: the Pareto front (pareto.csv, whose
row count summary.json states) and the best design per objective. Nothing here depends on the folder's
path or the clock: the same sweep gives the same report bytes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..design import Design, Hardware, Quant, Workload
from ..errors import CodesignError

# pareto.csv columns the report carries per point (parameters, then the model's outputs)
POINT_VALUES = ("decode_tokens_per_s", "energy_per_token_j", "power_w", "usd_per_mtoken", "utilization",
                "accuracy_loss_pct", "roofline_fraction", "roofline_tokens_per_s", "prefill_latency_s",
                "dsp", "lut", "ff", "bram36", "uram")
RESOURCES = ("dsp", "lut", "ff", "bram36", "uram")


def _read_json(path: Path, field: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CodesignError(f"'{path}' not found", field=field) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CodesignError(f"cannot read '{path}' ({e})", field=field) from None


def _cell(text: str) -> Any:
    """A pareto.csv field as its Python value: empty = unknown (None), true/false, int, float, else text."""
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        v = float(text)
    except ValueError:
        return text
    return v if v == v and v not in (float("inf"), float("-inf")) else None


def read_pareto(path: Path) -> list[dict]:
    try:
        with open(path, newline="") as f:
            return [{k: _cell(v) for k, v in row.items()} for row in csv.DictReader(f)]
    except FileNotFoundError:
        raise CodesignError(f"'{path}' not found: not a finished sweep folder", field="DIR") from None


def design_of_row(summary: dict, row: dict) -> Design:
    """The design of one pareto.csv row (the sweep's model, device and workload)."""
    from ..quant.mixed_precision import layer_wbits
    from ..workload import load_model_config

    q = Quant(**{f.name: row[f.name] for f in fields(Quant) if f.name in row})
    h = Hardware(**{f.name: row[f.name] for f in fields(Hardware) if f.name in row})
    lw = []
    if q.mixed:
        lw = layer_wbits(load_model_config(summary["model"]).n_layers, q.wbits, q.mixed, q.hi_wbits)
    return Design(model=summary["model"], device=summary["device"], workload=Workload(**summary["workload"]),
                  quant=q, hw=h, layer_wbits=lw).validate()


# What holds a point back needs its per-op prediction (evaluate_design, ~5 ms a point here): done for the
# first this many front points in pareto.csv's order (by J/token), so a huge front cannot stall the sweep's
# last step; the default U280 front has 171 points.
MAX_BOTTLENECK_POINTS = 5000


def _bottlenecks(summary: dict, rows: list[dict], bw_gbs: float) -> list[str]:
    """What holds each front point back (search.bottleneck on the point's own per-op prediction)."""
    from ..model import evaluate_design
    from .bottleneck import bottleneck_of

    out = []
    for i, r in enumerate(rows):
        if i >= MAX_BOTTLENECK_POINTS:
            out.append(f"not computed (beyond the {MAX_BOTTLENECK_POINTS} best J/token points of the front; "
                       f"codesign evaluate shows it)")
            continue
        b = bottleneck_of(evaluate_design(design_of_row(summary, r)), bw_gbs)
        out.append(b.get("text", "-"))
    return out


def _verification(csim: Path | None, verify: Path | None, best_index: int) -> dict:
    """C-simulation and RTL status of the best design, from `codesign csim --json` / `codesign verify --json`."""
    out: dict[str, Any] = {}
    if csim is not None:
        d = _read_json(csim, "--csim")
        if not isinstance(d, dict) or "passed" not in d or "rows" not in d:
            raise CodesignError(f"'{csim}' is not the output of `codesign csim --json`", field="--csim")
        rows = d["rows"]
        out["csim"] = {"passed": bool(d["passed"]), "instructions": len(rows),
                       "mismatches": sum(int(r.get("mismatches", 0)) for r in rows),
                       "values": sum(int(r.get("elements", 0)) for r in rows)}
    if verify is not None:
        d = _read_json(verify, "--verify")
        if not isinstance(d, dict) or "passed" not in d or "report" not in d:
            raise CodesignError(f"'{verify}' is not the output of `codesign verify --json`", field="--verify")
        rep = d.get("report") or {}
        out["rtl"] = {"passed": bool(d["passed"]), "sim": d.get("sim"), "cycles": rep.get("cycles"),
                      "instructions": len(rep.get("steps", [])), "note": d.get("note"),
                      "cycle_table": [{k: r.get(k) for k in ("op", "count", "rtl", "model", "error_pct")}
                                      for r in d.get("cycle_table") or []]}
    out["design_index"] = best_index
    return out


def _ops_table(pred: dict) -> list[dict]:
    """The best design's decode step, per instruction (codesign evaluate's per-op breakdown)."""
    ops = [o for o in pred.get("ops") or [] if o.get("phase") == "decode"]
    total = sum(float(o.get("time_s_total", 0.0)) for o in ops) or 1.0
    keys = ("name", "op", "count", "cycles", "compute_cycles", "memory_cycles", "fill_cycles", "bound")
    return [{**{k: o.get(k) for k in keys}, "time_share": float(o.get("time_s_total", 0.0)) / total} for o in ops]


def load_sweep(folder: Path, compare: Path | None = None, csim: Path | None = None,
               verify: Path | None = None) -> dict:
    """Everything the report shows of one sweep folder."""
    from ..devices import get_device

    folder = Path(folder)
    if not folder.is_dir():
        raise CodesignError(f"'{folder}' is not a folder", field="DIR")
    summary = _read_json(folder / "summary.json", "DIR")
    if not isinstance(summary, dict) or "pareto" not in summary or "best_design" not in summary:
        raise CodesignError(f"'{folder / 'summary.json'}' is not a sweep summary", field="DIR")
    rows = read_pareto(folder / summary["pareto"]["file"])
    if len(rows) != summary["pareto"]["size"]:
        raise CodesignError(f"'{folder}': pareto.csv has {len(rows)} rows, summary.json says "
                            f"{summary['pareto']['size']}", field="DIR")
    best = Design.from_dict(_read_json(folder / summary["best_design"]["file"], "DIR"), where="best.json")
    dev = get_device(summary["device"])
    params = [f.name for f in fields(Quant)] + [f.name for f in fields(Hardware)]
    points = {k: [r.get(k) for r in rows] for k in ["index"] + params + list(POINT_VALUES)}
    points["bottleneck"] = _bottlenecks(summary, rows, dev.mem_bw_gbs)
    labels: dict[int, list[str]] = {}
    for o, b in summary["best"].items():
        labels.setdefault(int(b["index"]), []).append(f"best {o}")
    pred = best.prediction
    util = pred.get("utilization") if isinstance(pred.get("utilization"), dict) else {}
    cmp_path = compare if compare is not None else folder / "compare" / "compare.json"
    gpu = None
    if compare is not None or cmp_path.is_file():
        gpu = _read_json(cmp_path, "--compare")
        if not isinstance(gpu, dict) or "fpga" not in gpu or "gpus" not in gpu:
            raise CodesignError(f"'{cmp_path}' is not the output of `codesign compare`", field="--compare")
    w = summary["workload"]
    return {
        "title": f"{summary['model']} on {summary['device']}",
        "model": summary["model"], "device": summary["device"], "workload": w,
        "counts": summary["counts"], "pareto_size": summary["pareto"]["size"],
        "accuracy": summary["accuracy"].get("note", ""),
        "constraints": {k: v.get("bound") for k, v in summary["constraints"].items() if v.get("applied")},
        "bandwidth_gbs": float(dev.mem_bw_gbs),
        "points": points,
        "best": {"index": int(summary["best_design"]["index"]), "objective": summary["best_design"]["objective"],
                 "labels": {str(i): " + ".join(v) for i, v in sorted(labels.items())},
                 "quant": summary["best"][summary["best_design"]["objective"]]["quant"],
                 "quant_label": best.quant.label(), "hw": summary["best"][summary["best_design"]["objective"]]["hw"],
                 "values": summary["best"][summary["best_design"]["objective"]]["values"],
                 "bottleneck": summary["best_design"].get("bottleneck", {}).get("text", "-"),
                 "energy_breakdown_j": summary["best_design"].get("energy_per_token_breakdown_j", {}),
                 "ops": _ops_table(pred),
                 "resources": {r: {"used": (pred.get("resources") or {}).get(r), "fraction": util.get(r)}
                               for r in RESOURCES}},
        "others": [{"objective": o, "index": int(b["index"]),
                    "tps": b["values"]["decode_tokens_per_s"], "jpt": b["values"]["energy_per_token_j"]}
                   for o, b in summary["best"].items()],
        "gpu": gpu,
        "verification": _verification(csim, verify, int(summary["best_design"]["index"])),
    }
