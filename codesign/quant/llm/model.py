"""A LLaMA decoder in plain torch (float32): RMSNorm, rotate-half RoPE with the checkpoint's theta,
grouped-query attention (causal), SwiGLU FFN, residuals, tied or separate LM head.

Quantization hooks: a ``scheme`` object (see ``quantized.QuantScheme``) may replace every decoder
linear weight once (``scheme.weight``), quantize the input of every decoder linear layer per token
(``scheme.activation``), quantize the query heads (``scheme.query``), and store K (after RoPE) and V
at KV bits (``scheme.kv``). Embeddings,
final norm and LM head stay as the checkpoint has them: the accuracy table measures the decoder
layers, which are what the FPGA processor executes.
"""

from __future__ import annotations

import torch

from .naming import LINEARS


def rms_norm(x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rope_tables(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    ang = positions.to(torch.float64)[:, None] * inv[None, :]
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().to(torch.float32), ang.sin().to(torch.float32)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [B, H, T, hd]; rotate-half convention (Hugging Face LlamaRotaryEmbedding)."""
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


class LlamaLM:
    def __init__(self, cfg: dict, weights: dict[str, torch.Tensor], scheme=None):
        self.cfg = cfg
        self.scheme = scheme
        self.w = dict(weights)
        if scheme is not None:
            for i in range(cfg["n_layers"]):
                for lin in LINEARS:
                    name = f"layers.{i}.{lin}"
                    self.w[name] = scheme.weight(name, weights[name])
        self.lm_head = self.w["tok_embeddings"] if cfg["tied_embeddings"] else self.w["output"]

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.scheme is None else self.scheme.activation(x)

    def _kv(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.scheme is None else self.scheme.kv(x)

    def _query(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.scheme is None or not hasattr(self.scheme, "query") else self.scheme.query(x)

    def layer(self, i: int, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        c, w, p = self.cfg, self.w, f"layers.{i}."
        B, T, _ = x.shape
        H, KV, hd = c["n_heads"], c["n_kv_heads"], c["head_dim"]
        h = self._act(rms_norm(x, w[p + "attn_norm"], c["norm_eps"]))
        q = (h @ w[p + "attn.wq"].T).view(B, T, H, hd).transpose(1, 2)
        k = (h @ w[p + "attn.wk"].T).view(B, T, KV, hd).transpose(1, 2)
        v = (h @ w[p + "attn.wv"].T).view(B, T, KV, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q = self._query(q)               # the ATTN unit reads Q per token-head at ABITS
        k, v = self._kv(k), self._kv(v)  # the KV cache holds post-RoPE K and V
        rep = H // KV
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        att = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        att = att.transpose(1, 2).reshape(B, T, H * hd)
        x = x + self._act(att) @ w[p + "attn.wo"].T
        h = self._act(rms_norm(x, w[p + "ffn_norm"], c["norm_eps"]))
        g = torch.nn.functional.silu(h @ w[p + "ffn.w_gate"].T) * (h @ w[p + "ffn.w_up"].T)
        return x + self._act(g) @ w[p + "ffn.w_down"].T

    def hidden(self, tokens: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        """Final-norm hidden states [B, T, d_model] for token ids [B, T]."""
        c = self.cfg
        T = tokens.shape[1]
        cos, sin = rope_tables(torch.arange(start_pos, start_pos + T), c["head_dim"], c["rope_theta"])
        x = self.w["tok_embeddings"][tokens]
        for i in range(c["n_layers"]):
            x = self.layer(i, x, cos, sin)
        return rms_norm(x, self.w["norm"], c["norm_eps"])

    @torch.no_grad()
    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.hidden(tokens) @ self.lm_head.T

    @torch.no_grad()
    def nll(self, tokens: torch.Tensor) -> tuple[float, int]:
        """Summed next-token negative log-likelihood (nats) over [B, T] windows, and the count."""
        h = self.hidden(tokens)[:, :-1]
        target = tokens[:, 1:]
        total = 0.0
        for b in range(h.shape[0]):  # one window at a time keeps the [T, vocab] logits small
            logp = torch.log_softmax(h[b] @ self.lm_head.T, dim=-1)
            total += float(-logp.gather(-1, target[b, :, None]).sum(dtype=torch.float64))
        return total, int(target.numel())

    @torch.no_grad()
    def generate(self, tokens: list[int], n: int) -> list[int]:
        """Greedy continuation (recomputes the prefix each step: simple, fine for a sanity check)."""
        out = list(tokens)
        for _ in range(n):
            nxt = int((self.hidden(torch.tensor([out]))[0, -1] @ self.lm_head.T).argmax())
            out.append(nxt)
        return out
