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

from ..design import HW_ALLOWED, QUANT_ALLOWED, Design, Hardware, Quant, Workload
from ..errors import CodesignError
from ..workload.config import ModelConfig, load_model_config
from ..workload.ops import KV_SCALE_BITS, SCALE_BITS
from . import constants as C
from . import power as P
from . import resources as R
from .cycles import effective_channels, formula_params, instruction_cycles_arrays, program_totals
from .factors import ArrayFactors, Factors
from .program import workload_programs

SWEEP_DTYPE = np.float32
# Points per block of the per-point roll-up: a block's arrays (float32) stay in the 512 KiB L2 of
# this box's cores and their memory is recycled from block to block (benchmarks/bench_sweep.py)
BLOCK = 8192
TABLE_BLOCK = 32768   # combinations per block of the cycle formulas ((instructions x block) arrays)
# A formula's table spans the combinations of its parameters between the smallest and largest
# present; past this many (or half the points) it is evaluated per point instead (the same
# formula, element by element).
TABLE_MAX = 1 << 18
VIOLATION_DTYPE = np.int32   # per-point masks while they are built (VIOLATIONS has < 31 bits)
PARAMS = tuple(f.name for f in fields(Quant)) + tuple(f.name for f in fields(Hardware))

# Bit i of ``violations`` is VIOLATIONS[i]. Append only.
VIOLATIONS = (
    "dsp over cap",
    "lut over cap",
    "ff over cap",
    "bram36 over cap",
    "uram over cap",
    "weight_channels + kv_channels exceed the device's memory channels",
    "weights + KV cache exceed the off-chip memory capacity",
    "activation buffer (abuf_depth) smaller than one decode step's live vectors",
    "KV buffer (kvbuf_depth) smaller than one MPE tile of keys (rows)",
    "group does not divide the layer widths (d_model, d_ffn, head widths)",
    "neither cols nor group divides the other (MPE group slices)",
    "unsupported bit-width or parameter value for the template",
    "freq_mhz above the device's timing-closure limit",
    "prompt + generated tokens exceed the model's maximum context",
)
_BIT = {name: 1 << i for i, name in enumerate(VIOLATIONS)}

OUTPUT_KEYS = ("feasible", "violations", "decode_tokens_per_s", "prefill_latency_s", "energy_per_token_j",
               "energy_per_token_amortised_j", "power_w", "usd_per_mtoken", "dsp", "lut", "ff", "bram36",
               "uram", "utilization", "roofline_tokens_per_s", "roofline_fraction",
               "min_memory_energy_per_token_j", "compute_utilization", "bandwidth_utilization")


@lru_cache(maxsize=64)
def _programs(cfg: ModelConfig, workload: Workload):
    return workload_programs(cfg, Quant(), workload)


@lru_cache(maxsize=64)
def _model_constants(cfg: ModelConfig, workload: Workload) -> dict:
    """Per-model figures that do not depend on the design point. The activation buffer must hold a
    decode step's tensors as the ISA compiler lays them out (``codesign.isa.compiler.buffer_map``)."""
    try:
        from ..isa.compiler import buffer_map
        live = buffer_map(cfg, workload.batch)[1]
    except ImportError:   # the same tensors: X, H, Q, K, V, O, T, gate, up (+ router logits)
        live = workload.batch * (3 * cfg.d_model + 2 * (cfg.n_heads + cfg.n_kv_heads) * cfg.head_dim
                                 + 2 * cfg.d_ffn + (cfg.n_experts if cfg.is_moe else 0))
    widths = [cfg.d_model, cfg.d_ffn, cfg.n_heads * cfg.head_dim]
    return {"live_elems": live, "widths": widths}


def _as_arrays(params: Mapping[str, np.ndarray]) -> tuple[dict, int]:
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


# The cycle formulas in two classes by the parameters they read: the GEMVs (bit-widths, array
# shape, ...) and everything else (KV bits, SFU lanes, ports, clock). Each class is timed once per
# combination of its parameters present in the batch (factors.py), then gathered per point.
CYCLE_CLASSES = (("GEMV",), ("LOAD", "STORE", "NORM", "ROPE", "KVSTORE", "ATTN", "ACT", "ADD"))


IDENTITY = "identity"   # a key meaning: the table has one entry per point, in point order


class _Lookup:
    """A table over the combinations of some parameters and each point's key into it."""

    __slots__ = ("key", "table")

    def __init__(self, key, table):
        self.key, self.table = key, table

    def at(self, sl: slice, n: int) -> np.ndarray:
        """Values of the points ``sl`` (``n`` of them), a new array."""
        if self.key is None:
            return np.full(n, self.table[0], dtype=self.table.dtype)
        if self.key is IDENTITY:
            return self.table[sl].copy()
        return np.take(self.table, self.key[sl])


class _Tables:
    """Formulas evaluated on the distinct combinations of their parameters, read per point."""

    def __init__(self, fac: Factors, dtype):
        self.fac, self.dtype = fac, dtype
        self._keys: dict = {}
        self._columns: dict = {}

    def key(self, names):
        """(key per point, None (all fixed) or IDENTITY; grid: the parameter values of the
        combinations from the smallest to the largest key present; that smallest key). A sweep
        chunk covers a slice of the grid, so of the most significant parameters only some values:
        the formulas run on that span, not on every combination. Points spread over more
        combinations than that (TABLE_MAX, or half the points), e.g. random points: one entry per
        point (the same formulas, element by element)."""
        names = self.fac.ordered(names)
        if names not in self._keys:
            limit = max(1024, min(TABLE_MAX, self.fac.n // 2))   # a table pays when it is smaller
            combos = self.fac.combinations(names)
            # a grid slice's keys span few combinations even when the grid has many: compute them
            narrow = combos <= limit or (self.fac.slices_grid and combos < (1 << 62))
            key = self.fac.key(names) if narrow else IDENTITY
            lo = hi = 0
            if key is not IDENTITY and key is not None and key.size:
                lo, hi = int(key.min()), int(key.max())
            if key is IDENTITY or hi - lo >= limit:
                self._keys[names] = (IDENTITY, {k: self.column_values(k) for k in names}, 0)
            else:
                grid = self.fac.grid(names, lo, hi)
                self._keys[names] = (key, {k: v.astype(self.dtype) for k, v in grid.items()}, lo)
        return self._keys[names]

    def grid(self, names):
        return self.key(names)[1]

    def column_values(self, name) -> np.ndarray:
        """A parameter's value at every point, in the model's dtype (converted once)."""
        if name not in self._columns:
            self._columns[name] = self.fac.column(name).astype(self.dtype)
        return self._columns[name]

    def lookup(self, names, table) -> _Lookup:
        """Per-point access to ``table`` (computed on ``grid(names)``)."""
        key, _, lo = self.key(names)
        table = np.asarray(table).reshape(-1)
        if key is IDENTITY:
            table = np.broadcast_to(table, (self.fac.n,))
        if lo:   # keys count from the first combination of the whole grid
            table = np.concatenate([np.zeros(lo, dtype=table.dtype), table])
        return _Lookup(key, table)

    def column(self, name) -> _Lookup:
        """Per-point access to a parameter's values (in the model's dtype)."""
        return self.lookup((name,), self.grid((name,))[name])


# The per-phase sums the roll-up reads, each a sum of program_totals keys. They are added up on
# the class tables, so a point gathers one value per sum and class.
BYTE_KINDS = ("weight_bytes", "kv_read", "kv_write", "io_bytes")
PHASE_SUMS = {
    **{k: (k,) for k in BYTE_KINDS},
    "cycles": ("cycles",), "compute": ("compute",), "macs": ("macs",),
    "bytes": BYTE_KINDS,                                             # every off-chip byte of the phase
    "stream_bytes": ("weight_bytes", "kv_read", "kv_write"),         # weights + KV cache: the roofline's
}
DECODE_SUMS = ("cycles", "compute", "macs", "bytes", "stream_bytes")
PREFILL_SUMS = ("cycles", "compute", "bytes")


def _phase_tables(tables: _Tables, prog, device, sums) -> dict:
    """The ``sums`` (PHASE_SUMS names) of a program's cycles and bytes with repeat counts, as
    lookups: per sum, one per formula class that contributes (a point's value is their sum)."""
    dt = tables.dtype
    col = {k: v.reshape(-1, 1).astype(dt) for k, v in prog.cols.items()}
    count = prog.count.astype(dt)
    out: dict = {name: [] for name in sums}
    for ops in CYCLE_CLASSES:
        names = formula_params(ops)
        grid = effective_channels(tables.grid(names), device)
        size = len(grid[names[0]])
        blocks = []   # large grids (points spread over many combinations) in cache-sized blocks
        for a in range(0, size, TABLE_BLOCK):
            pc = {k: v[a:a + TABLE_BLOCK].reshape(1, -1) for k, v in grid.items()}
            blocks.append(program_totals(prog.op, col, count, pc, device, ops=ops))
        tot = blocks[0] if len(blocks) == 1 else {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
        for name in sums:
            parts = [tot[k] for k in PHASE_SUMS[name] if k in tot]   # the keys this class produces
            if parts:
                out[name].append(tables.lookup(names, sum(parts[1:], parts[0])))
    return out


def _sum_at(lookups: list, sl: slice, n: int, dt) -> np.ndarray:
    if not lookups:
        return np.zeros(n, dtype=dt)
    v = lookups[0].at(sl, n)
    for lk in lookups[1:]:
        v += lk.at(sl, n)
    return v


def _checks(cfg, device, workload) -> list:
    """Feasibility checks besides the resource caps: (violation bit, parameters read, test on a
    parameter grid -> bool array)."""
    mc = _model_constants(cfg, workload)

    def capacity(p):
        kv_total = (2 * cfg.n_kv_heads * (cfg.head_dim * p["kvbits"] + KV_SCALE_BITS) / 8
                    * cfg.n_layers * (workload.prompt + workload.generate) * workload.batch)
        return _total_weight_bytes(cfg, p) + kv_total > device.mem_gb * 1e9

    def nondivisible(p):
        g = p["group"]
        nondiv = np.zeros(g.shape, dtype=bool)
        for w in mc["widths"]:
            nondiv |= (w % g) != 0
        return nondiv & (p["wbits"] != 16)

    out = [
        (_BIT[VIOLATIONS[5]], ("weight_channels", "kv_channels"),
         lambda p: p["weight_channels"] + p["kv_channels"] > device.mem_channels),
        (_BIT[VIOLATIONS[6]], ("wbits", "group", "zero_point", "kvbits"), capacity),
        (_BIT[VIOLATIONS[7]], ("abuf_depth",), lambda p: p["abuf_depth"] < mc["live_elems"]),
        (_BIT[VIOLATIONS[8]], ("kvbuf_depth", "rows"), lambda p: p["kvbuf_depth"] < p["rows"]),
        (_BIT[VIOLATIONS[9]], ("group", "wbits"), nondivisible),
        (_BIT[VIOLATIONS[10]], ("cols", "group"),
         lambda p: ((p["cols"] % p["group"]) != 0) & ((p["group"] % p["cols"]) != 0)),
        (_BIT[VIOLATIONS[12]], ("freq_mhz",), lambda p: p["freq_mhz"] > device.kernel_mhz * C.FMAX_OVER_TYPICAL),
    ]
    for name, allowed in {**QUANT_ALLOWED, **HW_ALLOWED}.items():
        if isinstance(allowed, set):
            fn = (lambda p, name=name, ok=[float(a) for a in allowed]: ~np.isin(p[name], ok))
        else:
            fn = (lambda p, name=name, lo=allowed[0], hi=allowed[1]:
                  (p[name] < lo) | (p[name] > hi) | (p[name] != np.floor(p[name])))
        out.append((_BIT[VIOLATIONS[11]], (name,), fn))
    return out


def _violation_tables(tables: _Tables, cfg, device, workload, util_tables: dict) -> list:
    """The violation bits as lookups (a point's mask is their OR). Every check runs on the grid of
    the parameters it reads, joined to the smallest resource table that covers them."""
    bits: dict[tuple, np.ndarray] = {}
    for r in R.RESOURCES:
        names, util = util_tables[r]
        bits[names] = bits.get(names, 0) | np.where(util > C.RESOURCE_CAP, _BIT[f"{r} over cap"], 0)
    size = lambda names: tables.grid(names)[names[0]].size  # noqa: E731
    for bit, params, test in _checks(cfg, device, workload):
        cover = [n for n in bits if set(params) <= set(n)]
        names = min(cover, key=size) if cover else tables.fac.ordered(params)
        bits[names] = bits.get(names, 0) | np.where(test(tables.grid(names)), bit, 0)
    out = []
    for names, b in bits.items():
        b = np.broadcast_to(np.asarray(b, dtype=VIOLATION_DTYPE), (size(names),))
        if b.any():
            out.append(tables.lookup(names, b))
    return out


def _evaluate(cfg: ModelConfig, device, workload: Workload, params, detail: bool = False):
    if getattr(device, "kind", "fpga") != "fpga":
        raise CodesignError(f"device '{device.name}' is a GPU; evaluate_batch models the FPGA processor "
                            "(GPU designs: codesign.baselines.gpu_model)", field="--device")
    fac = params if isinstance(params, Factors) else ArrayFactors(_as_arrays(params)[0], PARAMS)
    # The sweep path runs in float32 (half the memory traffic; relative rounding ~1e-7, far below the
    # model's accuracy); one design (``detail``) runs in float64, the same formulas.
    fdt = np.float64 if detail else SWEEP_DTYPE
    tables = _Tables(fac, fdt)
    progs = _programs(cfg, workload)
    # 1. every formula on the combinations of the parameters it reads (small tables)
    more = BYTE_KINDS if detail else ()    # one design: every byte kind too, for the breakdown
    phase_tabs = {"decode": _phase_tables(tables, progs["decode_all"], device, DECODE_SUMS + more),
                  "prefill": _phase_tables(tables, progs["prefill_all"], device, PREFILL_SUMS + more)}
    used_tabs, util_tables = {}, {}
    for r in R.RESOURCES:
        names = fac.ordered(R.resource_params(r, device))
        u = np.asarray(R.estimate_one(r, tables.grid(names), device, cfg.head_dim), dtype=fdt)
        util_tables[r] = (names, R.utilization({r: u}, device, (r,))[r])
        used_tabs[r] = tables.lookup(names, u)
    viol_tabs = _violation_tables(tables, cfg, device, workload, util_tables)
    columns = {k: tables.column(k) for k in ("freq_mhz", "rows", "cols")}
    context_bit = (_BIT[VIOLATIONS[13]]
                   if max(workload.prompt + workload.generate, workload.decode_context) > cfg.max_context else 0)
    # 2. per point, block by block: a block's arrays stay in cache and their memory is reused
    n = fac.n
    out = {k: np.empty(n, dtype=fdt) for k in OUTPUT_KEYS if k not in ("feasible", "violations")}
    out["violations"] = np.empty(n, dtype=np.int64)
    last = None
    for b0 in range(0, n, BLOCK):
        sl = slice(b0, min(n, b0 + BLOCK))
        m = sl.stop - sl.start
        at = {name: {k: _sum_at(v, sl, m, fdt) for k, v in tabs.items()} for name, tabs in phase_tabs.items()}
        last = _rollup(device, workload, at, {r: t.at(sl, m) for r, t in used_tabs.items()},
                       {k: c.at(sl, m) for k, c in columns.items()}, out, sl)
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
                          "decode_bytes": last["decode_bytes"]}
    return res


def _rollup(device, workload, phase, used, col, out, sl) -> dict:
    """Speed, power, energy, cost and limits of a block of points from its phase totals, resources
    and clock; writes ``out[key][sl]`` and returns the intermediates evaluate_design reports."""
    freq = col["freq_mhz"]
    f_hz = freq * 1e6
    B = workload.batch
    dec, pre = phase["decode"], phase["prefill"]
    step_s = dec["cycles"] / f_hz
    tokens_per_s = B / step_s
    prefill_s = pre["cycles"] / f_hz
    dec_bytes, pre_bytes = dec["bytes"], pre["bytes"]

    util = R.utilization(used, device)
    utilization = np.maximum.reduce([util[r] for r in R.RESOURCES])

    act_dec = np.minimum(1.0, dec["compute"] / dec["cycles"])
    act_pre = np.minimum(1.0, pre["compute"] / pre["cycles"])
    p_dec = (device.static_w + P.logic_power_w(used, device, freq, act_dec)
             + P.memory_power_w(device, dec_bytes / step_s))
    p_pre = (device.static_w + P.logic_power_w(used, device, freq, act_pre)
             + P.memory_power_w(device, pre_bytes / prefill_s))
    e_tok = p_dec / tokens_per_s
    gen = workload.generate
    e_amort = (p_pre * prefill_s + p_dec * step_s * gen) / (gen * B)

    # physical limits: every byte of a decode step at the device's peak bandwidth / minimum energy
    min_bytes = dec["stream_bytes"]
    roofline = B * device.mem_bw_gbs * 1e9 / min_bytes
    min_energy = min_bytes / B * 8 * C.MEM_PJ_PER_BIT[device.mem_kind] * 1e-12

    peak_macs = col["rows"] * col["cols"] * dec["cycles"]
    compute_util = dec["macs"] / peak_macs
    bw_util = dec_bytes / step_s / (device.mem_bw_gbs * 1e9)
    vals = {
        "decode_tokens_per_s": tokens_per_s, "prefill_latency_s": prefill_s,
        "energy_per_token_j": e_tok, "energy_per_token_amortised_j": e_amort, "power_w": p_dec,
        "usd_per_mtoken": P.usd_per_mtoken(device.price_usd, p_dec, tokens_per_s),
        **{r: used[r] for r in R.RESOURCES},
        "utilization": utilization,
        "roofline_tokens_per_s": roofline, "roofline_fraction": tokens_per_s / roofline,
        "min_memory_energy_per_token_j": min_energy,
        "compute_utilization": compute_util, "bandwidth_utilization": bw_util,
    }
    for k, v in vals.items():
        out[k][sl] = v
    return {"phases": phase, "util": util, "prefill_power_w": p_pre, "decode_bytes": dec_bytes}


@lru_cache(maxsize=64)
def _storage_table(cfg: ModelConfig) -> dict:
    """Stored weights (every expert, LM head, norms, embedding) as a closed form in the bit-widths:
    bytes = lin * w/8 + groups[g] * (SCALE_BITS + z*w)/8 + fixed  (w < 16), or int16 per channel."""
    from ..workload.ops import GAMMA_BITS, param_counts
    d, hd, h, kvh = cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
    mats = [(h * hd, d), (kvh * hd, d), (kvh * hd, d), (d, h * hd)]
    e = cfg.n_experts
    if cfg.ffn_kind == "swiglu":
        mats += [(cfg.d_ffn, d)] * (2 * e) + [(d, cfg.d_ffn)] * e
    else:
        mats += [(cfg.d_ffn, d)] * e + [(d, cfg.d_ffn)] * e
    if cfg.is_moe:
        mats.append((e * (3 if cfg.router == "attention" else 1), d))
    lin = cfg.n_layers * sum(n * k for n, k in mats) + cfg.vocab * d
    nout = cfg.n_layers * sum(n for n, _ in mats) + cfg.vocab
    groups = {g: cfg.n_layers * sum(n * -(-k // g) for n, k in mats) + cfg.vocab * -(-d // g)
              for g in sorted(QUANT_ALLOWED["group"])}
    pc = param_counts(cfg)
    fixed = (pc["total"] - lin) * GAMMA_BITS / 8    # norms, biases, (untied) embedding table: 16 bits
    return {"lin": lin, "nout": nout, "groups": groups, "fixed": fixed}


def _total_weight_bytes(cfg: ModelConfig, p) -> np.ndarray:
    t = _storage_table(cfg)
    g = p["group"]
    groups = np.select([g == gg for gg in t["groups"]], list(t["groups"].values()), default=t["groups"][32])
    w, z = p["wbits"], p["zero_point"]
    quant = t["lin"] * w / 8 + groups * (SCALE_BITS + z * w) / 8
    return t["fixed"] + np.where(w == 16, t["lin"] * 2 + t["nout"] * SCALE_BITS / 8, quant)


def evaluate_batch(cfg: ModelConfig, device, workload: Workload, params) -> dict:
    """Evaluate N design points. ``params``: one 1-D array per field of Quant and Hardware, or a
    ``factors.Factors`` (the sweep's grid slices). Returns 1-D arrays of length N for every key of
    OUTPUT_KEYS (contract: docs/MODEL.md). Each formula runs once per distinct combination of the
    parameters it reads, then reaches the points by a gather (factors.py)."""
    return _evaluate(cfg, device, workload, params, detail=False)


def violation_names(bits: int) -> list[str]:
    return [name for i, name in enumerate(VIOLATIONS) if int(bits) >> i & 1]


def design_params(design: Design) -> dict:
    d = {f.name: np.array([getattr(design.quant, f.name)]) for f in fields(Quant)}
    d.update({f.name: np.array([getattr(design.hw, f.name)]) for f in fields(Hardware)})
    return d


def _ops_breakdown(detail, freq_mhz) -> list[dict]:
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
    if device.kind == "gpu":
        return _evaluate_gpu(design)
    r = _evaluate(cfg, device, design.workload, design_params(design), detail=True)
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
        "instructions_from": det["source"],
        "ops": _ops_breakdown(det, design.hw.freq_mhz),
        "assumptions": {"lifetime_years": C.LIFETIME_YEARS, "usd_per_kwh": C.USD_PER_KWH,
                        "decode_context": design.workload.decode_context},
    }
    return out


def _evaluate_gpu(design: Design) -> dict:
    try:
        from ..baselines.gpu_model import evaluate_gpu_design
    except ImportError as e:
        raise CodesignError(f"GPU devices need codesign.baselines.gpu_model ({e})", field="--device") from None
    return evaluate_gpu_design(design)
