"""Per-layer mixed precision of a design: which layers' attention and FFN projections run at
``hi_wbits`` (issue 15, item 3). The one definition the model, the sweep and design.json share.

``Quant.mixed = k`` means: the first k units of the accuracy table's sensitivity ranking
(``meta.mixed_precision.unit_order``, measured by ``codesign accuracy --mixed-profiles`` on the
reference model, codesign/quant/llm/mixed.py) are raised to ``hi_wbits``. The ranking is measured
on the reference model's layers; a target model with another depth takes it by relative depth:
target layer j is reference layer floor(j * L_ref / L_target), so a raised reference unit raises
the same projections of every target layer that maps to it (the same fraction of the depth).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import CodesignError

UNIT_CLASSES = ("attn", "ffn")
# the GEMVs of each unit, by the ISA compiler's / the model program's layer_op names
UNIT_LAYER_OPS = {"attn": ("wq", "wk", "wv", "wo", "wqkv"),
                  "ffn": ("ffn_gate", "ffn_up", "ffn_down", "ffn_fc1", "ffn_fc2", "router")}


def ranking(model: str | None = None) -> dict | None:
    """The accuracy table's ranking block: {"layers", "unit_order" [(layer, unit)], "hi_wbits",
    "profiles", "base"}; None when the table has none. Read once per table file (and version)."""
    from .accuracy_table import table_path
    path = table_path(model)
    return None if path is None else _ranking_at(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _ranking_at(path: str, _mtime: int) -> dict | None:
    from .accuracy_table import read_table
    t = read_table(path)
    mp = t.meta.get("mixed_precision") or None
    if not mp:
        return None
    return {"layers": int(mp["layers"]), "unit_order": tuple((int(l), str(u)) for l, u in mp["unit_order"]),
            "hi_wbits": int(mp["hi_wbits"]), "profiles": tuple(int(k) for k in mp["profiles"]),
            "base": dict(mp.get("base", {}))}


def _order(order) -> tuple[int, tuple]:
    rk = ranking() if order is None else order
    if rk is None:
        raise CodesignError("no per-layer sensitivity ranking in the accuracy table (run `codesign accuracy "
                            "--mixed-profiles`); allowed: 0", field="quant.mixed")
    return rk["layers"], rk["unit_order"]


def raised_units(n_layers: int, k: int, order: dict | None = None) -> list[tuple[int, str]]:
    """(target layer, unit) pairs at hi_wbits for ``mixed = k`` on a model of ``n_layers``."""
    if k == 0:
        return []
    ref_layers, unit_order = _order(order)
    if not 0 <= k <= len(unit_order):
        raise CodesignError(f"got {k}; allowed: an integer in [0, {len(unit_order)}] (the ranked units)",
                            field="quant.mixed")
    up = set(unit_order[:k])
    return [(j, c) for j in range(n_layers) for c in UNIT_CLASSES if (j * ref_layers // n_layers, c) in up]


def layer_wbits(n_layers: int, wbits: int, mixed: int, hi_wbits: int, order: dict | None = None) -> list[dict]:
    """Per target layer {"attn": bits, "ffn": bits}: what design.json carries."""
    up = set(raised_units(n_layers, mixed, order))
    return [{c: (hi_wbits if (j, c) in up else wbits) for c in UNIT_CLASSES} for j in range(n_layers)]


def raised_counts(n_layers: int, mixed, order: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(layers with attention raised, layers with FFN raised) per value of ``mixed`` (array-capable)."""
    ks = np.asarray(mixed)
    attn, ffn = np.zeros(ks.shape), np.zeros(ks.shape)
    for k in np.unique(ks):
        us = raised_units(n_layers, int(k), order)
        attn[ks == k] = sum(1 for _, c in us if c == "attn")
        ffn[ks == k] = sum(1 for _, c in us if c == "ffn")
    return attn, ffn


def unit_of(layer_op: str) -> str | None:
    for c, ops in UNIT_LAYER_OPS.items():
        if layer_op in ops:
            return c
    return None


def design_unit_wbits(design, layer: int) -> dict:
    """{"attn": bits, "ffn": bits} of decoder ``layer`` of a design: its design.json ``layer_wbits``
    entry, or (a mixed design written without one) the ranking's ``layer_wbits`` for the design's
    model; uniform designs: quant.wbits for both. What the vectors, the compiler and the generators read."""
    q = design.quant
    if not q.mixed:
        return {c: q.wbits for c in UNIT_CLASSES}
    lw = design.layer_wbits
    if not lw:
        from ..workload.config import load_model_config
        lw = layer_wbits(load_model_config(design.model).n_layers, q.wbits, q.mixed, q.hi_wbits)
    if not 0 <= layer < len(lw):
        raise CodesignError(f"got {layer}; allowed: 0..{len(lw) - 1} (the design's layer_wbits)", field="--layer")
    return dict(lw[layer])
