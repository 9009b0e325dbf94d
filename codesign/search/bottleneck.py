"""What keeps a design from its roofline, read from ``evaluate_design``'s per-op breakdown."""

from __future__ import annotations

from typing import Any

_TIME_KEYS = ("decode_time_s", "time_s", "seconds", "decode_cycles", "cycles")
_NAME_KEYS = ("op", "layer_op", "name")
_BOUND_KEYS = ("bound", "limiter", "bottleneck")


def _first(d: dict, keys) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return k, d[k]
    return None, None


def bottleneck_of(prediction: dict) -> dict:
    """The op taking the largest share of decode time, with what bounds it.

    Returns {"op", "bound", "share", "text"}; {} when the prediction carries no
    per-op breakdown (the table then shows "-").
    """
    ops = prediction.get("ops") or []
    rows = []
    for o in ops:
        if not isinstance(o, dict):
            continue
        phase = o.get("phase")
        if phase not in (None, "decode"):
            continue
        tk, t = _first(o, _TIME_KEYS)
        _, name = _first(o, _NAME_KEYS)
        if tk is None or name is None:
            continue
        _, bound = _first(o, _BOUND_KEYS)
        rows.append((float(t), str(name), None if bound is None else str(bound)))
    total = sum(t for t, _, _ in rows)
    if not rows or total <= 0:
        return {}
    # Several entries may share a name (one per layer kind): sum them per (name, bound).
    agg: dict[tuple[str, str | None], float] = {}
    for t, name, bound in rows:
        agg[(name, bound)] = agg.get((name, bound), 0.0) + t
    (name, bound), t = max(agg.items(), key=lambda kv: (kv[1], kv[0][0]))
    share = t / total
    text = f"{name}: {bound}-bound, {share:.0%} of decode" if bound else f"{name}: {share:.0%} of decode"
    return {"op": name, "bound": bound, "share": share, "text": text}
