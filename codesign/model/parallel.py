"""Multi-card designs: tensor parallelism (TP) and pipeline parallelism (PP) over an inter-card link.

A plan puts ``tp x pp`` identical cards (the design's ``Hardware`` on each) to work on one model:

* **TP** (Megatron-style, as DFX splits GPT-2 over four U280s): every layer's Q/K/V and FFN
  up/gate projections are split by output columns (heads, FFN width), the attention output and FFN
  down projections by input rows; each card holds ``1/tp`` of every layer and of the LM head's
  vocabulary. Per layer two all-reduces of the residual-stream vector (after the attention output
  and after the FFN down projection), one for the embedding row, and an all-gather of the logits.
  A card's work is the model with ``n_heads / tp``, ``n_kv_heads / tp``, ``d_ffn / tp`` and
  ``vocab / tp`` (``shard_config``): the same instruction lists and formulas, so the processor's
  timing, resources and feasibility checks apply per card unchanged.
* **PP**: ``pp`` stages of ``n_layers / pp`` consecutive layers; each hands its activations to the
  next over the link, the last returns the sampled token to the first. Decode is autoregressive, so
  one token crosses every stage in turn: the stages run one after the other (no micro-batch
  overlap is modelled), and PP buys capacity, not speed.

The link (``devices/data/links.yaml``) is priced per hop: ``latency + bytes / (line rate x
efficiency)``; a ring all-reduce over ``t`` cards takes ``2 (t - 1)`` hops of ``1/t`` of the
vector (reduce-scatter then all-gather). Link time adds to the cards' step time (no overlap with
compute: the next layer needs the reduced vector). A split that does not divide the model (heads,
KV heads, FFN width, layers) or needs more link ports per card than the board has is infeasible,
with the reason (``split_problems``).

The all-reduce engine, the pipeline hand-off and the link MAC are modelled only: the generated RTL
and HLS processor runs one card (``codesign export`` says so in every multi-card project).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from ..design import Parallel, Workload
from ..devices.links import Link, default_link, get_link
from ..quant.numerics import ACT_BITS
from ..workload.config import ModelConfig

# The vector an all-reduce or a pipeline hop carries: the residual stream in the numerics contract's
# activation format (int32 per element; quant/numerics.py ACT_BITS)
ACT_BYTES = ACT_BITS // 8


@dataclass(frozen=True)
class Plan:
    """A resolved multi-card plan: degrees and the link object."""
    tp: int
    pp: int
    link: Link

    @property
    def devices(self) -> int:
        return self.tp * self.pp


def resolve(parallel: Parallel, device) -> Plan | None:
    """The model's plan of a design's ``parallel`` block (None: one card, the single-card model)."""
    parallel.validate()
    if parallel.devices == 1:
        return None
    link = get_link(parallel.link) if parallel.link else default_link(device)
    return Plan(parallel.tp, parallel.pp, link)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def split_problems(cfg: ModelConfig, tp: int, pp: int) -> list[str]:
    """Why a (tp, pp) split does not divide the model; empty when it does. The LM head's
    vocabulary is padded to a multiple of tp (as Megatron pads it), not a reason."""
    out = []
    for what, n in (("n_heads", cfg.n_heads), ("n_kv_heads", cfg.n_kv_heads), ("d_ffn", cfg.d_ffn)):
        if n % tp:
            out.append(f"tp {tp} does not divide {what} {n}")
    if cfg.n_layers % pp:
        out.append(f"pp {pp} does not divide n_layers {cfg.n_layers}")
    return out


def ports_needed(tp: int, pp: int) -> int:
    """Link ports a card uses: its TP ring neighbours (1 for two cards, 2 for a ring of more) plus
    its pipeline neighbours (1 at either end of a 2-stage chain, 2 in between)."""
    return min(tp - 1, 2) + min(pp - 1, 2)


def port_problem(plan: Plan) -> str | None:
    if plan.link.ports and ports_needed(plan.tp, plan.pp) > plan.link.ports:
        return (f"tp {plan.tp} x pp {plan.pp} needs {ports_needed(plan.tp, plan.pp)} link ports per card; "
                f"{plan.link.name} has {plan.link.ports}")
    return None


def shard_config(cfg: ModelConfig, tp: int, n_layers: int) -> ModelConfig:
    """One card's share of every layer under tensor parallelism, ``n_layers`` deep. A width that
    tp does not divide is rounded up (the split is flagged infeasible by ``split_problems``)."""
    if tp == 1 and n_layers == cfg.n_layers:
        return cfg
    h, kv = _ceil(cfg.n_heads, tp), _ceil(cfg.n_kv_heads, tp)
    h = _ceil(h, kv) * kv          # keep whole GQA groups per card
    return replace(cfg, name=f"{cfg.name}/tp{tp}x{n_layers}L", n_heads=h, n_kv_heads=kv,
                   d_ffn=_ceil(cfg.d_ffn, tp), vocab=_ceil(cfg.vocab, tp), n_layers=n_layers)


@dataclass(frozen=True)
class PlanContext:
    """What the batch model needs of a plan for one (model, workload): the configs it evaluates
    and the link's time, bytes and power per phase (scalars: a plan is fixed for a batch)."""
    plan: Plan
    timing_cfg: ModelConfig      # every layer at the TP shard's widths: the stages run in turn
    capacity_cfg: ModelConfig    # one card's layers (the fullest stage) at the shard's widths
    problems: tuple              # split_problems + the port check
    decode_s: float              # link time per decode step
    prefill_s: float
    decode_bytes: float          # payload bytes moved over the links per step, every card together
    prefill_bytes: float
    static_w: float              # active ports' module power, every card together
    hops: dict


def _hop_s(link: Link, nbytes: float) -> float:
    return link.latency_us * 1e-6 + nbytes / link.bytes_per_s


def link_phase(cfg: ModelConfig, plan: Plan, rows: int, token_return: bool) -> tuple[float, float, dict]:
    """(seconds, payload bytes over every link, hop counts) of one step processing ``rows`` token
    rows (batch x tokens). Ring all-reduce over t cards: 2(t-1) hops of 1/t of the vector."""
    t, p, lk = plan.tp, plan.pp, plan.link
    vec = rows * cfg.d_model * ACT_BYTES
    n_ar = 2 * cfg.n_layers + 1 if t > 1 else 0          # two per layer + the embedding row
    ar_s = 2 * (t - 1) * _hop_s(lk, vec / t)
    logits = rows * _ceil(cfg.vocab, t) * ACT_BYTES       # one card's share of the logits row
    gather_s = (t - 1) * _hop_s(lk, logits)
    pp_s = (p - 1) * _hop_s(lk, vec) + (lk.latency_us * 1e-6 if token_return and p > 1 else 0.0)
    seconds = n_ar * ar_s + gather_s + pp_s
    moved = n_ar * 2 * (t - 1) * vec + t * (t - 1) * logits + (p - 1) * vec
    hops = {"all_reduces": n_ar, "all_reduce_hops_each": 2 * (t - 1), "all_reduce_bytes": vec,
            "logits_gather_hops": t - 1, "pipeline_hops": p - 1, "token_return": bool(token_return and p > 1)}
    return seconds, moved, hops


@lru_cache(maxsize=256)
def plan_context(cfg: ModelConfig, workload: Workload, plan: Plan) -> PlanContext:
    problems = split_problems(cfg, plan.tp, plan.pp)
    port = port_problem(plan)
    if port:
        problems.append(port)
    timing = shard_config(cfg, plan.tp, cfg.n_layers)
    capacity = shard_config(cfg, plan.tp, _ceil(cfg.n_layers, plan.pp))
    dec_s, dec_b, hops = link_phase(cfg, plan, workload.batch, token_return=True)
    pre_s, pre_b, _ = link_phase(cfg, plan, workload.batch * workload.prompt, token_return=False)
    ports = ports_needed(plan.tp, plan.pp) if plan.link.ports else 0
    static_w = plan.devices * ports * plan.link.port_w   # every port a card drives
    return PlanContext(plan, timing, capacity, tuple(problems), dec_s, pre_s, dec_b, pre_b, static_w, hops)


def link_power_w(ctx: PlanContext, bytes_per_s):
    """Module power of the active ports plus the link's energy per payload bit."""
    return ctx.static_w + bytes_per_s * 8 * ctx.plan.link.pj_per_bit * 1e-12


def summary(ctx: PlanContext, step_s: float) -> dict:
    """The plan block of a one-design report (report.evaluate_design)."""
    lk = ctx.plan.link
    return {
        "devices": ctx.plan.devices, "tp": ctx.plan.tp, "pp": ctx.plan.pp,
        "link": {"name": lk.name, "description": lk.description, "gbps": lk.gbps, "efficiency": lk.efficiency,
                 "latency_us": lk.latency_us, "pj_per_bit": lk.pj_per_bit, "port_w": lk.port_w,
                 "ports_per_card": lk.ports, "ports_used_per_card": ports_needed(ctx.plan.tp, ctx.plan.pp)
                 if lk.ports else 0, "sources": dict(lk.sources)},
        "split_problems": list(ctx.problems),
        "layers_per_stage": ctx.capacity_cfg.n_layers,
        "card_shard": {"n_heads": ctx.timing_cfg.n_heads, "n_kv_heads": ctx.timing_cfg.n_kv_heads,
                       "d_ffn": ctx.timing_cfg.d_ffn, "vocab": ctx.timing_cfg.vocab},
        "link_s_per_token": ctx.decode_s, "link_share_of_token_time": ctx.decode_s / step_s if step_s > 0 else math.nan,
        "link_prefill_s": ctx.prefill_s, "link_bytes_per_step": ctx.decode_bytes, "link_static_w": ctx.static_w,
        "hops_per_decode_step": ctx.hops,
        "modelled_only": "the all-reduce engine, the pipeline hand-off and the link MAC/router are modelled "
                         "only; the generated RTL/HLS processor runs one card",
    }
