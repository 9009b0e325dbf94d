"""`codesign validate`: the published cases, their sources, and the error targets of issue 2."""

import json

from codesign.cli import main
from codesign.model.validation import CASES, TARGETS, fpga_rows, summary


def test_every_case_sourced_and_feasible():
    assert len(CASES) >= 4
    for r in fpga_rows():
        assert r["source"] and r["published"] > 0 and r["predicted"] > 0
        assert r["feasible"], r["case"]
        if r["metric"] == "decode_tokens_per_s":
            assert r["predicted"] <= r["roofline_tokens_per_s"]


def test_validate_json_meets_targets(capsys):
    assert main(["validate", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    cases = {r["case"] for r in d["rows"]}
    assert len(cases) >= 8                       # issue 2: at least 8 published points, FPGA and GPU
    assert {r["kind"] for r in d["rows"]} == {"fpga", "gpu"}
    for metric, target in TARGETS.items():
        assert d["targets"][metric]["median_abs_error_pct"] <= target, metric
        assert d["targets"][metric]["met"]


def test_summary_median_by_hand():
    rows = [{"metric": "x", "error_pct": e, "kind": "fpga"} for e in (-30.0, 5.0, 10.0)]
    assert summary(rows)["x"]["median_abs_error_pct"] == 10.0


def test_validate_table_prints(capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "FlightLLM U280" in out and "median |error|" in out
