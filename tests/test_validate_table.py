"""`codesign validate`: the published cases and their sources, in-sample and leave-one-out errors,
the fitted constants, and the targets judged on the leave-one-out figures (issue 14)."""

import json

import numpy as np
import pytest

from codesign.cli import main
from codesign.model import constants as C
from codesign.model.calibration import FACTOR_GRID, SYNC_GRID, Evaluations, fit, fit_on, leave_one_out, predict
from codesign.model.validation import CASES, TARGETS, WORST_FACTOR, fpga_rows, summary, verdict


@pytest.fixture(scope="module")
def rows():
    return fpga_rows()


def test_every_case_sourced_and_physical(rows):
    assert len(CASES) >= 7
    for r in rows:
        assert r["source"] and r["source_kind"] and r["published"] > 0 and r["predicted"] > 0
        assert r["feasible"] or any("infeasible" in f for f in r["flags"]), r["case"]
        if r["metric"] == "decode_tokens_per_s":
            assert r["predicted"] <= r["roofline_tokens_per_s"] * (1 + 1e-9)
            assert r["predicted_loo"] <= r["roofline_tokens_per_s"] * (1 + 1e-9)
            # a published figure above the model's own roofline is flagged, never silently compared
            assert (r["published"] > r["roofline_tokens_per_s"]) == any("roofline" in f for f in r["flags"])


def test_shipped_constants_are_the_fit_on_every_row(rows):
    # the values in constants.py are what the fit on all in-scope rows gives: they cannot drift
    assert rows[0]["fit"] == pytest.approx({"LAYER_SYNC_CYCLES": C.LAYER_SYNC_CYCLES,
                                            "LOGIC_POWER_CALIBRATION": C.LOGIC_POWER_CALIBRATION})
    for r in rows:   # so the in-sample prediction is the one every other command makes
        assert r["predicted"] == pytest.approx(r["predicted_shipped"], rel=1e-9)


def _synthetic(tps, w0, w1, pub_tps, pub_w, scope=None):
    n = len(pub_tps)
    return Evaluations([f"c{i}" for i in range(n)], np.array(pub_tps, float), np.array(pub_w, float),
                       np.ones(n, bool) if scope is None else np.array(scope), np.array(tps, float),
                       np.array(w0, float), np.array(w1, float))


def test_leave_one_out_refits_without_the_row():
    g = len(SYNC_GRID)
    # case 0 is matched only at sync index 5; cases 1 and 2 only at index 0
    tps = np.full((3, g), 50.0)
    tps[0, 5], tps[1, 0], tps[2, 0] = 100.0, 100.0, 100.0
    w0, w1 = np.full((3, g), 10.0), np.full((3, g), 20.0)       # power = 10 + 10 k
    ev = _synthetic(tps, w0, w1, [100.0, 100.0, 100.0], [30.0, 30.0, np.nan])
    full = fit_on(ev, np.ones(3, bool))
    assert full["_sync_index"] == 0 and full["LOGIC_POWER_CALIBRATION"] == pytest.approx(2.0, abs=0.01)
    without_1_2 = fit_on(ev, np.array([True, False, False]))
    assert without_1_2["_sync_index"] == 5
    assert predict(ev, 0, full)["decode_tokens_per_s"] == 50.0       # in sample: the others outvote it
    assert predict(ev, 0, full)["power_w"] == pytest.approx(30.0, abs=0.1)
    # an out-of-scope case is predicted but never fitted to
    ev2 = _synthetic(tps, w0, w1, [100.0, 100.0, 100.0], [90.0, 30.0, np.nan], scope=[False, True, True])
    assert fit_on(ev2, np.ones(3, bool))["LOGIC_POWER_CALIBRATION"] == pytest.approx(2.0, abs=0.01)
    assert FACTOR_GRID[0] > 0


def test_leave_one_out_on_the_table_differs_where_a_row_matters(rows):
    loo = leave_one_out(CASES)
    assert set(loo) == {c.name for c in CASES} | {"_fit"}
    assert loo["_fit"] == pytest.approx(fit(CASES))
    power = [r for r in rows if r["metric"] == "power_w"]
    assert len(power) >= 4
    # with four power rows, leaving one out moves the fitted factor: the figures are not the same
    assert any(abs(r["predicted_loo"] - r["predicted"]) > 1e-6 * r["predicted"] for r in power)


def test_validate_json_reports_both_and_judges_leave_one_out(capsys):
    assert main(["validate", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {r["kind"] for r in d["rows"]} == {"fpga", "gpu"}
    for metric, target in TARGETS.items():
        m, t = d["median"][metric], d["targets"][metric]
        assert m["fpga_median_abs_error_pct"] is not None and m["fpga_loo_median_abs_error_pct"] is not None
        assert t["met"] == (t["fpga_loo_median_abs_error_pct"] <= target and t["worst_factor"] <= WORST_FACTOR)
    fpga = [r for r in d["rows"] if r["kind"] == "fpga"]
    errs = sorted(abs(r["error_loo_pct"]) for r in fpga if r["metric"] == "decode_tokens_per_s")
    assert d["median"]["decode_tokens_per_s"]["fpga_loo_median_abs_error_pct"] == pytest.approx(float(np.median(errs)))
    assert d["fitted_constants"] == pytest.approx({"LAYER_SYNC_CYCLES": C.LAYER_SYNC_CYCLES,
                                                   "LOGIC_POWER_CALIBRATION": C.LOGIC_POWER_CALIBRATION})


def test_summary_and_verdict_by_hand():
    rows = [{"metric": "decode_tokens_per_s", "error_pct": e, "error_loo_pct": e2, "kind": "fpga",
             "published": 10.0, "predicted_loo": 10.0 * (1 + e2 / 100)} for e, e2 in ((-30.0, -40.0), (5.0, 6.0), (10.0, 120.0))]
    med = summary(rows)["decode_tokens_per_s"]
    assert med["fpga_median_abs_error_pct"] == 10.0 and med["fpga_loo_median_abs_error_pct"] == 40.0
    v = verdict(rows, summary(rows))["decode_tokens_per_s"]
    assert v["worst_factor"] == pytest.approx(2.2) and not v["met"]


def test_validate_table_prints(capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "FlightLLM U280" in out and "leave-one-out" in out and "fitted constants" in out
