"""Feasibility: the violation bits of a design point (resource caps, memory capacity, buffers,
divisibility, supported values, clock, context), each check run on the grid of the parameters it
reads (tables.py) and OR-ed per point."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..design import HW_ALLOWED, QUANT_ALLOWED, Workload, numeric_value
from ..isa.compiler import buffer_map
from ..quant.pack import sparsity_nm
from ..workload.config import ModelConfig
from . import constants as C
from . import resources as R
from .storage import kv_cache_bytes, total_weight_bytes
from .tables import Tables

VIOLATION_DTYPE = np.int32   # per-point masks while they are built (VIOLATIONS has < 31 bits)

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
    "N:M sparsity: N does not divide cols or M does not divide group (whole blocks per beat and group)",
    "N:M sparsity: neither a beat's inputs (cols * M / N) nor group divides the other (MPE group slices)",
    "mixed precision: hi_wbits not above wbits (the raised units would not be raised)",
    "multi-card split: tp or pp does not divide the model (heads, KV heads, FFN width, layers)",
    "multi-card plan: more link ports per card than the board has",
    "freq_mhz above the clock model's Fmax for the MPE array and SFU lanes (ECP5: fitted on post-route builds)",
)
BIT = {name: 1 << i for i, name in enumerate(VIOLATIONS)}

@lru_cache(maxsize=64)
def model_constants(cfg: ModelConfig, workload: Workload) -> dict:
    """Per-model figures that do not depend on the design point. The activation buffer must hold a
    decode step's tensors as the ISA compiler lays them out (``codesign.isa.compiler.buffer_map``)."""
    live = buffer_map(cfg, workload.batch)[1]
    widths = [cfg.d_model, cfg.d_ffn, cfg.n_heads * cfg.head_dim]
    return {"live_elems": live, "widths": widths}


def checks(cfg, device, workload, capacity_cfg=None) -> list:
    """Feasibility checks besides the resource caps: (violation bit, parameters read, test on a
    parameter grid -> bool array). ``capacity_cfg``: the layers one card stores when that is not
    ``cfg`` (a multi-card plan, model/parallel.py)."""
    mc = model_constants(cfg, workload)
    ccfg = capacity_cfg or cfg

    def capacity(p):
        return total_weight_bytes(ccfg, p) + kv_cache_bytes(ccfg, workload, p["kvbits"]) > device.mem_gb * 1e9

    def nondivisible(p):
        g = p["group"]
        nondiv = np.zeros(g.shape, dtype=bool)
        for w in mc["widths"]:
            nondiv |= (w % g) != 0
        return nondiv & (p["wbits"] != 16)

    def sparse_blocks(p):
        n, m, _ = sparsity_nm(p["sparsity"], np.result_type(p["cols"]))
        return (n < m) & (((p["cols"] % n) != 0) | ((p["group"] % m) != 0))

    def sparse_slices(p):
        n, m, _ = sparsity_nm(p["sparsity"], np.result_type(p["cols"]))
        beat_in, g = p["cols"] * m / n, p["group"]
        return (n < m) & ((beat_in % g) != 0) & ((g % beat_in) != 0)

    out = [
        (BIT[VIOLATIONS[5]], ("weight_channels", "kv_channels"),
         lambda p: p["weight_channels"] + p["kv_channels"] > device.mem_channels),
        (BIT[VIOLATIONS[6]], ("wbits", "group", "zero_point", "sparsity", "kvbits"), capacity),
        (BIT[VIOLATIONS[7]], ("abuf_depth",), lambda p: p["abuf_depth"] < mc["live_elems"]),
        (BIT[VIOLATIONS[8]], ("kvbuf_depth", "rows"), lambda p: p["kvbuf_depth"] < p["rows"]),
        (BIT[VIOLATIONS[9]], ("group", "wbits"), nondivisible),
        (BIT[VIOLATIONS[10]], ("cols", "group", "sparsity"),
         lambda p: (p["sparsity"] == 0) & ((p["cols"] % p["group"]) != 0) & ((p["group"] % p["cols"]) != 0)),
        (BIT[VIOLATIONS[14]], ("cols", "group", "sparsity"), sparse_blocks),
        (BIT[VIOLATIONS[15]], ("cols", "group", "sparsity"), sparse_slices),
        (BIT[VIOLATIONS[12]], ("freq_mhz",), lambda p: p["freq_mhz"] > device.kernel_mhz * C.FMAX_OVER_TYPICAL),
        (BIT[VIOLATIONS[16]], ("wbits", "mixed", "hi_wbits"), lambda p: (p["mixed"] > 0) & (p["hi_wbits"] <= p["wbits"])),
    ]
    if device.dsp_kind == "MULT18X18D" and any(C.ECP5_CLOCK.values()):
        # ECP5: the clock falls with the MPE array and the SFU lanes (ecp5_calibration.clock_mhz, nextpnr's Fmax)
        from .ecp5_calibration import clock_mhz
        out.append((BIT[VIOLATIONS[19]], ("freq_mhz", "rows", "cols", "sfu_lanes"),
                    lambda p: p["freq_mhz"] > clock_mhz(C.ECP5_CLOCK, p["rows"], p["cols"], p["sfu_lanes"])))
    for name, allowed in {**QUANT_ALLOWED, **HW_ALLOWED}.items():
        if isinstance(allowed, set):
            fn = (lambda p, name=name, ok=[float(numeric_value(name, a)) for a in allowed]: ~np.isin(p[name], ok))
        else:
            fn = (lambda p, name=name, lo=allowed[0], hi=allowed[1]:
                  (p[name] < lo) | (p[name] > hi) | (p[name] != np.floor(p[name])))
        out.append((BIT[VIOLATIONS[11]], (name,), fn))
    return out


def violation_tables(tables: Tables, cfg, device, workload, util_tables: dict, capacity_cfg=None) -> list:
    """The violation bits as lookups (a point's mask is their OR). Every check runs on the grid of
    the parameters it reads, joined to the smallest resource table that covers them."""
    bits: dict[tuple, np.ndarray] = {}
    for r in R.RESOURCES:
        names, util = util_tables[r]
        bits[names] = bits.get(names, 0) | np.where(util > C.RESOURCE_CAP, BIT[f"{r} over cap"], 0)
    size = lambda names: tables.grid(names)[names[0]].size  # noqa: E731
    for bit, params, test in checks(cfg, device, workload, capacity_cfg):
        cover = [n for n in bits if set(params) <= set(n)]
        names = min(cover, key=size) if cover else tables.fac.ordered(params)
        bits[names] = bits.get(names, 0) | np.where(test(tables.grid(names)), bit, 0)
    out = []
    for names, b in bits.items():
        b = np.broadcast_to(np.asarray(b, dtype=VIOLATION_DTYPE), (size(names),))
        if b.any():
            out.append(tables.lookup(names, b))
    return out


def violation_names(bits: int) -> list[str]:
    return [name for i, name in enumerate(VIOLATIONS) if int(bits) >> i & 1]
