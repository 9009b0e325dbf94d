"""Build the three memory images (gmem_w, gmem_kv, gmem_io) of one layer plan: packed weights, the
KV cache already holding the previous tokens, instructions, gamma, RoPE table and the input tokens."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..quant import pack
from ..quant.golden import IntLayer
from .compiler import LayerPlan
from .encoding import encode


@dataclass
class Images:
    gmem_w: bytearray
    gmem_kv: bytearray
    gmem_io: bytearray

    def as_dict(self) -> dict:
        return {"gmem_w": self.gmem_w, "gmem_kv": self.gmem_kv, "gmem_io": self.gmem_io}


def build_images(plan: LayerPlan, layer: IntLayer, x_in, cache, rows: int, cols: int) -> Images:
    """``x_in`` int32 [batch * tokens, d]; ``cache`` (a ``KVCache``, or one per sequence when
    batch > 1) holds positions [0, context - tokens) (None when empty)."""
    cfg, qn = layer.cfg, layer.quant
    w = bytearray(plan.sizes["gmem_w"])
    for name, (addr, size) in plan.w_regions.items():
        experts = [name] if name in layer.mats else [f"{name}.{e}" for e in range(cfg.n_experts)]
        a = addr
        for key in experts:
            b = pack.pack_matrix(layer.mats[key], rows, cols)
            w[a:a + len(b)] = b
            a += len(b)
        assert a - addr == size, (name, a - addr, size)
    kv = bytearray(plan.sizes["gmem_kv"])
    start = plan.context - plan.tokens
    if start:
        caches = cache if isinstance(cache, (list, tuple)) else [cache]
        if len(caches) != plan.batch or any(c is None or c.length < start for c in caches):
            raise ValueError(f"need {plan.batch} KV cache(s) holding {start} positions")
        for s, c in enumerate(caches):
            base = plan.kv_region[0] + s * plan.kv_region[1]
            for h in range(cfg.n_kv_heads):
                for t in range(start):
                    for which, q, e in (("k", c.k_q, c.k_e), ("v", c.v_q, c.v_e)):
                        pack.kv_write(kv, base, which, h, t, q[h, t], e[h, t], cfg.n_kv_heads,
                                      plan.kv_capacity, cfg.head_dim, qn.kvbits)
    io = bytearray(plan.sizes["gmem_io"])
    words = encode(plan.instrs).astype("<u4").tobytes()
    a, size = plan.io_regions["instructions"]
    assert len(words) == size
    io[a:a + size] = words
    pack.put_i32(io, plan.io_regions["x_in"][0], np.asarray(x_in).reshape(-1))
    for n in ("attn_norm", "ffn_norm"):
        pack.put_i16(io, plan.io_regions[n][0], layer.gammas[n][0])
    if plan.io_regions["rope"][1]:
        pack.put_i16(io, plan.io_regions["rope"][0], layer.rope_table(plan.kv_capacity).reshape(-1))
    return Images(w, kv, io)
