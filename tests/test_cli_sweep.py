"""`codesign sweep` on the command line: outputs, errors (one line, exit 2, nothing written), multi-pair."""

import csv
import json
import os
import subprocess
import sys

import pytest

from codesign.cli import main

SMALL_SPACE = """
space:
  wbits: [4, 8]
  abits: [8]
  kvbits: [8]
  group: [128]
  zero_point: [false]
  sparsity: [dense, "2:4"]
  method: [rtn]
  mixed: [0]
  rows: [16, 64]
  cols: [64, 256]
  weight_channels: [16, 28]
  kv_channels: [2]
  port_bits: [512]
  freq_mhz: [225, 300]
"""


def _run(args, capsys):
    rc = main(["sweep", "--quiet", "--jobs", "1"] + args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _nothing_written(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir() if p.name != "space.yaml") == []


@pytest.fixture
def space(tmp_path):
    p = tmp_path / "space.yaml"
    p.write_text(SMALL_SPACE)
    return p


def test_sweep_writes_every_output(tmp_path, space, capsys):
    out = tmp_path / "run"
    rc, _, err = _run(["--space", str(space), "--out", str(out)], capsys)
    assert rc == 0, err
    for f in ("points.csv", "pareto.csv", "best.json", "summary.json", "pareto.png", "roofline.png",
              "breakdown.png"):
        assert (out / f).stat().st_size > 0, f
    assert not (tmp_path / "run.partial").exists()
    s = json.loads((out / "summary.json").read_text())
    assert s["counts"]["points"] == 64 and s["space"]["wbits"] == [4, 8]
    assert s["space"]["sparsity"] == ["dense", "2:4"]
    acc = s["constraints"]["max_accuracy_loss_pct"]   # the default policy bound, applied only if measured
    from codesign.search.accuracy import load_accuracy
    from codesign.search.anchors import anchor_accuracy_bound
    anchor = anchor_accuracy_bound(load_accuracy("llama2-7b"))   # no worse than FlightLLM's configuration
    assert acc["bound"] == (anchor[0] if anchor else 5.0)
    assert acc["applied"] == (s["accuracy"]["status"] != "not yet measured")
    assert ("FlightLLM U280" in acc["source"]) if anchor else True
    pts = list(csv.DictReader(open(out / "points.csv")))
    assert len(pts) == 64 and {r["sparsity"] for r in pts} == {"dense", "2:4"}
    # an existing folder is refused without --force, and replaced with it
    rc, _, err = _run(["--space", str(space), "--out", str(out)], capsys)
    assert rc == 2 and "--force" in err and err.count("\n") == 1
    rc, _, _ = _run(["--space", str(space), "--out", str(out), "--force", "--min-tokens-per-s", "1",
                     "--max-accuracy-loss-pct", "inf"], capsys)
    assert rc == 0
    c = json.loads((out / "summary.json").read_text())["constraints"]
    assert c["min_tokens_per_s"]["bound"] == 1.0 and c["max_accuracy_loss_pct"]["bound"] is None


@pytest.mark.parametrize("text,field", [
    ("space:\n  rowz: [8]\n", "space.rowz"),
    ("space:\n  rows: []\n", "space.rows"),          # empty space
    ("space:\n  freq_mhz: {min: 300, max: 200}\n", "space.freq_mhz"),  # empty range
    ("space: {wbits: [4]\n", "--space"),             # not YAML
])
def test_bad_space_one_line_error_nothing_written(tmp_path, capsys, text, field):
    bad = tmp_path / "space.yaml"
    bad.write_text(text)
    rc, out, err = _run(["--space", str(bad), "--out", str(tmp_path / "run")], capsys)
    assert rc == 2
    assert err.startswith(f"codesign sweep: error: {field}:") and err.count("\n") == 1, err
    assert _nothing_written(tmp_path)


def test_no_feasible_point_nothing_written(tmp_path, capsys):
    sp = tmp_path / "space.yaml"
    sp.write_text("space:\n  group: [128]\n  rows: [8]\n  cols: [16]\n  freq_mhz: [300]\n  wbits: [4]\n"
                  "  abits: [8]\n  kvbits: [8]\n  weight_channels: [2]\n  port_bits: [512]\n")
    rc, _, err = _run(["--model", "smollm2-135m", "--space", str(sp), "--out", str(tmp_path / "run")], capsys)
    assert rc == 2 and err.startswith("codesign sweep: error: space: no design point is feasible"), err
    assert "group does not divide" in err and err.count("\n") == 1
    assert _nothing_written(tmp_path)


def test_unsatisfiable_constraints_nothing_written(tmp_path, space, capsys):
    rc, _, err = _run(["--space", str(space), "--out", str(tmp_path / "run"), "--min-tokens-per-s", "1e9"], capsys)
    assert rc == 2
    assert err.startswith("codesign sweep: error: constraints: no design point meets the constraints")
    assert "min_tokens_per_s" in err and err.count("\n") == 1
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize("args,field", [
    (["--device", "h100-sxm"], "--device"),
    (["--device", "nosuchboard"], "--device"),
    (["--model", "nosuchmodel"], "--model"),
    (["--model", "llama2-7b,"], "--model"),
    (["--resource-cap", "2"], "--resource-cap"),
    (["--prompt", "0"], "--prompt"),
])
def test_bad_arguments(tmp_path, space, capsys, args, field):
    rc, _, err = _run(["--space", str(space), "--out", str(tmp_path / "run")] + args, capsys)
    assert rc == 2 and err.count("\n") == 1, err
    assert f"error: {field}" in err, err
    assert _nothing_written(tmp_path)


@pytest.mark.slow
def test_several_models_and_devices_comparison(tmp_path, capsys):
    sp = tmp_path / "space.yaml"
    sp.write_text(SMALL_SPACE.replace("weight_channels: [16, 28]", "weight_channels: [2]")
                  .replace("group: [128]", "group: [64]")  # SmolLM2's d_model 576 is not a multiple of 128
                  .replace("kv_channels: [2]", "kv_channels: [1]"))
    out = tmp_path / "cmp"
    rc, _, err = _run(["--model", "llama2-7b,smollm2-135m", "--device", "u280,u250", "--space", str(sp),
                       "--out", str(out)], capsys)
    assert rc == 0, err
    rows = list(csv.DictReader(open(out / "comparison.csv")))
    assert [(r["model"], r["device"]) for r in rows] == [("llama2-7b", "u280"), ("llama2-7b", "u250"),
                                                         ("smollm2-135m", "u280"), ("smollm2-135m", "u250")]
    assert all(float(r["decode_tokens_per_s"]) > 0 for r in rows)
    assert (out / "smollm2-135m-u250" / "best.json").is_file()


def test_default_sweep_no_torch_on_the_import_path():
    # `codesign sweep` must start fast: importing the command and the search package must not pull torch in
    code = ("import sys, codesign.commands.sweep, codesign.search.engine, codesign.search.outputs, "
            "codesign.search.runner, codesign.model; print('torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_ctrl_c_then_resume_gives_the_same_files(tmp_path, space, capsys, monkeypatch):
    from codesign.search import runner

    ref = tmp_path / "ref"
    assert _run(["--space", str(space), "--out", str(ref), "--chunk", "8"], capsys)[0] == 0
    real = runner.chunk_results

    def interrupted(sweeper, tasks, workers):
        for i, res in enumerate(real(sweeper, tasks, workers)):
            if i == 2:
                raise KeyboardInterrupt
            yield res

    monkeypatch.setattr(runner, "chunk_results", interrupted)
    out = tmp_path / "run"
    rc, _, err = _run(["--space", str(space), "--out", str(out), "--chunk", "8"], capsys)
    assert rc == 130 and "--resume" in err
    assert not out.exists() and (tmp_path / "run.partial" / "state.npz").is_file()
    monkeypatch.setattr(runner, "chunk_results", real)
    rc, _, err = _run(["--space", str(space), "--out", str(out), "--chunk", "8"], capsys)
    assert rc == 2 and "--resume" in err and err.count("\n") == 1
    rc, _, err = _run(["--space", str(space), "--out", str(out), "--chunk", "8", "--resume"], capsys)
    assert rc == 0, err
    assert not (tmp_path / "run.partial").exists()
    for f in ("points.csv", "pareto.csv", "best.json", "summary.json", "pareto.png"):
        assert (out / f).read_bytes() == (ref / f).read_bytes(), f


def test_measured_table_of_another_model_is_a_labelled_proxy(tmp_path, space, capsys, monkeypatch):
    # a table in the accuracy helper's cache format, measured on SmolLM2-135M (the real loader reads it)
    cache = tmp_path / "cache"
    (cache / "accuracy").mkdir(parents=True)
    rows = [{"wbits": w, "abits": 8, "kvbits": 8, "group": 128, "ppl": p} for w, p in ((4, 13.0), (8, 12.55))]
    (cache / "accuracy" / "smollm2-135m.json").write_text(json.dumps(
        {"schema": "codesign.accuracy/1", "measured_on": "smollm2-135m", "baseline_ppl": 12.5, "results": rows}))
    monkeypatch.setenv("CODESIGN_CACHE", str(cache))
    out = tmp_path / "run"
    rc = main(["sweep", "--jobs", "1", "--space", str(space), "--out", str(out), "--max-accuracy-loss-pct", "1"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "accuracy proxy: measured on smollm2-135m" in text
    s = json.loads((out / "summary.json").read_text())
    assert s["accuracy"]["status"] == "proxy" and s["accuracy"]["measured_on"] == "smollm2-135m"
    assert s["constraints"]["max_accuracy_loss_pct"]["applied"] is True
    assert s["constraints"]["max_accuracy_loss_pct"]["rejected_feasible_points"] > 0   # the W4 points (4 %)
    best = json.loads((out / "best.json").read_text())
    assert best["quant"]["wbits"] == 8
    assert s["best"]["energy_per_token_j"]["values"]["accuracy_loss_pct"] == pytest.approx(0.4)
