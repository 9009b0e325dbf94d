"""How many cards, and how to split the model over them: the sweep's card-count / TP / PP axes.

A multi-card plan changes the model's instruction lists (one card's shard of every layer), so it
is an outer axis of the sweep: one sweep job per plan (``plans``), the space inside each job
unchanged. ``auto_cards`` keeps the default sweep to one card when the model fits one card at
8-bit weights and KV (the 1-card sweep is then exactly what it was); otherwise it compares 1, 2, 4
and 8 cards. ``cards_rows`` reads the finished jobs: per card count, the best split (most decode
tokens/s among the designs meeting the constraints) and the fewest cards that fit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..design import Parallel, Workload
from ..errors import CodesignError
from ..fsutil import atomic_write_json

DEFAULT_COMPARISON = (1, 2, 4, 8)


def plans(cards: int) -> list[Parallel]:
    """Every power-of-two split of ``cards`` into tensor-parallel degree x pipeline stages."""
    if cards < 1 or cards & (cards - 1):
        raise CodesignError(f"got {cards}; allowed: a power of two in [1, 64]", field="--cards")
    out, tp = [], cards
    while tp >= 1:
        out.append(Parallel(devices=cards, tp=tp, pp=cards // tp))
        tp //= 2
    return out


def auto_cards(cfg, device, workload: Workload) -> tuple[int, ...]:
    """(1,) when the model's weights at 8 bits (g128, symmetric, dense) plus its KV cache at 8 bits
    fit the card, or when the board has no inter-card link; else DEFAULT_COMPARISON."""
    from ..design import numeric_value
    from ..devices.links import list_links
    if not any(device.name in lk.devices for lk in list_links()):
        return (1,)
    from ..model.storage import kv_cache_bytes, total_weight_bytes
    p = {"wbits": np.array([8.0]), "group": np.array([128.0]), "zero_point": np.array([0.0]),
         "sparsity": np.array([float(numeric_value("sparsity", "dense"))])}
    need = float(total_weight_bytes(cfg, p)[0] + kv_cache_bytes(cfg, workload, 8))
    return (1,) if need <= device.mem_gb * 1e9 else DEFAULT_COMPARISON


def parse_cards(text: str | None, cfg, device, workload: Workload) -> tuple[int, ...]:
    if text is None or text.strip().lower() == "auto":
        return auto_cards(cfg, device, workload)
    try:
        vals = sorted({int(v) for v in text.split(",")})
    except ValueError:
        raise CodesignError(f"got {text!r}; allowed: auto or card counts separated by commas (1,2,4,8)",
                            field="--cards") from None
    for v in vals:
        plans(v)      # validates: a power of two
        if v > 64:
            raise CodesignError(f"got {v}; allowed: a power of two in [1, 64]", field="--cards")
    return tuple(vals)


def label(parallel: Parallel) -> str:
    return "1 card" if parallel.devices == 1 else f"{parallel.devices} cards tp{parallel.tp} pp{parallel.pp}"


def cards_rows(results: list) -> list[dict]:
    """One row per plan: (job, sweeper, state, res or None when no point met the constraints)."""
    rows = []
    for job, sweeper, state, res in results:
        par = job.parallel
        row = {"devices": par.devices, "tp": par.tp, "pp": par.pp,
               "link": sweeper.plan.link.name if sweeper.plan else None,
               "points": job.space.size, "feasible": int(state.n_feasible), "meets_constraints": int(state.n_ok)}
        if res is not None:
            s = res["summary"]
            best = {c.label: c for c in res["chosen"]}
            tps = max((c for c in res["chosen"]), key=lambda c: (c.values.get("decode_tokens_per_s") or 0.0))
            primary = next(c for c in res["chosen"] if c.index == s["best_design"]["index"])
            row.update({
                "best_tokens_per_s": tps.values.get("decode_tokens_per_s"),
                "best_tokens_per_s_design": tps.design.quant.label(),
                "best_j_per_token": primary.values.get("energy_per_token_j"),
                "best_usd_per_mtoken": min((c.values.get("usd_per_mtoken") or np.inf) for c in best.values()),
                "power_w_at_best_j": primary.values.get("power_w"),
            })
        rows.append(row)
    return rows


def verdict(rows: list[dict]) -> dict:
    """Fewest cards with a design meeting the constraints, and the best split per card count."""
    ok = [r for r in rows if r["meets_constraints"] > 0]
    out = {"fewest_cards": min((r["devices"] for r in ok), default=None), "per_card_count": {}}
    for n in sorted({r["devices"] for r in rows}):
        mine = [r for r in ok if r["devices"] == n]
        if mine:
            b = max(mine, key=lambda r: (r.get("best_tokens_per_s") or 0.0))
            out["per_card_count"][str(n)] = {"tp": b["tp"], "pp": b["pp"], "best_tokens_per_s": b["best_tokens_per_s"],
                                             "best_j_per_token": b["best_j_per_token"]}
        else:
            out["per_card_count"][str(n)] = None
    return out


def write_cards(path: Path, model: str, device: str, rows: list[dict]) -> dict:
    v = verdict(rows)
    atomic_write_json(path, {"model": model, "device": device, "plans": rows, **v})
    return v


def show_cards(console, model: str, device: str, rows: list[dict], v: dict) -> None:
    from rich.table import Table
    t = Table(title=f"cards: {model} on {device} (fewest cards with a design meeting the constraints: "
                    f"{v['fewest_cards'] if v['fewest_cards'] else 'none'})")
    for c in ("cards", "tp x pp", "link", "feasible", "meet constraints", "best tok/s", "best J/token",
              "best USD/Mtok", "best split"):
        t.add_column(c)

    def f(x, spec):
        return "-" if x is None else format(x, spec)
    for r in rows:
        b = v["per_card_count"].get(str(r["devices"]))
        star = "yes" if b and (b["tp"], b["pp"]) == (r["tp"], r["pp"]) else ""
        t.add_row(str(r["devices"]), f"{r['tp']} x {r['pp']}", r["link"] or "-", str(r["feasible"]),
                  str(r["meets_constraints"]), f(r.get("best_tokens_per_s"), ".4g"), f(r.get("best_j_per_token"), ".4g"),
                  f(r.get("best_usd_per_mtoken"), ".3g"), star)
    console.print(t)
