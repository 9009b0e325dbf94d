"""Unified memory (kv_channels 0): the KV cache interleaved over the weight channels, ATTN's score
and P.V products on the MPE. Modelled only: the generated HLS/RTL refuse it (one-line error)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from codesign.design import Design, Hardware, Quant, Workload
from codesign.errors import CodesignError
from codesign.export.boards import get_board
from codesign.export.memory_plan import plan_banks
from codesign.gen.ports import KernelArg
from codesign.gen.template import template_params
from codesign.model import constants as C
from codesign.model import evaluate_design


def _design(wch=32, kv=0, rows=32, cols=128, wbits=4, kvbits=8):
    return Design(model="llama2-7b", device="u280", workload=Workload(batch=1, prompt=512, generate=512),
                  quant=Quant(wbits=wbits, abits=8, kvbits=kvbits, group=64, zero_point=True),
                  hw=Hardware(rows=rows, cols=cols, sfu_lanes=32, abuf_depth=65536, weight_channels=wch,
                              kv_channels=kv, port_bits=512, freq_mhz=225)).validate()


def _op(r, op):
    return next(o for o in r["ops"] if o["phase"] == "decode" and o["op"] == op)


def test_kv_reads_at_the_weight_channels_rate():
    split, unified = evaluate_design(_design(28, 4)), evaluate_design(_design(32, 0))
    a_s, a_u = _op(split, "ATTN"), _op(unified, "ATTN")
    # same bytes over 8x the channels; runs shorter than a 4 KiB burst per channel pay the
    # cross-channel efficiency, so not quite 8x faster
    assert a_s["kv_read_bytes"] == a_u["kv_read_bytes"] > 0
    assert a_u["memory_cycles"] < a_s["memory_cycles"] / 3
    assert unified["decode_tokens_per_s"] > 1.2 * split["decode_tokens_per_s"]
    assert 0 < unified["roofline_fraction"] <= 1.0
    # LLaMA-2-7B W4 g64 on a U280 with every channel: the design the sweep picks clears 75% of roofline
    assert unified["roofline_fraction"] > 0.75


def test_attention_on_a_small_mpe_is_compute_bound():
    # 8 x 16 lanes cannot take the K rows at 32 channels' rate: the MPE, not the memory, bounds ATTN
    small = evaluate_design(_design(32, 0, rows=8, cols=16))
    a = _op(small, "ATTN")
    assert a["compute_cycles"] > a["memory_cycles"]
    # a W-bit lane takes a KV-bit operand in ceil(KV / W) passes: W4 with KV8 is twice W8's MPE time
    w8 = _op(evaluate_design(_design(32, 0, rows=8, cols=16, wbits=8)), "ATTN")
    assert a["compute_cycles"] > 1.5 * w8["compute_cycles"]


def test_unified_ports_and_their_multiplexers_are_priced():
    unified, split = evaluate_design(_design(28, 0)), evaluate_design(_design(28, 4))
    # 4 fewer AXI masters, 2 x 28 x 512 two-input multiplexers more
    d_lut = unified["resources"]["lut"] - split["resources"]["lut"]
    assert d_lut == pytest.approx(2 * 28 * 512 * C.LUT_PER_MUX2_BIT - 4 * 512 * C.LUT_PER_PORT_BIT)


def test_generators_refuse_unified_memory():
    with pytest.raises(CodesignError) as e:
        template_params(_design(32, 0))
    assert e.value.field == "hw.kv_channels" and "modelled only" in str(e.value)
    template_params(replace(_design(28, 4)))          # a dedicated KV slice builds


def test_bank_plan_puts_the_kv_port_on_the_weight_banks():
    args = [KernelArg("w", "", "m_axi", "gmem_w"), KernelArg("kv", "", "m_axi", "gmem_kv"),
            KernelArg("io", "", "m_axi", "gmem_io")]
    plan = plan_banks(_design(31, 0), get_board("u280"), args)
    assert [(p.port, p.first, p.last) for p in plan] == [
        ("m_axi_gmem_w", 0, 30), ("m_axi_gmem_kv", 0, 30), ("m_axi_gmem_io", 31, 31)]


def test_kv_channels_range():
    with pytest.raises(CodesignError) as e:
        _design(32, -1)
    assert "kv_channels" in str(e.value.field)
