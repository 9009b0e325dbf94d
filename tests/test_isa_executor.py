"""The instruction list, executed over packed memory images, gives exactly the golden layer output."""

import copy

import numpy as np
import pytest

from codesign.design import Hardware, Quant
from codesign.errors import CodesignError
from codesign.isa.compiler import compile_layer, plan_layer
from codesign.isa.encoding import decode, encode
from codesign.isa.executor import run_images
from codesign.isa.memimage import build_images
from codesign.quant import numerics as N
from codesign.quant.golden import prepare_layer, random_layer_weights
from codesign.workload.config import ModelConfig


def tiny(n_experts=1, top_k=1):
    return ModelConfig(name="tiny", family="llama", n_layers=1, d_model=64, n_heads=4, n_kv_heads=2, head_dim=16,
                       d_ffn=96, vocab=10, n_experts=n_experts, top_k=top_k)


def run_plan(cfg, qn, hw, layer, x, cache, m, ctx, cap):
    plan = plan_layer(cfg, qn, "prefill" if m > 1 else "decode", m, ctx, hw=hw, layer=layer, kv_capacity=cap)
    im = build_images(plan, layer, x, cache, hw.rows, hw.cols)
    steps, ex = run_images(im.as_dict(), qn, hw.rows, hw.cols, len(plan.instrs), plan.buffer_elems)
    a = plan.io_regions["x_out"][0]
    return np.frombuffer(bytes(ex.gmem_io[a:a + 4 * m * cfg.d_model]), dtype="<i4").reshape(m, -1), steps, plan


@pytest.mark.parametrize("experts,top_k", [(1, 1), (4, 2)])
@pytest.mark.parametrize("qn", [Quant(4, 8, 8, 32, False), Quant(3, 4, 4, 32, True), Quant(8, 16, 16, 64, False),
                                Quant(16, 8, 4, 32, False), Quant(2, 8, 8, 32, True), Quant(16, 16, 8, 32, True),
                                Quant(8, 8, 8, 256, True), Quant(4, 8, 8, 32, False, "2:4"),
                                Quant(3, 8, 4, 64, True, "4:8")])
def test_executor_equals_golden(experts, top_k, qn):
    cfg = tiny(experts, top_k)
    hw = Hardware(rows=8, cols=16)
    layer = prepare_layer(random_layer_weights(cfg, 1), cfg, qn)
    xs = N.to_fixed(np.random.default_rng(0).normal(0, 1, (6, cfg.d_model)))
    cache = layer.new_cache(8)
    y_prefill = layer.forward(xs[:5], 0, cache)
    y_decode = layer.forward(xs[5:6], 5, copy.deepcopy(cache))
    out, steps, plan = run_plan(cfg, qn, hw, layer, xs[:5], None, 5, 5, 8)
    assert np.array_equal(out, y_prefill)
    out, steps, plan = run_plan(cfg, qn, hw, layer, xs[5:6], cache, 1, 6, 8)
    assert np.array_equal(out, y_decode)
    assert len(steps) == len(plan.instrs)


def test_compile_shapes_and_roundtrip():
    cfg = tiny()
    instrs = compile_layer(cfg, Quant(), "decode", 1, 33)
    ops = [i.op for i in instrs]
    assert ops == ["LOAD", "NORM", "GEMV", "GEMV", "GEMV", "ROPE", "KVSTORE", "ATTN", "GEMV", "ADD", "NORM",
                   "GEMV", "GEMV", "ACT", "GEMV", "ADD", "STORE"]
    attn = instrs[ops.index("ATTN")]
    assert attn.ctx == 33 and attn.m == 1 and attn.heads == 4 and attn.kv_heads == 2
    assert decode(encode(instrs)) == instrs
    pre = compile_layer(cfg, Quant(), "prefill", 16, 16)
    assert all(i.m == 16 for i in pre)
    gemvs = {i.layer_op: (i.n, i.k) for i in pre if i.op == "GEMV"}
    assert gemvs == {"wq": (64, 64), "wk": (32, 64), "wv": (32, 64), "wo": (64, 64), "ffn_gate": (96, 64),
                     "ffn_up": (96, 64), "ffn_down": (64, 96)}
    moe = compile_layer(tiny(4, 2), Quant(), "decode", 1, 4)
    assert sum(1 for i in moe if i.op == "GEMV" and i.slot) == 6
    assert [i.imm for i in moe if i.layer_op == "router"] == [2]


def test_compile_other_families_and_errors():
    from codesign.workload import load_model_config
    for name in ("llama2-7b", "smollm2-135m", "gpt2-355m", "mixtral-8x7b"):
        try:
            cfg = load_model_config(name)
        except CodesignError:
            continue
        ins = compile_layer(cfg, Quant(), "decode", 1, 128)
        assert ins[0].op == "LOAD" and ins[-1].op == "STORE"
        assert decode(encode(ins)) == ins
    with pytest.raises(CodesignError):
        compile_layer(tiny(), Quant(), "decode", 2, 4)
    with pytest.raises(CodesignError):
        compile_layer(tiny(), Quant(), "sideways", 1, 4)
    with pytest.raises(CodesignError):
        compile_layer(tiny(), Quant(), "prefill", 8, 4)


def test_batched_decode_and_prefill_equal_golden_per_sequence():
    cfg = tiny()
    qn, hw = Quant(4, 8, 8, 32, False), Hardware(rows=8, cols=16)
    layer = prepare_layer(random_layer_weights(cfg, 2), cfg, qn)
    rng = np.random.default_rng(5)
    seqs = [N.to_fixed(rng.normal(0, 1, (5, cfg.d_model))) for _ in range(3)]
    caches, golden = [], []
    for x in seqs:
        c = layer.new_cache(5)
        layer.forward(x[:3], 0, c)
        golden.append(layer.forward(x[3:5], 3, copy.deepcopy(c)))
        caches.append(c)
    plan = plan_layer(cfg, qn, "prefill", 2, 5, hw=hw, layer=layer, kv_capacity=5, batch=3)
    assert [i.op for i in plan.instrs].count("ATTN") == 3 and plan.instrs[2].m == 6
    im = build_images(plan, layer, np.concatenate([x[3:5] for x in seqs]), caches, hw.rows, hw.cols)
    steps, ex = run_images(im.as_dict(), qn, hw.rows, hw.cols, len(plan.instrs), plan.buffer_elems)
    a = plan.io_regions["x_out"][0]
    out = np.frombuffer(bytes(ex.gmem_io[a:a + 4 * 6 * cfg.d_model]), dtype="<i4").reshape(6, -1)
    assert np.array_equal(out, np.concatenate(golden))
    dec = compile_layer(cfg, qn, "decode", 1, 9, batch=4)
    assert [i.ctx for i in dec if i.op == "ATTN"] == [9] * 4 and dec[2].m == 4
