"""A model config.json is checked for its own consistency; every error names the Hugging Face
key and the file, not an internal field (issue 20, point 4)."""

import json
import re

import pytest

from codesign.cli import main
from codesign.errors import CodesignError
from codesign.workload import load_model_config

LLAMA = {"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
         "intermediate_size": 11008, "num_hidden_layers": 32, "vocab_size": 32000}
GPT2 = {"model_type": "gpt2", "n_embd": 768, "n_head": 12, "n_layer": 12, "vocab_size": 50257}
OPT = {"model_type": "opt", "hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12,
       "ffn_dim": 3072, "vocab_size": 50272}
MIXTRAL = {**LLAMA, "model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2}


@pytest.mark.parametrize("base,change,key,says", [
    (LLAMA, {"num_attention_heads": 30, "num_key_value_heads": 30}, "num_attention_heads",
     "30 does not divide hidden_size 4096"),
    (LLAMA, {"num_key_value_heads": 5}, "num_key_value_heads", "5 does not divide num_attention_heads 32"),
    (LLAMA, {"num_key_value_heads": 64}, "num_key_value_heads", "64 does not divide num_attention_heads 32"),
    (LLAMA, {"hidden_size": 0}, "hidden_size", "must be a positive integer"),
    (LLAMA, {"intermediate_size": -4}, "intermediate_size", "must be a positive integer"),
    (LLAMA, {"num_hidden_layers": True}, "num_hidden_layers", "must be a positive integer"),
    (LLAMA, {"vocab_size": 32000.5}, "vocab_size", "must be a positive integer"),
    (LLAMA, {"vocab_size": "32000"}, "vocab_size", "must be a positive integer"),
    (LLAMA, {"hidden_size": 1 << 40}, "hidden_size", "at most"),
    (LLAMA, {"max_position_embeddings": 0}, "max_position_embeddings", "must be a positive integer"),
    (LLAMA, {"head_dim": 0}, "head_dim", "must be a positive integer"),
    (LLAMA, {"hidden_act": "gelu"}, "hidden_act", "allowed: silu, swish"),
    (LLAMA, {"hidden_act": ["silu"]}, "hidden_act", "allowed: silu, swish"),
    (LLAMA, {"tie_word_embeddings": "false"}, "tie_word_embeddings", "must be true or false"),
    (MIXTRAL, {"num_experts_per_tok": 9}, "num_experts_per_tok", "9 is more than num_local_experts 8"),
    (GPT2, {"n_head": 7}, "n_head", "7 does not divide n_embd 768"),
    (GPT2, {"activation_function": "relu"}, "activation_function", "allowed: gelu"),
    (OPT, {"num_attention_heads": 5}, "num_attention_heads", "5 does not divide hidden_size 768"),
    (OPT, {"activation_function": "tanh"}, "activation_function", "allowed: relu, gelu"),
    (LLAMA, {"model_type": "bert"}, "model_type", "allowed: llama"),
    (LLAMA, {"num_hidden_layers": None}, "num_hidden_layers", "missing"),
])
def test_inconsistent_config_names_the_hf_key_and_the_file(tmp_path, base, change, key, says):
    cfg = {**base, **change}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    p = tmp_path / "my-model" / "config.json"
    p.parent.mkdir()
    p.write_text(json.dumps(cfg))
    with pytest.raises(CodesignError) as e:
        load_model_config(str(p))
    msg = str(e.value)
    assert e.value.field == key and msg.startswith(f"{key}: "), msg
    assert says in msg and f"'{p}'" in msg and "\n" not in msg, msg
    for internal in ("d_model", "n_heads", "n_kv_heads", "d_ffn", "n_layers", "ffn_kind"):
        assert not re.search(rf"\b{internal}\b", msg), msg


def test_the_cli_rejects_it_before_any_number(tmp_path, capsys):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({**LLAMA, "num_attention_heads": 30, "num_key_value_heads": 30}))
    rc = main(["evaluate", "--model", str(p), "--device", "u280", "--wbits", "4", "--abits", "8"])
    cap = capsys.readouterr()
    assert rc == 2 and cap.out == "" and cap.err.count("\n") == 1
    assert cap.err == (f"codesign evaluate: error: num_attention_heads: 30 does not divide hidden_size 4096, so a "
                       f"head has no integer width (in '{p}')\n")


@pytest.mark.parametrize("cfg", [
    LLAMA, GPT2, OPT, MIXTRAL,
    {**LLAMA, "hidden_size": 2304, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256},
    {**LLAMA, "hidden_size": 4096.0},    # a JSON writer's float for an integer
])
def test_consistent_configs_still_load(tmp_path, cfg):
    # head_dim given explicitly (Gemma-style widths) need not be hidden_size / heads
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    m = load_model_config(str(p))
    assert m.n_heads % m.n_kv_heads == 0 and m.d_model >= 1
