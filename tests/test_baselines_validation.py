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


def test_measured_records_join_the_table_beside_the_prediction():
    from codesign.baselines.bench import RECORD_SCHEMA
    from codesign.baselines.gpu_validation import measured_points

    rec = {"schema": RECORD_SCHEMA, "command": "codesign gpu-bench --model llama2-7b", "model": "llama2-7b",
           "dtype": "fp16", "mode": "graph", "stack": "serving", "prompt": 512, "tokens": 256,
           "gpu": {"name": "NVIDIA H100 80GB HBM3", "device": "h100-sxm", "driver": "580"},
           "software": {"torch": "2.11"}, "_file": "h100.json",
           "decode": {"median": {"tokens_per_s": 110.0, "j_per_token": 3.5, "avg_power_w": 385.0}}}
    skipped = [{**rec, "mode": "eager"}, {**rec, "gpu": {**rec["gpu"], "device": None}}]
    pts = measured_points([rec] + skipped)
    assert len(pts) == 1 and pts[0].device == "h100-sxm"
    table = rows(pts)
    assert {r["metric"] for r in table} == {"decode_tokens_per_s", "energy_per_token_j", "power_w"}
    tps = next(r for r in table if r["metric"] == "decode_tokens_per_s")
    assert tps["published"] == 110.0 and tps["predicted"] > 0 and "h100.json" in tps["source"]
