"""N:M structured weight sparsity through every stage: the design schema, the evaluate flag, the
model's bytes / cycles / resources / violations, the sweep's space, CSV column and accuracy lookup."""

import csv
import json
import math

import numpy as np
import pytest

from codesign.cli import main
from codesign.design import SPARSITY_CODES, Design, Hardware, Quant, Workload, load_design
from codesign.devices import get_device
from codesign.errors import CodesignError
from codesign.model import evaluate_design
from codesign.search.accuracy import load_accuracy
from codesign.search.constraints import Constraints
from codesign.search.defaults import DEFAULT_QUANT, default_space
from codesign.search.engine import Sweeper
from codesign.search.spacefile import parse_space_dict

BASE = ["evaluate", "--model", "llama2-7b", "--device", "u280", "--wbits", "4", "--abits", "8", "--json"]


def _eval(capsys, *extra):
    assert main(BASE + list(extra)) == 0
    return json.loads(capsys.readouterr().out)


# ----------------------------------------------------------------------------- design.json
def test_design_round_trip_old_files_and_bad_values(tmp_path):
    d = Design("llama2-7b", "u280", quant=Quant(sparsity="2:4")).validate()
    d.save(tmp_path / "d.json")
    assert load_design(tmp_path / "d.json") == d
    assert json.loads((tmp_path / "d.json").read_text())["quant"]["sparsity"] == "2:4"   # human-readable
    old = d.to_dict()
    del old["quant"]["sparsity"]                     # a design.json written before the field
    assert Design.from_dict(old).quant.sparsity == "dense"
    for bad in ("3:2", "2:5", "1:4", 2, "2/4"):
        with pytest.raises(CodesignError) as e:
            Quant(sparsity=bad).validate()
        msg = str(e.value)
        assert "sparsity" in msg and "{dense, 2:4, 4:8}" in msg and "\n" not in msg


@pytest.mark.parametrize("value", ["3:2", "2:5"])
def test_evaluate_flag_rejects_bad_values_in_one_line(capsys, value):
    assert main(BASE[:-1] + ["--sparsity", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error: --sparsity:" in err[0] and "allowed: one of {dense, 2:4, 4:8}" in err[0]


def test_gpu_devices_refuse_sparsity(capsys):
    assert main(["evaluate", "--model", "llama2-7b", "--device", "a100-80gb", "--sparsity", "2:4"]) == 2
    assert "error: --sparsity:" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the model
def _gemvs(r):
    return [o for o in r["ops"] if o["phase"] == "decode" and o["op"] == "GEMV"]


def test_2_4_at_w4_streams_three_quarters_of_the_beats_plus_the_same_scales(capsys):
    dense = _eval(capsys)
    sparse = _eval(capsys, "--sparsity", "2:4")
    rows, cols, group, wbits = 32, 64, 128, 4                       # the Hardware()/Quant() defaults
    assert (Hardware().rows, Hardware().cols, Quant().group) == (rows, cols, group)
    exp_dense = exp_sparse = 0.0
    for od, osp in zip(_gemvs(dense), _gemvs(sparse)):
        assert (od["name"], od["n"], od["k"]) == (osp["name"], osp["n"], osp["k"])
        n, k, cnt = od["n"], od["k"], od["count"]
        tiles = math.ceil(n / rows)
        kp = math.ceil(k / max(cols, group)) * max(cols, group)
        scales = tiles * math.ceil(rows * kp / group * 2 / 64) * 64     # uint16 per (row, group), 64 B blocks
        beats = tiles * rows * kp * wbits / 8                            # dense W4 weights
        # 2:4: half the weights, each 4 + 2 index bits: (4*2 + 2*2) / (4*4) = 0.75 of the beats
        assert od["weight_bytes"] == scales + beats
        assert osp["weight_bytes"] == scales + 0.75 * beats
        exp_dense += cnt * (scales + beats)
        exp_sparse += cnt * (scales + 0.75 * beats)
        # the MPE takes one beat (rows x cols kept weights = cols * 4 / 2 inputs) per cycle: half the beats
        mpe_dense = tiles * kp / cols * od["m"]
        assert od["compute_cycles"] - osp["compute_cycles"] == pytest.approx(mpe_dense / 2)
        assert osp["macs"] == od["macs"] / 2 == n * k * od["m"] / 2     # executed MACs
    total_d = sum(o["weight_bytes"] * o["count"] for o in _gemvs(dense))
    total_s = sum(o["weight_bytes"] * o["count"] for o in _gemvs(sparse))
    assert (total_d, total_s) == (exp_dense, exp_sparse)
    assert 0.75 < total_s / total_d < 0.77                           # 0.75 of the beats, plus the scale blocks
    assert sparse["decode_bytes_per_step"] < dense["decode_bytes_per_step"]
    assert sparse["decode_tokens_per_s"] > dense["decode_tokens_per_s"]
    assert sparse["roofline_tokens_per_s"] > dense["roofline_tokens_per_s"]
    # resources: the same multipliers; an M:1 activation mux per lane and bit, at the Yosys-calibrated
    # LUT per bit of a 4:1 mux (constants.LUT_PER_SPARSE_MUX4_BIT), twice that for 8:1
    from codesign.model.constants import LUT_PER_SPARSE_MUX4_BIT as per_bit
    assert sparse["resources"]["dsp"] == dense["resources"]["dsp"]
    assert sparse["resources"]["lut"] - dense["resources"]["lut"] == rows * cols * 8 * per_bit
    assert sparse["resources"]["uram"] > dense["resources"]["uram"]   # 6-bit lane fields in the weight buffer
    s48 = _eval(capsys, "--sparsity", "4:8")
    assert s48["resources"]["lut"] - dense["resources"]["lut"] == rows * cols * 8 * 2 * per_bit   # 8:1: two 4:1 + MUXF7
    # 4:8: (4*4 + 4*3) / (4*8) = 0.875 of the beats
    total_48 = sum(o["weight_bytes"] * o["count"] for o in _gemvs(s48))
    beats = 4 * (exp_dense - exp_sparse)                             # dense beat bytes (exact: 0.25 of them)
    assert total_48 == (exp_dense - beats) + 0.875 * beats


def test_sparse_weights_shrink_the_stored_model():
    from codesign.model.storage import total_weight_bytes
    from codesign.workload import load_model_config
    from codesign.workload.ops import decode_weight_bytes
    cfg = load_model_config("llama2-7b")
    p = {"wbits": np.array([4.0, 4.0, 8.0, 16.0]), "group": np.array([128.0] * 4), "zero_point": np.zeros(4)}
    dense = total_weight_bytes(cfg, {**p, "sparsity": np.zeros(4)})
    sparse = total_weight_bytes(cfg, {**p, "sparsity": np.ones(4)})
    assert np.all(sparse < dense)
    w_d = decode_weight_bytes(cfg, Quant(wbits=4))
    w_s = decode_weight_bytes(cfg, Quant(wbits=4, sparsity="2:4"))
    assert 0.74 < w_s / w_d < 0.78


def test_sparsity_divisibility_violations():
    def viol(sparsity, cols, group=128):
        return evaluate_design(Design("llama2-7b", "u280", quant=Quant(group=group, sparsity=sparsity),
                                      hw=Hardware(cols=cols, abuf_depth=65536)))["violations"]
    blocks = "N:M sparsity: N does not divide cols or M does not divide group (whole blocks per beat and group)"
    slices = "N:M sparsity: neither a beat's inputs (cols * M / N) nor group divides the other (MPE group slices)"
    dense_rule = "neither cols nor group divides the other (MPE group slices)"
    assert dense_rule in viol("dense", 48) and blocks not in viol("dense", 48)
    # 2:4 at cols 48: a beat covers 96 inputs, neither 96 nor 128 divides the other
    v = viol("2:4", 48)
    assert slices in v and blocks not in v and dense_rule not in v
    assert blocks in viol("2:4", 3) and blocks in viol("4:8", 2)
    assert viol("2:4", 64) == [] and viol("4:8", 64) == []
    assert slices not in viol("2:4", 32, 64)          # 64 inputs per beat, group 64


# ----------------------------------------------------------------------------- the sweep
def test_space_axis_csv_column_and_unmeasured_accuracy(tmp_path):
    assert DEFAULT_QUANT["sparsity"][:2] == ["dense", "2:4"]
    over = parse_space_dict({"space": {"sparsity": ["dense", "2:4", "4:8"], "wbits": [4], "abits": [8],
                                       "kvbits": [8], "group": [128], "zero_point": [False], "method": ["rtn"], "mixed": [0], "rows": [32],
                                       "cols": [64], "weight_channels": [28], "kv_channels": [2, 4],
                                       "port_bits": [512], "freq_mhz": [225]}}).overrides
    space = default_space(get_device("u280"), over)
    assert space.size == 6 and space.as_dict()["sparsity"] == ["dense", "2:4", "4:8"]
    acc = load_accuracy("llama2-7b")
    assert acc.known          # the committed SmolLM2 table (a labelled proxy)
    sw = Sweeper("llama2-7b", "u280", Workload(), space, Constraints(max_accuracy_loss_pct=100.0), acc)
    cols = sw.evaluate_indices(np.arange(space.size))
    sp = cols["sparsity"]
    loss = cols["accuracy_loss_pct"]
    assert np.isfinite(loss[sp == 0]).all()               # dense W4A8KV8 g128 is measured
    assert np.isnan(loss[sp != 0]).all()                  # sparse: not measured, never the dense figure
    assert not cols["meets_constraints"][sp != 0].any()   # an applied accuracy bound rejects unmeasured points
    assert "N:M sparse weights: not measured" in acc.describe()
    rows = list(csv.DictReader(sw.csv_header().decode().splitlines() + sw.csv_rows(cols).decode().splitlines()))
    assert [r["sparsity"] for r in rows] == ["dense", "dense", "2:4", "2:4", "4:8", "4:8"]
    assert all(r["accuracy_loss_pct"] == "" for r in rows if r["sparsity"] != "dense")
    for i in range(space.size):                           # the grid point reads back as its design
        q, h = space.point(i)
        assert q.sparsity == rows[i]["sparsity"] and h.kv_channels == int(rows[i]["kv_channels"])


def test_space_file_sparsity_values():
    assert parse_space_dict({"space": {"sparsity": "4:8"}}).overrides == {"sparsity": ["4:8"]}
    with pytest.raises(CodesignError, match="space.sparsity"):
        parse_space_dict({"space": {"sparsity": ["2:5"]}})
    import yaml
    unquoted = yaml.safe_load("space:\n  sparsity: [dense, 2:4]\n")   # YAML 1.1: 2:4 is the integer 124
    with pytest.raises(CodesignError, match="quote it"):
        parse_space_dict(unquoted)


def test_codes_are_the_tuple_order():
    from codesign.design import from_numeric, numeric_value
    assert [numeric_value("sparsity", s) for s in SPARSITY_CODES] == [0, 1, 2]
    assert [from_numeric("sparsity", c) for c in (0, 1, 2)] == list(SPARSITY_CODES)


def test_generators_carry_sparsity_and_the_selftest_tile_is_sparse():
    # the mapper carries N:M for every backend; the HLS kernel and the RTL decode N:M streams
    # (issue 16: tests/test_hls_sparse.py, tests/test_rtl_sparse.py) and the iCE40 self-test tile
    from codesign.export.ice40_selftest import tile_data
    from codesign.gen.hls.headers import config_header
    from codesign.gen.rtl.params import core_params, mpe_params
    from codesign.gen.template import template_params
    dense = Design("smollm2-135m", "u280").validate()
    sparse = Design("smollm2-135m", "u280", quant=Quant(sparsity="2:4")).validate()
    assert template_params(dense)["COLS"] == Hardware().cols
    assert (template_params(dense)["NM_N"], template_params(dense)["NM_M"]) == (1, 1)
    assert (template_params(sparse)["NM_N"], template_params(sparse)["NM_M"]) == (2, 4)
    for gen in (core_params, mpe_params):
        assert (gen(dense)["NM_N"], gen(sparse)["NM_N"], gen(sparse)["NM_M"]) == (1, 2, 4)
    assert "static const int NM_N = 1;" in config_header(dense)
    h = config_header(sparse)
    assert "static const int NM_N = 2;" in h and "static const int NM_M = 4;" in h
    # the iCE40 self-test tile is sparse too: N kept positions per block of M inputs, the rest at the
    # zero point (tests/test_export_ice40.py runs it in simulation)
    d = tile_data(sparse)
    assert d["keep"].shape[-1] == 2 and d["k"] % 4 == 0
    assert ((d["w"] != 0).reshape(d["w"].shape[0], -1, 4).sum(-1) <= 2).all()
