"""The sweep against the model: agreement with evaluate, determinism, resume, parallel = serial."""

import csv
import json

import numpy as np
import pytest

from codesign.design import Design, Hardware, Quant, Workload
from codesign.devices import get_device
from codesign.model import evaluate_design
from codesign.search.accuracy import AccuracySource
from codesign.search.constraints import Constraints
from codesign.search.defaults import default_space
from codesign.search.engine import Sweeper
from codesign.search.outputs import write_results
from codesign.search.pareto import dominates
from codesign.search.runner import SweepJob, run_job

# ~1.5k points around the interesting corner of the U280 space (fast, still mixed feasible/infeasible)
SMALL = {"wbits": [3, 4, 8], "abits": [8], "kvbits": [8], "group": [64, 128], "rows": [16, 64, 256],
         "cols": [64, 256], "weight_channels": [8, 28, 31], "kv_channels": [2], "port_bits": [256, 512],
         "freq_mhz": [225, 300], "sfu_lanes": [16, 32]}


# The model computes in float32 where it pays (its choice, codesign/model): a point evaluated alone
# (evaluate_design, N = 1) and inside a chunk can differ by a few float32 ulps (SIMD vs scalar loops),
# and the CSV keeps 8 significant digits. Same model code, so the numbers agree to this tolerance.
REL = 2e-6


def small_job(chunk=256, points="all", constraints=Constraints(), **over) -> SweepJob:
    space = default_space(get_device("u280"), {**SMALL, **over})
    return SweepJob("llama2-7b", "u280", Workload(), space, constraints, chunk, points)


def no_accuracy(job):
    return Sweeper(job.model, job.device, job.workload, job.space, job.constraints,
                   AccuracySource(None, "not yet measured"))


def finish(job, tmp_path, name, workers=1, sweeper=None):
    sw, state, ckpt = run_job(job, tmp_path / f"{name}.partial", resume=False,
                              sweeper=sweeper or no_accuracy(job), workers=workers)
    write_results(tmp_path / name, job, sw, state, ckpt)
    return tmp_path / name, sw, state


def test_sweep_agrees_with_evaluate_on_random_points(tmp_path):
    # every sparsity and two weight/KV channel splits; rows drawn from each (sparsity, split) stratum
    job = small_job(sparsity=["dense", "2:4", "4:8"], kv_channels=[1, 4], weight_channels=[8, 28])
    out, sw, state = finish(job, tmp_path, "a")
    rows = list(csv.DictReader(open(out / "points.csv")))
    assert len(rows) == job.space.size
    rng = np.random.default_rng(7)
    strata = {}
    for r in rows:
        strata.setdefault((r["sparsity"], r["kv_channels"], r["weight_channels"]), []).append(r)
    assert len(strata) == 12
    picked = [r for key in sorted(strata) for r in rng.choice(strata[key], size=2, replace=False)]
    assert {r["feasible"] for r in picked} == {"true", "false"}
    for r in picked:
        q = Quant(**{k: (r[k] == "true") if k == "zero_point" else r[k] if k in ("sparsity", "method") else int(r[k])
                     for k in Quant.__dataclass_fields__})
        h = Hardware(**{k: int(r[k]) for k in Hardware.__dataclass_fields__})
        pred = evaluate_design(Design("llama2-7b", "u280", Workload(), q, h))
        assert (r["feasible"] == "true") == pred["feasible"]
        assert set(filter(None, r["violations"].split(";"))) == set(pred["violations"])
        for k in ("decode_tokens_per_s", "energy_per_token_j", "power_w", "usd_per_mtoken", "prefill_latency_s",
                  "roofline_fraction", "energy_per_token_amortised_j"):
            assert float(r[k]) == pytest.approx(pred[k], rel=REL), k
        assert float(r["utilization"]) == pytest.approx(pred["utilization"]["max"], rel=REL)
        for k in ("dsp", "lut", "bram36", "uram"):
            assert float(r[k]) == pytest.approx(pred["resources"][k], rel=REL)
    # the in-memory sweep columns (no CSV formatting in between)
    idx = rng.choice(job.space.size, size=5, replace=False)
    cols = sw.evaluate_indices(idx)
    for j, i in enumerate(idx):
        q, h = job.space.point(int(i))
        pred = evaluate_design(Design("llama2-7b", "u280", Workload(), q, h))
        assert cols["decode_tokens_per_s"][j] == pytest.approx(pred["decode_tokens_per_s"], rel=REL)
        assert cols["energy_per_token_j"][j] == pytest.approx(pred["energy_per_token_j"], rel=REL)


def test_front_and_bests_are_consistent(tmp_path):
    job = small_job()
    out, sw, state = finish(job, tmp_path, "b")
    pts = list(csv.DictReader(open(out / "points.csv")))
    front = list(csv.DictReader(open(out / "pareto.csv")))
    objs = [("decode_tokens_per_s", -1), ("energy_per_token_j", 1), ("usd_per_mtoken", 1), ("utilization", 1)]
    cost = lambda r: np.array([s * float(r[k]) for k, s in objs])  # noqa: E731
    ok = [r for r in pts if r["meets_constraints"] == "true"]
    front_costs = [cost(r) for r in front]
    for r in ok:   # nothing feasible dominates a front point, every other point is dominated or tied
        c = cost(r)
        assert not any(dominates(c, f) for f in front_costs)
    for r in ok[::7]:
        c = cost(r)
        assert any(dominates(f, c) or np.array_equal(f, c) for f in front_costs)
    summary = json.loads((out / "summary.json").read_text())
    best_j = min(float(r["energy_per_token_j"]) for r in ok)
    assert summary["best"]["energy_per_token_j"]["values"]["energy_per_token_j"] == pytest.approx(best_j, rel=1e-7)
    for w in (3, 4, 8):   # best J/token per weight bit-width, streamed over chunks
        rows_w = [r for r in ok if r["wbits"] == str(w)]
        jmin = min(float(r["energy_per_token_j"]) for r in rows_w)
        tied = {int(r["index"]) for r in rows_w if float(r["energy_per_token_j"]) == jmin}  # at 8 digits
        got = summary["best_by_wbits"][f"W{w}"]
        assert got["energy_per_token_j"] == pytest.approx(jmin, rel=1e-7) and got["index"] in tied
    best = json.loads((out / "best.json").read_text())
    d = Design.from_dict(best)
    # best.json is evaluate_design (float64), points.csv the sweep (float32): a few float32 ulps apart
    assert d.prediction["feasible"] and d.prediction["energy_per_token_j"] == pytest.approx(best_j, rel=5e-7)
    assert summary["accuracy"]["status"] == "not yet measured"
    assert summary["constraints"]["max_accuracy_loss_pct"]["applied"] is False


def _bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_identical_inputs_identical_bytes_with_or_without_workers(tmp_path):
    a, _, _ = finish(small_job(chunk=256), tmp_path, "a")
    b, _, _ = finish(small_job(chunk=256), tmp_path, "b", workers=2)
    fa, fb = _bytes(a), _bytes(b)
    assert set(fa) >= {"points.csv", "pareto.csv", "best.json", "summary.json", "pareto.png", "roofline.png",
                       "breakdown.png"}
    assert fa == fb


def test_interrupted_sweep_resumes_to_the_same_bytes(tmp_path):
    job = small_job(chunk=200)
    ref, _, _ = finish(job, tmp_path, "ref")

    class Stop(Exception):
        pass

    seen = []

    def interrupt(done):
        seen.append(done)
        if done >= 600:
            raise Stop

    work = tmp_path / "r.partial"
    with pytest.raises(Stop):
        run_job(job, work, resume=False, sweeper=no_accuracy(job), progress=interrupt, checkpoint_every_s=0)
    assert (work / "state.npz").is_file()
    with pytest.raises(Exception, match="--resume"):
        run_job(job, work, resume=False, sweeper=no_accuracy(job))
    other = small_job(chunk=200, wbits=[4])
    with pytest.raises(Exception, match="different inputs"):
        run_job(other, work, resume=True, sweeper=no_accuracy(other))
    resumed = []
    sw, state, ckpt = run_job(job, work, resume=True, sweeper=no_accuracy(job), progress=resumed.append)
    assert resumed[0] > 0   # it did not start over
    write_results(tmp_path / "r", job, sw, state, ckpt)
    assert _bytes(tmp_path / "r") == _bytes(ref)
