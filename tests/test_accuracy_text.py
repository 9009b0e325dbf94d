"""Issue 15 (points 1 and 4): the prose text, the paired bootstrap interval, the table's reference
and model card, and the sweep's tie rule at the accuracy bound. All fast (no model runs)."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.quant import accuracy_table as at
from codesign.quant.llm import text_sample as ts
from codesign.search.constraints import Constraints, accuracy_meets_bound, accuracy_tie_at_bound, constraint_masks


# ------------------------------------------------------------------ the text
def test_prose_text_is_the_committed_file_checked_by_sha256():
    spec = ts.PROSE["alice29"]
    raw = (ts.TEXT_DIR / spec["file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == spec["sha256"] and len(raw) == 152_089
    text = ts.prose_text("alice29")
    assert text.startswith("ALICE'S ADVENTURES IN WONDERLAND") and "Down the Rabbit-Hole" in text
    assert "\r" not in text and "  " not in text and "WAISTCOAT-POCKET" in text   # normalised, hyphen re-joined
    assert text == ts.prose_text("alice29")                                      # deterministic


def test_prose_text_refuses_a_changed_file(tmp_path):
    spec = ts.PROSE["alice29"]
    (tmp_path / spec["file"]).write_bytes((ts.TEXT_DIR / spec["file"]).read_bytes() + b"x")
    with pytest.raises(CodesignError, match="sha256"):
        ts.prose_text("alice29", directory=tmp_path)
    with pytest.raises(CodesignError, match="allowed"):
        ts.prose_text("no-such-text")


@pytest.mark.slow
def test_prose_sample_has_at_least_8192_scored_tokens():
    from codesign.quant.llm import smollm2_gguf_path
    from codesign.quant.llm.axes import DEFAULT_WINDOWS
    from codesign.quant.llm.tokenizer import tokenizer_from_gguf

    tok = tokenizer_from_gguf(smollm2_gguf_path())
    sample, calib = ts.build_sample(tok, DEFAULT_WINDOWS, calibration=8)
    d = sample.describe()
    assert d["scored_tokens"] >= 8192 and d["n_windows"] == DEFAULT_WINDOWS and d["window_tokens"] == 256
    assert d["text"]["name"] == "alice29" and d["text"]["file_sha256"] == ts.PROSE["alice29"]["sha256"]
    assert d["stream_tokens"] > 30_000 and calib.shape == (8, 256)
    assert len(set(sample.window_index)) == DEFAULT_WINDOWS
    again, _ = ts.build_sample(tok, DEFAULT_WINDOWS, calibration=8)
    assert again.describe() == d and bool((again.windows == sample.windows).all())


# ------------------------------------------------------------------ the bootstrap interval
def test_paired_interval_of_a_planted_distribution():
    """Per-window NLL differences drawn from N(mu, sd): the interval of the increase is
    expm1(mean +- 1.96 sd / sqrt(n)) (per token: divided by the window's token count)."""
    rng = np.random.default_rng(1)
    n, tpw, mu, sd = 400, 255, 2.55, 10.0                    # mean +0.01 nats/token
    ref = rng.normal(800.0, 60.0, n)                          # window-to-window spread: cancels (paired)
    d = rng.normal(mu, sd, n)
    lo, hi = at.paired_loss_interval(ref, ref + d, tpw, seed=3, resamples=20000)
    half = 1.959964 * d.std(ddof=1) / math.sqrt(n) / tpw
    m = d.mean() / tpw
    want = (math.expm1(m - half) * 100, math.expm1(m + half) * 100)
    assert lo == pytest.approx(want[0], abs=0.08 * (want[1] - want[0]))
    assert hi == pytest.approx(want[1], abs=0.08 * (want[1] - want[0]))
    assert lo < math.expm1(m) * 100 < hi
    # deterministic with the seed; another seed moves it a little
    assert at.paired_loss_interval(ref, ref + d, tpw, seed=3, resamples=20000) == (lo, hi)
    lo2, hi2 = at.paired_loss_interval(ref, ref + d, tpw, seed=4, resamples=20000)
    assert (lo2, hi2) != (lo, hi) and abs(lo2 - lo) < 0.1 * (hi - lo)
    # paired: a constant increase per window has a zero-width interval at exactly that increase
    lo, hi = at.paired_loss_interval(ref, ref + 2.55, tpw)
    assert lo == pytest.approx(math.expm1(0.01) * 100) and hi == pytest.approx(lo)
    assert all(math.isnan(v) for v in at.paired_loss_interval(ref, np.full(n, np.inf), tpw))


def _table_with_intervals():
    rng = np.random.default_rng(0)
    base = rng.normal(760.0, 40.0, 33)
    tpw = 255
    rows, nll = {}, {}
    for k, shift, noise in (((8, 8, 8, 128), 0.0, 3.0), ((4, 8, 8, 128), 25.0, 3.0), ((4, 8, 8, 64), 12.0, 8.0)):
        v = base + shift + rng.normal(0, noise, 33)
        nll[k] = [round(float(x), 6) for x in v]
        rows[k] = math.exp(v.sum() / (33 * tpw))
    meta = {"sample": {"n_windows": 33, "window_tokens": 256}, "reference": {"kind": "dequantized checkpoint"},
            "model_card": {"model": "x"}}
    return at.AccuracyTable("smollm2-135m", math.exp(base.sum() / (33 * tpw)), rows, meta,
                            [round(float(x), 6) for x in base], nll)


def test_table_schema_reference_card_and_intervals_round_trip(tmp_path):
    t = _table_with_intervals()
    p = tmp_path / "t.json"
    at.write_table(p, t)
    d = json.loads(p.read_text())
    assert d["schema"] == "codesign.accuracy/2" and d["bootstrap"]["seed"] == at.BOOTSTRAP["seed"]
    assert d["bootstrap"]["resamples"] == at.BOOTSTRAP["resamples"] and d["bootstrap"]["paired"] is True
    assert d["reference"]["kind"] == "dequantized checkpoint" and d["model_card"] == {"model": "x"}
    assert d["baseline"]["ci_low"] < d["baseline_ppl"] < d["baseline"]["ci_high"]
    rows = {(r["wbits"], r["group"]): r for r in d["results"]}
    for r in rows.values():
        assert r["method"] == "rtn" and r["ci_low_pct"] <= r["loss_pct"] <= r["ci_high_pct"]
        assert r["tie_with_reference"] == (r["ci_low_pct"] <= 0 <= r["ci_high_pct"]) and len(r["window_nll"]) == 33
    assert rows[(8, 128)]["tie_with_reference"] and not rows[(4, 128)]["tie_with_reference"]
    back = at.read_table(p)
    assert back.to_dict() == d                                 # intervals recomputed from the stored NLLs
    lo, hi = back.loss_interval([8, 4, 4, 2], 8, 8, [128, 128, 64, 128])
    assert np.isnan(lo[3]) and np.all(lo[:3] <= back.loss_pct([8, 4, 4], 8, 8, [128, 128, 64]))
    # method is part of the key: a row of another method is its own row, rtn stays the default
    t.rows[(4, 8, 8, 128, False, "gptq")] = 20.0
    at.write_table(p, t)
    back = at.read_table(p)
    assert back.methods == ["gptq", "rtn"] and back.ppl(4, 8, 8, 128, method="gptq") == 20.0
    assert back.ppl(4, 8, 8, 128) == pytest.approx(t.rows[(4, 8, 8, 128, False, "rtn")])
    assert back.ppl(4, 8, 8, 64, method="gptq") != back.ppl(4, 8, 8, 64, method="gptq")   # NaN


def test_schema_1_tables_still_read_without_intervals(tmp_path):
    p = tmp_path / "old.json"
    p.write_text(json.dumps({"schema": "codesign.accuracy/1", "measured_on": "m", "baseline_ppl": 10.0,
                             "results": [{"wbits": 4, "abits": 8, "kvbits": 8, "group": 128, "ppl": 11.0}]}))
    t = at.read_table(p)
    assert t.loss_pct(4, 8, 8, 128) == pytest.approx(10.0)
    lo, hi = t.loss_interval(4, 8, 8, 128)
    assert np.isnan(lo) and np.isnan(hi)


# ------------------------------------------------------------------ the tie rule in the sweep
def test_tie_rule_at_the_accuracy_bound():
    loss = np.array([1.0, 6.0, 6.0, 9.0, np.nan, 6.0])
    low = np.array([0.2, 4.0, 5.0, 5.5, np.nan, np.nan])     # last: a row without an interval
    ok = accuracy_meets_bound(loss, low, 5.0)
    # below; interval contains the bound (tie: passes); low end exactly at the bound (tie: passes);
    # whole interval above (fails); unmeasured (fails); no interval: the loss alone (fails)
    assert ok.tolist() == [True, True, True, False, False, False]
    assert accuracy_tie_at_bound(loss, low, 5.0).tolist() == [False, True, True, False, False, False]
    assert accuracy_meets_bound(loss, None, 6.0).tolist() == [True, True, True, False, False, True]
    masks = constraint_masks(Constraints(max_accuracy_loss_pct=5.0),
                             {"accuracy_loss_pct": loss, "accuracy_loss_ci_low": low}, accuracy_known=True)
    assert masks["max_accuracy_loss_pct"].tolist() == ok.tolist()


def test_sweep_reads_the_interval_from_the_table():
    from codesign.search.accuracy import AccuracySource

    t = _table_with_intervals()
    src = AccuracySource(t, "measured", "smollm2-135m", t.baseline_ppl)
    params = {"wbits": np.array([8, 4, 4, 3]), "abits": np.array([8, 8, 8, 8]), "kvbits": np.array([8, 8, 8, 8]),
              "group": np.array([128, 128, 64, 128])}
    lo = src.loss_ci_low(params)
    assert np.isnan(lo[3]) and np.all(lo[:3] < src.loss_pct(params)[:3])
    assert "ties with it and meets it" in src.describe()


@pytest.mark.slow
def test_fresh_clone_command_reproduces_the_committed_table(tmp_path, monkeypatch, capsys):
    """No cache, no axis option: the command recognises the committed table's sample, numerics and
    reference, measures nothing (the table's own rows are all there) and prints the same numbers."""
    from codesign.cli import main

    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    committed = at.read_table(at.packaged_path(at.DEFAULT_MODEL))
    assert main(["accuracy", "--model", "smollm2-135m", "--json"]) == 0
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    uniform = [k for k in committed.rows if "+" not in k[5]]       # profile rows: --mixed-profiles re-measures them
    assert "the committed table" in err and f"own {len(uniform)} configuration(s), 0 to measure" in err
    assert f"its {len(committed.rows) - len(uniform)} mixed-precision profile row(s)" in err
    assert not at.cache_path(at.DEFAULT_MODEL).exists()            # nothing measured, nothing cached
    assert json.loads(captured.out) == json.loads(json.dumps(committed.to_dict()))
