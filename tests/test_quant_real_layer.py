"""SmolLM2-135M layer 0 with real weights and real text: the integer layer within its documented
bound of the float reference, the instruction list exactly equal to the golden layer, and clear
errors for a missing, truncated or unsupported checkpoint."""

import numpy as np
import pytest

from codesign.design import Design, Quant
from codesign.errors import CodesignError
from codesign.quant.layer_error import FLOAT_BOUNDS, compare_layer
from codesign.quant.real_layer import load_layers, real_token_ids
from codesign.vectors import LayerSource, read_vectors, replay, write_vectors

CONTEXT = 64


@pytest.fixture(scope="module")
def real():
    layers = load_layers("smollm2-135m", 0)
    ids = real_token_ids(layers.path, CONTEXT, layers.reader)
    return layers, ids


def _x(real):
    layers, ids = real
    return layers.embeddings[np.asarray(ids)].astype(np.float64)


@pytest.mark.parametrize("bits", sorted(FLOAT_BOUNDS))
def test_integer_layer_within_documented_bound(real, bits):
    layers, _ = real
    assert layers.cfg.d_model == 576 and layers.cfg.n_kv_heads == 3
    w, a, kv = bits
    rep = compare_layer(layers.layers[0], layers.cfg, Quant(w, a, kv, 128, False), _x(real),
                        rope_theta=layers.rope_theta, norm_eps=layers.norm_eps)
    sqnr, cos = FLOAT_BOUNDS[bits]
    for part in ("update", "decode_update"):
        assert rep["float"][part]["sqnr_db"] >= sqnr, rep["float"]
        assert rep["float"][part]["cosine"] >= cos, rep["float"]


def test_instruction_list_equals_golden_on_real_layer(real, tmp_path):
    layers, ids = real
    src = LayerSource(layers.cfg, layers.layers[0], _x(real), layers.rope_theta, layers.norm_eps,
                      {"kind": "checkpoint", "token_ids": ids})
    design = Design(model="smollm2-135m", device="u280")        # W4 A8 KV8 g128, MPE 32 x 64
    # write_vectors runs the compiled words over the packed images and checks the result against the
    # golden layer bit for bit (it raises otherwise); the replay re-runs them from the files
    man = write_vectors(design, None, 0, tmp_path / "v", context=CONTEXT, source=src)
    vec = read_vectors(tmp_path / "v")
    assert man["context"] == CONTEXT and vec.output.shape == (1, 576)
    assert replay(vec) == []


def test_checkpoint_errors(tmp_path, real):
    layers, _ = real
    with pytest.raises(CodesignError, match="not found"):
        load_layers(tmp_path / "missing.gguf")
    trunc = tmp_path / "trunc.gguf"
    with open(layers.path, "rb") as f:
        trunc.write_bytes(f.read(64 << 10))   # cut inside the metadata (a full parse takes ~5 s)
    with pytest.raises(CodesignError, match="truncated|unreadable"):
        load_layers(trunc)
    notg = tmp_path / "junk.gguf"
    notg.write_bytes(b"JUNK" * 100)
    with pytest.raises(CodesignError, match="not a GGUF"):
        load_layers(notg)
    import gguf
    other = tmp_path / "bert.gguf"
    wr = gguf.GGUFWriter(str(other), "bert")
    wr.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    with pytest.raises(CodesignError, match="unsupported architecture"):
        load_layers(other)


def test_accuracy_models_match_golden(real):
    """The accuracy table's torch LLaMA (float and fake-quantized through codesign.quant.numerics)
    against this float reference and the integer golden layer on the same real inputs: the float
    layers agree to float32 precision, and the fake-quantized layer has the golden layer's error."""
    import torch

    from codesign.quant import numerics as N
    from codesign.quant.float_ref import FloatCache, error_metrics, float_layer
    from codesign.quant.golden import prepare_layer
    from codesign.quant.llm.model import LlamaLM, rope_tables
    from codesign.quant.llm.quantized import QuantScheme

    layers, _ = real
    xi = N.to_fixed(_x(real))
    xq = N.from_fixed(xi)
    cfg = dict(layers.ckpt_cfg, n_layers=1)
    w = {"tok_embeddings": torch.from_numpy(layers.embeddings.copy())}
    w.update({f"layers.0.{k}": torch.from_numpy(v.copy()) for k, v in layers.layers[0].items()})
    cos, sin = rope_tables(torch.arange(CONTEXT), layers.cfg.head_dim, layers.rope_theta)
    xt = torch.from_numpy(xq.astype(np.float32))[None]
    ref = float_layer(layers.layers[0], layers.cfg, xq, 0, FloatCache(), rope_theta=layers.rope_theta,
                      norm_eps=layers.norm_eps)
    theirs = LlamaLM(cfg, w).layer(0, xt, cos, sin)[0].double().numpy()
    assert error_metrics(theirs - xq, ref - xq)["sqnr_db"] > 100
    for q in (Quant(8, 8, 8, 128, False), Quant(4, 8, 8, 128, False)):
        layer = prepare_layer(layers.layers[0], layers.cfg, q, rope_theta=layers.rope_theta, norm_eps=layers.norm_eps)
        gold = N.from_fixed(layer.forward(xi, 0, layer.new_cache(CONTEXT)))
        scheme = QuantScheme(q.wbits, q.abits, q.kvbits, q.group, q.zero_point)
        fq = LlamaLM(cfg, w, scheme=scheme).layer(0, xt, cos, sin)[0].double().numpy()
        g_err = error_metrics(gold - xq, ref - xq)["sqnr_db"]
        f_err = error_metrics(fq - xq, ref - xq)["sqnr_db"]
        print(f"W{q.wbits}A{q.abits}KV{q.kvbits}: golden {g_err:.2f} dB, fake-quantized torch {f_err:.2f} dB")
        assert abs(g_err - f_err) < 1.0, (q, g_err, f_err)
