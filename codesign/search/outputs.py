"""The files of a finished sweep: points.csv, pareto.csv, best.json, summary.json, PNGs.

Everything here is a pure function of the sweep's inputs and state, so the
same inputs give the same bytes (no timestamps, no wall times, sorted JSON,
PNGs without metadata).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..design import Design
from ..errors import CodesignError
from ..fsutil import atomic_write_bytes, atomic_write_json
from .checkpoint import Checkpoint
from .constraints import CONSTRAINT_FIELDS
from .engine import FLOAT_COLUMNS, PARETO_COLUMNS, SweepState, Sweeper
from .plots import energy_parts
from .runner import AUTO_POINTS_LIMIT, SweepJob

# The design written to best.json: the user's main question is tokens per joule.
PRIMARY_OBJECTIVE = "energy_per_token_j"
TOP_DESIGNS = 10


@dataclass
class ChosenDesign:
    label: str                # e.g. "best J/token" or "#3 J/token"
    index: int
    design: Design
    values: dict              # sweep columns of this point
    bottleneck: dict = field(default_factory=dict)


def require_some_point(job: SweepJob, sweeper: Sweeper, state: SweepState) -> None:
    """Raise a one-line error (nothing is written) when no point is feasible and within constraints."""
    if state.n_ok:
        return
    n = job.space.size
    parts = [f"{state.n_feasible} of {n} points are feasible"]
    worst = sorted(((int(c), r) for r, c in zip(sweeper.violations, state.violation_counts) if c),
                   reverse=True)[:3]
    counts = {r: int(c) for r, c in zip(sweeper.violations, state.violation_counts)}
    if counts.get(MEMORY_VIOLATION, 0) >= n // 2 and all(r != MEMORY_VIOLATION for _, r in worst):
        worst.append((counts[MEMORY_VIOLATION], MEMORY_VIOLATION))   # the one a longer context hits
    kv = _kv_hint(job, sweeper) if counts.get(MEMORY_VIOLATION, 0) >= n // 2 else ""
    if state.n_feasible == 0:
        if worst:
            parts.append("most common reasons: " + ", ".join(f"{r} ({c})" for c, r in worst))
        if kv:
            parts.append(kv)
        raise CodesignError(f"no design point is feasible for {job.model} on {job.device} "
                            f"({'; '.join(parts)}); widen the space", field="space")
    else:
        for j, name in enumerate(CONSTRAINT_FIELDS):
            if state.constraint_fail[j]:
                parts.append(f"{name}={getattr(job.constraints, name)} rejects {int(state.constraint_fail[j])}")
        if worst and state.n_feasible < n:
            parts.append("the infeasible ones most often: " + ", ".join(f"{r} ({c})" for c, r in worst))
        if kv:
            parts.append(kv)
        field_name = "constraints"
    raise CodesignError(f"no design point meets the constraints ({'; '.join(parts)}) for "
                        f"{job.model} on {job.device}", field=field_name)


MEMORY_VIOLATION = "weights + KV cache exceed the off-chip memory capacity"


def _kv_hint(job: SweepJob, sweeper: Sweeper) -> str:
    """What the KV cache alone takes of the device's memory (the model sizes it for prompt + generate)."""
    from ..devices import get_device

    cfg, w = sweeper.cfg, job.workload
    dev = get_device(job.device)
    kvbits = min(job.space.as_dict()["kvbits"])
    tokens = w.prompt + w.generate
    gb = 2 * cfg.n_kv_heads * cfg.head_dim * kvbits / 8 * cfg.n_layers * tokens * w.batch / 1e9
    return (f"the KV cache of {tokens} tokens (prompt + generate) x batch {w.batch} takes {gb:.3g} GB even at "
            f"KV{kvbits}, of the {dev.name}'s {dev.mem_gb:g} GB beside the weights: shorten --prompt/--generate "
            "or --batch, or pick a device with more memory")


def point_values(cols: dict, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in FLOAT_COLUMNS:
        v = float(np.asarray(cols[k], dtype=np.float64)[i])
        out[k] = v if np.isfinite(v) else None
    out["feasible"] = bool(cols["feasible"][i])
    out["meets_constraints"] = bool(cols["meets_constraints"][i])
    return out


def make_design(job: SweepJob, sweeper: Sweeper, index: int) -> Design:
    q, h = job.space.point(index)
    lw = []
    if q.mixed:        # the per-layer bits the sweep chose, written out for every later stage
        from ..quant.mixed_precision import layer_wbits
        lw = layer_wbits(sweeper.cfg.n_layers, q.wbits, q.mixed, q.hi_wbits)
    return Design(model=job.model, device=job.device, workload=job.workload, quant=q, hw=h,
                  layer_wbits=lw, parallel=job.parallel).validate()


def predict(design: Design) -> dict:
    from ..model import evaluate_design
    return evaluate_design(design)


def choose_designs(job: SweepJob, sweeper: Sweeper, state: SweepState) -> list[ChosenDesign]:
    """The best design per objective, then the next best by J/token, up to TOP_DESIGNS rows."""
    from .bottleneck import bottleneck_of

    best = sweeper.best_per_objective(state)
    labels: dict[int, str] = {}
    for o in sweeper.objectives:
        idx = best[o.column]
        labels.setdefault(idx, f"best {o.label}")
    # which quantization: the best J/token design at each weight bit-width
    for w, idx in zip(sweeper.wbits_values, state.wbits_best_idx.tolist()):
        if idx >= 0:
            labels.setdefault(int(idx), f"best J/token at W{w}")
    for rank, idx in enumerate(sweeper.ranked_front(state).tolist(), start=1):
        if len(labels) >= TOP_DESIGNS:
            break
        labels.setdefault(idx, f"J/token #{rank}")
    order = list(labels)
    cols = sweeper.evaluate_indices(np.array(order, dtype=np.int64))
    chosen = []
    for i, idx in enumerate(order):
        d = make_design(job, sweeper, idx)
        pred = predict(d)
        d = replace(d, prediction=pred)
        chosen.append(ChosenDesign(labels[idx], idx, d, point_values(cols, i),
                                   bottleneck_of(pred, sweeper.device.mem_bw_gbs)))
    return chosen


def write_points(dest: Path, job: SweepJob, sweeper: Sweeper, ckpt: Checkpoint) -> dict:
    mode = job.points_mode
    if mode == "none":
        return {"mode": "none", "rows": 0,
                "note": f"not written: {job.space.size} points > {AUTO_POINTS_LIMIT} (--points auto); "
                        "rerun with --points all or --points feasible to stream them to points.csv "
                        "(~175 bytes per point)"}
    if job.points_format == "parquet":
        from .arrow_rows import write_parquet
        from .runner import PART_EXT
        tmp = dest / ".points.parquet.tmp"
        rows = write_parquet(tmp, ckpt.parts(job.chunk_starts(), PART_EXT["parquet"]))
        tmp.replace(dest / "points.parquet")
        note = "every grid point" if mode == "all" else "feasible points that meet the constraints"
        return {"mode": mode, "rows": rows, "note": note, "file": "points.parquet"}
    tmp = dest / ".points.csv.tmp"
    rows = 0
    with open(tmp, "wb") as out:
        out.write(sweeper.csv_header())
        for p in ckpt.parts(job.chunk_starts()):
            with open(p, "rb") as f:
                data = f.read()
            rows += data.count(b"\n")
            out.write(data)
    tmp.replace(dest / "points.csv")
    note = "every grid point" if mode == "all" else "feasible points that meet the constraints"
    return {"mode": mode, "rows": rows, "note": note}


def write_pareto(dest: Path, sweeper: Sweeper, state: SweepState) -> int:
    ids = sweeper.ranked_front(state)
    data = bytearray(sweeper.csv_header(PARETO_COLUMNS))
    step = 1 << 16
    for a in range(0, len(ids), step):
        data += sweeper.csv_rows(sweeper.evaluate_indices(ids[a:a + step]), FLOAT_COLUMNS)
    atomic_write_bytes(dest / "pareto.csv", bytes(data))
    return int(len(ids))


def build_summary(job: SweepJob, sweeper: Sweeper, state: SweepState, chosen: list[ChosenDesign],
                  points: dict, pareto_size: int) -> dict:
    acc = sweeper.accuracy
    constraints = {}
    for j, (name, (col, kind, desc)) in enumerate(CONSTRAINT_FIELDS.items()):
        bound = getattr(job.constraints, name)
        entry: dict[str, Any] = {"bound": bound, "description": desc}
        if bound is None:
            entry["applied"] = False
            entry["note"] = "not set"
        elif name == "max_accuracy_loss_pct" and not acc.known:
            entry["applied"] = False
            entry["note"] = "not applied: accuracy not yet measured"
        else:
            entry["applied"] = True
            entry["rejected_feasible_points"] = int(state.constraint_fail[j])
            if name == "max_accuracy_loss_pct":
                from .accuracy import TIE_NOTE
                entry["tie_rule"] = TIE_NOTE
                if job.constraints.accuracy_bound_note:
                    entry["source"] = job.constraints.accuracy_bound_note
        constraints[name] = entry
    best = {}
    by_index = {c.index: c for c in chosen}
    for o, idx in sweeper.best_per_objective(state).items():
        c = by_index[idx]
        best[o] = {"index": idx, "quant": asdict(c.design.quant), "hw": asdict(c.design.hw),
                   "values": c.values, "bottleneck": c.bottleneck}
    primary = by_index[sweeper.best_per_objective(state)[PRIMARY_OBJECTIVE]]
    return {
        "codesign_version": __version__,
        "model": job.model,
        "device": job.device,
        "workload": asdict(job.workload),
        "space": job.space.as_dict(),
        "space_size": job.space.size,
        "chunk_size": job.chunk_size,
        "objectives": [{"column": o.column, "sense": o.sense} for o in sweeper.objectives],
        "accuracy": acc.as_dict(),
        "constraints": constraints,
        "counts": {
            "points": job.space.size,
            "feasible": state.n_feasible,
            "meets_constraints": state.n_ok,
            "feasible_accuracy_not_measured": state.n_accuracy_unmeasured if acc.known else None,
        },
        "violations": {r: int(c) for r, c in zip(sweeper.violations, state.violation_counts)},
        "pareto": {"file": "pareto.csv", "size": pareto_size,
                   "note": "non-dominated among feasible points meeting the constraints; one point per "
                           "distinct objective vector (lowest grid index)"},
        "best": best,
        "best_by_wbits": {f"W{w}": ({"index": int(i), "energy_per_token_j": float(j)} if i >= 0 else None)
                          for w, i, j in zip(sweeper.wbits_values, state.wbits_best_idx.tolist(),
                                             state.wbits_best_j.tolist())},
        "best_design": {"file": "best.json", "objective": PRIMARY_OBJECTIVE, "index": primary.index,
                        "roofline_fraction": primary.values.get("roofline_fraction"),
                        "bottleneck": primary.bottleneck,
                        "energy_per_token_breakdown_j": energy_parts(primary.design.prediction, sweeper.device,
                                                                     job.workload.batch)},
        "points_csv": points,
        "plots": ["pareto.png", "roofline.png", "breakdown.png"],
    }


def write_results(dest: Path, job: SweepJob, sweeper: Sweeper, state: SweepState, ckpt: Checkpoint) -> dict:
    """Write every output file into ``dest`` (a staging folder); returns summary + chosen designs."""
    from . import plots

    require_some_point(job, sweeper, state)
    dest.mkdir(parents=True, exist_ok=True)
    chosen = choose_designs(job, sweeper, state)
    points = write_points(dest, job, sweeper, ckpt)
    pareto_size = write_pareto(dest, sweeper, state)
    summary = build_summary(job, sweeper, state, chosen, points, pareto_size)
    primary = next(c for c in chosen if c.index == summary["best_design"]["index"])
    atomic_write_json(dest / "best.json", primary.design.to_dict())
    designs = dest / "designs"
    designs.mkdir(exist_ok=True)
    for o, b in summary["best"].items():
        c = next(c for c in chosen if c.index == b["index"])
        atomic_write_json(designs / f"best_{o}.json", c.design.to_dict())
    atomic_write_json(dest / "summary.json", summary)
    plots.write_all(dest, job, sweeper, state, chosen, summary)
    from .report_html import write_report
    write_report(dest / "report.html", [dest])   # read back from the files just written, like `codesign report`
    return {"summary": summary, "chosen": chosen}


