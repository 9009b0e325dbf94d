"""Canonical weight names used by every loader and by the torch LLaMA.

One decoder layer ``i`` holds::

    layers.{i}.attn_norm        RMSNorm gain before attention        [d_model]
    layers.{i}.attn.wq          query projection  [n_heads*head_dim, d_model]
    layers.{i}.attn.wk          key projection    [n_kv_heads*head_dim, d_model]
    layers.{i}.attn.wv          value projection  [n_kv_heads*head_dim, d_model]
    layers.{i}.attn.wo          output projection [d_model, n_heads*head_dim]
    layers.{i}.ffn_norm         RMSNorm gain before the FFN          [d_model]
    layers.{i}.ffn.w_gate       SwiGLU gate       [d_ffn, d_model]
    layers.{i}.ffn.w_up         SwiGLU up         [d_ffn, d_model]
    layers.{i}.ffn.w_down       down projection   [d_model, d_ffn]

plus ``tok_embeddings`` [vocab, d_model], ``norm`` [d_model] and, only when the
embeddings are not tied, ``output`` [vocab, d_model]. Linear weights are stored
like ``torch.nn.Linear.weight``: [out_features, in_features]. Q and K rows are in
the Hugging Face order (rotate-half RoPE: the first half of each head's
dimensions pairs with the second half).
"""

LINEARS = ("attn.wq", "attn.wk", "attn.wv", "attn.wo", "ffn.w_gate", "ffn.w_up", "ffn.w_down")
NORMS = ("attn_norm", "ffn_norm")


def layer_names(i: int) -> list[str]:
    return [f"layers.{i}.{n}" for n in NORMS + LINEARS]


# GGUF (llama.cpp) tensor names -> canonical names; '{i}' is the block index.
GGUF_NAMES = {
    "token_embd.weight": "tok_embeddings",
    "output_norm.weight": "norm",
    "output.weight": "output",
    "blk.{i}.attn_norm.weight": "layers.{i}.attn_norm",
    "blk.{i}.attn_q.weight": "layers.{i}.attn.wq",
    "blk.{i}.attn_k.weight": "layers.{i}.attn.wk",
    "blk.{i}.attn_v.weight": "layers.{i}.attn.wv",
    "blk.{i}.attn_output.weight": "layers.{i}.attn.wo",
    "blk.{i}.ffn_norm.weight": "layers.{i}.ffn_norm",
    "blk.{i}.ffn_gate.weight": "layers.{i}.ffn.w_gate",
    "blk.{i}.ffn_up.weight": "layers.{i}.ffn.w_up",
    "blk.{i}.ffn_down.weight": "layers.{i}.ffn.w_down",
}

# Hugging Face LlamaForCausalLM parameter names -> canonical names.
HF_NAMES = {
    "model.embed_tokens.weight": "tok_embeddings",
    "model.norm.weight": "norm",
    "lm_head.weight": "output",
    "model.layers.{i}.input_layernorm.weight": "layers.{i}.attn_norm",
    "model.layers.{i}.self_attn.q_proj.weight": "layers.{i}.attn.wq",
    "model.layers.{i}.self_attn.k_proj.weight": "layers.{i}.attn.wk",
    "model.layers.{i}.self_attn.v_proj.weight": "layers.{i}.attn.wv",
    "model.layers.{i}.self_attn.o_proj.weight": "layers.{i}.attn.wo",
    "model.layers.{i}.post_attention_layernorm.weight": "layers.{i}.ffn_norm",
    "model.layers.{i}.mlp.gate_proj.weight": "layers.{i}.ffn.w_gate",
    "model.layers.{i}.mlp.up_proj.weight": "layers.{i}.ffn.w_up",
    "model.layers.{i}.mlp.down_proj.weight": "layers.{i}.ffn.w_down",
}


def rename(name: str, table: dict[str, str]) -> str | None:
    """Map a checkpoint tensor name to its canonical name (None if unknown)."""
    if name in table:
        return table[name]
    parts = name.split(".")
    for idx, p in enumerate(parts):
        if p.isdigit():
            pattern = ".".join(parts[:idx] + ["{i}"] + parts[idx + 1:])
            if pattern in table:
                return table[pattern].replace("{i}", p)
            break
    return None


def expected_names(n_layers: int, tied: bool) -> list[str]:
    names = ["tok_embeddings", "norm"] + ([] if tied else ["output"])
    for i in range(n_layers):
        names += layer_names(i)
    return names
