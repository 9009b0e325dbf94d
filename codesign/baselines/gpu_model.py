"""Analytical GPU model: batch-B decode and prefill on one GPU, roofline plus stack overheads.

Per op (the model helper's workload ops, ``codesign.workload.ops``) the GPU time is
max(bytes / (peak DRAM bandwidth x eta_bw), FLOPs / (peak tensor throughput x eta_compute)); a
decoder layer adds a fixed latency of ``layer_cycles`` SM cycles (kernel launch and
synchronisation gaps). An eager stack is additionally bound by the host: the step takes at least
``host_layer_s`` per layer. Power runs from idle to TDP with utilisation (``stacks.ACTIVE_FLOOR``).
The result has the same keys as the FPGA ``codesign.model.evaluate_design``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..design import Design, Quant, Workload
from ..errors import CodesignError
from ..workload.config import ModelConfig
from ..workload.ops import head_ops, layer_ops
from .cost import usd_per_mtoken
from .gpu_specs import gpu_extra, is_hbm, mem_pj_per_bit, resolve_gpu_device
from .stacks import ACTIVE_FLOOR, Stack, get_stack

# The GPU precisions the bench and the model know, as the Quant the workload counts bytes with.
# fp16/bf16: 16-bit weights and KV cache. int8wo / int4wo: weight-only quantised weights
# (per-channel int8, or int4 in groups of 128 with a 16-bit scale), fp16 activations and KV cache.
GPU_DTYPES = ("fp16", "bf16", "int8wo", "int4wo")


def quant_for_dtype(dtype: str) -> Quant:
    if dtype in ("fp16", "bf16"):
        return Quant(wbits=16, abits=16, kvbits=16, group=128)
    if dtype == "int8wo":
        return Quant(wbits=8, abits=16, kvbits=16, group=256)
    if dtype == "int4wo":
        return Quant(wbits=4, abits=16, kvbits=16, group=128)
    raise CodesignError(f"got {dtype!r}; allowed: {', '.join(GPU_DTYPES)}", field="--dtype")


@dataclass(frozen=True)
class PhaseTime:
    seconds: float
    gpu_s: float
    host_s: float
    bytes: float
    flops: float
    ops: list


def _op_bytes(op) -> float:
    # Activations of a batch-1 step stay in the GPU's L2; weights and the KV cache come from DRAM.
    return op.weight_bytes + op.kv_read_bytes + op.kv_write_bytes


def _phase(cfg: ModelConfig, dev, quant: Quant, stack: Stack, phase: str, tokens: int, context: int,
           batch: int) -> PhaseTime:
    extra = gpu_extra(dev.name)
    bw = dev.mem_bw_gbs * 1e9 * (stack.eta_bw_hbm if is_hbm(dev) else stack.eta_bw_gddr)
    int8 = quant.wbits <= 8 and quant.abits <= 8
    peak = (dev.peak_int8_tops if int8 else dev.peak_fp16_tflops) * 1e12 * stack.eta_compute
    rows, total_bytes, total_flops, gpu_s = [], 0.0, 0.0, 0.0
    for scope, ops, copies in (("layer", layer_ops(cfg, quant, phase, tokens, context, batch), cfg.n_layers),
                               ("head", head_ops(cfg, quant, phase, tokens, batch), 1)):
        for op in ops:
            b, f = _op_bytes(op), 2.0 * op.macs
            t_mem, t_cmp = b / bw, f / peak
            t = max(t_mem, t_cmp)
            rows.append({"op": op.name, "scope": scope, "count": copies, "bytes": b * copies,
                         "flops": f * copies, "time_s": t * copies,
                         "bound": "compute" if t_cmp > t_mem else "memory"})
            total_bytes += b * copies
            total_flops += f * copies
            gpu_s += t * copies
    fixed = cfg.n_layers * stack.layer_cycles / (extra.boost_mhz * 1e6)
    rows.append({"op": "layer_latency", "scope": "layer", "count": cfg.n_layers, "bytes": 0.0, "flops": 0.0,
                 "time_s": fixed, "bound": "latency"})
    gpu_s += fixed
    host_s = cfg.n_layers * stack.host_layer_s
    return PhaseTime(max(gpu_s, host_s), gpu_s, host_s, total_bytes, total_flops, rows)


def _power(dev, seconds: float, bytes_: float, flops: float, int8: bool) -> tuple[float, float, float]:
    bw_util = bytes_ / seconds / (dev.mem_bw_gbs * 1e9)
    peak = (dev.peak_int8_tops if int8 else dev.peak_fp16_tflops) * 1e12
    cmp_util = flops / seconds / peak
    u = min(1.0, bw_util + cmp_util)
    p = dev.idle_w + (dev.tdp_w - dev.idle_w) * (ACTIVE_FLOOR + (1.0 - ACTIVE_FLOOR) * u)
    return p, bw_util, cmp_util


def _weights_resident_bytes(cfg: ModelConfig, quant: Quant) -> float:
    """All weights held in GPU memory (every expert of an MoE), from the workload's op list."""
    # Enough tokens that the routing touches every expert: the FFN ops then count E copies.
    tokens = 10_000 if cfg.is_moe else 1
    layer = sum(o.weight_bytes for o in layer_ops(cfg, quant, "decode", 1, 1, tokens))
    head = sum(o.weight_bytes for o in head_ops(cfg, quant, "decode", 1, 1) if o.kind != "embed")
    # The 16-bit embedding table (the LM head when tied, counted in ``head``) and learned positions.
    emb = (0 if cfg.tied_embeddings else cfg.vocab * cfg.d_model * 2) + cfg.learned_pos * cfg.d_model * 2
    return cfg.n_layers * layer + head + emb


def evaluate_gpu(cfg: ModelConfig, dev, workload: Workload, quant: Quant, stack: str = "serving") -> dict:
    """Predict one GPU running ``cfg`` at ``quant`` under ``stack``; keys as FPGA evaluate_design."""
    st = get_stack(stack)
    extra = gpu_extra(dev.name)
    B, P, G, L = workload.batch, workload.prompt, workload.generate, workload.decode_context
    int8 = quant.wbits <= 8 and quant.abits <= 8
    dec = _phase(cfg, dev, quant, st, "decode", 1, L, B)
    pre = _phase(cfg, dev, quant, st, "prefill", P, 0, B)
    tok_s = B / dec.seconds
    p_dec, bw_util, cmp_util = _power(dev, dec.seconds, dec.bytes, dec.flops, int8)
    p_pre, _, _ = _power(dev, pre.seconds, pre.bytes, pre.flops, int8)
    e_tok = p_dec * dec.seconds / B
    e_amort = (p_pre * pre.seconds + p_dec * dec.seconds * G) / (B * G)
    roofline = B * dev.mem_bw_gbs * 1e9 / dec.bytes
    kv_total = B * (P + G) * cfg.n_layers * 2 * cfg.n_kv_heads * cfg.head_dim * quant.kvbits / 8
    need = _weights_resident_bytes(cfg, quant) + kv_total
    cap = dev.mem_gb * 1e9
    violations = []
    if need > cap:
        violations.append(f"memory: weights + KV cache need {need / 1e9:.1f} GB > {dev.mem_gb} GB on {dev.name}")
    return {
        "device": dev.name,
        "kind": "gpu",
        "stack": st.name,
        "feasible": not violations,
        "violations": violations,
        "decode_tokens_per_s": tok_s,
        "prefill_latency_s": pre.seconds,
        "energy_per_token_j": e_tok,
        "energy_per_token_amortised_j": e_amort,
        "power_w": p_dec,
        "usd_per_mtoken": usd_per_mtoken(dev.price_usd, p_dec, tok_s),
        "resources": {"dsp": 0, "lut": 0, "ff": 0, "bram36": 0, "uram": 0},
        "utilization": {"memory_capacity": need / cap, "max": need / cap},
        "roofline_tokens_per_s": roofline,
        "roofline_fraction": tok_s / roofline,
        "min_memory_energy_per_token_j": dec.bytes * 8 * mem_pj_per_bit(dev) * 1e-12 / B,
        "compute_utilization": cmp_util,
        "bandwidth_utilization": bw_util,
        "host_bound": dec.host_s > dec.gpu_s,
        "ops": [{**r, "phase": "decode"} for r in dec.ops] + [{**r, "phase": "prefill"} for r in pre.ops],
    }


def evaluate_gpu_design(design: Design, stack: str = "serving") -> dict:
    """``evaluate_design`` for a design whose device is a GPU (its quant maps onto GPU kernels)."""
    from ..workload import load_model_config

    cfg = load_model_config(design.model)
    dev = resolve_gpu_device(design.device)
    return evaluate_gpu(cfg, dev, design.workload, design.quant, stack)
