"""The instruction of the LLM processor: one record shared by the compiler, the golden executor,
the analytical model (cycles per instruction), the HLS kernel and the RTL sequencer.

Binary encoding: ``codesign.isa.encoding`` and docs/ISA.md (16 x 32-bit words per instruction).
Semantics of every opcode and field: docs/ISA.md; arithmetic: docs/NUMERICS.md.
"""

from __future__ import annotations

from dataclasses import dataclass

OPCODES = ("LOAD", "STORE", "GEMV", "NORM", "ROPE", "KVSTORE", "ATTN", "ACT", "ADD")
# GEMV with m > 1 tokens is the prefill GEMM; the same opcode, the same unit.

# ``func`` selects a variant of an opcode (0 is the LLaMA-style default).
FUNC_GEMV_PLAIN, FUNC_GEMV_ROUTER = 0, 1          # ROUTER: also fills the MoE routing table
FUNC_NORM_RMS, FUNC_NORM_LAYER = 0, 1
FUNC_ACT_SWIGLU, FUNC_ACT_GELU, FUNC_ACT_RELU = 0, 1, 2
FUNCS = {
    "GEMV": {"plain": FUNC_GEMV_PLAIN, "router": FUNC_GEMV_ROUTER},
    "NORM": {"rms": FUNC_NORM_RMS, "layer": FUNC_NORM_LAYER},
    "ACT": {"swiglu": FUNC_ACT_SWIGLU, "gelu": FUNC_ACT_GELU, "relu": FUNC_ACT_RELU},
}

# The workload ops an instruction may implement; the encoding stores the index (8 bits).
# Append only: the index of a name never changes.
LAYER_OPS = ("", "x_in", "x_out", "attn_norm", "wq", "wk", "wv", "rope", "kv_store", "attn", "wo",
             "attn_residual", "ffn_norm", "ffn_gate", "ffn_up", "ffn_act", "ffn_down", "ffn_residual",
             "router", "ffn_fc1", "ffn_fc2")


@dataclass(frozen=True)
class Instr:
    op: str            # one of OPCODES
    m: int = 1         # tokens processed (1 in a decode step, P or a chunk in prefill)
    n: int = 0         # output elements per token (GEMV out-features; vector length for NORM/ACT/ADD/LOAD/STORE)
    k: int = 0         # reduction length (GEMV in-features)
    heads: int = 0     # query heads (ROPE/ATTN)
    kv_heads: int = 0  # K/V heads (GQA) (ROPE/KVSTORE/ATTN)
    head_dim: int = 0
    ctx: int = 0       # ATTN: keys attended by the last token; ROPE/KVSTORE: position of the first token
    src: int = 0       # on-chip activation-buffer offset (elements) of the input
    src2: int = 0      # second input (ADD; ACT: up-projection; ROPE: K; KVSTORE: V)
    dst: int = 0       # on-chip activation-buffer offset of the output
    addr: int = 0      # off-chip byte address (weights / gamma / RoPE table / KV cache / IO)
    layer_op: str = "" # the workload op this instruction implements ("wq", "wk", "attn", "ffn_down", ...)
    # --- fields added by the golden/ISA owner (docs/ISA.md) ---
    func: int = 0      # variant of the opcode (FUNC_* above)
    slot: int = 0      # MoE: 0 = dense; s >= 1 = the s-th selected expert of each token (GEMV, ACT, ADD)
    shift: int = 0     # GEMV: per-tensor weight scale shift; NORM: gamma fractional bits (signed)
    mult: int = 0      # NORM: round(2^32 / n) (mean); ATTN: round(2^15 / sqrt(head_dim)) (score scale)
    imm: int = 0       # NORM: eps in ACT_FRAC fixed point; KVSTORE/ATTN: tokens per head in the KV layout
    # GEMV: this matrix's weight bits, one of the precision modes the processor was built with
    # (quant.wbits, and quant.hi_wbits when quant.mixed > 0); 0 = the build's quant.wbits, so every
    # uniform-precision instruction word is unchanged (docs/ISA.md)
    wbits: int = 0

    def __post_init__(self) -> None:
        if self.op not in OPCODES:
            raise ValueError(f"op {self.op!r} not in {OPCODES}")
        if self.layer_op not in LAYER_OPS:
            raise ValueError(f"layer_op {self.layer_op!r} not in LAYER_OPS")
