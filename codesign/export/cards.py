"""The multi-card part of an export: what each card of a ``parallel`` design holds and whom it
talks to (``cards/card<i>.json``), the link configuration (``link.json``) and a plain statement of
what the generated hardware does not implement.

Every card runs the same processor (the project beside these files, one bitstream); a card's share
of the model is data and instructions: its layers (pipeline stage), its heads, FFN columns and
vocabulary slice (tensor-parallel rank). The all-reduce engine, the pipeline hand-off and the link
MAC/router are modelled only (codesign/model/parallel.py): the RTL and HLS kernel have no port for
them, so a multi-card run needs that logic added before it builds.
"""

from __future__ import annotations

from ..design import Design
from ..devices import default_link, get_device, get_link

MODELLED_ONLY = ("The generated RTL and HLS processor runs ONE card. Modelled only, not in the generated "
                 "hardware: the all-reduce engine (ring reduce-scatter + all-gather after the attention "
                 "output and FFN down projections), the pipeline hand-off between stages, the logits "
                 "all-gather, and the link MAC/router (CMAC or Aurora on the QSFP ports). The predicted "
                 "figures of a multi-card design include their time and power; the project does not build them.")


def _span(rank: int, total: int, parts: int) -> list[int]:
    """[first, end) of part ``rank`` of ``total`` items in ``parts`` equal parts (rounded up)."""
    each = -(-total // parts)
    return [min(total, rank * each), min(total, (rank + 1) * each)]


def card_plan(design: Design) -> list[dict]:
    """One record per card: its stage and TP rank, the slices of the model it holds, its neighbours
    and which link port reaches each."""
    from ..workload import load_model_config
    cfg = load_model_config(design.model)
    par = design.parallel
    dev = get_device(design.device)
    link = get_link(par.link) if par.link else default_link(dev)
    tp, pp = par.tp, par.pp
    cards = []
    for i in range(par.devices):
        stage, rank = divmod(i, tp)
        peers = []
        if tp > 1:
            peers.append(("tp ring next", stage * tp + (rank + 1) % tp))
            if tp > 2:
                peers.append(("tp ring previous", stage * tp + (rank - 1) % tp))
        if stage + 1 < pp:
            peers.append(("pipeline next stage", (stage + 1) * tp + rank))
        if stage > 0:
            peers.append(("pipeline previous stage", (stage - 1) * tp + rank))
        conns = [{"peer": j, "role": role, "port": (k if link.ports else "host (PCIe)")}
                 for k, (role, j) in enumerate(peers)]
        cards.append({
            "card": i, "pipeline_stage": stage, "tp_rank": rank,
            "layers": _span(stage, cfg.n_layers, pp),
            "heads": _span(rank, cfg.n_heads, tp), "kv_heads": _span(rank, cfg.n_kv_heads, tp),
            "ffn_columns": _span(rank, cfg.d_ffn, tp), "vocab": _span(rank, cfg.vocab, tp),
            "embedding": stage == 0, "lm_head": stage == pp - 1,
            "connections": conns,
        })
    return cards


def link_config(design: Design, prediction: dict) -> dict:
    """The link a multi-card design uses, its sourced figures and the model's traffic per step."""
    dev = get_device(design.device)
    par = design.parallel
    link = get_link(par.link) if par.link else default_link(dev)
    pl = prediction.get("parallel", {})
    return {
        "link": link.name, "description": link.description, "gbps": link.gbps, "efficiency": link.efficiency,
        "latency_us": link.latency_us, "pj_per_bit": link.pj_per_bit, "port_w": link.port_w,
        "ports_per_card": link.ports, "sources": dict(link.sources),
        "topology": (f"{par.pp} pipeline stage(s) of a {par.tp}-card tensor-parallel ring"
                     if link.ports else f"{par.devices} cards through the host's PCIe switch"),
        "devices": par.devices, "tp": par.tp, "pp": par.pp,
        "predicted": {k: pl.get(k) for k in ("link_s_per_token", "link_share_of_token_time", "link_bytes_per_step",
                                             "link_static_w", "hops_per_decode_step", "split_problems")},
        "modelled_only": MODELLED_ONLY,
    }


def readme_section(design: Design, link: dict) -> str:
    par = design.parallel
    return (f"\n## Multi-card design: {par.devices} cards (tensor parallel {par.tp} x pipeline {par.pp}), "
            f"link {link['link']}\n\n"
            "Every card loads the same kernel (this project). `cards/card<i>.json` gives each card's pipeline "
            "stage, tensor-parallel rank, the layers, heads, FFN columns and vocabulary slice it holds, and which "
            "link port reaches which neighbour; `link.json` the link's figures with their sources and the "
            "model's link traffic per token.\n\n"
            f"**Not implemented in the generated hardware.** {MODELLED_ONLY}\n")
