"""`codesign compare`: measured-or-modelled GPU rows, ratio statements, table, JSON and PNG."""

import json

import pytest

from codesign.baselines.bench import RECORD_SCHEMA
from codesign.baselines.compare import compare, ratios
from codesign.baselines.compare_report import bar_chart, table
from codesign.cli import main
from codesign.design import Design, Hardware
from codesign.errors import CodesignError

FPGA = {"device": "u280", "source": "modelled", "decode_tokens_per_s": 50.0, "energy_per_token_j": 0.9,
        "tokens_per_j": 1 / 0.9, "power_w": 45.0, "usd_per_mtoken": 1.0}
DESIGN = Design(model="llama2-7b", device="u280")


def _h100_record():
    return {"schema": RECORD_SCHEMA, "command": "codesign gpu-bench --model llama2-7b --dtype fp16",
            "model": "llama2-7b", "dtype": "fp16", "stack": "serving", "timestamp_utc": "2026-01-01T00:00:00Z",
            "gpu": {"name": "NVIDIA H100 80GB HBM3", "device": "h100-sxm", "driver": "580.159.04"},
            "software": {"torch": "2.11.0"}, "_file": "h100.json",
            "decode": {"median": {"tokens_per_s": 120.0, "j_per_token": 3.0, "avg_power_w": 360.0}}}


def test_ratios_are_oriented_fpga_better_above_one():
    gpu = {"gpu": "a100-80gb", "source": "modelled", "dtype": "fp16", "stack": "serving",
           "decode_tokens_per_s": 100.0, "energy_per_token_j": 3.6, "usd_per_mtoken": 2.5}
    r = ratios(FPGA, gpu)
    assert r["energy_efficiency"] == pytest.approx(4.0) and r["cost_efficiency"] == pytest.approx(2.5)
    assert r["speedup"] == pytest.approx(0.5)
    assert r["statement"].startswith("4.00x energy efficiency, 2.50x cost efficiency, 0.50x decode speed versus a100-80gb")


def test_measured_record_is_preferred_and_marked():
    res = compare(DESIGN, ["v100s", "a100", "h100"], fpga=FPGA, records=[_h100_record()])
    src = {g["gpu"]: g["source"] for g in res["gpus"]}
    assert src == {"v100s": "modelled", "a100-80gb": "modelled", "h100-sxm": "measured"}
    h100 = res["gpus"][2]
    assert h100["decode_tokens_per_s"] == 120.0 and h100["tokens_per_j"] == pytest.approx(1 / 3)
    assert "codesign gpu-bench" in h100["provenance"]
    json.dumps(res, allow_nan=False)
    with pytest.raises(CodesignError, match="--gpu"):
        compare(DESIGN, ["u280"], fpga=FPGA, records=[])


def test_chart_is_deterministic_png(tmp_path):
    res = compare(DESIGN, ["v100s", "h100"], fpga=FPGA, records=[_h100_record()])
    bar_chart(res, tmp_path / "a.png")
    bar_chart(res, tmp_path / "b.png")
    a = (tmp_path / "a.png").read_bytes()
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == (tmp_path / "b.png").read_bytes()
    assert table(res).row_count == 3


def test_cli_end_to_end(tmp_path, capsys):
    design = tmp_path / "best.json"
    Design(model="llama2-7b", device="u280", hw=Hardware(abuf_depth=65536)).save(design)
    out = tmp_path / "cmp"
    assert main(["compare", "--design", str(design), "--gpu", "v100s,a100,h100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "energy efficiency" in text and "versus h100-sxm" in text
    res = json.loads((out / "compare.json").read_text())
    assert [g["gpu"] for g in res["gpus"]] == ["v100s", "a100-80gb", "h100-sxm"]
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["compare", "--design", str(design), "--out", str(out)]) == 2          # exists, no --force
    assert main(["compare", "--design", str(design), "--out", str(out), "--force"]) == 0
    capsys.readouterr()
    assert main(["compare", "--design", str(design), "--gpu", "a100,zz9", "--out", str(tmp_path / "x")]) == 2
    assert "zz9" in capsys.readouterr().err and not (tmp_path / "x").exists()
