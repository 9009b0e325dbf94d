"""What keeps a design from its roofline, read from ``evaluate_design``'s per-op breakdown.

The roofline time of a decode step is its off-chip bytes (weights + KV cache)
at the device's peak bandwidth. Each decode op's *excess* is its predicted
time minus the time its own bytes would take at that peak: a memory-bound
GEMV streaming at 60% of peak has a large excess, a norm or softmax that moves
no weights is all excess. The op with the largest excess is what holds the
design back; the shares say how much of the gap to the roofline each explains.
"""

from __future__ import annotations

from typing import Any

TOP = 3


def _num(d: dict, key: str) -> float:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) else 0.0


def bottleneck_of(prediction: dict, device_bw_gbs: float | None = None) -> dict[str, Any]:
    """{"op", "bound", "gap_share", "text", "top": [...]}; {} without a per-op breakdown."""
    ops = [o for o in prediction.get("ops") or [] if isinstance(o, dict) and o.get("phase", "decode") == "decode"]
    if not ops:
        return {}
    bw = float(device_bw_gbs) * 1e9 if device_bw_gbs else None
    agg: dict[tuple[str, str], dict] = {}
    for o in ops:
        name = str(o.get("name") or o.get("layer_op") or o.get("op"))
        opcode = str(o.get("op", ""))
        count = _num(o, "count") or 1.0
        t = _num(o, "time_s_total")
        if not t and "cycles" in o:
            continue  # cannot turn cycles into seconds without the clock: skip rather than guess
        nbytes = (_num(o, "weight_bytes") + _num(o, "kv_read_bytes") + _num(o, "kv_write_bytes")) * count
        ideal = nbytes / bw if bw else 0.0
        a = agg.setdefault((name, opcode), {"time": 0.0, "excess": 0.0, "mem": 0.0, "cmp": 0.0})
        a["time"] += t
        a["excess"] += max(t - ideal, 0.0)
        # which side of the op sets its time (weighted by its time)
        a["mem" if o.get("bound") == "memory" else "cmp"] += t
    total_excess = sum(a["excess"] for a in agg.values())
    total_time = sum(a["time"] for a in agg.values())
    if total_time <= 0:
        return {}
    key = "excess" if total_excess > 0 else "time"
    ranked = sorted(agg.items(), key=lambda kv: (-kv[1][key], kv[0]))
    denom = total_excess if key == "excess" else total_time
    top = []
    for (name, opcode), a in ranked[:TOP]:
        bound = "memory" if a["mem"] >= a["cmp"] else "compute"
        top.append({"op": name, "opcode": opcode, "bound": bound, "share": a[key] / denom,
                    "time_share": a["time"] / total_time})
    first = top[0]
    what = "of the gap" if key == "excess" else "of decode time"
    text = f"{first['op']} ({first['opcode']}, {first['bound']}-bound): {first['share']:.0%} {what}"
    return {"op": first["op"], "opcode": first["opcode"], "bound": first["bound"], "share": first["share"],
            "measure": "gap_to_roofline" if key == "excess" else "decode_time", "text": text, "top": top}
