"""Published GPU measurements vs the GPU model: the rows `codesign validate` merges."""

import statistics

from codesign.baselines.gpu_validation import POINTS, rows, summary

KEYS = {"case", "device", "model", "metric", "published", "predicted", "error_pct", "source"}


def test_rows_have_the_contract_keys_and_sources():
    table = rows()
    assert len(table) >= 10
    for r in table:
        assert KEYS <= set(r) and r["source"]
        assert r["error_pct"] == 100 * (r["predicted"] - r["published"]) / r["published"]
    assert {p.device for p in POINTS} >= {"a100-80gb", "rtx4090", "v100s"}
    assert any(not p.calibration for p in POINTS)


def test_error_targets():
    table = rows()
    tps = [abs(r["error_pct"]) for r in table if r["metric"] == "decode_tokens_per_s"]
    power = [abs(r["error_pct"]) for r in table if r["metric"] == "power_w"]
    assert statistics.median(tps) <= 15.0
    assert statistics.median(power) <= 20.0
    s = summary(table)
    assert s["decode_tokens_per_s"]["median_abs_error_pct_out_of_sample"] <= 15.0
