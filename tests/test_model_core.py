"""Analytical model: contract keys, physics (roofline, monotonicity), feasibility reasons, N=1 == batch."""

import numpy as np
import pytest

from codesign.design import Design, Hardware, Quant, Workload
from codesign.devices import get_device
from codesign.isa.instr import Instr
from codesign.model import OUTPUT_KEYS, VIOLATIONS, evaluate_batch, evaluate_design, instruction_cycles
from codesign.model import design_params
from codesign.workload import load_model_config

LLAMA = load_model_config("llama2-7b")
U280 = get_device("u280")


def _params(n=1, **over):
    d = design_params(Design(model="llama2-7b", device="u280", hw=Hardware(abuf_depth=65536)))
    d = {k: np.repeat(v, n) for k, v in d.items()}
    for k, v in over.items():
        d[k] = np.asarray(v)
    return d


def test_batch_returns_every_contract_key_with_length_n():
    r = evaluate_batch(LLAMA, U280, Workload(), _params(3, wbits=[2, 4, 8]))
    assert set(OUTPUT_KEYS) <= set(r)
    for k in OUTPUT_KEYS:
        assert r[k].shape == (3,), k
    assert r["feasible"].dtype == bool and r["violations"].dtype == np.int64


def test_decode_below_roofline_and_more_bits_is_slower():
    r = evaluate_batch(LLAMA, U280, Workload(), _params(4, wbits=[2, 4, 8, 16]))
    assert np.all(r["decode_tokens_per_s"] <= r["roofline_tokens_per_s"])
    assert np.all(np.diff(r["decode_tokens_per_s"]) < 0)
    assert np.all(np.diff(r["min_memory_energy_per_token_j"]) > 0)


def test_roofline_by_hand_llama_w16():
    # 6.48e9 linear weights x 2 bytes + per-channel scales + norms + LM head, at 460 GB/s peak
    r = evaluate_batch(LLAMA, U280, Workload(context=1), _params(wbits=[16], kvbits=[16]))
    lin = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008) + 32000 * 4096
    approx = 460e9 / (lin * 2)
    assert r["roofline_tokens_per_s"][0] == pytest.approx(approx, rel=0.01)


def test_narrow_port_halves_bandwidth_when_memory_bound():
    # 256-bit port at 225 MHz = 7.2 GB/s < 14.375 x 0.92 GB/s per HBM channel (ARCHITECTURE.md)
    r = evaluate_batch(LLAMA, U280, Workload(), _params(2, port_bits=[256, 512], rows=[64, 64], cols=[128, 128]))
    ratio = r["decode_tokens_per_s"][1] / r["decode_tokens_per_s"][0]
    assert 1.5 < ratio < 2.0


def test_every_violation_reason_reported():
    p = _params(1, rows=[1024], cols=[1024], weight_channels=[40], kv_channels=[8], abuf_depth=[64],
                kvbuf_depth=[16], group=[256], freq_mhz=[800])
    r = evaluate_batch(load_model_config("smollm2-135m"), get_device("kv260"), Workload(), p)
    names = [v for i, v in enumerate(VIOLATIONS) if r["violations"][0] >> i & 1]
    for expected in ("dsp over cap", "lut over cap", "weight_channels + kv_channels exceed the device's memory channels",
                     "activation buffer (abuf_depth) smaller than one decode step's live vectors",
                     "KV buffer (kvbuf_depth) smaller than one MPE tile of keys (rows)",
                     "group does not divide the layer widths (d_model, d_ffn, head widths)",
                     "freq_mhz above the device's timing-closure limit"):
        assert expected in names
    assert not r["feasible"][0]
    bad = evaluate_batch(LLAMA, U280, Workload(), _params(1, wbits=[5]))
    assert bad["violations"][0] >> VIOLATIONS.index("unsupported bit-width or parameter value for the template") & 1


def test_context_beyond_the_model_is_flagged():
    r = evaluate_batch(load_model_config("gpt2-355m"), U280, Workload(prompt=1000, generate=512), _params(1))
    assert r["violations"][0] >> VIOLATIONS.index("prompt + generated tokens exceed the model's maximum context") & 1


def test_capacity_violation_for_mixtral_on_u280():
    p = _params(1, wbits=[16])
    r = evaluate_batch(load_model_config("mixtral-8x7b"), U280, Workload(), p)
    assert r["violations"][0] >> VIOLATIONS.index("weights + KV cache exceed the off-chip memory capacity") & 1


def test_evaluate_design_is_batch_with_n1():
    d = Design(model="llama2-7b", device="u280", quant=Quant(wbits=4, abits=8), hw=Hardware(abuf_depth=65536))
    one = evaluate_design(d)
    b = evaluate_batch(LLAMA, U280, d.workload, design_params(d))
    # the sweep path runs in float32, one design in float64: the same formulas, rounding ~1e-7
    assert one["decode_tokens_per_s"] == pytest.approx(b["decode_tokens_per_s"][0], rel=1e-5)
    assert one["power_w"] == pytest.approx(b["power_w"][0], rel=1e-5)
    assert one["feasible"] and one["violations"] == []
    assert one["instructions_from"] == "codesign.isa.compiler.compile_layer"
    dec = [o for o in one["ops"] if o["phase"] == "decode"]
    total = sum(o["time_s_total"] for o in dec)
    assert total == pytest.approx(1 / one["decode_tokens_per_s"], rel=1e-9)


def test_instruction_cycles_gemv_by_hand():
    # compute-bound GEMV: activation quantizer job (2*ceil(k/lanes) + 3 + SFU_JOB_OVERHEAD 2) then
    # ceil(n/rows) * ceil(k/cols) tiles + MPE_LAT, plus issue (+ fill)
    hw = Hardware(rows=4, cols=8, sfu_lanes=16, weight_channels=32, port_bits=512, freq_mhz=100)
    q = Quant(wbits=4, group=32)
    r = instruction_cycles([Instr("GEMV", m=1, n=64, k=256)], q, hw, U280)
    assert r["compute"][0] == (2 * 16 + 3 + 2) + 16 * 32 + 3
    assert r["weight_bytes"][0] == 64 * 256 / 2 + 64 * 8 * 2
    assert r["cycles"][0] >= r["compute"][0]


def test_sweep_speed_smoke():
    import time
    n = 20000
    rng = np.random.default_rng(0)
    p = _params(n, rows=rng.choice([16, 32, 64], n), wbits=rng.choice([2, 3, 4, 8, 16], n))
    evaluate_batch(LLAMA, U280, Workload(), _params(2))
    t = time.perf_counter()
    evaluate_batch(LLAMA, U280, Workload(), p)
    assert n / (time.perf_counter() - t) > 50000   # loose: a shared 2-core CI box (bench: >= 1M/s)


@pytest.mark.parametrize("model", ["llama2-7b", "mixtral-8x7b", "smollm2-135m"])
def test_compiled_program_reads_the_workload_weight_bytes(model):
    """The instruction list the model times streams exactly the workload's GEMV weight bytes."""
    from codesign.model.evaluate import _evaluate
    from codesign.workload import head_ops, layer_ops
    cfg = load_model_config(model)
    q = Quant(wbits=4, group=64)
    d = Design(model=model, device="u280", quant=q, hw=Hardware(abuf_depth=65536))
    r = _evaluate(cfg, U280, d.workload, design_params(d), detail=True)
    model_bytes = r["_detail"]["phases"]["decode"]["weight_bytes"][0]
    ops = layer_ops(cfg, q, "decode", 1, d.workload.decode_context)
    per_layer = sum(o.weight_bytes for o in ops if o.kind == "gemv")
    head = sum(o.weight_bytes for o in head_ops(cfg, q, "decode", 1) if o.kind == "gemv")
    # the stream also carries the RTL layout's padding (k to max(cols, group), each tile's blocks
    # to 64 bytes: cycles.gemv_stream_bytes), never less than the workload's bytes
    want = cfg.n_layers * per_layer + head
    assert want <= model_bytes <= want * 1.002


def test_shared_controller_ports_reach_the_whole_ddr():
    """Zynq PS DDR (mem_shared): 5 x 128-bit ports at 300 MHz (24 GB/s) are capped by 0.9 x 19.2 GB/s,
    not by 5/6 of it; at 100 MHz the ports (8 GB/s) bound the stream."""
    from codesign.model.cycles import stream_bytes_per_cycle
    kv = get_device("kv260")
    assert kv.mem_shared
    assert stream_bytes_per_cycle(kv, 5, 128, 300) * 300e6 == pytest.approx(0.9 * 19.2e9)
    assert stream_bytes_per_cycle(kv, 5, 128, 100) * 100e6 == pytest.approx(5 * 16 * 100e6)
    # independent HBM channels: each channel its own share
    assert stream_bytes_per_cycle(U280, 2, 512, 450) * 450e6 == pytest.approx(2 * 0.92 * 14.375e9)
