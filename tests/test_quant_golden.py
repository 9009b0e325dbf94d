"""Golden layer vs the float reference on small random layers (dense and MoE), and its errors."""

import numpy as np
import pytest

from codesign.design import Quant
from codesign.errors import CodesignError
from codesign.quant import numerics as N
from codesign.quant.float_ref import error_metrics
from codesign.quant.golden import prepare_layer, random_layer_weights
from codesign.quant.layer_error import compare_layer
from codesign.vectors import random_config


@pytest.mark.parametrize("spec", ["d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96",
                                  "d_model=64,n_heads=4,n_kv_heads=1,head_dim=16,d_ffn=64,n_experts=4,top_k=2"])
def test_golden_close_to_float(spec):
    cfg = random_config(spec)
    w = random_layer_weights(cfg, 3, scale=0.1)
    x = np.random.default_rng(4).normal(0, 1, (12, cfg.d_model))
    hi = compare_layer(w, cfg, Quant(16, 16, 16, 32, False), x, rope_theta=10000.0, norm_eps=1e-5)
    assert hi["float"]["update"]["sqnr_db"] > 50 and hi["float"]["update"]["cosine"] > 0.99999
    ops = hi["float"]["decode_ops"]
    assert {"q", "k", "v", "attn", "wo", "ffn_norm", "out"} <= set(ops)
    assert all(m["sqnr_db"] > 40 for m in ops.values()), ops
    lo = compare_layer(w, cfg, Quant(8, 8, 8, 32, False), x, rope_theta=10000.0, norm_eps=1e-5)
    assert 20 < lo["float"]["update"]["sqnr_db"] < hi["float"]["update"]["sqnr_db"]


def test_moe_routing_follows_router():
    cfg = random_config("d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=32,n_experts=4,top_k=2")
    w = random_layer_weights(cfg, 0)
    layer = prepare_layer(w, cfg, Quant(16, 16, 16, 32, False))
    x = N.to_fixed(np.random.default_rng(1).normal(0, 1, (6, 32)))
    trace = {}
    layer.forward(x, 0, layer.new_cache(6), trace)
    h = N.from_fixed(trace["ffn_norm"])
    float_top = np.argsort(-(h @ w["ffn.router"].T), axis=-1, kind="stable")[:, :2]
    assert np.array_equal(np.sort(trace["experts"], -1), np.sort(float_top, -1))
    assert np.all(np.abs(trace["weights"].sum(-1) - 32768) <= 2)


def test_deterministic_and_errors():
    cfg = random_config("d_model=32,n_heads=2,n_kv_heads=1,head_dim=16,d_ffn=32")
    w = random_layer_weights(cfg, 0)
    x = N.to_fixed(np.random.default_rng(1).normal(0, 1, (3, 32)))
    a = prepare_layer(w, cfg, Quant()).forward(x, 0, prepare_layer(w, cfg, Quant()).new_cache(3))
    layer = prepare_layer(w, cfg, Quant())
    b = layer.forward(x, 0, layer.new_cache(3))
    assert np.array_equal(a, b)
    with pytest.raises(CodesignError, match="capacity"):
        layer.forward(x, 2, layer.new_cache(3))
    bad = dict(w)
    del bad["attn.wk"]
    with pytest.raises(CodesignError, match="missing"):
        prepare_layer(bad, cfg, Quant())
    from dataclasses import replace
    with pytest.raises(CodesignError, match="LLaMA-style"):
        prepare_layer(w, replace(cfg, ffn_kind="gelu", norm="layer"), Quant())


def test_error_metrics():
    r = np.array([1.0, -2.0, 3.0])
    m = error_metrics(r + np.array([0.1, 0, 0]), r)
    assert abs(m["sqnr_db"] - 10 * np.log10(14 / 0.01)) < 1e-9 and abs(m["max_abs"] - 0.1) < 1e-12
    assert error_metrics(r, r)["sqnr_db"] == float("inf")
