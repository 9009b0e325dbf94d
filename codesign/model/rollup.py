"""The per-point roll-up: speed, power, energy, cost and physical limits of a block of design points
from its phase totals (tables.py), resources and clock. The only part of the model that runs per
point; a point's figures do not depend on the other points of its block."""

from __future__ import annotations

import numpy as np

from . import constants as C
from . import power as P
from . import resources as R


def rollup(device, workload, layers, phase, used, col, out, sl) -> dict:
    """Speed, power, energy, cost and limits of a block of points from its phase totals, resources
    and clock; writes ``out[key][sl]`` and returns the intermediates evaluate_design reports.
    ``layers``: decoder layers of the model; each pays C.LAYER_SYNC_CYCLES of non-overlapped
    synchronisation per step (a fitted constant, docs/MODEL.md "Calibration")."""
    freq = col["freq_mhz"]
    f_hz = freq * 1e6
    B = workload.batch
    dec, pre = phase["decode"], phase["prefill"]
    sync = layers * C.LAYER_SYNC_CYCLES
    dec_cycles, pre_cycles = dec["cycles"] + sync, pre["cycles"] + sync
    step_s = dec_cycles / f_hz
    tokens_per_s = B / step_s
    prefill_s = pre_cycles / f_hz
    dec_bytes, pre_bytes = dec["bytes"], pre["bytes"]

    util = R.utilization(used, device)
    utilization = np.maximum.reduce([util[r] for r in R.RESOURCES])

    act_dec = np.minimum(1.0, dec["compute"] / dec_cycles)
    act_pre = np.minimum(1.0, pre["compute"] / pre_cycles)
    logic_dec = P.logic_power_w(used, device, freq, act_dec)
    mem_dec = P.memory_power_w(device, dec_bytes / step_s)
    p_dec = device.static_w + logic_dec + mem_dec
    p_pre = (device.static_w + P.logic_power_w(used, device, freq, act_pre)
             + P.memory_power_w(device, pre_bytes / prefill_s))
    e_tok = p_dec / tokens_per_s
    gen = workload.generate
    e_amort = (p_pre * prefill_s + p_dec * step_s * gen) / (gen * B)

    # physical limits: every byte of a decode step at the device's peak bandwidth / minimum energy
    min_bytes = dec["stream_bytes"]
    roofline = B * device.mem_bw_gbs * 1e9 / min_bytes
    min_energy = min_bytes / B * 8 * C.MEM_PJ_PER_BIT[device.mem_kind] * 1e-12

    peak_macs = col["rows"] * col["cols"] * dec_cycles
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
    return {"phases": phase, "util": util, "prefill_power_w": p_pre, "decode_bytes": dec_bytes,
            "power_parts": {"static_w": np.full_like(p_dec, device.static_w), "logic_w": logic_dec,
                            "memory_w": mem_dec, "activity": act_dec},
            "sync_s": sync / f_hz}
