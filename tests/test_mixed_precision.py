"""Per-layer mixed precision in the design, the model and the sweep (codesign/quant/mixed_precision.py,
model/tables.py ``mixed_tables``): the layer mapping, the pricing between the uniform low- and
high-bit designs, the run-time mode's resources, the accuracy row names, design.json's layer bits."""

from __future__ import annotations

import numpy as np
import pytest

import codesign.quant.mixed_precision as MP
from codesign.design import Design, Hardware, Quant, Workload
from codesign.devices import get_device
from codesign.errors import CodesignError
from codesign.model import evaluate_batch
from codesign.model.cycles import gemv_stream_bytes
from codesign.workload.config import load_model_config

# a 30-layer reference ranking (SmolLM2-135M's depth): FFN of the late layers most sensitive first
ORDER = tuple((l, "ffn") for l in range(29, -1, -1)) + tuple((l, "attn") for l in range(30))
RANKING = {"layers": 30, "unit_order": ORDER, "hi_wbits": 8, "profiles": (4, 8, 16), "base": {}}
LLAMA = load_model_config("llama2-7b")
U280 = get_device("u280")


@pytest.fixture(autouse=True)
def ranking(monkeypatch):
    monkeypatch.setattr(MP, "ranking", lambda model=None: RANKING)


def test_layer_mapping_by_relative_depth():
    assert MP.raised_units(32, 0) == []
    up = MP.raised_units(32, 4)                         # reference layers 29..26, FFN
    assert up == [(j, "ffn") for j in range(32) if j * 30 // 32 in (26, 27, 28, 29)]
    lw = MP.layer_wbits(32, 4, 4, 8)
    assert len(lw) == 32 and sum(d["ffn"] == 8 for d in lw) == len(up) and all(d["attn"] == 4 for d in lw)
    attn, ffn = MP.raised_counts(32, np.array([0, 4, 60]))
    assert list(attn) == [0, 0, 32] and list(ffn) == [0, len(up), 32]
    assert MP.raised_units(30, 60) == [(j, c) for j in range(30) for c in ("attn", "ffn")]
    with pytest.raises(CodesignError, match="quant.mixed"):
        MP.raised_units(32, 61)


def _point(**q):
    base = {"wbits": 4, "abits": 8, "kvbits": 8, "group": 128, "zero_point": 1, "sparsity": 0, "method": 1,
            "mixed": 0, "hi_wbits": 8, "rows": 32, "cols": 256, "sfu_lanes": 32, "wbuf_depth": 512,
            "abuf_depth": 65536, "kvbuf_depth": 1024, "weight_channels": 28, "kv_channels": 4, "port_bits": 512,
            "freq_mhz": 225}
    base.update(q)
    return {k: np.array([v]) for k, v in base.items()}


def _eval(**q):
    return {k: v[0] for k, v in evaluate_batch(LLAMA, U280, Workload(), _point(**q)).items()}


def test_pricing_lies_between_the_uniform_designs():
    lo, hi = _eval(), _eval(wbits=8)
    prev = lo
    for k in (4, 16, 40, 60):
        m = _eval(mixed=k)
        assert m["decode_tokens_per_s"] < prev["decode_tokens_per_s"]          # more raised units: slower
        assert m["min_memory_energy_per_token_j"] > prev["min_memory_energy_per_token_j"]
        prev = m
    # every unit raised: the layers stream W8 (the LM head stays at wbits), so within the head's difference
    all_up = _eval(mixed=60)
    bytes_per_j = lambda r: r["min_memory_energy_per_token_j"]                 # proportional to streamed bytes
    ratio = (bytes_per_j(hi) - bytes_per_j(all_up)) / bytes_per_j(hi)
    from codesign.model import constants as C
    head = [gemv_stream_bytes(LLAMA.vocab, LLAMA.d_model, w, 128, 1, 32, 256) for w in (4, 8)]
    head_bytes = [float(t * (h + b)) for t, h, b, _ in head]
    per_byte = 8 * C.MEM_PJ_PER_BIT[U280.mem_kind] * 1e-12
    assert (bytes_per_j(hi) - bytes_per_j(all_up)) / per_byte == pytest.approx(head_bytes[1] - head_bytes[0], rel=1e-6)
    assert 0 < ratio < 0.05                          # the LM head (~2% of the W8 bytes) stays at W4
    assert all_up["decode_tokens_per_s"] <= hi["decode_tokens_per_s"] * 1.05
    # uniform points are untouched by the mixed axis' machinery
    assert _eval(mixed=0, hi_wbits=16)["decode_tokens_per_s"] == lo["decode_tokens_per_s"]


def test_run_time_mode_resources():
    lo, m = _eval(), _eval(mixed=8)
    assert m["dsp"] == lo["dsp"]                   # W4A8 and W8A8 products pack alike on DSP48E2
    assert m["lut"] > lo["lut"] and m["uram"] == lo["uram"]     # wider lanes + word assembler; same buffer
    assert _eval(mixed=8, hi_wbits=16)["dsp"] > lo["dsp"]       # a W16 mode needs wider DSP products


def test_accuracy_names_the_profile_rows():
    from codesign.search.accuracy import AccuracySource

    class Table:
        meta = {"mixed_precision": {"hi_wbits": 8}}
        seen = None

        def loss_pct(self, w, a, kv, g, z, sp, method):
            Table.seen = list(method)
            return np.arange(len(method), dtype=float)

    src = AccuracySource(Table(), "measured", "smollm2-135m", 20.0)
    p = {"wbits": np.array([4, 4, 4, 4]), "abits": np.full(4, 8), "kvbits": np.full(4, 8), "group": np.full(4, 128),
         "method": np.array([0, 1, 1, 2]), "mixed": np.array([0, 0, 8, 0]), "hi_wbits": np.array([8, 8, 8, 16])}
    loss = src.loss_pct(p)
    assert Table.seen == ["rtn", "gptq", "gptq+mp8", "awq"] and list(loss) == [0, 1, 2, 3]
    p["hi_wbits"] = np.array([8, 8, 16, 8])          # profiles were measured at W8: a W16 one is not held
    assert np.isnan(src.loss_pct(p)[2])


def test_design_json_carries_the_layer_bits(tmp_path):
    from codesign.design import load_design
    from codesign.model import evaluate_design
    q = Quant(wbits=4, group=128, zero_point=True, method="gptq", mixed=8, hi_wbits=8)
    lw = MP.layer_wbits(32, 4, 8, 8)
    d = Design("llama2-7b", "u280", Workload(), q, Hardware(), layer_wbits=lw).validate()
    d.save(tmp_path / "d.json")
    back = load_design(tmp_path / "d.json")
    assert back.layer_wbits == lw and back.quant.method == "gptq"
    assert evaluate_design(back)["decode_tokens_per_s"] > 0
    bad = Design("llama2-7b", "u280", Workload(), q, Hardware(), layer_wbits=lw[:-1] + [{"attn": 8, "ffn": 8}])
    with pytest.raises(CodesignError, match="layer_wbits"):
        evaluate_design(bad)
    with pytest.raises(CodesignError, match="layer_wbits\\[0\\]"):
        Design("llama2-7b", "u280", Workload(), q, Hardware(), layer_wbits=[{"attn": 3, "ffn": 4}]).validate()
    # hi_wbits not above wbits: a design the model flags, not a malformed file
    flat = Design("llama2-7b", "u280", Workload(), Quant(wbits=8, mixed=4, hi_wbits=8), Hardware()).validate()
    r = evaluate_design(flat)
    assert not r["feasible"] and any("hi_wbits not above wbits" in v for v in r["violations"])
    with pytest.raises(CodesignError, match="method"):
        Quant(method="bogus").validate()


def test_generators_build_a_mixed_design_and_refuse_a_mode_they_cannot():
    """Issue 16: the generated processor runs two weight modes (WBITS, WBITS_HI); a raised width above 8
    (16-bit zero points, other lanes) is refused by name with the allowed range."""
    from codesign.gen.template import template_params
    q = Quant(wbits=4, group=128, zero_point=True, method="gptq", mixed=8, hi_wbits=8)
    t = template_params(Design("smollm2-135m", "u280", Workload(), q, Hardware()).validate())
    assert (t["WBITS"], t["WBITS_HI"]) == (4, 8)
    with pytest.raises(CodesignError) as e:
        template_params(Design("smollm2-135m", "u280", Workload(), Quant(wbits=4, mixed=8, hi_wbits=16),
                               Hardware()).validate())
    assert e.value.field == "quant.hi_wbits" and "(4, 8]" in str(e.value)
    assert template_params(Design("smollm2-135m", "u280", Workload(), Quant(method="gptq"),
                                  Hardware()).validate())["WBITS_HI"] == 0


def test_evaluate_command_takes_the_levers(tmp_path, capsys):
    from codesign.cli import main
    out = tmp_path / "d.json"
    assert main(["evaluate", "--model", "llama2-7b", "--device", "u280", "--wbits", "4", "--zero-point",
                 "--method", "gptq", "--mixed", "8", "--save", str(out), "--json"]) == 0
    capsys.readouterr()
    d = Design.from_dict(__import__("json").loads(out.read_text()))
    assert d.quant.method == "gptq" and d.quant.mixed == 8 and d.layer_wbits == MP.layer_wbits(32, 4, 8, 8)
    assert main(["evaluate", "--model", "llama2-7b", "--device", "u280", "--method", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codesign evaluate: error: --method:") and err.count("\n") == 1
