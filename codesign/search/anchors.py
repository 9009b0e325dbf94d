"""Side by side with the anchors: a design against published FPGA designs' own configurations, all
evaluated in the same analytical model and looked up in the same accuracy table.

An anchor is a case of ``codesign validate`` (codesign/model/validation.py): its board, bit-widths,
array and memory plan as the publication states them. ``compare_to_anchors`` re-targets each
anchor's configuration to the design's model and workload (the hardware and board stay the
anchor's), evaluates both with ``evaluate_design``, reads both accuracy losses from the table the
sweep uses, and reports the design's ratios over each anchor. Where the anchor's paper measured the
same model, its published figures stand beside the modelled ones (tokens/s and tokens/J).
"""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from ..design import Design
from ..errors import CodesignError
from ..model import design_params, evaluate_design
from ..model.validation import CASES
from .accuracy import load_accuracy

DEFAULT_ANCHORS = ("FlightLLM U280", "EdgeLLM VCU128", "Li et al. KV260")
# The sweep's default accuracy bound: no worse than this published design's own quantization
# configuration, measured in the same table (``anchor_accuracy_bound``).
BOUND_ANCHOR = "FlightLLM U280"


def _case(name: str):
    for c in CASES:
        if c.name.lower() == name.strip().lower():
            return c
    raise CodesignError(f"unknown anchor {name!r}; anchors: {', '.join(c.name for c in CASES)}", field="--anchors")


def _figures(design: Design, accuracy, anchor: str | None = None) -> dict:
    """``anchor``: the design is that published design's configuration, whose quantizer its paper does
    not state: its loss is the lowest over the table's quantizers (``anchor_quant_loss``)."""
    r = evaluate_design(design)
    if anchor is None:
        loss, method = float(accuracy.loss_pct(design_params(design))[0]), design.quant.method
    else:
        loss, method = anchor_quant_loss(accuracy, anchor) or (float("nan"), None)
    return {"design": design.to_dict(), "feasible": bool(r["feasible"]), "violations": r["violations"],
            "decode_tokens_per_s": r["decode_tokens_per_s"], "power_w": r["power_w"],
            "tokens_per_j": 1.0 / r["energy_per_token_j"], "energy_per_token_j": r["energy_per_token_j"],
            "usd_per_mtoken": r["usd_per_mtoken"], "roofline_fraction": r["roofline_fraction"],
            "accuracy_loss_pct": loss if np.isfinite(loss) else None, "accuracy_method": method}


def compare_to_anchors(design: Design, anchors=DEFAULT_ANCHORS) -> dict:
    """The design's figures, each anchor's in the design's model, and the design's ratios over them."""
    design = design.validate()
    acc = load_accuracy(design.model)
    mine = _figures(design, acc)
    rows = []
    for name in anchors:
        case = _case(name)
        anchor = replace(case.design(), model=design.model, workload=design.workload).validate()
        fig = _figures(anchor, acc, case.name)
        published = None
        if case.model == design.model:
            pub = case.published
            published = {"decode_tokens_per_s": pub.get("decode_tokens_per_s"),
                         "power_w": pub.get("power_w"),
                         "tokens_per_j": (pub["decode_tokens_per_s"] / pub["power_w"]
                                          if "power_w" in pub and "decode_tokens_per_s" in pub else None),
                         "source": case.source}
        ratios = {"decode_tokens_per_s": mine["decode_tokens_per_s"] / fig["decode_tokens_per_s"],
                  "tokens_per_j": mine["tokens_per_j"] / fig["tokens_per_j"],
                  "usd_per_mtoken": mine["usd_per_mtoken"] / fig["usd_per_mtoken"]}
        if published and published["decode_tokens_per_s"]:
            ratios["decode_tokens_per_s_vs_published"] = mine["decode_tokens_per_s"] / published["decode_tokens_per_s"]
        if published and published["tokens_per_j"]:
            ratios["tokens_per_j_vs_published"] = mine["tokens_per_j"] / published["tokens_per_j"]
        la, lb = mine["accuracy_loss_pct"], fig["accuracy_loss_pct"]
        rows.append({"anchor": case.name, "device": case.device, "modelled": fig, "published": published,
                     "ratios": ratios,
                     "accuracy_loss_difference_pct": (la - lb) if la is not None and lb is not None else None})
    return {"model": design.model, "workload": asdict(design.workload), "design": mine, "anchors": rows,
            "accuracy": acc.as_dict()}


def anchor_quant_loss(accuracy, anchor: str) -> tuple[float, str] | None:
    """(loss %, quantizer) of ``anchor``'s own quantization configuration in ``accuracy``'s table (a
    search.accuracy.AccuracySource), or None when the table holds no row of it. The anchor's
    quantizer is not known from its paper, so every measured method (RTN, GPTQ, AWQ) of the same
    W/A/KV/group/zero point is read and the *lowest* loss is taken: the reading most favourable to
    the anchor."""
    if accuracy is None or accuracy.table is None:
        return None
    q = _case(anchor).quant
    best = None
    for method in accuracy.table.methods:
        if "+" in method:          # a mixed-precision profile is not the anchor's configuration
            continue
        loss = float(accuracy.table.loss_pct(q.wbits, q.abits, q.kvbits, q.group, q.zero_point, 0, method))
        if np.isfinite(loss) and (best is None or loss < best[0]):
            best = (loss, method)
    return best


def anchor_accuracy_bound(accuracy, anchor: str = BOUND_ANCHOR) -> tuple[float, str] | None:
    """(loss %, note): the sweep's default bound, ``anchor``'s loss (``anchor_quant_loss``), so the
    bound is never looser than the anchor's best case; None when the table holds no row of it."""
    best = anchor_quant_loss(accuracy, anchor)
    if best is None:
        return None
    q = _case(anchor).quant
    zp = "zero point" if q.zero_point else "symmetric"
    return best[0], (f"no worse than {anchor}'s own configuration W{q.wbits}A{q.abits}KV{q.kvbits} g{q.group} "
                     f"({zp}) measured in the same table: {best[0]:+.2f}% (its lowest over the table's "
                     f"quantizers: {best[1]})")
