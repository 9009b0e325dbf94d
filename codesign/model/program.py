"""The instruction lists the analytical model times: one decoder layer per phase, plus the head.

The model reads its cycles from the same instruction list the hardware runs:
``codesign.isa.compiler.compile_layer``. For the LM head (which the layer compiler does not emit),
batches above 1 and layouts the compiler refuses, this module builds the list from the workload
ops with the same ``Instr`` fields. ``Program`` deduplicates identical instructions into
column arrays with a repeat count, so the vectorised cycle model touches each shape once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..design import Quant, Workload
from ..errors import CodesignError
from ..isa.compiler import compile_layer
from ..isa.instr import Instr
from ..quant.mixed_precision import UNIT_CLASSES, unit_of
from ..workload.config import ModelConfig
from ..workload.ops import experts_touched

FIELDS = ("m", "n", "k", "heads", "kv_heads", "head_dim", "ctx", "func", "slot")
OPS = ("LOAD", "STORE", "GEMV", "NORM", "ROPE", "KVSTORE", "ATTN", "ACT", "ADD")
OP_INDEX = {o: i for i, o in enumerate(OPS)}


def fallback_layer(cfg: ModelConfig, phase: str, tokens: int, context: int, batch: int = 1) -> list[Instr]:
    """One decoder layer from the workload op list (same fields as the ISA compiler's).
    ``context``: keys attended by the last new token (decode: cache + 1; prefill: position after
    the chunk), the ISA compiler's convention."""
    d, h, kvh, hd = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    m = batch * tokens
    norm = "NORM"
    out: list[Instr] = [Instr(norm, m=m, n=d, layer_op="attn_norm", func=int(cfg.norm == "layer"))]
    out += [Instr("GEMV", m=m, n=h * hd, k=d, layer_op="wq"),
            Instr("GEMV", m=m, n=kvh * hd, k=d, layer_op="wk"),
            Instr("GEMV", m=m, n=kvh * hd, k=d, layer_op="wv")]
    # Per sequence: RoPE, KV store and attention see one sequence's positions.
    first = context - tokens       # position of the first new token
    keys = context                 # keys attended by the last new token
    for _ in range(batch):
        if cfg.learned_pos == 0:
            out.append(Instr("ROPE", m=tokens, heads=h, kv_heads=kvh, head_dim=hd, ctx=first, layer_op="rope"))
        out.append(Instr("KVSTORE", m=tokens, kv_heads=kvh, head_dim=hd, ctx=first, layer_op="kv_store"))
        out.append(Instr("ATTN", m=tokens, heads=h, kv_heads=kvh, head_dim=hd, ctx=keys, layer_op="attn"))
    out.append(Instr("GEMV", m=m, n=d, k=h * hd, layer_op="wo"))
    out.append(Instr("ADD", m=m, n=d, layer_op="attn_residual"))
    out.append(Instr(norm, m=m, n=d, layer_op="ffn_norm", func=int(cfg.norm == "layer")))
    if cfg.is_moe:
        out.append(Instr("GEMV", m=m, n=cfg.n_experts * (3 if cfg.router == "attention" else 1), k=d,
                         layer_op="router", func=1))
        for s in range(1, cfg.top_k + 1):
            out += [Instr("GEMV", m=m, n=cfg.d_ffn, k=d, layer_op="ffn_gate", slot=s),
                    Instr("GEMV", m=m, n=cfg.d_ffn, k=d, layer_op="ffn_up", slot=s),
                    Instr("ACT", m=m, n=cfg.d_ffn, layer_op="ffn_act", slot=s),
                    Instr("GEMV", m=m, n=d, k=cfg.d_ffn, layer_op="ffn_down", slot=s)]
    elif cfg.ffn_kind == "swiglu":
        out += [Instr("GEMV", m=m, n=cfg.d_ffn, k=d, layer_op="ffn_gate"),
                Instr("GEMV", m=m, n=cfg.d_ffn, k=d, layer_op="ffn_up"),
                Instr("ACT", m=m, n=cfg.d_ffn, layer_op="ffn_act"),
                Instr("GEMV", m=m, n=d, k=cfg.d_ffn, layer_op="ffn_down")]
    else:
        func = 1 if cfg.ffn_kind == "gelu" else 2
        out += [Instr("GEMV", m=m, n=cfg.d_ffn, k=d, layer_op="ffn_fc1"),
                Instr("ACT", m=m, n=cfg.d_ffn, layer_op="ffn_act", func=func),
                Instr("GEMV", m=m, n=d, k=cfg.d_ffn, layer_op="ffn_fc2")]
    out.append(Instr("ADD", m=m, n=d, layer_op="ffn_residual"))
    return out


def head_program(cfg: ModelConfig, phase: str, tokens: int, batch: int = 1) -> list[Instr]:
    """Final norm, LM head and logits store (last token of each sequence); the layer lists load
    their own input (LOAD x_in), so the embedding row needs no instruction here."""
    return [Instr("NORM", m=batch, n=cfg.d_model, func=int(cfg.norm == "layer")),
            Instr("GEMV", m=batch, n=cfg.vocab, k=cfg.d_model),
            Instr("STORE", m=batch, n=cfg.vocab, layer_op="x_out")]


def layer_program(cfg: ModelConfig, quant: Quant, phase: str, tokens: int, context: int,
                  batch: int = 1) -> tuple[list[Instr], str]:
    """(instructions of one decoder layer, where they came from)."""
    if batch == 1:
        try:
            instrs = compile_layer(cfg, quant, phase, tokens, context)
            return list(instrs), "codesign.isa.compiler.compile_layer"
        except (NotImplementedError, CodesignError, ValueError):
            pass   # a layout the compiler refuses for the default tile: time the equivalent list
    return fallback_layer(cfg, phase, tokens, context, batch), "codesign.model.program.fallback_layer"


@dataclass(frozen=True)
class Program:
    """Unique instructions as columns (shape (I,)) with repeat counts, plus the originals."""
    op: np.ndarray
    cols: dict
    count: np.ndarray
    instrs: tuple
    names: tuple

    @classmethod
    def from_instrs(cls, instrs, repeat: float = 1.0, cfg: ModelConfig | None = None,
                    labels: dict | None = None) -> "Program":
        """``repeat``: times the list runs (layers). ``cfg`` gives MoE routing: an expert-slot GEMV of
        m tokens reads the distinct experts those tokens route to (column ``wcopies``)."""
        keyed = Counter((i.op,) + tuple(getattr(i, f) for f in FIELDS) for i in instrs)
        keys = list(keyed)
        first, merged = {}, {}     # merged: the layer ops sharing one shape ("wq+wk+wv+wo")
        for i in instrs:
            key = (i.op,) + tuple(getattr(i, f) for f in FIELDS)
            first.setdefault(key, i)
            merged.setdefault(key, [])
            if i.layer_op and i.layer_op not in merged[key]:
                merged[key].append(i.layer_op)
        op = np.array([OP_INDEX[k[0]] for k in keys], dtype=np.int64)
        cols = {f: np.array([k[j + 1] for k in keys], dtype=np.float64) for j, f in enumerate(FIELDS)}
        count = np.array([keyed[k] * repeat for k in keys], dtype=np.float64)
        slot = cols["slot"]
        if cfg is not None and cfg.is_moe:
            touched = np.array([experts_touched(cfg, int(mm)) for mm in cols["m"]]) / cfg.top_k
            cols["wcopies"] = np.where(slot >= 1, touched, 1.0)
        else:
            cols["wcopies"] = np.ones_like(slot)
        labels = labels or {}
        names = tuple(labels.get(first[k].op, "+".join(merged[k]) or first[k].op.lower()) for k in keys)
        return cls(op=op, cols=cols, count=count, instrs=tuple(first[k] for k in keys), names=names)

    def concat(self, other: "Program") -> "Program":
        return Program(op=np.concatenate([self.op, other.op]),
                       cols={k: np.concatenate([v, other.cols[k]]) for k, v in self.cols.items()},
                       count=np.concatenate([self.count, other.count]), instrs=self.instrs + other.instrs,
                       names=self.names + other.names)


def workload_programs(cfg: ModelConfig, quant: Quant, workload: Workload) -> dict:
    """Decode and prefill programs (layers x n_layers + head) for one workload."""
    b = workload.batch
    dec_layer, src = layer_program(cfg, quant, "decode", 1, workload.decode_context, b)
    pre_layer, _ = layer_program(cfg, quant, "prefill", workload.prompt, workload.prompt, b)
    head = {"NORM": "final_norm", "GEMV": "lm_head", "STORE": "logits_out"}
    out = {
        "decode": (Program.from_instrs(dec_layer, cfg.n_layers, cfg),
                   Program.from_instrs(head_program(cfg, "decode", 1, b), 1, cfg, head)),
        "prefill": (Program.from_instrs(pre_layer, cfg.n_layers, cfg),
                    Program.from_instrs(head_program(cfg, "prefill", workload.prompt, b), 1, cfg, head)),
        "source": src,
    }
    out["decode_all"] = out["decode"][0].concat(out["decode"][1])
    out["prefill_all"] = out["prefill"][0].concat(out["prefill"][1])
    # one layer's GEMVs per mixed-precision unit (quant.mixed_precision): what a raised unit re-times
    for name, layer in (("decode", dec_layer), ("prefill", pre_layer)):
        out[f"{name}_units"] = {
            c: Program.from_instrs([i for i in layer if i.op == "GEMV" and unit_of(i.layer_op or "") == c], 1, cfg)
            for c in UNIT_CLASSES}
    return out
