"""``evaluate_batch`` (N design points at once, pure numpy) and ``evaluate_design`` (one, JSON-able).

Per-model quantities (the instruction lists of a decode step and of the prefill, deduplicated) are
built once per (model, workload) and cached. Each formula (cycles per opcode class, each resource,
each feasibility check) runs once per combination of the parameters it reads present among the N
points (factors.py: a sweep chunk of 65k points has ~8k GEMV combinations, ~150 for the other
opcodes); the points gather their values from those small tables, and only the roll-up (speed,
power, energy, cost, limits) runs per point, in cache-sized blocks. ``evaluate_design`` calls the
same code with N = 1: there is one copy of every formula.
"""

from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from typing import Mapping

import numpy as np

from ..design import QUANT_OPTIONAL, Hardware, Quant, Workload, numeric_value
from ..errors import CodesignError
from ..workload.config import ModelConfig
from . import resources as R
from .cycles import effective_channels, instruction_cycles_arrays
from .factors import ArrayFactors, Factors
from .feasibility import BIT, VIOLATION_DTYPE, VIOLATIONS, violation_tables
from .program import workload_programs
from .rollup import rollup
from .tables import BYTE_KINDS, DECODE_SUMS, PREFILL_SUMS, Tables, mixed_tables, phase_tables, sum_at

SWEEP_DTYPE = np.float32
# Points per block of the per-point roll-up: a block's arrays (float32) stay in the 512 KiB L2 of
# this box's cores and their memory is recycled from block to block (benchmarks/bench_sweep.py)
BLOCK = 8192
PARAMS = tuple(f.name for f in fields(Quant)) + tuple(f.name for f in fields(Hardware))

OPTIONAL_DEFAULTS = {k: numeric_value(k, getattr(Quant(), k)) for k in QUANT_OPTIONAL}

OUTPUT_KEYS = ("feasible", "violations", "decode_tokens_per_s", "prefill_latency_s", "energy_per_token_j",
               "energy_per_token_amortised_j", "power_w", "usd_per_mtoken", "dsp", "lut", "ff", "bram36",
               "uram", "utilization", "roofline_tokens_per_s", "roofline_fraction",
               "min_memory_energy_per_token_j", "compute_utilization", "bandwidth_utilization")


@lru_cache(maxsize=64)
def _programs(cfg: ModelConfig, workload: Workload):
    return workload_programs(cfg, Quant(), workload)


def _as_arrays(params: Mapping[str, np.ndarray]) -> tuple[dict, int]:
    params = {**{k: np.full(np.shape(next(iter(params.values()))), v) for k, v in OPTIONAL_DEFAULTS.items()},
              **params}   # fields added later (the quantizer, mixed precision) default when left out
    missing = [k for k in PARAMS if k not in params]
    if missing:
        raise CodesignError(f"missing parameter array(s) {missing}", field="params")
    arrs = {k: np.asarray(params[k]).reshape(-1) for k in PARAMS}
    n = {a.shape[0] for a in arrs.values()}
    if len(n) != 1:
        raise CodesignError(f"parameter arrays differ in length: {sorted(n)}", field="params")
    return arrs, n.pop()


def _per_instruction(prog, p, device):
    """Per-instruction (I,N) arrays of a program (evaluate_design's per-op breakdown)."""
    dt = next(iter(p.values())).dtype
    col = {k: v.reshape(-1, 1).astype(dt) for k, v in prog.cols.items()}
    return instruction_cycles_arrays(prog.op, col, {k: v.reshape(1, -1) for k, v in p.items()}, device)


def _evaluate(cfg: ModelConfig, device, workload: Workload, params, detail: bool = False, plan=None):
    if getattr(device, "kind", "fpga") != "fpga":
        raise CodesignError(f"device '{device.name}' is a GPU; evaluate_batch models the FPGA processor "
                            "(GPU designs: codesign.baselines.gpu_model)", field="--device")
    par, capacity_cfg, plan_bits = None, None, 0
    if plan is not None:      # a multi-card plan (parallel.py): one card's shard, every layer in turn
        from .parallel import plan_context, port_problem, split_problems
        par = plan_context(cfg, workload, plan)
        if split_problems(cfg, plan.tp, plan.pp):
            plan_bits |= BIT[VIOLATIONS[17]]
        if port_problem(plan):
            plan_bits |= BIT[VIOLATIONS[18]]
        cfg, capacity_cfg = par.timing_cfg, par.capacity_cfg
    fac = params if isinstance(params, Factors) else ArrayFactors(_as_arrays(params)[0], PARAMS)
    # The sweep path runs in float32 (half the memory traffic; relative rounding ~1e-7, far below the
    # model's accuracy); one design (``detail``) runs in float64, the same formulas.
    fdt = np.float64 if detail else SWEEP_DTYPE
    tables = Tables(fac, fdt)
    progs = _programs(cfg, workload)
    # 1. every formula on the combinations of the parameters it reads (small tables)
    more = BYTE_KINDS if detail else ()    # one design: every byte kind too, for the breakdown
    phase_tabs = {}
    for name, sums in (("decode", DECODE_SUMS + more), ("prefill", PREFILL_SUMS + more)):
        phase_tabs[name] = phase_tables(tables, progs[f"{name}_all"], device, sums)
        for k, lk in mixed_tables(tables, progs[f"{name}_units"], device, sums, cfg.n_layers).items():
            phase_tabs[name][k].append(lk)      # raised units: their extra cycles and bytes
    used_tabs, util_tables = {}, {}
    for r in R.RESOURCES:
        names = fac.ordered(R.resource_params(r, device))
        u = np.asarray(R.estimate_one(r, tables.grid(names), device, cfg.head_dim), dtype=fdt)
        util_tables[r] = (names, R.utilization({r: u}, device, (r,))[r])
        used_tabs[r] = tables.lookup(names, u)
    viol_tabs = violation_tables(tables, cfg, device, workload, util_tables, capacity_cfg)
    columns = {k: tables.column(k) for k in ("freq_mhz", "rows", "cols")}
    context_bit = (BIT[VIOLATIONS[13]]
                   if max(workload.prompt + workload.generate, workload.decode_context) > cfg.max_context else 0)
    context_bit |= plan_bits
    # 2. per point, block by block: a block's arrays stay in cache and their memory is reused
    n = fac.n
    out = {k: np.empty(n, dtype=fdt) for k in OUTPUT_KEYS if k not in ("feasible", "violations")}
    out["violations"] = np.empty(n, dtype=np.int64)
    last = None
    for b0 in range(0, n, BLOCK):
        sl = slice(b0, min(n, b0 + BLOCK))
        m = sl.stop - sl.start
        at = {name: {k: sum_at(v, sl, m, fdt) for k, v in tabs.items()} for name, tabs in phase_tabs.items()}
        last = rollup(device, workload, cfg.n_layers, at, {r: t.at(sl, m) for r, t in used_tabs.items()},
                       {k: c.at(sl, m) for k, c in columns.items()}, out, sl, par)
        v = np.full(m, context_bit, dtype=VIOLATION_DTYPE)
        for t in viol_tabs:
            v |= t.at(sl, m)
        out["violations"][sl] = v
    res = {"feasible": out["violations"] == 0, **out}
    if detail:
        p = {k: fac.column(k).astype(fdt) for k in PARAMS}
        p_eff = effective_channels(p, device)
        per_instr = {}
        for name in ("decode", "prefill"):
            layer, head = progs[name]
            per_instr[name] = (layer, _per_instruction(layer, p_eff, device), head,
                               _per_instruction(head, p_eff, device))
        res["_detail"] = {"phases": last["phases"], "per_instr": per_instr, "util": last["util"],
                          "prefill_power_w": last["prefill_power_w"], "source": progs["source"],
                          "decode_bytes": last["decode_bytes"], "power_parts": last["power_parts"],
                          "sync_s": last["sync_s"], "step_s": last["step_s"], "plan": par}
    return res


def evaluate_detail(cfg: ModelConfig, device, workload: Workload, params, plan=None) -> dict:
    """``evaluate_batch`` in float64 plus ``_detail`` (per-instruction arrays, per-resource
    utilization, prefill power): what ``report.evaluate_design`` shows for one design."""
    return _evaluate(cfg, device, workload, params, detail=True, plan=plan)


def evaluate_batch(cfg: ModelConfig, device, workload: Workload, params, plan=None) -> dict:
    """Evaluate N design points. ``params``: one 1-D array per field of Quant and Hardware, or a
    ``factors.Factors`` (the sweep's grid slices). Returns 1-D arrays of length N for every key of
    OUTPUT_KEYS (contract: docs/MODEL.md). Each formula runs once per distinct combination of the
    parameters it reads, then reaches the points by a gather (factors.py). ``plan``: a multi-card
    ``parallel.Plan`` (None: one card); the figures are then the whole system's (every card, the
    link), resources and utilisation one card's."""
    return _evaluate(cfg, device, workload, params, detail=False, plan=plan)
