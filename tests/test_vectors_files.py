"""Golden test vectors: written, read back, replayed; corruption, truncation and absence detected."""

import json

import numpy as np
import pytest

from codesign.design import Design, Hardware, Quant
from codesign.errors import CodesignError
from codesign.vectors import random_config, read_vectors, replay, write_vectors


@pytest.fixture(scope="module")
def vec_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("vec") / "v"
    design = Design(model="smollm2-135m", device="u280", quant=Quant(4, 8, 4, 32, True), hw=Hardware(rows=8, cols=16))
    write_vectors(design, None, 0, out, random_dims="d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96",
                  context=10)
    return out


def test_write_read_replay(vec_dir):
    v = read_vectors(vec_dir)
    m = v.manifest
    assert m["phase"] == "decode" and m["context"] == 10 and m["tokens"] == 1
    assert [s["op"] for s in m["steps"]][:3] == ["LOAD", "NORM", "GEMV"]
    assert len(m["steps"]) == m["instructions"] == v.words.size // 16
    assert v.inputs.shape == (1, 64) and v.output.shape == (1, 64)
    # the instructions sit at gmem_io[0]; the last step's STORE bytes are the output
    assert v.files["gmem_io.bin"][:len(v.files["instr.bin"])] == v.files["instr.bin"]
    assert np.array_equal(v.expected(len(m["steps"]) - 1), np.frombuffer(v.files["output.bin"], np.uint8))
    assert replay(v) == []


def _copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def test_corrupted_file_detected(vec_dir, tmp_path):
    d = _copy(vec_dir, tmp_path / "c")
    p = d / "gmem_w.bin"
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0x01
    p.write_bytes(bytes(b))
    with pytest.raises(CodesignError, match="corrupted"):
        read_vectors(d)


def test_truncated_and_missing_detected(vec_dir, tmp_path):
    d = _copy(vec_dir, tmp_path / "t")
    p = d / "expected" / "002_gemv_wq.bin"
    p.write_bytes(p.read_bytes()[:-4])
    with pytest.raises(CodesignError, match="truncated"):
        read_vectors(d)
    p.unlink()
    with pytest.raises(CodesignError, match="missing"):
        read_vectors(d)
    (d / "manifest.json").write_text("{not json")
    with pytest.raises(CodesignError, match="not valid JSON"):
        read_vectors(d)
    with pytest.raises(CodesignError, match="not found"):
        read_vectors(tmp_path / "nowhere")


def test_wrong_expected_value_caught_by_replay(vec_dir, tmp_path):
    d = _copy(vec_dir, tmp_path / "r")
    man = json.loads((d / "manifest.json").read_text())
    # a consistent manifest but a wrong expected value: hashes match, replay finds the step
    name = man["steps"][4]["file"]
    arr = np.frombuffer((d / name).read_bytes(), dtype="<i4").copy()
    arr[0] += 1
    (d / name).write_bytes(arr.tobytes())
    import hashlib
    man["files"][name]["sha256"] = hashlib.sha256(arr.tobytes()).hexdigest()
    (d / "manifest.json").write_text(json.dumps(man))
    assert replay(read_vectors(d)) == [4]


def test_refuses_existing_and_bad_args(vec_dir):
    design = Design(model="x", device="u280", hw=Hardware(rows=8, cols=16))
    with pytest.raises(CodesignError, match="already exists"):
        write_vectors(design, None, 0, vec_dir, random_dims="d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=32",
                      context=4)
    with pytest.raises(CodesignError, match="--random"):
        random_config("d_model=64,colour=3")
    with pytest.raises(CodesignError, match="neither a known checkpoint"):
        write_vectors(design, "not-a-model", 0, vec_dir.parent / "n", context=4)


def test_moe_prefill_vectors(tmp_path):
    design = Design(model="x", device="u280", quant=Quant(8, 8, 8, 32, False), hw=Hardware(rows=4, cols=32))
    m = write_vectors(design, None, 0, tmp_path / "moe", tokens=3, context=5,
                      random_dims="d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=64,n_experts=4,top_k=2")
    assert m["phase"] == "prefill" and any(s["layer_op"] == "router" for s in m["steps"])
    assert replay(read_vectors(tmp_path / "moe")) == []


def test_rope_records_k_too(vec_dir):
    v = read_vectors(vec_dir)
    i = next(s["index"] for s in v.manifest["steps"] if s["op"] == "ROPE")
    k = v.expected2(i)
    s = v.manifest["steps"][i]
    assert k is not None and k.size == s["elements2"] == 2 * 16 and s["offset2"] != s["offset"]
    # the K the KVSTORE quantized is this rotated K: its exponent row in the KV image matches
    from codesign.quant import numerics as N
    _, e = N.quantize_kv(k.reshape(1, 2, 16), 4)
    kv_step = next(s for s in v.manifest["steps"] if s["op"] == "KVSTORE")
    region = v.expected(kv_step["index"])
    cap, R, pos = v.manifest["kv_capacity"], 8, v.manifest["context"] - 1   # rows of 16 x 4 bits
    for h in range(2):    # K exponents follow the K and V rows of both heads: [head][position]
        assert region[2 * 2 * cap * R + h * cap + pos] == e[0, h]


def _write_hf_folder(folder, rng, d=32, heads=2, kv=1, ffn=48, vocab=50, layers=2):
    """A tiny LLaMA checkpoint in the Hugging Face layout (config.json + model.safetensors)."""
    import struct
    folder.mkdir()
    hd = d // heads
    cfg = {"model_type": "llama", "hidden_size": d, "num_attention_heads": heads, "num_key_value_heads": kv,
           "num_hidden_layers": layers, "intermediate_size": ffn, "vocab_size": vocab, "tie_word_embeddings": True,
           "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu"}
    (folder / "config.json").write_text(json.dumps(cfg))
    t = {"model.embed_tokens.weight": (vocab, d), "model.norm.weight": (d,)}
    for i in range(layers):
        p = f"model.layers.{i}."
        t.update({p + "input_layernorm.weight": (d,), p + "post_attention_layernorm.weight": (d,),
                  p + "self_attn.q_proj.weight": (heads * hd, d), p + "self_attn.k_proj.weight": (kv * hd, d),
                  p + "self_attn.v_proj.weight": (kv * hd, d), p + "self_attn.o_proj.weight": (d, heads * hd),
                  p + "mlp.gate_proj.weight": (ffn, d), p + "mlp.up_proj.weight": (ffn, d),
                  p + "mlp.down_proj.weight": (d, ffn)})
    header, blobs, off = {}, [], 0
    for name, shape in t.items():
        a = (rng.normal(1.0, 0.1, shape) if len(shape) == 1 else rng.normal(0, 0.1, shape)).astype("<f4")
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_vectors_from_hf_folder_layer1(tmp_path):
    _write_hf_folder(tmp_path / "hf", np.random.default_rng(3))
    design = Design(model=str(tmp_path / "hf"), device="u280", quant=Quant(8, 8, 8, 32, False),
                    hw=Hardware(rows=8, cols=16))
    man = write_vectors(design, None, 1, tmp_path / "v", context=7)
    assert man["model"]["d_model"] == 32 and man["layer"] == 1 and "seeded" in man["source"]["text"]
    assert replay(read_vectors(tmp_path / "v")) == []
    (tmp_path / "hf" / "model.safetensors").write_bytes(b"\x08")
    with pytest.raises(CodesignError):
        write_vectors(design, None, 0, tmp_path / "w", context=4)


def test_vectors_are_deterministic(vec_dir, tmp_path):
    design = Design(model="smollm2-135m", device="u280", quant=Quant(4, 8, 4, 32, True), hw=Hardware(rows=8, cols=16))
    again = write_vectors(design, None, 0, tmp_path / "again",
                          random_dims="d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96", context=10)
    assert again["files"] == read_vectors(vec_dir).manifest["files"]
