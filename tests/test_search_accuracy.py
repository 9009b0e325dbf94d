"""Accuracy in the sweep: never invented; a proxy table is labelled; the constraint applies only when known."""

import json
import sys
import types

import numpy as np

from codesign.search.accuracy import NOT_MEASURED, AccuracySource, load_accuracy
from codesign.search.constraints import Constraints
from codesign.search.engine import Sweeper
from codesign.search.outputs import write_results
from codesign.search.runner import run_job

from test_search_sweep import small_job


class TableOnAGrid:
    """A measured-table stand-in with the AccuracyTable interface: W x group measured, NaN elsewhere."""
    measured_on = "smollm2-135m"
    baseline_ppl = 12.5
    LOSS = {(3, 64): 9.0, (3, 128): 12.0, (4, 64): 2.0, (4, 128): 3.0, (8, 64): 0.2, (8, 128): 0.3}

    def loss_pct(self, wbits, abits, kvbits, group, zero_point=False, sparsity=0, method="rtn"):
        w, g, sp = np.broadcast_arrays(np.asarray(wbits), np.asarray(group), np.asarray(sparsity))
        m = np.broadcast_to(np.asarray(method, dtype=object), w.shape).ravel()
        return np.array([self.LOSS.get((int(a), int(b)), np.nan) if not c and mm == "rtn" else np.nan
                         for a, b, c, mm in zip(w.ravel(), g.ravel(), sp.ravel(), m)])


def test_load_accuracy_states_what_it_has(monkeypatch):
    mod = types.ModuleType("codesign.quant.accuracy_table")
    mod.load_accuracy_table = lambda model=None: None
    monkeypatch.setitem(sys.modules, "codesign.quant.accuracy_table", mod)
    a = load_accuracy("llama2-7b")
    assert a.status == NOT_MEASURED and not a.known
    assert np.isnan(a.loss_pct({"wbits": np.array([4, 8])})).all()
    assert a.describe() == "accuracy: not yet measured"
    # only a table of another model: used as a labelled proxy
    mod.load_accuracy_table = lambda model=None: TableOnAGrid() if model is None else None
    a = load_accuracy("llama2-7b")
    assert a.status == "proxy" and a.describe().startswith("accuracy proxy: measured on smollm2-135m")
    assert load_accuracy("SmolLM2-135M").status == "measured"


def test_sweep_with_proxy_table_applies_constraint_and_objective(tmp_path):
    job = small_job(constraints=Constraints(max_accuracy_loss_pct=2.5), wbits=[3, 4, 8], group=[64, 128, 256])
    acc = AccuracySource(TableOnAGrid(), "proxy", "smollm2-135m", 12.5)
    sw = Sweeper(job.model, job.device, job.workload, job.space, job.constraints, acc)
    assert [o.column for o in sw.objectives][-1] == "accuracy_loss_pct"
    sw, state, ckpt = run_job(job, tmp_path / "w", resume=False, sweeper=sw)
    write_results(tmp_path / "o", job, sw, state, ckpt)
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["accuracy"]["status"] == "proxy" and s["accuracy"]["measured_on"] == "smollm2-135m"
    assert s["constraints"]["max_accuracy_loss_pct"]["applied"] is True
    assert s["counts"]["feasible_accuracy_not_measured"] > 0       # group 256 is not in the table
    import csv
    front = list(csv.DictReader(open(tmp_path / "o" / "pareto.csv")))
    losses = {float(r["accuracy_loss_pct"]) for r in front}
    assert losses <= {2.0, 0.2, 0.3}          # within 2.5 %, and never an unmeasured point
    assert s["best"]["accuracy_loss_pct"]["values"]["accuracy_loss_pct"] == 0.2
    pts = list(csv.DictReader(open(tmp_path / "o" / "points.csv")))
    assert any(r["accuracy_loss_pct"] == "" for r in pts)      # unmeasured: an empty field, not a number
    # N:M sparse points (the default space has 2:4): never the dense figure, never on the front
    sparse = [r for r in pts if r["sparsity"] != "dense"]
    assert sparse and all(r["accuracy_loss_pct"] == "" for r in sparse)
    assert all(r["sparsity"] == "dense" for r in front)
