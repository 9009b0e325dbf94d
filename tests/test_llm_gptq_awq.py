"""GPTQ and AWQ (codesign/quant/llm/gptq.py, awq.py): lower layer error than RTN, outputs that are the
numerics contract's integers (valid WeightQ, bit-exact through numerics.gemv), AWQ's folding leaves the
float model unchanged, determinism, and the sweep's ``method`` argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codesign.quant import numerics as N
from codesign.quant.llm import awq, gptq
from codesign.quant.llm import wquant as WQ
from codesign.quant.llm.model import LlamaLM
from codesign.quant.llm.naming import LINEARS
from codesign.quant.llm.quantized import PrequantizedWeights, QuantScheme

from test_llm_loader import TINY, tiny_hf_weights, write_hf_folder


def correlated_layer(seed=0, n=1024, d=256, out=48):
    """A random linear layer and inputs with correlated channels and a few outlier channels."""
    rng = np.random.default_rng(seed)
    mix = np.eye(d) + 2.0 * rng.normal(size=(d, d)) / np.sqrt(d)
    x = rng.normal(size=(n, d)) @ mix
    x[:, :4] *= 8.0                                   # outlier channels (as LLM activations have)
    w = rng.normal(0, 0.05, (out, d))
    return torch.from_numpy(w), torch.from_numpy(x)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    w = tiny_hf_weights(7)
    w["model.layers.0.input_layernorm.weight"][3] = 25.0     # an outlier channel
    write_hf_folder(d / "hf", w)
    from codesign.quant.llm import load_checkpoint
    cfg, weights = load_checkpoint(d / "hf")
    cal = torch.randint(0, TINY["vocab_size"], (4, 32), generator=torch.Generator().manual_seed(1))
    toks = torch.randint(0, TINY["vocab_size"], (2, 24), generator=torch.Generator().manual_seed(2))
    return cfg, weights, cal, toks


def assert_valid(wq: N.WeightQ, bits: int, group: int, zp: bool, in_f: int):
    assert (wq.bits, wq.group, wq.zero_point, wq.in_features) == (bits, group, zp, in_f)
    qm = (1 << bits) - 1 if zp else (1 << (bits - 1)) - 1
    lo = 0 if zp else -qm
    assert wq.q.dtype == np.int64 and lo <= wq.q.min() and wq.q.max() <= qm
    assert 1 <= wq.mant.min() and wq.mant.max() <= (1 << N.SCALE_BITS) - 1
    assert wq.zero.min() >= 0 and wq.zero.max() <= (qm if zp else 0)
    assert wq.mant.shape == wq.zero.shape == (wq.out_features, -(-in_f // group))
    pad = wq.q[:, in_f:]
    assert np.array_equal(pad, np.broadcast_to(wq.zero[:, -1:], pad.shape))   # padding: w - z = 0
    WQ.check_weightq(wq)


def assert_gemv_exact(wq: N.WeightQ, seed=0):
    """numerics.gemv (int32 out, one round-half-up at the end) vs the float64 product of the dequantized
    weights and activations: within half an output LSB (the only rounding the GEMV does)."""
    rng = np.random.default_rng(seed)
    x = N.to_fixed(rng.normal(0, 1.0, (3, wq.in_features)))
    for abits in (16, 8):
        y = N.gemv(wq, x, abits)
        xq, e = N.quantize_activation(x, abits, wq.group)
        xd = N.dequantize_activation(xq, e, wq.group).astype(np.float64)        # ACT_FRAC units
        ref = xd @ N.dequantize_weight_groups(wq).T
        assert np.all(np.abs(y - ref) <= 0.5 + 1e-9 * np.abs(ref)), np.abs(y - ref).max()


# ----------------------------------------------------------------------------- GPTQ
@pytest.mark.parametrize("zp", [False, True])
def test_gptq_beats_rtn_at_3_bits_on_correlated_inputs(zp):
    w, x = correlated_layer()
    h = gptq.hessian(x)
    rtn = N.quantize_weight_groups(w.numpy(), 3, 64, zp)
    e_rtn = gptq.layer_output_error(w, rtn, x)
    for act_order in (False, True):
        g = gptq.gptq_quantize_weight(w, h, 3, 64, zp, act_order=act_order)
        assert_valid(g, 3, 64, zp, 256)
        e = gptq.layer_output_error(w, g, x)
        assert e < 0.85 * e_rtn, (act_order, e, e_rtn)


@pytest.mark.parametrize("bits,group,zp", [(3, 64, False), (4, 32, True), (2, 128, True), (8, 128, False)])
def test_gptq_without_correlation_is_the_contracts_rtn(bits, group, zp):
    """H = I, no dampening, no shift headroom: no error to compensate, so GPTQ must give exactly
    numerics.quantize_weight_groups' integers (same scale / zero / q grid)."""
    w = torch.from_numpy(np.random.default_rng(3).normal(0, 0.05, (24, 200)))
    g = gptq.gptq_quantize_weight(w, torch.eye(200, dtype=torch.float64), bits, group, zp, damp=0.0,
                                  headroom_bits=0)
    ref = N.quantize_weight_groups(w.numpy(), bits, group, zp)
    assert g.shift == ref.shift
    for f in ("q", "zero", "mant"):
        assert np.array_equal(getattr(g, f), getattr(ref, f)), f


def test_gptq_output_is_bit_exact_through_gemv():
    w, x = correlated_layer(1, n=512, d=200, out=16)      # 200 = 3 x 64 + 8: a short last group
    h = gptq.hessian(x)
    for bits, zp in ((3, False), (4, True)):
        g = gptq.gptq_quantize_weight(w, h, bits, 64, zp)
        assert_valid(g, bits, 64, zp, 200)
        assert g.shift == WQ.tensor_shift(w, bits, 64, zp) - 1      # one bit of headroom by default
        assert_gemv_exact(g)


def test_gptq_shared_hessian_keeps_each_tensors_shift():
    """Linears that share an input are quantized in one pass, each with its own per-tensor shift: the
    same integers as quantizing them one by one."""
    w, x = correlated_layer(2, n=512, d=128, out=16)
    h = gptq.hessian(x)
    w2 = 7.0 * w[:8]
    both = gptq.gptq_weights([w, w2], h, 4, 32, False)
    for one, wi in zip(both, (w, w2)):
        alone = gptq.gptq_quantize_weight(wi, h, 4, 32, False)
        assert one.shift == alone.shift and np.array_equal(one.q, alone.q) and np.array_equal(one.mant, alone.mant)
    assert both[0].shift != both[1].shift


# ----------------------------------------------------------------------------- AWQ
def test_awq_scaling_lowers_the_error_of_a_layer_with_outlier_inputs():
    w, x = correlated_layer(4)
    x32 = x.to(torch.float32)
    s, alpha, losses = awq.search_scale(x32, [w.to(torch.float32)], 3, 64, True)
    assert alpha > 0 and losses[alpha] < losses[0.0]          # alpha = 0 (s = 1) is RTN itself
    wq = N.quantize_weight_groups((w * s[None, :]).numpy(), 3, 64, True)
    assert_valid(wq, 3, 64, True, 256)
    e_awq = gptq.layer_output_error(w * s[None, :], wq, x / s[None, :])
    e_rtn = gptq.layer_output_error(w, N.quantize_weight_groups(w.numpy(), 3, 64, True), x)
    assert e_awq < e_rtn
    clipped = awq.search_clip(w * s[None, :], x / s[None, :], 3, 64, True)
    assert torch.all(clipped.abs() <= (w * s[None, :]).abs() + 1e-12)


def test_awq_folding_leaves_the_float_model_unchanged(tiny):
    cfg, weights, cal, toks = tiny
    folded, alphas = awq.awq_fold_model(cfg, weights, 3, 16, False, cal, clip=False)
    assert set(alphas[0]) == {"attn_in", "wo_in", "ffn_in", "down_in"}
    assert any(a > 0 for a in alphas[0].values())
    changed = [n for n in weights if not torch.equal(weights[n], folded[n])]
    assert "layers.0.attn_norm" in changed and "layers.0.attn.wv" in changed and "layers.0.ffn.w_up" in changed
    ref, got = LlamaLM(cfg, weights).logits(toks), LlamaLM(cfg, folded).logits(toks)
    assert torch.allclose(ref, got, rtol=0, atol=1e-5 * float(ref.abs().max())), (ref - got).abs().max()


# ----------------------------------------------------------------------------- models
@pytest.mark.parametrize("method", ["gptq", "awq"])
def test_model_runs_exactly_the_contract_integers_and_is_deterministic(tiny, method):
    cfg, weights, cal, toks = tiny
    qw, wqs = WQ.quantize_model(method, cfg, weights, 3, 16, True, cal)
    qw2, wqs2 = WQ.quantize_model(method, cfg, weights, 3, 16, True, cal)
    assert set(wqs) == {f"layers.{i}.{lin}" for i in range(cfg["n_layers"]) for lin in LINEARS}
    scheme = PrequantizedWeights(QuantScheme(3, 16, 16, 16, True))
    model = LlamaLM(cfg, qw, scheme)
    for n, wq in wqs.items():
        assert_valid(wq, 3, 16, True, weights[n].shape[1])
        deq = WQ.dequantized(wq)
        assert torch.equal(qw[n], deq) and torch.equal(model.w[n], deq)     # what the emulation runs
        assert deq.numpy().tobytes() == qw2[n].numpy().tobytes()            # same inputs, same bytes
        assert all(np.array_equal(getattr(wq, f), getattr(wqs2[n], f)) for f in ("q", "zero", "mant"))
    assert_gemv_exact(wqs["layers.1.ffn.w_down"])
    assert all(torch.equal(qw[n], qw2[n]) for n in qw)                       # incl. folded gains (AWQ)


def test_sweep_method_argument(tiny):
    from codesign.quant.llm.sweep import measure

    cfg, weights, cal, toks = tiny
    base, res = measure(cfg, weights, toks, [(3, 16, 16, 16)], cal, alpha=None)
    assert res["w3a16kv16g16"]["method"] == "rtn"                   # every row names its quantizer
    for method in ("gptq", "awq"):
        b2, r = measure(cfg, weights, toks, [(3, 16, 16, 16)], cal, alpha=None, baseline=base, method=method)
        key = f"{method}:w3a16kv16g16"                                  # non-RTN rows carry the method in their key
        assert r[key]["method"] == method and r[key]["ppl"] > 0
        qw, _ = WQ.quantize_model(method, cfg, weights, 3, 16, False, cal)
        ppl = LlamaLM(cfg, qw, PrequantizedWeights(QuantScheme(3, 16, 16, 16)))
        from codesign.quant.llm.perplexity import perplexity
        assert r[key]["ppl"] == perplexity(ppl, toks)
    with pytest.raises(ValueError, match="method 'bogus'"):
        measure(cfg, weights, toks, [(3, 16, 16, 16)], cal, alpha=None, baseline=base, method="bogus")
    with pytest.raises(ValueError, match="calibration"):
        WQ.quantize_model("gptq", cfg, weights, 3, 16, False, None)


def test_rtn_entry_point_is_the_table_quantizer(tiny):
    cfg, weights, _, _ = tiny
    qw, wqs = WQ.quantize_model("rtn", cfg, weights, 4, 16, False)
    scheme = QuantScheme(4, 8, 8, 16)
    for n in wqs:
        assert torch.equal(qw[n], scheme.weight(n, weights[n]))


def test_calibration_windows_are_disjoint_from_the_evaluation_windows():
    from codesign.quant.llm.text_sample import build_sample

    class Bytes:   # any tokenizer with encode() works: the text's bytes as token ids
        def encode(self, text):
            return list(text.encode("utf-8"))

    sample, _ = build_sample(Bytes(), 4, window=256)
    cal = WQ.calibration_windows(Bytes(), 4, 32)
    assert cal.shape == (32, 256)
    assert not any(torch.equal(c, e) for c in cal for e in sample.windows)
    assert torch.equal(cal, WQ.calibration_windows(Bytes(), 4, 32))


@pytest.mark.slow
def test_real_smollm2_layer_gptq_and_awq_beat_rtn():
    """SmolLM2-135M layer 2 on calibration windows from the text sample: at W3 and W4 g128 with zero
    points, GPTQ's output error is below RTN's for every linear, and AWQ's scaling (+ clipping) lowers
    every site's error (model-level perplexities: docs/ACCURACY.md, "GPTQ and AWQ")."""
    from codesign.quant.llm import load_checkpoint, smollm2_gguf_path
    from codesign.quant.llm.tokenizer import tokenizer_from_gguf

    torch.set_num_threads(2)
    path = smollm2_gguf_path()
    cfg, weights = load_checkpoint(path)
    cal = WQ.calibration_windows(tokenizer_from_gguf(path), 4, 8)
    x = WQ.embed(weights, cal)
    for i in range(2):
        x, _ = WQ.run_layer(cfg, weights, i, x)
    _, sites = WQ.run_layer(cfg, weights, 2, x, capture=True)
    for bits in (3, 4):
        for site, lins in WQ.SITE_LINEARS.items():
            xs = sites[site].to(torch.float64)
            h = gptq.hessian(sites[site])
            g = awq.gram(sites[site])
            ws = [weights[f"layers.2.{lin}"] for lin in lins]
            stat = awq.act_mean(sites[site])
            s, alpha, losses = awq.search_scale(None, ws, bits, 128, True, stat=stat, g=g)
            assert losses[alpha] <= losses[0.0]
            e_rtn = e_gptq = e_awq = 0.0
            for w in ws:
                e_r = gptq.layer_output_error(w, N.quantize_weight_groups(w.numpy(), bits, 128, True), xs)
                wq = gptq.gptq_quantize_weight(w, h, bits, 128, True)
                assert_valid(wq, bits, 128, True, w.shape[1])
                e_g = gptq.layer_output_error(w, wq, xs)
                assert e_g < e_r, (site, bits, e_g, e_r)
                ws_ = awq.search_clip(w * s[None, :], None, bits, 128, True, g=g / (s[:, None] * s[None, :]))
                e_a = gptq.layer_output_error(w * s[None, :], N.quantize_weight_groups(ws_.numpy(), bits, 128, True),
                                              xs / s[None, :])
                e_rtn, e_gptq, e_awq = e_rtn + e_r ** 2, e_gptq + e_g ** 2, e_awq + e_a ** 2
            assert e_awq < e_rtn and e_gptq < e_rtn, (site, bits, e_rtn, e_gptq, e_awq)
