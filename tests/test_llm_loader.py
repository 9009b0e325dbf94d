"""Loaders: tiny LLaMA checkpoints written by the test (GGUF and HF safetensors), and error paths."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from codesign.errors import CodesignError
from codesign.quant.llm import load_checkpoint
from codesign.quant.llm.gguf_loader import permute_rotary_rows, unpermute_rotary_rows
from codesign.quant.llm.model import LlamaLM
from codesign.quant.llm.naming import expected_names

TINY = dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2,
            intermediate_size=48, vocab_size=61, rms_norm_eps=1e-5, rope_theta=10000.0,
            max_position_embeddings=128, tie_word_embeddings=False)


def tiny_hf_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    d, h, kv, f, v = (TINY[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads",
                                         "intermediate_size", "vocab_size"))
    hd = d // h
    w = {"model.embed_tokens.weight": rng.normal(0, 1, (v, d)), "model.norm.weight": 1 + 0.1 * rng.normal(size=d),
         "lm_head.weight": rng.normal(0, 0.2, (v, d))}
    for i in range(TINY["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + 0.1 * rng.normal(size=d)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rng.normal(size=d)
        w[p + "self_attn.q_proj.weight"] = rng.normal(0, 0.2, (h * hd, d))
        w[p + "self_attn.k_proj.weight"] = rng.normal(0, 0.2, (kv * hd, d))
        w[p + "self_attn.v_proj.weight"] = rng.normal(0, 0.2, (kv * hd, d))
        w[p + "self_attn.o_proj.weight"] = rng.normal(0, 0.2, (d, h * hd))
        w[p + "mlp.gate_proj.weight"] = rng.normal(0, 0.2, (f, d))
        w[p + "mlp.up_proj.weight"] = rng.normal(0, 0.2, (f, d))
        w[p + "mlp.down_proj.weight"] = rng.normal(0, 0.2, (d, f))
    return {k: v.astype(np.float32) for k, v in w.items()}


def write_safetensors(path, tensors: dict[str, np.ndarray], bf16: tuple = ()) -> None:
    """The safetensors format by hand: u64 header length, JSON header, raw little-endian bytes."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        if name in bf16:
            raw = (arr.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
            dtype = "BF16"
        else:
            raw, dtype = arr.astype(np.float32).tobytes(), "F32"
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


def write_hf_folder(folder, weights, model_type="llama", **extra):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({**TINY, "model_type": model_type, **extra}))
    names = sorted(weights)
    write_safetensors(folder / "model-00001.safetensors", {n: weights[n] for n in names[: len(names) // 2]})
    write_safetensors(folder / "model-00002.safetensors", {n: weights[n] for n in names[len(names) // 2:]},
                      bf16=("model.norm.weight",))


def write_tiny_gguf(path, weights, arch="llama"):
    import gguf

    d, h, kv = TINY["hidden_size"], TINY["num_attention_heads"], TINY["num_key_value_heads"]
    wr = gguf.GGUFWriter(str(path), arch)
    wr.add_block_count(TINY["num_hidden_layers"])
    wr.add_context_length(TINY["max_position_embeddings"])
    wr.add_embedding_length(d)
    wr.add_feed_forward_length(TINY["intermediate_size"])
    wr.add_head_count(h)
    wr.add_head_count_kv(kv)
    wr.add_rope_freq_base(TINY["rope_theta"])
    wr.add_layer_norm_rms_eps(TINY["rms_norm_eps"])
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
                 "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                 "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
                 "mlp.down_proj": "ffn_down"}
    for name, arr in weights.items():
        if name in names:
            gname = names[name]
        else:
            i, rest = name.split(".")[2], ".".join(name.split(".")[3:-1])
            gname = f"blk.{i}.{per_layer[rest]}.weight"
        if gname.endswith("attn_q.weight"):   # llama.cpp's converter permutes Q/K rows for its RoPE
            arr = permute_rotary_rows(arr, h)
        elif gname.endswith("attn_k.weight"):
            arr = permute_rotary_rows(arr, kv)
        wr.add_tensor(gname, np.ascontiguousarray(arr))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()


def test_unpermute_inverts_llama_cpp_permutation():
    w = np.random.default_rng(1).normal(size=(4 * 16, 5)).astype(np.float32)
    assert np.array_equal(unpermute_rotary_rows(permute_rotary_rows(w, 4), 4), w)
    assert not np.array_equal(permute_rotary_rows(w, 4), w)


def test_safetensors_folder_loads(tmp_path):
    w = tiny_hf_weights()
    write_hf_folder(tmp_path / "ckpt", w)
    cfg, weights = load_checkpoint(tmp_path / "ckpt")
    assert cfg["n_layers"] == 2 and cfg["n_kv_heads"] == 2 and cfg["head_dim"] == 8 and not cfg["tied_embeddings"]
    assert sorted(weights) == sorted(expected_names(2, tied=False))
    assert torch.equal(weights["layers.1.attn.wq"], torch.from_numpy(w["model.layers.1.self_attn.q_proj.weight"]))
    # BF16 tensor: widened exactly (the top 16 bits of the float32)
    bf = (w["model.norm.weight"].view(np.uint32) & 0xFFFF0000).view(np.float32)
    assert torch.equal(weights["norm"], torch.from_numpy(bf))


def test_gguf_and_safetensors_give_the_same_model(tmp_path):
    """The GGUF path undoes llama.cpp's Q/K permutation: both checkpoints compute the same logits."""
    w = tiny_hf_weights(2)
    write_hf_folder(tmp_path / "hf", w)
    write_tiny_gguf(tmp_path / "tiny.gguf", w)
    cfg_h, w_h = load_checkpoint(tmp_path / "hf")
    cfg_g, w_g = load_checkpoint(tmp_path / "tiny.gguf")
    assert cfg_g["n_heads"] == cfg_h["n_heads"] and cfg_g["tied_embeddings"] is False
    assert torch.equal(w_g["layers.0.attn.wk"], w_h["layers.0.attn.wk"])
    cfg_g["norm_eps"] = cfg_h["norm_eps"]
    w_g["norm"] = w_h["norm"]   # the HF folder stores this one as BF16
    toks = torch.tensor([[1, 5, 9, 2, 60, 33, 7]])
    lh = LlamaLM(cfg_h, w_h).logits(toks)
    lg = LlamaLM(cfg_g, w_g).logits(toks)
    assert torch.allclose(lh, lg, atol=1e-4), (lh - lg).abs().max()


def test_int16_quantization_matches_float(tmp_path):
    """W16 A16 KV16 through the golden quantizers is the float model up to int16 rounding."""
    from codesign.quant.llm.quantized import QuantScheme

    write_hf_folder(tmp_path / "hf", tiny_hf_weights(3))
    cfg, w = load_checkpoint(tmp_path / "hf")
    toks = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    ref = LlamaLM(cfg, w).logits(toks)
    q16 = LlamaLM(cfg, w, QuantScheme(16, 16, 16, 32)).logits(toks)
    q4 = LlamaLM(cfg, w, QuantScheme(4, 8, 8, 32)).logits(toks)
    err16, err4 = (q16 - ref).abs().max(), (q4 - ref).abs().max()
    assert err16 < 2e-3 * ref.abs().max(), err16
    assert err4 > 10 * err16


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CodesignError, match="not found"):
        load_checkpoint(tmp_path / "nope.gguf")


def test_truncated_gguf(tmp_path):
    w = tiny_hf_weights()
    write_tiny_gguf(tmp_path / "t.gguf", w)
    data = (tmp_path / "t.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[: len(data) - 500])
    with pytest.raises(CodesignError) as e:
        load_checkpoint(tmp_path / "cut.gguf")
    assert "cut.gguf" in str(e.value) and "truncated" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "head.gguf").write_bytes(data[:40])
    with pytest.raises(CodesignError, match="head.gguf"):
        load_checkpoint(tmp_path / "head.gguf")


def test_not_a_gguf(tmp_path):
    (tmp_path / "x.gguf").write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(CodesignError, match="not a GGUF"):
        load_checkpoint(tmp_path / "x.gguf")


def test_unsupported_architecture_gguf(tmp_path):
    write_tiny_gguf(tmp_path / "g.gguf", tiny_hf_weights(), arch="gpt2")
    with pytest.raises(CodesignError, match="unsupported architecture 'gpt2'"):
        load_checkpoint(tmp_path / "g.gguf")


def test_unsupported_architecture_hf(tmp_path):
    write_hf_folder(tmp_path / "m", tiny_hf_weights(), model_type="gpt_neox")
    with pytest.raises(CodesignError, match="unsupported architecture model_type='gpt_neox'"):
        load_checkpoint(tmp_path / "m")


def test_truncated_safetensors(tmp_path):
    w = tiny_hf_weights()
    write_hf_folder(tmp_path / "m", w)
    f = tmp_path / "m" / "model-00002.safetensors"
    f.write_bytes(f.read_bytes()[:-64])
    with pytest.raises(CodesignError, match="model-00002.safetensors.*truncated"):
        load_checkpoint(tmp_path / "m")


def test_missing_tensor_hf(tmp_path):
    w = tiny_hf_weights()
    del w["model.layers.1.mlp.up_proj.weight"]
    write_hf_folder(tmp_path / "m", w)
    with pytest.raises(CodesignError, match="missing, first: 'layers.1.ffn.w_up'"):
        load_checkpoint(tmp_path / "m")


def test_smoothing_keeps_the_float_model_and_shrinks_outliers(tmp_path):
    """SmoothQuant factors folded into gains/weights: same logits, flatter per-channel activation maxima."""
    from codesign.quant.llm.smoothing import activation_maxima, smooth_weights

    w = tiny_hf_weights(4)
    w["model.layers.0.input_layernorm.weight"][3] = 25.0   # an outlier channel at the attention input
    write_hf_folder(tmp_path / "hf", w)
    cfg, weights = load_checkpoint(tmp_path / "hf")
    toks = torch.tensor([[5, 3, 8, 13, 21, 34, 55, 2, 7, 1]])
    calib = torch.tensor([[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]])
    mx = activation_maxima(cfg, weights, calib)
    sw = smooth_weights(cfg, weights, mx, alpha=0.5)
    ref, sm = LlamaLM(cfg, weights).logits(toks), LlamaLM(cfg, sw).logits(toks)
    assert torch.allclose(ref, sm, atol=1e-4 * ref.abs().max()), (ref - sm).abs().max()
    before = mx[(0, "attn_in")]
    after = activation_maxima(cfg, sw, calib)[(0, "attn_in")]
    assert float(after.max() / after.median()) < float(before.max() / before.median()) / 2


def test_sweep_on_a_tiny_model(tmp_path):
    """measure(): baseline once, every requested configuration once, results handed over as they come."""
    from codesign.quant.llm.sweep import key, measure, priority_order

    write_hf_folder(tmp_path / "hf", tiny_hf_weights(5))
    cfg, w = load_checkpoint(tmp_path / "hf")
    windows = torch.randint(0, TINY["vocab_size"], (2, 12), generator=torch.Generator().manual_seed(0))
    calib = torch.randint(0, TINY["vocab_size"], (1, 12), generator=torch.Generator().manual_seed(1))
    configs = priority_order([(2, 8, 8, 32), (8, 8, 8, 32), (8, 16, 16, 32), (8, 4, 8, 32)])
    seen = []
    base, res = measure(cfg, w, windows, configs, calib, alpha=0.5,
                        on_result=lambda b, r: seen.append(len(r)), on_progress=lambda k: None)
    assert seen == [0, 1, 2, 3, 4]
    # A8 KV8 first, then A16 KV16, then A4/KV4, W2 (which breaks a real model) last
    assert [key(c) for c in configs] == ["w8a8kv8g32", "w8a16kv16g32", "w8a4kv8g32", "w2a8kv8g32"]
    b = base["ppl"]
    assert len(base["window_nll"]) == 2 and all(len(r["window_nll"]) == 2 for r in res.values())
    assert abs(res["w8a16kv16g32"]["ppl"] / b - 1) < 0.01
    # random weights: W2 moves perplexity (either way) far more than INT16 activations do
    assert abs(res["w2a8kv8g32"]["ppl"] / b - 1) > 5 * abs(res["w8a16kv16g32"]["ppl"] / b - 1)
    # a second call with the results done measures nothing new
    base2, res2 = measure(cfg, w, windows, configs, calib, done=res, baseline=base)
    assert res2 == res and base2 == base
