"""`codesign evaluate`, `devices`, `models` through the CLI entry point (in-process)."""

import json

import pytest

from codesign.cli import main
from codesign.design import load_design

ISSUE_KEYS = {"feasible", "violations", "decode_tokens_per_s", "prefill_latency_s", "energy_per_token_j",
              "power_w", "usd_per_mtoken", "resources", "utilization", "roofline_tokens_per_s",
              "roofline_fraction", "min_memory_energy_per_token_j", "ops"}


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_acceptance_command_json(capsys):
    r = _json(capsys, ["evaluate", "--model", "llama2-7b", "--device", "u280", "--wbits", "4", "--abits", "8",
                       "--json"])
    assert ISSUE_KEYS <= set(r)
    assert set(r["resources"]) == {"dsp", "lut", "ff", "bram36", "uram"}
    assert 0 < r["decode_tokens_per_s"] <= r["roofline_tokens_per_s"]
    assert r["feasible"] is True and r["ops"]


def test_save_and_reload_design(tmp_path, capsys):
    out = tmp_path / "d.json"
    assert main(["evaluate", "--model", "gpt2-355m", "--device", "u280", "--wbits", "8", "--save", str(out)]) == 0
    capsys.readouterr()
    d = load_design(out)
    assert d.quant.wbits == 8 and d.prediction["decode_tokens_per_s"] > 0
    r = _json(capsys, ["evaluate", "--design", str(out), "--json"])
    assert r["decode_tokens_per_s"] == pytest.approx(d.prediction["decode_tokens_per_s"])
    r2 = _json(capsys, ["evaluate", "--design", str(out), "--rows", "8", "--json"])
    assert r2["decode_tokens_per_s"] != r["decode_tokens_per_s"]


def test_table_output(capsys):
    assert main(["evaluate", "--model", "smollm2-135m", "--device", "kv260", "--group", "64"]) == 0
    out = capsys.readouterr().out
    assert "decode tokens/s" in out and "roofline" in out and "GEMV" in out


@pytest.mark.parametrize("argv,field", [
    (["--model", "nope-1b", "--device", "u280"], "--model"),
    (["--model", "llama2-7b", "--device", "u999"], "--device"),
    (["--model", "llama2-7b", "--device", "u280", "--wbits", "5"], "--wbits"),
    (["--model", "llama2-7b", "--device", "u280", "--rows", "0"], "--rows"),
    (["--model", "llama2-7b", "--device", "u280", "--cols", "many"], "--cols"),
    (["--device", "u280"], "--model"),
])
def test_bad_inputs_one_line_error(capsys, argv, field):
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"error: {field}:" in err[0]


def test_malformed_config_and_device_files(tmp_path, capsys):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "llama", "hidden_size": 64}))
    assert main(["evaluate", "--model", str(cfg), "--device", "u280"]) == 2
    assert "num_attention_heads" in capsys.readouterr().err
    dev = tmp_path / "dev.yaml"
    dev.write_text("kind: fpga\nname: x\n")
    assert main(["evaluate", "--model", "gpt2", "--device", str(dev)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dev.yaml." in err


def test_devices_and_models_listing(capsys):
    assert main(["devices"]) == 0
    assert "u280" in capsys.readouterr().out
    d = _json(capsys, ["devices", "--json"])
    assert d["u280"]["sources"]["mem"]
    assert main(["models"]) == 0
    assert "mixtral-8x7b" in capsys.readouterr().out
    m = _json(capsys, ["models", "--json"])
    assert m["llama2-7b"]["params"]["total"] == 6738415616
