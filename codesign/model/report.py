"""``evaluate_design``: one design point as a JSON-able report (the figures of evaluate_batch with
N = 1, run in float64, plus the per-instruction breakdown and the assumptions behind the cost).

FPGA designs only: a GPU design is the GPU model's (codesign.baselines.gpu_model), dispatched by the
command layer."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from ..design import Design, Hardware, Quant, numeric_value
from ..errors import CodesignError
from ..workload.config import load_model_config
from . import constants as C
from . import resources as R
from .evaluate import evaluate_detail
from .feasibility import violation_names


def design_params(design: Design) -> dict:
    d = {f.name: np.array([numeric_value(f.name, getattr(design.quant, f.name))]) for f in fields(Quant)}
    d.update({f.name: np.array([getattr(design.hw, f.name)]) for f in fields(Hardware)})
    return d


def ops_breakdown(detail, freq_mhz) -> list[dict]:
    rows = []
    for phase in ("decode", "prefill"):
        layer, lp, head, hp = detail["per_instr"][phase]
        for prog, per, where in ((layer, lp, "layer"), (head, hp, "head")):
            for i, ins in enumerate(prog.instrs):
                cyc = float(per["cycles"][i, 0])
                rows.append({
                    "phase": phase, "where": where, "op": ins.op, "name": prog.names[i],
                    "count": float(prog.count[i]), "m": ins.m, "n": ins.n, "k": ins.k, "ctx": ins.ctx,
                    "cycles": cyc, "compute_cycles": float(per["compute"][i, 0]),
                    "memory_cycles": float(per["memory"][i, 0]), "fill_cycles": float(per["fill"][i, 0]),
                    "bound": "memory" if per["memory"][i, 0] >= per["compute"][i, 0] else "compute",
                    "weight_bytes": float(per["weight_bytes"][i, 0]), "kv_read_bytes": float(per["kv_read"][i, 0]),
                    "kv_write_bytes": float(per["kv_write"][i, 0]), "io_bytes": float(per["io_bytes"][i, 0]),
                    "macs": float(per["macs"][i, 0]),
                    "time_s_total": cyc * float(prog.count[i]) / (freq_mhz * 1e6),
                })
    return rows


def evaluate_design(design: Design) -> dict:
    """One design point, JSON-able: the keys of issue 2 point 5 plus a per-op breakdown."""
    from ..devices import get_device
    design.validate()
    cfg = load_model_config(design.model)
    device = get_device(design.device)
    if device.kind != "fpga":
        raise CodesignError(f"device '{device.name}' is a GPU; evaluate_design models the FPGA processor "
                            "(GPU designs: codesign.baselines.gpu_model.evaluate_gpu_design)", field="--device")
    if design.layer_wbits:
        from ..quant.mixed_precision import layer_wbits
        if design.layer_wbits != layer_wbits(cfg.n_layers, design.quant.wbits, design.quant.mixed, design.quant.hi_wbits):
            raise CodesignError(f"does not match quant.mixed = {design.quant.mixed} on the accuracy table's ranking for "
                                f"{cfg.n_layers} layers; allowed: the sweep's assignment, or leave it out",
                                field="layer_wbits")
    from .parallel import resolve
    plan = resolve(design.parallel, device)
    r = evaluate_detail(cfg, device, design.workload, design_params(design), plan=plan)
    det = r.pop("_detail")
    one = {k: (v[0].item() if hasattr(v[0], "item") else v[0]) for k, v in r.items()}
    out = {
        "model": cfg.name, "device": device.name, "kind": "fpga",
        "feasible": bool(one["feasible"]), "violations": violation_names(one["violations"]),
        "decode_tokens_per_s": one["decode_tokens_per_s"], "prefill_latency_s": one["prefill_latency_s"],
        "energy_per_token_j": one["energy_per_token_j"],
        "energy_per_token_amortised_j": one["energy_per_token_amortised_j"],
        "power_w": one["power_w"], "prefill_power_w": float(det["prefill_power_w"][0]),
        "usd_per_mtoken": one["usd_per_mtoken"],
        "resources": {k: float(one[k]) for k in R.RESOURCES},
        "utilization": {**{k: float(det["util"][k][0]) for k in R.RESOURCES}, "max": float(one["utilization"])},
        "roofline_tokens_per_s": one["roofline_tokens_per_s"], "roofline_fraction": one["roofline_fraction"],
        "min_memory_energy_per_token_j": one["min_memory_energy_per_token_j"],
        "compute_utilization": one["compute_utilization"], "bandwidth_utilization": one["bandwidth_utilization"],
        "decode_bytes_per_step": float(det["decode_bytes"][0]),
        # decode power split (board = static + logic + memory) and the per-step layer synchronisation
        "power_parts": {k: float(v[0]) for k, v in det["power_parts"].items()},
        "layer_sync_s_per_step": float(det["sync_s"][0]),
        "instructions_from": det["source"],
        "ops": ops_breakdown(det, design.hw.freq_mhz),
        "assumptions": {"lifetime_years": C.LIFETIME_YEARS, "usd_per_kwh": C.USD_PER_KWH,
                        "layer_sync_cycles": C.LAYER_SYNC_CYCLES,
                        "logic_power_calibration": C.LOGIC_POWER_CALIBRATION,
                        "decode_context": design.workload.decode_context},
    }
    if plan is not None:
        from .parallel import summary
        out["parallel"] = summary(det["plan"], float(det["step_s"][0]))
        if det["plan"].problems:
            out["violations"] = out["violations"] + [f"multi-card: {p}" for p in det["plan"].problems]
        out["devices"] = plan.devices
        out["price_usd"] = device.price_usd * plan.devices
    return out
