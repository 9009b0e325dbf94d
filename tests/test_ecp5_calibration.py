"""The ECP5 fit machinery (model/ecp5_calibration.py): least squares on build records recovers the
coefficients that generated them, the hold-out errors and the clock fit are computed as documented,
and an unfitted model refuses to predict instead of answering zero; the committed constants are the
fit of the committed post-route records, and predict the held-out build within 15% (docs/EXPORT.md)."""

from __future__ import annotations

import pytest

from codesign.design import Design, Hardware, Quant
from codesign.errors import CodesignError
from codesign.export import ecp5
from codesign.model import constants as C
from codesign.model import ecp5_calibration as E
from codesign.model.report import evaluate_design

LUT = {"fixed": 30000.0, "lane_bit": 2.5, "sfu_lane": 9000.0, "buffer_bit": 0.05}
FF = {"fixed": 20000.0, "lane_bit": 1.5, "sfu_lane": 2000.0, "buffer_bit": 0.01}
MULT = {"fixed": 80.0, "lane": 1.0, "sfu_lane": 31.0}


def _record(name, role, rows, cols, sfu, fmax, abuf=1024):
    p = {"rows": rows, "cols": cols, "sfu_lanes": sfu, "wbits": 4, "abits": 8, "abuf_depth": abuf}
    used = {"LUT4": round(E.predict(LUT, p)), "FF": round(E.predict(FF, p)), "MULT18X18D": round(E.predict(MULT, p)),
            "DP16KD": 40}
    return {"name": name, "role": role, "used": used, "fmax_mhz": {"clk_25mhz": fmax},
            "design": {"hw": {"rows": rows, "cols": cols, "sfu_lanes": sfu, "abuf_depth": abuf},
                       "quant": {"wbits": 4, "abits": 8}}}


def _records():
    # Fmax from 1/f = 12 ns + 2 ns * log2(lanes)
    f = lambda lanes: 1e3 / (12 + 2 * __import__("math").log2(lanes))  # noqa: E731
    return [_record("a", "fit", 1, 4, 2, f(4)), _record("b", "fit", 1, 8, 1, f(8)),
            _record("c", "fit", 2, 16, 1, f(32)), _record("e", "fit", 1, 8, 1, f(8), abuf=2048),
            _record("d", "holdout", 2, 8, 1, f(16), abuf=1536)]


def test_fit_recovers_the_generating_coefficients():
    recs = _records()
    for res, truth in (("lut", LUT), ("ff", FF), ("mult", MULT)):
        got = E.fit(recs, res)
        for k, v in truth.items():
            assert got[k] == pytest.approx(v, rel=1e-3, abs=0.6), (res, k)
    clk = E.fit_clock(recs)
    assert clk["t0_ns"] == pytest.approx(12, abs=0.01) and clk["t1_ns"] == pytest.approx(2, abs=0.01)


def test_holdout_errors_are_relative_to_the_post_route_figures():
    recs = _records()
    recs[-1]["used"]["LUT4"] = round(recs[-1]["used"]["LUT4"] / 1.1)      # the hold-out build 10% smaller
    rows = E.errors(recs, {"lut": LUT, "ff": FF, "mult": MULT}, {"t0_ns": 12.0, "t1_ns": 2.0})
    held = [r for r in rows if r["role"] == "holdout"][0]
    assert held["lut"]["error"] == pytest.approx(0.10, abs=1e-3)
    assert held["fmax_mhz"]["error"] == pytest.approx(0.0, abs=1e-3)


def test_an_unfitted_ecp5_model_refuses_to_predict(monkeypatch):
    monkeypatch.setattr(C, "ECP5_LUT", {k: 0.0 for k in C.ECP5_LUT})
    d = Design(model="stories15m", device="ulx3s", quant=Quant(wbits=4, abits=8, group=32),
               hw=Hardware(rows=2, cols=8, sfu_lanes=1, freq_mhz=50, port_bits=64, abuf_depth=4096,
                           kvbuf_depth=16, wbuf_depth=512, weight_channels=1, kv_channels=1)).validate()
    with pytest.raises(CodesignError, match="no fitted coefficients"):
        evaluate_design(d)
    assert ecp5.prediction(d) == {}          # the export then reports post-route figures alone


def test_a_fitted_model_drives_the_export_precheck(monkeypatch):
    monkeypatch.setattr(C, "ECP5_LUT", LUT)
    monkeypatch.setattr(C, "ECP5_FF", FF)
    monkeypatch.setattr(C, "ECP5_MULT", MULT)
    monkeypatch.setattr(C, "ECP5_CLOCK", {"t0_ns": 12.0, "t1_ns": 2.0})
    small = Design(model="stories15m", device="ulx3s", hw=Hardware(rows=1, cols=8, sfu_lanes=1, abuf_depth=1024, weight_channels=1,
                                                                   kv_channels=1, port_bits=64)).validate()
    pred = ecp5.prediction(small)
    assert pred["MULT18X18D"] == 80 + 8 + 31 and pred["fmax_mhz"] == pytest.approx(1e3 / 18, abs=0.1)
    ecp5.precheck(small)                     # fits: no error
    big = Design(model="stories15m", device="ulx3s", hw=Hardware(rows=8, cols=32, sfu_lanes=4, weight_channels=1,
                                                                 kv_channels=1, port_bits=64)).validate()
    with pytest.raises(CodesignError, match=r"does not fit the LFE5U-85F: needs MULT18X18D \d+ > 156"):
        ecp5.precheck(big)


def test_committed_constants_are_the_fit_of_the_committed_builds():
    """constants.ECP5_* are what benchmarks/ecp5_calibrate.py --fit gives on the committed records."""
    builds = E.load_builds()
    assert {b["role"] for b in builds} == {"fit", "holdout"} and len([b for b in builds if b["role"] == "fit"]) >= 4
    for res, committed in (("lut", C.ECP5_LUT), ("ff", C.ECP5_FF), ("mult", C.ECP5_MULT)):
        assert E.fit(builds, res) == pytest.approx(committed, abs=0.01), res
    assert E.fit_clock(builds) == pytest.approx(C.ECP5_CLOCK, abs=0.001)


def test_the_fitted_model_predicts_the_held_out_builds_within_15_percent_of_their_luts():
    builds = E.load_builds()
    rows = E.errors(builds, {"lut": C.ECP5_LUT, "ff": C.ECP5_FF, "mult": C.ECP5_MULT}, C.ECP5_CLOCK)
    held = [r for r in rows if r["role"] == "holdout"]
    assert held
    for r in held:
        assert abs(r["lut"]["error"]) <= 0.15, r
