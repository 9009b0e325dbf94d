"""The integer golden model of one decoder layer (LLaMA family: RMSNorm, GQA attention with RoPE over a
quantized KV cache, SwiGLU FFN or a top-k MoE of SwiGLU experts, residuals), in exactly the arithmetic of
docs/NUMERICS.md (``codesign.quant.numerics``). numpy int64, deterministic.

Weight names (the canonical names of ``codesign.quant.llm.naming``, with or without the
``layers.{i}.`` prefix): ``attn_norm``, ``attn.wq``, ``attn.wk``, ``attn.wv``, ``attn.wo``, ``ffn_norm``,
``ffn.w_gate``, ``ffn.w_up``, ``ffn.w_down``; an MoE layer has ``ffn.router`` [n_experts, d_model] and
``ffn.experts.{e}.w_gate`` / ``w_up`` / ``w_down`` instead of the three dense FFN matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..design import Quant
from ..errors import CodesignError
from . import numerics as N

ATTN_MATS = ("wq", "wk", "wv", "wo")
FFN_MATS = ("w_gate", "w_up", "w_down")


def _np(t) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu().double().numpy()
    return np.asarray(t, dtype=np.float64)


def _strip(weights: Mapping) -> dict:
    out = {}
    for name, t in weights.items():
        parts = name.split(".")
        if len(parts) > 2 and parts[0] == "layers" and parts[1].isdigit():
            name = ".".join(parts[2:])
        out[name] = t
    return out


def check_supported(cfg) -> None:
    """The golden model covers the LLaMA family; say so clearly for anything else."""
    bad = []
    if getattr(cfg, "norm", "rms") != "rms":
        bad.append(f"norm={cfg.norm!r} (only 'rms')")
    if getattr(cfg, "ffn_kind", "swiglu") != "swiglu":
        bad.append(f"ffn_kind={cfg.ffn_kind!r} (only 'swiglu')")
    if getattr(cfg, "learned_pos", 0):
        bad.append("learned position embeddings (only RoPE)")
    if getattr(cfg, "attn_bias", False) or getattr(cfg, "mlp_bias", False):
        bad.append("linear biases")
    if getattr(cfg, "router", "linear") != "linear":
        bad.append(f"router={cfg.router!r} (only 'linear')")
    if cfg.head_dim % 2:
        bad.append("odd head_dim")
    if bad:
        raise CodesignError(f"model '{cfg.name}': the integer golden model supports LLaMA-style layers only; "
                            f"unsupported: {', '.join(bad)}", field="model")


@dataclass
class KVCache:
    """One layer's quantized KV cache: q [kv_heads, cap, head_dim] and exponents [kv_heads, cap]."""
    kv_heads: int
    head_dim: int
    cap: int
    k_q: np.ndarray = field(default=None)
    k_e: np.ndarray = field(default=None)
    v_q: np.ndarray = field(default=None)
    v_e: np.ndarray = field(default=None)
    length: int = 0

    def __post_init__(self):
        shape = (self.kv_heads, self.cap, self.head_dim)
        self.k_q = np.zeros(shape, np.int64) if self.k_q is None else self.k_q
        self.v_q = np.zeros(shape, np.int64) if self.v_q is None else self.v_q
        self.k_e = np.zeros(shape[:2], np.int64) if self.k_e is None else self.k_e
        self.v_e = np.zeros(shape[:2], np.int64) if self.v_e is None else self.v_e

    def store(self, start: int, k, v, kvbits: int) -> None:
        """Quantize K, V [m, kv_heads, head_dim] (int32) per (token, head) into positions start.. ."""
        m = k.shape[0]
        if start + m > self.cap:
            raise CodesignError(f"KV cache capacity {self.cap} exceeded (position {start + m - 1})", field="context")
        kq, ke = N.quantize_kv(k, kvbits)
        vq, ve = N.quantize_kv(v, kvbits)
        self.k_q[:, start:start + m] = kq.transpose(1, 0, 2)
        self.k_e[:, start:start + m] = ke.T
        self.v_q[:, start:start + m] = vq.transpose(1, 0, 2)
        self.v_e[:, start:start + m] = ve.T
        self.length = max(self.length, start + m)


@dataclass
class IntLayer:
    """A decoder layer prepared for the integer datapath (what the compiler and packer emit)."""
    cfg: object
    quant: Quant
    mats: dict            # name -> WeightQ ("wq", ..., "w_gate", ...; MoE: "router", "w_gate.{e}", ...)
    gammas: dict          # "attn_norm"/"ffn_norm" -> (int16 gamma [d], shift)
    eps_q: int
    rope_theta: float
    _tables: dict = field(default_factory=dict)

    @property
    def is_moe(self) -> bool:
        return getattr(self.cfg, "n_experts", 1) > 1

    def rope_table(self, cap: int) -> np.ndarray:
        if cap not in self._tables:
            self._tables[cap] = N.rope_table(cap, self.cfg.head_dim, self.rope_theta)
        return self._tables[cap]

    def new_cache(self, cap: int) -> KVCache:
        return KVCache(self.cfg.n_kv_heads, self.cfg.head_dim, cap)

    def matrix(self, name: str, expert: int | None = None) -> N.WeightQ:
        return self.mats[name if expert is None else f"{name}.{expert}"]

    # -------------------------------------------------------------- the layer
    def norm(self, x, which: str) -> np.ndarray:
        g, sh = self.gammas[which]
        return N.rmsnorm(x, g, sh, N.recip_n(x.shape[-1]), self.eps_q)

    def forward(self, x, start_pos: int, cache: KVCache, trace: dict | None = None) -> np.ndarray:
        """int32 x [m, d_model] at positions start_pos.. -> int32 [m, d_model]; stores K/V into ``cache``.
        ``trace`` (optional dict) receives the intermediate tensors by name."""
        cfg, qn = self.cfg, self.quant
        x = np.asarray(x, dtype=np.int64)
        m = x.shape[0]
        H, KV, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        A = qn.abits
        tr = trace if trace is not None else {}
        if start_pos + m > cache.cap:
            raise CodesignError(f"KV cache capacity {cache.cap} exceeded (position {start_pos + m - 1})",
                                field="context")
        h = self.norm(x, "attn_norm")
        q = N.gemv(self.mats["wq"], h, A).reshape(m, H, hd)
        k = N.gemv(self.mats["wk"], h, A).reshape(m, KV, hd)
        v = N.gemv(self.mats["wv"], h, A).reshape(m, KV, hd)
        pos = np.arange(start_pos, start_pos + m)
        tab = self.rope_table(cache.cap)
        q, k = N.rope(q, tab, pos), N.rope(k, tab, pos)
        cache.store(start_pos, k, v, qn.kvbits)
        n = start_pos + m
        o = N.attention(q, cache.k_q[:, :n], cache.k_e[:, :n], cache.v_q[:, :n], cache.v_e[:, :n],
                        pos + 1, A, N.attn_scale(hd))
        t = N.gemv(self.mats["wo"], o.reshape(m, H * hd), A)
        x = N.add_sat(x, t)
        tr.update(attn_norm=h, q=q, k=k, v=v, attn=o, wo=t, attn_residual=x)
        h = self.norm(x, "ffn_norm")
        tr["ffn_norm"] = h
        if not self.is_moe:
            a = N.swiglu(N.gemv(self.mats["w_gate"], h, A), N.gemv(self.mats["w_up"], h, A))
            down = N.gemv(self.mats["w_down"], a, A)
            tr.update(ffn_act=a, ffn_down=down)
            x = N.add_sat(x, down)
        else:
            logits = N.gemv(self.mats["router"], h, A)
            experts, weights = N.route_topk(logits, cfg.top_k)
            tr.update(router=logits, experts=experts, weights=weights)
            for s in range(cfg.top_k):
                out = np.zeros_like(x)
                for t_ in range(m):
                    e = int(experts[t_, s])
                    ht = h[t_:t_ + 1]
                    a = N.swiglu(N.gemv(self.matrix("w_gate", e), ht, A), N.gemv(self.matrix("w_up", e), ht, A))
                    out[t_] = N.gemv(self.matrix("w_down", e), a, A)[0]
                x = N.add_weighted(x, out, weights[:, s:s + 1])
        tr["out"] = x
        return x


def prepare_layer(weights: Mapping, cfg, quant: Quant, *, rope_theta: float = 10000.0,
                  norm_eps: float = 1e-5, unit_wbits: Mapping | None = None) -> IntLayer:
    """Quantize one layer's float weights (numpy arrays or torch tensors) for the integer datapath.
    ``unit_wbits`` ({"attn": bits, "ffn": bits}, one entry of design.json's ``layer_wbits``): the weight
    bits of the layer's attention and FFN projections (per-layer mixed precision); default quant.wbits."""
    check_supported(cfg)
    w = _strip(weights)
    need = ["attn_norm", "ffn_norm"] + [f"attn.{n}" for n in ATTN_MATS]
    moe = getattr(cfg, "n_experts", 1) > 1
    if moe:
        need += ["ffn.router"] + [f"ffn.experts.{e}.{n}" for e in range(cfg.n_experts) for n in FFN_MATS]
    else:
        need += [f"ffn.{n}" for n in FFN_MATS]
    missing = [n for n in need if n not in w]
    if missing:
        raise CodesignError(f"layer weights missing: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}",
                            field="weights")
    bits = {"attn": quant.wbits, "ffn": quant.wbits, **(unit_wbits or {})}
    qa = dict(bits=bits["attn"], group=quant.group, zero_point=quant.zero_point, sparsity=quant.sparsity)
    qz = dict(qa, bits=bits["ffn"])
    mats = {n: N.quantize_weight_groups(_np(w[f"attn.{n}"]), **qa) for n in ATTN_MATS}
    if moe:
        mats["router"] = N.quantize_weight_groups(_np(w["ffn.router"]), **qz)
        for n in FFN_MATS:
            ws = [_np(w[f"ffn.experts.{e}.{n}"]) for e in range(cfg.n_experts)]
            # one per-tensor shift shared by all experts of a matrix (one Instr.shift per GEMV)
            sh = min(N.quantize_weight_groups(x, **qz).shift for x in ws)
            for e, x in enumerate(ws):
                mats[f"{n}.{e}"] = N.quantize_weight_groups(x, shift=sh, **qz)
    else:
        for n in FFN_MATS:
            mats[n] = N.quantize_weight_groups(_np(w[f"ffn.{n}"]), **qz)
    expect = {"wq": (cfg.n_heads * cfg.head_dim, cfg.d_model), "wk": (cfg.n_kv_heads * cfg.head_dim, cfg.d_model),
              "wv": (cfg.n_kv_heads * cfg.head_dim, cfg.d_model), "wo": (cfg.d_model, cfg.n_heads * cfg.head_dim)}
    for n, shape in expect.items():
        got = (mats[n].out_features, mats[n].in_features)
        if got != shape:
            raise CodesignError(f"attn.{n} has shape {got}, config says {shape}", field="weights")
    gammas = {n: N.quantize_gamma(_np(w[n])) for n in ("attn_norm", "ffn_norm")}
    return IntLayer(cfg=cfg, quant=quant, mats=mats, gammas=gammas, eps_q=N.eps_fixed(norm_eps),
                    rope_theta=float(rope_theta))


def random_layer_weights(cfg, seed: int = 0, scale: float = 0.05) -> dict:
    """Deterministic random float weights of one layer (for small-dimension RTL/HLS tests)."""
    rng = np.random.default_rng(seed)
    d, H, KV, hd, f = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ffn
    w = {"attn_norm": rng.normal(1.0, 0.2, d), "ffn_norm": rng.normal(1.0, 0.2, d),
         "attn.wq": rng.normal(0, scale, (H * hd, d)), "attn.wk": rng.normal(0, scale, (KV * hd, d)),
         "attn.wv": rng.normal(0, scale, (KV * hd, d)), "attn.wo": rng.normal(0, scale, (d, H * hd))}
    shapes = {"w_gate": (f, d), "w_up": (f, d), "w_down": (d, f)}
    if getattr(cfg, "n_experts", 1) > 1:
        w["ffn.router"] = rng.normal(0, 1.0, (cfg.n_experts, d))
        for e in range(cfg.n_experts):
            for n, s in shapes.items():
                w[f"ffn.experts.{e}.{n}"] = rng.normal(0, scale, s)
    else:
        for n, s in shapes.items():
            w[f"ffn.{n}"] = rng.normal(0, scale, s)
    return w
