"""Compiler: one decoder layer of a model config -> the instruction list (docs/ISA.md).

``compile_layer`` is the contract (the analytical model counts cycles per instruction of this list);
``plan_layer`` returns the same list together with the memory map that the vector writer and the
executor use (where each weight matrix, gamma, RoPE table, KV region and IO tensor lives).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..design import Hardware, Quant
from ..errors import CodesignError
from ..quant import numerics as N
from ..quant.pack import align, kv_region_bytes, matrix_bytes
from .encoding import INSTR_BYTES
from .instr import (FUNC_ACT_GELU, FUNC_ACT_RELU, FUNC_ACT_SWIGLU, FUNC_GEMV_ROUTER, FUNC_NORM_LAYER,
                    FUNC_NORM_RMS, Instr)

PHASES = ("decode", "prefill")


@dataclass
class LayerPlan:
    instrs: list
    buffers: dict            # activation-buffer tensor -> element offset
    buffer_elems: int        # activation-buffer elements used
    w_regions: dict          # matrix name -> (byte address, bytes) in gmem_w (MoE: per expert-stack)
    io_regions: dict         # "instructions", "x_in", "x_out", "attn_norm", "ffn_norm", "rope" -> (addr, bytes)
    kv_region: tuple         # (byte address, bytes) in gmem_kv of sequence 0 (sequence s: + s * bytes)
    kv_capacity: int
    tokens: int
    context: int
    sizes: dict = field(default_factory=dict)   # image -> bytes
    batch: int = 1           # sequences; tokens of sequence s are rows s*tokens .. of every [m][n] tensor


def _ffn_kind(cfg) -> str:
    return getattr(cfg, "ffn_kind", "swiglu")


def buffer_map(cfg, m: int) -> tuple[dict, int]:
    """Element offsets of the layer's tensors in the activation buffer (m tokens)."""
    d, H, KV, hd, f = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ffn
    E = getattr(cfg, "n_experts", 1)
    sizes = [("X", m * d), ("H", m * d), ("Q", m * H * hd), ("K", m * KV * hd), ("V", m * KV * hd),
             ("O", m * H * hd), ("T", m * d), ("G", m * f), ("U", m * f)]
    if E > 1:
        sizes.append(("R", m * E * (3 if getattr(cfg, "router", "linear") == "attention" else 1)))
    off, out = 0, {}
    for name, n in sizes:
        out[name] = off
        off += n
    return out, off


def _check(cfg, quant: Quant, phase: str, tokens: int, context: int, cap: int) -> None:
    if phase not in PHASES:
        raise CodesignError(f"got {phase!r}; allowed: {', '.join(PHASES)}", field="--phase")
    if tokens < 1:
        raise CodesignError(f"must be >= 1, got {tokens}", field="tokens")
    if phase == "decode" and tokens != 1:
        raise CodesignError(f"a decode step has tokens = 1, got {tokens}", field="tokens")
    if context < tokens:
        raise CodesignError(f"context {context} < tokens {tokens} (context counts the new tokens)", field="context")
    if cap < context:
        raise CodesignError(f"KV capacity {cap} < context {context}", field="kv_capacity")
    if cfg.d_model < 2:
        raise CodesignError("d_model must be >= 2", field="d_model")


def plan_layer(cfg, quant: Quant, phase: str, tokens: int, context: int, *, hw: Hardware | None = None,
               layer=None, kv_capacity: int | None = None, batch: int = 1,
               unit_wbits: dict | None = None) -> LayerPlan:
    """Instructions + memory map of one decoder layer. ``layer`` (a prepared ``golden.IntLayer``) fills
    the per-tensor weight shifts, gamma shifts and eps; without it they are 0 / eps = 1e-5.
    Weight bits per matrix (per-layer mixed precision): the prepared layer's matrices, or without one
    ``unit_wbits`` ({"attn": bits, "ffn": bits}; default quant.wbits). A GEMV whose matrix is not at
    quant.wbits carries its bits in ``Instr.wbits`` (0 otherwise: docs/ISA.md)."""
    hw = hw or Hardware()
    cap = kv_capacity if kv_capacity is not None else context
    _check(cfg, quant, phase, tokens, context, cap)
    if batch < 1:
        raise CodesignError(f"must be >= 1, got {batch}", field="batch")
    m = tokens * batch          # every token-wise instruction takes all sequences at once
    d, H, KV, hd, f = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ffn
    E, top_k = getattr(cfg, "n_experts", 1), getattr(cfg, "top_k", 1)
    moe = E > 1
    # Yuan2.0-M32's attention router projects to Q, K, V of n_experts each (3E outputs); the golden
    # model implements the linear router (E outputs) only
    router_n = E * (3 if getattr(cfg, "router", "linear") == "attention" else 1)
    start = context - tokens
    buf, buf_elems = buffer_map(cfg, m)
    ffn_kind = _ffn_kind(cfg)
    gated = ffn_kind == "swiglu"
    rope = not getattr(cfg, "learned_pos", 0)
    norm_func = FUNC_NORM_RMS if getattr(cfg, "norm", "rms") == "rms" else FUNC_NORM_LAYER
    act_func = {"swiglu": FUNC_ACT_SWIGLU, "gelu": FUNC_ACT_GELU, "relu": FUNC_ACT_RELU}[ffn_kind]

    # ---- gmem_w: matrices in execution order, each 64-byte aligned
    qz = (quant.group, quant.zero_point, hw.rows, hw.cols, quant.sparsity)
    unit_bits = {"attn": quant.wbits, "ffn": quant.wbits, **(unit_wbits or {})}

    def bits_of(name: str) -> int:
        if layer is not None:
            return layer.mats[name if name in layer.mats else f"{name}.0"].bits
        return unit_bits["attn" if name in ("wq", "wk", "wv", "wo") else "ffn"]

    mats = [("wq", H * hd, d, 1), ("wk", KV * hd, d, 1), ("wv", KV * hd, d, 1), ("wo", d, H * hd, 1)]
    if moe:
        mats.append(("router", router_n, d, 1))
    nexp = E if moe else 1
    if gated:
        mats += [("w_gate", f, d, nexp), ("w_up", f, d, nexp)]
    else:
        mats += [("w_up", f, d, nexp)]
    mats.append(("w_down", d, f, nexp))
    w_regions, waddr, mat_bytes = {}, 0, {}
    for name, n, k, count in mats:
        try:
            one = matrix_bytes(n, k, bits_of(name), *qz)
        except ValueError as e:
            raise CodesignError(str(e), field="cols") from None
        mat_bytes[name] = one
        w_regions[name] = (waddr, one * count)
        waddr = align(waddr + one * count)

    # ---- gmem_kv: one region for this layer
    kv_bytes = kv_region_bytes(KV, cap, hd, quant.kvbits)

    def shift_of(name: str) -> int:
        if layer is None:
            return 0
        return layer.mats[name if name in layer.mats else f"{name}.0"].shift

    gshift = (lambda n: layer.gammas[n][1]) if layer is not None else (lambda n: 0)
    eps_q = layer.eps_q if layer is not None else N.eps_fixed(1e-5)

    def build(io: dict) -> list:
        L = []
        gemv = lambda name, src, dst, n, k, lop, slot=0, func=0: Instr(
            "GEMV", m=m, n=n, k=k, src=src, dst=dst, addr=w_regions[name][0], layer_op=lop,
            shift=shift_of(name), slot=slot, func=func,
            wbits=0 if bits_of(name) == quant.wbits else bits_of(name))
        L.append(Instr("LOAD", m=m, n=d, dst=buf["X"], addr=io["x_in"][0], layer_op="x_in"))
        L.append(Instr("NORM", m=m, n=d, src=buf["X"], dst=buf["H"], addr=io["attn_norm"][0], func=norm_func,
                       mult=N.recip_n(d), imm=eps_q, shift=gshift("attn_norm"), layer_op="attn_norm"))
        L.append(gemv("wq", buf["H"], buf["Q"], H * hd, d, "wq"))
        L.append(gemv("wk", buf["H"], buf["K"], KV * hd, d, "wk"))
        L.append(gemv("wv", buf["H"], buf["V"], KV * hd, d, "wv"))
        for s in range(batch):      # positions, KV cache and attention are per sequence
            qs, ks = buf["Q"] + s * tokens * H * hd, buf["K"] + s * tokens * KV * hd
            vs, os_ = buf["V"] + s * tokens * KV * hd, buf["O"] + s * tokens * H * hd
            kva = s * kv_bytes
            if rope:
                L.append(Instr("ROPE", m=tokens, heads=H, kv_heads=KV, head_dim=hd, ctx=start, src=qs, src2=ks,
                               dst=qs, addr=io["rope"][0], layer_op="rope"))
            L.append(Instr("KVSTORE", m=tokens, kv_heads=KV, head_dim=hd, ctx=start, src=ks, src2=vs,
                           addr=kva, imm=cap, layer_op="kv_store"))
            L.append(Instr("ATTN", m=tokens, heads=H, kv_heads=KV, head_dim=hd, ctx=context, src=qs, dst=os_,
                           addr=kva, imm=cap, mult=N.attn_scale(hd), layer_op="attn"))
        L.append(gemv("wo", buf["O"], buf["T"], d, H * hd, "wo"))
        L.append(Instr("ADD", m=m, n=d, src=buf["X"], src2=buf["T"], dst=buf["X"], layer_op="attn_residual"))
        L.append(Instr("NORM", m=m, n=d, src=buf["X"], dst=buf["H"], addr=io["ffn_norm"][0], func=norm_func,
                       mult=N.recip_n(d), imm=eps_q, shift=gshift("ffn_norm"), layer_op="ffn_norm"))
        if moe:
            L.append(dataclasses.replace(gemv("router", buf["H"], buf["R"], router_n, d, "router", func=FUNC_GEMV_ROUTER),
                                        imm=top_k))
        for s in (range(1, top_k + 1) if moe else [0]):
            if gated:
                L.append(gemv("w_gate", buf["H"], buf["G"], f, d, "ffn_gate", slot=s))
                L.append(gemv("w_up", buf["H"], buf["U"], f, d, "ffn_up", slot=s))
                L.append(Instr("ACT", m=m, n=f, src=buf["G"], src2=buf["U"], dst=buf["G"], func=act_func, slot=s,
                               layer_op="ffn_act"))
            else:
                L.append(gemv("w_up", buf["H"], buf["G"], f, d, "ffn_fc1", slot=s))
                L.append(Instr("ACT", m=m, n=f, src=buf["G"], src2=buf["G"], dst=buf["G"], func=act_func, slot=s,
                               layer_op="ffn_act"))
            L.append(gemv("w_down", buf["G"], buf["T"], d, f, "ffn_down" if gated else "ffn_fc2", slot=s))
            L.append(Instr("ADD", m=m, n=d, src=buf["X"], src2=buf["T"], dst=buf["X"], slot=s,
                           layer_op="ffn_residual"))
        L.append(Instr("STORE", m=m, n=d, src=buf["X"], addr=io["x_out"][0], layer_op="x_out"))
        return L

    def io_map(n_instr: int) -> dict:
        regions, a = {}, 0
        for name, size in (("instructions", n_instr * INSTR_BYTES), ("x_in", 4 * m * d), ("x_out", 4 * m * d),
                           ("attn_norm", 2 * d), ("ffn_norm", 2 * d),
                           ("rope", 2 * cap * hd if rope else 0)):
            regions[name] = (a, size)
            a = align(a + size)
        return regions

    n_instr = len(build(io_map(0)))
    io = io_map(n_instr)
    instrs = build(io)
    io_end = max(a + s for a, s in io.values())
    return LayerPlan(instrs=instrs, buffers=buf, buffer_elems=buf_elems, w_regions=w_regions, io_regions=io,
                     kv_region=(0, kv_bytes), kv_capacity=cap, tokens=tokens, context=context, batch=batch,
                     sizes={"gmem_w": waddr, "gmem_kv": kv_bytes * batch, "gmem_io": align(io_end),
                            "matrix_bytes": mat_bytes})


def compile_layer(cfg, quant: Quant, phase: str, tokens: int, context: int, *, hw: Hardware | None = None,
                  layer=None, kv_capacity: int | None = None, batch: int = 1,
                  unit_wbits: dict | None = None) -> list[Instr]:
    """One decoder layer: decode (tokens = 1, context = keys in the cache + 1) or a prefill chunk
    (tokens = chunk, context = position after the chunk), for ``batch`` sequences at the same position
    (token-wise instructions take m = batch * tokens; ROPE/KVSTORE/ATTN come once per sequence)."""
    return plan_layer(cfg, quant, phase, tokens, context, hw=hw, layer=layer, kv_capacity=kv_capacity,
                      batch=batch, unit_wbits=unit_wbits).instrs
