"""Workload accounting checked against hand computation (issue 2, acceptance)."""

import json

import pytest

from codesign.design import Quant
from codesign.errors import CodesignError
from codesign.workload import (PRESETS, decode_weight_bytes, layer_ops, load_model_config,
                               param_counts)

LLAMA_LIN = 4 * 4096 * 4096 + 3 * 4096 * 11008          # linear params per LLaMA-2-7B layer
LLAMA_NOUT = 4 * 4096 + 2 * 11008 + 4096                 # output channels per layer


def test_llama2_7b_has_6_74b_parameters():
    p = param_counts(load_model_config("llama2-7b"))
    # 32 x (4*4096^2 + 3*4096*11008 + 2*4096) + 2*32000*4096 + 4096 = 6,738,415,616 (HF model card: 6.74B)
    assert p["total"] == 32 * (LLAMA_LIN + 2 * 4096) + 2 * 32000 * 4096 + 4096 == 6_738_415_616


@pytest.mark.parametrize("wbits", [2, 3, 4, 8, 16])
def test_llama2_7b_decode_weight_bytes_by_hand(wbits):
    q = Quant(wbits=wbits, group=128)
    if wbits == 16:
        layer = LLAMA_LIN * 2 + LLAMA_NOUT * 2                      # int16 + one 16-bit scale per channel
        head = 32000 * 4096 * 2 + 32000 * 2
    else:
        layer = LLAMA_LIN * wbits / 8 + LLAMA_LIN / 128 * 2        # + one 16-bit scale per 128 weights
        head = 32000 * 4096 * wbits / 8 + 32000 * 4096 / 128 * 2
    norms = 2 * 4096 * 2                                            # two int16 gammas per layer
    outside = head + 4096 * 2 + 4096 * 2                            # LM head + final norm + embedding row
    assert decode_weight_bytes(load_model_config("llama2-7b"), q) == pytest.approx(
        32 * (layer + norms) + outside, rel=1e-12)


def test_w4_zero_point_adds_wbits_per_group():
    cfg = load_model_config("llama2-7b")
    a = decode_weight_bytes(cfg, Quant(wbits=4, group=64, zero_point=False))
    b = decode_weight_bytes(cfg, Quant(wbits=4, group=64, zero_point=True))
    groups = 32 * LLAMA_LIN / 64 + 32000 * 4096 / 64
    assert b - a == pytest.approx(groups * 4 / 8)


def test_mixtral_total_and_active():
    p = param_counts(load_model_config("mixtral-8x7b"))
    assert p["total"] / 1e9 == pytest.approx(46.7, abs=0.05)     # Mistral AI: 46.7B total
    assert p["active"] / 1e9 == pytest.approx(12.9, abs=0.05)    # 12.9B active per token


def test_yuan2_m32_total_and_active():
    p = param_counts(load_model_config("yuan2-m32"))
    assert p["total"] / 1e9 == pytest.approx(40.0, rel=0.02)     # arXiv 2405.17976: 40B total
    assert p["active"] / 1e9 == pytest.approx(3.7, rel=0.05)     # 3.7B active (LFA convs not modelled)


def test_moe_decode_reads_only_routed_experts():
    cfg = load_model_config("mixtral-8x7b")
    q = Quant(wbits=16)
    ops = {o.name: o for o in layer_ops(cfg, q, "decode", 1, 100)}
    assert ops["ffn_up"].copies == pytest.approx(2.0)             # batch 1: top-2 of 8
    assert ops["ffn_up"].weight_params == 2 * 4096 * 14336
    ops8 = {o.name: o for o in layer_ops(cfg, q, "decode", 1, 100, batch=8)}
    assert 2 < ops8["ffn_up"].copies < 8                          # more tokens touch more experts


def test_gqa_reduces_kv_bytes_by_head_ratio():
    l3 = load_model_config("llama3-8b")
    mha = PRESETS["llama3-8b"].__class__(**{**l3.__dict__, "n_kv_heads": l3.n_heads, "name": "mha"})
    q = Quant(kvbits=8)
    g = {o.name: o for o in layer_ops(l3, q, "decode", 1, 2048)}
    m = {o.name: o for o in layer_ops(mha, q, "decode", 1, 2048)}
    assert l3.gqa_ratio == 4
    assert m["attn"].kv_read_bytes / g["attn"].kv_read_bytes == pytest.approx(4)
    assert m["kv_store"].kv_write_bytes / g["kv_store"].kv_write_bytes == pytest.approx(4)
    # by hand: 2 (K,V) x 8 heads x (128 x 8 bits + 8-bit shift) / 8 x 2048 keys
    assert g["attn"].kv_read_bytes == 2 * 8 * (128 + 1) * 2048


def test_prefill_macs_and_causal_attention():
    cfg = load_model_config("llama2-7b")
    ops = {o.name: o for o in layer_ops(cfg, Quant(), "prefill", 512, 0)}
    assert ops["wq"].macs == 512 * 4096 * 4096
    assert ops["attn"].macs == 2 * 32 * 128 * (512 * 513 // 2)


@pytest.mark.parametrize("name,total", [("gpt2-124m", 124.4e6), ("gpt2-355m", 354.8e6),
                                        ("gpt2-1.5b", 1557.6e6), ("opt-6.7b", 6658.5e6),
                                        ("tinyllama-1.1b", 1100.0e6), ("qwen2-7b", 7615.6e6),
                                        ("smollm2-135m", 134.5e6), ("llama3.2-1b", 1235.8e6)])
def test_published_parameter_counts(name, total):
    assert param_counts(load_model_config(name))["total"] == pytest.approx(total, rel=2e-3)


def test_hf_config_json_loader(tmp_path):
    cfg = {"model_type": "mistral", "hidden_size": 4096, "num_attention_heads": 32,
           "num_key_value_heads": 8, "intermediate_size": 14336, "num_hidden_layers": 32,
           "vocab_size": 32000, "max_position_embeddings": 32768, "hidden_act": "silu"}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    m = load_model_config(str(p))
    assert (m.n_kv_heads, m.head_dim, m.n_experts) == (8, 128, 1)
    g = tmp_path / "g"
    g.mkdir()
    (g / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 1024, "n_head": 16,
                                               "n_layer": 24, "vocab_size": 50257}))
    assert param_counts(load_model_config(str(g)))["total"] == param_counts(PRESETS["gpt2-355m"])["total"]


@pytest.mark.parametrize("payload,field", [
    ({"model_type": "llama", "num_attention_heads": 32}, "hidden_size"),
    ({"model_type": "llama", "hidden_size": -1}, "hidden_size"),
    ({"model_type": "bert"}, "model_type"),
    ({"model_type": "opt", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
      "vocab_size": 10, "activation_function": "tanh"}, "activation_function"),
])
def test_malformed_config_names_the_key(tmp_path, payload, field):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(CodesignError) as e:
        load_model_config(str(p))
    assert e.value.field == field


def test_unknown_model_and_bad_json(tmp_path):
    with pytest.raises(CodesignError, match="unknown model"):
        load_model_config("llama9-1t")
    p = tmp_path / "config.json"
    p.write_text("{not json")
    with pytest.raises(CodesignError, match="not valid JSON"):
        load_model_config(str(p))
