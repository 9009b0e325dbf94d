"""The per-point roll-up: speed, power, energy, cost and physical limits of a block of design points
from its phase totals (tables.py), resources and clock. The only part of the model that runs per
point; a point's figures do not depend on the other points of its block."""

from __future__ import annotations

import numpy as np

from . import constants as C
from . import power as P
from . import resources as R


def rollup(device, workload, layers, phase, used, col, out, sl, par=None) -> dict:
    """Speed, power, energy, cost and limits of a block of points from its phase totals, resources
    and clock; writes ``out[key][sl]`` and returns the intermediates evaluate_design reports.
    ``layers``: decoder layers of the model; each pays C.LAYER_SYNC_CYCLES of non-overlapped
    synchronisation per step (a fitted constant, docs/MODEL.md "Calibration"). ``par``: a
    multi-card plan's ``parallel.PlanContext`` (None: one card); the phase totals are then one TP
    shard's over every layer, and the figures the whole system's (see ``_cards``)."""
    freq = col["freq_mhz"]
    f_hz = freq * 1e6
    B = workload.batch
    dec, pre = phase["decode"], phase["prefill"]
    sync = layers * C.LAYER_SYNC_CYCLES
    dec_cycles, pre_cycles = dec["cycles"] + sync, pre["cycles"] + sync
    step_s = dec_cycles / f_hz
    prefill_s = pre_cycles / f_hz
    if par is not None:       # the link's hops add to the step: the next layer needs the reduced vector
        step_s = step_s + par.decode_s
        prefill_s = prefill_s + par.prefill_s
    tokens_per_s = B / step_s
    dec_bytes, pre_bytes = dec["bytes"], pre["bytes"]

    util = R.utilization(used, device)
    utilization = np.maximum.reduce([util[r] for r in R.RESOURCES])

    if par is None:
        act_dec = np.minimum(1.0, dec["compute"] / dec_cycles)
        act_pre = np.minimum(1.0, pre["compute"] / pre_cycles)
        logic_dec = P.logic_power_w(used, device, freq, act_dec)
        mem_dec = P.memory_power_w(device, dec_bytes / step_s)
        static = device.static_w
        p_dec = device.static_w + logic_dec + mem_dec
        p_pre = (device.static_w + P.logic_power_w(used, device, freq, act_pre)
                 + P.memory_power_w(device, pre_bytes / prefill_s))
        price, active, link_w = device.price_usd, 1, 0.0
    else:
        static, logic_dec, mem_dec, link_w, p_dec = _cards(device, par, used, freq, dec["compute"], f_hz,
                                                           step_s, dec_bytes, par.decode_bytes)
        p_pre = _cards(device, par, used, freq, pre["compute"], f_hz, prefill_s, pre_bytes, par.prefill_bytes)[4]
        price, active = device.price_usd * par.plan.devices, par.plan.tp
    e_tok = p_dec / tokens_per_s
    gen = workload.generate
    e_amort = (p_pre * prefill_s + p_dec * step_s * gen) / (gen * B)

    # physical limits: every byte of a decode step at the device's peak bandwidth / minimum energy.
    # Multi-card: the tp cards of one stage stream at a time, each its shard (stream_bytes).
    min_bytes = dec["stream_bytes"]
    roofline = B * device.mem_bw_gbs * 1e9 / min_bytes
    min_energy = active * min_bytes / B * 8 * C.MEM_PJ_PER_BIT[device.mem_kind] * 1e-12

    peak_macs = col["rows"] * col["cols"] * (step_s * f_hz if par is not None else dec_cycles)
    compute_util = dec["macs"] / peak_macs
    bw_util = dec_bytes / step_s / (device.mem_bw_gbs * 1e9)
    vals = {
        "decode_tokens_per_s": tokens_per_s, "prefill_latency_s": prefill_s,
        "energy_per_token_j": e_tok, "energy_per_token_amortised_j": e_amort, "power_w": p_dec,
        "usd_per_mtoken": P.usd_per_mtoken(price, p_dec, tokens_per_s),
        **{r: used[r] for r in R.RESOURCES},
        "utilization": utilization,
        "roofline_tokens_per_s": roofline, "roofline_fraction": tokens_per_s / roofline,
        "min_memory_energy_per_token_j": min_energy,
        "compute_utilization": compute_util, "bandwidth_utilization": bw_util,
    }
    for k, v in vals.items():
        out[k][sl] = v
    parts = {"static_w": np.full_like(p_dec, static), "logic_w": logic_dec, "memory_w": mem_dec}
    if par is not None:
        parts["link_w"] = np.full_like(p_dec, link_w) if np.ndim(link_w) == 0 else link_w
    parts["activity"] = np.minimum(1.0, dec["compute"] / dec_cycles)
    return {"phases": phase, "util": util, "prefill_power_w": p_pre, "decode_bytes": dec_bytes,
            "power_parts": parts, "sync_s": sync / f_hz, "step_s": step_s}


def _cards(device, par, used, freq, compute, f_hz, seconds, shard_bytes, link_bytes):
    """Board power of every card of a plan over a phase of ``seconds``: each of the tp x pp cards
    idles at ``static_w`` and clocks its logic; a card computes only while its stage runs (1/pp of
    the phase), so its activity is the shard's compute over the phase time / pp; the tp cards of the
    running stage stream the shard's bytes; the link adds its ports' and bits' power.
    (static, logic, memory, link, total)."""
    n, tp, pp = par.plan.devices, par.plan.tp, par.plan.pp
    act = np.minimum(1.0, compute / (seconds * f_hz)) / pp
    logic = n * P.logic_power_w(used, device, freq, act)
    mem = tp * P.memory_power_w(device, shard_bytes / seconds)
    from .parallel import link_power_w
    link = link_power_w(par, link_bytes / seconds)
    static = n * device.static_w
    return static, logic, mem, link, static + logic + mem + link
