"""A LLaMA-style decoder stack in plain torch for the GPU benchmark (``codesign gpu-bench``).

The dimensions come from a preset (``codesign.workload``): RMSNorm, RoPE, GQA attention with a
static KV cache, SwiGLU FFN (GELU/ReLU two-matrix FFN for GPT-2/OPT-style configs), an LM head.
Weights are random (N(0, 0.02)) by default: decode speed and energy depend on the bytes and FLOPs,
not on the values. Real weights come from a checkpoint through the LLM helper's loader
(``codesign.quant.llm.checkpoint``: GGUF or Hugging Face safetensors, canonical names); the
arithmetic then matches ``codesign.quant.llm.model.LlamaLM`` (rotate-half RoPE, RMSNorm eps from the
checkpoint). MoE presets are refused.

Precisions: fp16 / bf16 dense; ``int8wo`` (per-channel int8 weights, torch._weight_int8pack_mm)
and ``int4wo`` (int4 groups of 128, torch._weight_int4pack_mm) where the installed torch has a
CUDA kernel for them (``weight_only_available``).

Decode is graph-capturable: the position is a device tensor, the KV cache has a fixed length and
attention masks the unused tail, so one CUDA graph replays every step (the "serving" stack class).
"""

from __future__ import annotations

from ..errors import CodesignError
from ..workload.config import ModelConfig

BENCH_DTYPES = ("fp16", "bf16", "int8wo", "int4wo")
INT4_GROUP = 128


def _torch():
    import torch
    return torch


def weight_only_available(dtype: str, device: str = "cuda") -> tuple[bool, str]:
    """Whether this torch has a working kernel for ``dtype`` on ``device`` (tries a tiny matmul)."""
    torch = _torch()
    try:
        x = torch.randn(2, 256, device=device, dtype=torch.bfloat16)
        w = torch.randn(128, 256, device=device, dtype=torch.bfloat16)
        lin = QuantLinear.from_float(w, dtype)
        lin(x)
        if device == "cuda":
            torch.cuda.synchronize()
        return True, ""
    except Exception as e:  # any failure: no usable kernel in this build
        return False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


class QuantLinear:
    """y = x @ W^T with weight-only int8 (per channel) or int4 (groups of 128) weights."""

    def __init__(self, kind, packed, scales, n_out):
        self.kind, self.packed, self.scales, self.n_out = kind, packed, scales, n_out

    @classmethod
    def from_float(cls, w, kind: str) -> "QuantLinear":
        torch = _torch()
        n_out, k = w.shape
        if kind == "int8wo":
            s = w.abs().amax(dim=1).clamp(min=1e-8) / 127.0
            q = torch.round(w / s[:, None]).clamp(-127, 127).to(torch.int8)
            return cls(kind, q, s.to(w.dtype), n_out)
        if kind == "int4wo":
            if k % INT4_GROUP:
                raise CodesignError(f"in-features {k} not a multiple of {INT4_GROUP}", field="--dtype")
            g = w.float().reshape(n_out, k // INT4_GROUP, INT4_GROUP)
            lo, hi = g.amin(dim=2), g.amax(dim=2)
            scale = ((hi - lo).clamp(min=1e-8) / 15.0)
            zero = lo + 8 * scale    # torch's int4 kernels dequantise as (q - 8) * scale + zero
            q = torch.round((g - lo[..., None]) / scale[..., None]).clamp(0, 15).to(torch.int32).reshape(n_out, k)
            try:   # torch >= 2.5: uint8 input with two nibbles per byte
                packed_u8 = (q[:, ::2] << 4 | q[:, 1::2]).to(torch.uint8)
                packed = torch._convert_weight_to_int4pack(packed_u8, 8)
            except (RuntimeError, TypeError):
                packed = torch._convert_weight_to_int4pack(q, 8)
            sz = torch.stack([scale, zero], dim=2).transpose(0, 1).contiguous().to(torch.bfloat16)
            return cls(kind, packed, sz, n_out)
        raise CodesignError(f"got {kind!r}; allowed: int8wo, int4wo", field="--dtype")

    def __call__(self, x):
        torch = _torch()
        shp = x.shape
        x2 = x.reshape(-1, shp[-1])
        if self.kind == "int8wo":
            y = torch._weight_int8pack_mm(x2, self.packed, self.scales)
        else:
            y = torch._weight_int4pack_mm(x2, self.packed, INT4_GROUP, self.scales)
        return y.reshape(*shp[:-1], self.n_out)


class DecoderStack:
    """Random-weight decoder with a static KV cache of ``max_seq`` positions (batch 1)."""

    def __init__(self, cfg: ModelConfig, dtype: str, max_seq: int, device: str = "cuda", seed: int = 0,
                 n_layers: int | None = None, weights: dict | None = None, rope_theta: float = 10000.0,
                 norm_eps: float = 1e-5):
        torch = _torch()
        if cfg.is_moe:
            raise CodesignError(f"'{cfg.name}' is a mixture of experts; gpu-bench runs dense models", field="--model")
        if dtype not in BENCH_DTYPES:
            raise CodesignError(f"got {dtype!r}; allowed: {', '.join(BENCH_DTYPES)}", field="--dtype")
        self.cfg, self.kind, self.max_seq, self.device = cfg, dtype, max_seq, device
        # Weight-only kernels take bf16 activations (torch's int4 kernel requires bf16).
        self.dt = torch.float16 if dtype == "fp16" else torch.bfloat16
        self.n_layers = n_layers or cfg.n_layers
        self.eps = norm_eps
        g = torch.Generator(device=device).manual_seed(seed)
        d, hd, h, kvh = cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
        if weights is not None and cfg.ffn_kind != "swiglu":
            raise CodesignError("real weights are read for LLaMA-style (SwiGLU) checkpoints only", field="--weights")

        def tensor(name, *shape):
            if weights is None:
                if len(shape) == 1:
                    return torch.ones(shape, device=device, dtype=self.dt)
                return torch.empty(shape, device=device, dtype=self.dt).normal_(0.0, 0.02, generator=g)
            if name not in weights:
                raise CodesignError(f"checkpoint lacks '{name}'", field="--weights")
            t = weights[name]
            if tuple(t.shape) != shape:
                raise CodesignError(f"'{name}' has shape {tuple(t.shape)}, the preset needs {shape}", field="--weights")
            return t.to(device=device, dtype=self.dt)

        def lin(w):
            return w if dtype in ("fp16", "bf16") else QuantLinear.from_float(w, dtype)

        self.layers = []
        for i in range(self.n_layers):
            p = f"layers.{i}."
            lw = {"attn_norm": tensor(p + "attn_norm", d), "ffn_norm": tensor(p + "ffn_norm", d),
                  "wqkv": lin(torch.cat([tensor(p + "attn.wq", h * hd, d), tensor(p + "attn.wk", kvh * hd, d),
                                         tensor(p + "attn.wv", kvh * hd, d)])),
                  "wo": lin(tensor(p + "attn.wo", d, h * hd))}
            if cfg.ffn_kind == "swiglu":
                lw["w_gate_up"] = lin(torch.cat([tensor(p + "ffn.w_gate", cfg.d_ffn, d),
                                                 tensor(p + "ffn.w_up", cfg.d_ffn, d)]))
            else:
                lw["w_up"] = lin(tensor(p + "ffn.w_up", cfg.d_ffn, d))
            lw["w_down"] = lin(tensor(p + "ffn.w_down", d, cfg.d_ffn))
            self.layers.append(lw)
        self.embed = tensor("tok_embeddings", cfg.vocab, d)
        self.final_norm = tensor("norm", d)
        self.lm_head = self.embed if cfg.tied_embeddings else lin(tensor("output", cfg.vocab, d))
        shape = (self.n_layers, 1, kvh, max_seq, hd)
        self.k_cache = torch.zeros(shape, device=device, dtype=self.dt)
        self.v_cache = torch.zeros(shape, device=device, dtype=self.dt)
        inv = 1.0 / (rope_theta ** (torch.arange(0, hd, 2, device=device, dtype=torch.float64) / hd))
        ang = torch.arange(max_seq, device=device, dtype=torch.float64)[:, None] * inv[None, :]
        ang = torch.cat([ang, ang], dim=-1)
        self.cos, self.sin = ang.cos().to(self.dt), ang.sin().to(self.dt)
        self.positions = torch.arange(max_seq, device=device)

    def weight_bytes(self) -> int:
        """Bytes of the weights one decode step reads (layers, final norm, LM head)."""
        def nbytes(v):
            ts = [v.packed, v.scales] if isinstance(v, QuantLinear) else [v]
            return sum(t.numel() * t.element_size() for t in ts)
        return (sum(nbytes(v) for lw in self.layers for v in lw.values())
                + nbytes(self.lm_head) + nbytes(self.final_norm))

    @staticmethod
    def _mm(x, w):
        if isinstance(w, QuantLinear):
            return w(x)
        return x @ w.t()

    def _rms(self, x, gamma):
        torch = _torch()
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(self.dt) * gamma

    def _rope(self, x, pos):
        # x: (1, heads, T, hd); pos: (T,) long positions. Rotate-half (Hugging Face) convention.
        torch = _torch()
        cos, sin = self.cos.index_select(0, pos)[None, None], self.sin.index_select(0, pos)[None, None]
        half = x.shape[-1] // 2
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], dim=-1) * sin

    def forward(self, tokens, pos):
        """tokens: (T,) long; pos: (T,) long positions. Writes K/V at ``pos``; returns the last
        token's logits. Attention covers the whole static cache with a mask (graph-safe)."""
        torch = _torch()
        import torch.nn.functional as F

        cfg = self.cfg
        h, kvh, hd = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        T = tokens.shape[0]
        x = self.embed.index_select(0, tokens)[None]              # (1, T, d)
        mask = self.positions[None, :] <= pos[:, None]            # (T, max_seq) causal over the cache
        for i, lw in enumerate(self.layers):
            y = self._rms(x, lw["attn_norm"])
            qkv = self._mm(y, lw["wqkv"])
            q, k, v = qkv.split([h * hd, kvh * hd, kvh * hd], dim=-1)
            q = self._rope(q.view(1, T, h, hd).transpose(1, 2), pos)
            k = self._rope(k.view(1, T, kvh, hd).transpose(1, 2), pos)
            v = v.view(1, T, kvh, hd).transpose(1, 2)
            self.k_cache[i].index_copy_(2, pos, k)
            self.v_cache[i].index_copy_(2, pos, v)
            kc, vc = self.k_cache[i], self.v_cache[i]
            if kvh != h:
                kc, vc = kc.repeat_interleave(h // kvh, dim=1), vc.repeat_interleave(h // kvh, dim=1)
            a = F.scaled_dot_product_attention(q, kc, vc, attn_mask=mask[None, None])
            x = x + self._mm(a.transpose(1, 2).reshape(1, T, h * hd), lw["wo"])
            y = self._rms(x, lw["ffn_norm"])
            if cfg.ffn_kind == "swiglu":
                gate, up = self._mm(y, lw["w_gate_up"]).chunk(2, dim=-1)
                y = F.silu(gate) * up
            else:
                y = self._mm(y, lw["w_up"])
                y = F.gelu(y) if cfg.ffn_kind == "gelu" else F.relu(y)
            x = x + self._mm(y, lw["w_down"])
        x = self._rms(x[:, -1:], self.final_norm)
        return self._mm(x, self.lm_head)[0, -1]


def decode_flops(cfg: ModelConfig) -> float:
    """2 x active parameters in the layers and LM head: the FLOPs of one decode token (no attention)."""
    d, hd, h, kvh = cfg.d_model, cfg.head_dim, cfg.n_heads, cfg.n_kv_heads
    ffn = (3 if cfg.ffn_kind == "swiglu" else 2) * d * cfg.d_ffn
    return 2.0 * (cfg.n_layers * (d * (h + 2 * kvh) * hd + h * hd * d + ffn) + cfg.vocab * d)


