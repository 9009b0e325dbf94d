"""Sweep engines and formats: a Dask cluster of 2 workers writes the same bytes as the local sweep (CSV and
Parquet, report.html included), an interrupted Dask sweep resumes; points.parquet has typed columns."""

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.search import dask_engine
from test_cli_sweep import SMALL_SPACE

SPACE = SMALL_SPACE          # the CLI tests' small space (two widths, both sparsities)
CHUNK = ["--chunk", "8"]   # 64 points: 8 chunks, spread over the workers


def _sweep(args, capsys):
    rc = main(["sweep", "--quiet"] + args)
    err = capsys.readouterr().err
    return rc, err


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _same_tree(a: Path, b: Path) -> None:
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb)
    assert [k for k in fa if fa[k] != fb[k]] == []


@pytest.fixture
def space(tmp_path):
    p = tmp_path / "space.yaml"
    p.write_text(SPACE)
    return str(p)


@pytest.fixture
def engines_seen(monkeypatch):
    """Each DaskEngine the sweep opens, with the workers its client saw and the chunks it submitted."""
    seen = []
    real = dask_engine.DaskEngine.__enter__

    def enter(self):
        real(self)
        seen.append({"engine": self, "workers": len(self.client.nthreads())})
        return self

    monkeypatch.setattr(dask_engine.DaskEngine, "__enter__", enter)
    return seen


def test_dask_cluster_of_two_workers_same_bytes(tmp_path, space, capsys, engines_seen):
    from distributed import LocalCluster

    ref = tmp_path / "local"
    assert _sweep(["--space", space, "--out", str(ref), "--jobs", "1"] + CHUNK, capsys)[0] == 0
    # two boards in one sweep: one engine, one sweeper scattered after the other
    pairs = ["--device", "u280,u55c"]
    assert _sweep(["--space", space, "--out", str(tmp_path / "local2"), "--jobs", "1"] + pairs + CHUNK, capsys)[0] == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        out = tmp_path / "dask"
        rc, err = _sweep(["--space", space, "--out", str(out), "--engine", "dask",
                          "--scheduler", cluster.scheduler_address] + CHUNK, capsys)
        assert rc == 0, err
        rc, err = _sweep(["--space", space, "--out", str(tmp_path / "dask2"), "--engine", "dask",
                          "--scheduler", cluster.scheduler_address] + pairs + CHUNK, capsys)
        assert rc == 0, err
    assert engines_seen[0]["workers"] == 2 and engines_seen[0]["engine"]._submitted == 8
    assert engines_seen[1]["engine"]._submitted == 16
    assert (out / "report.html").is_file() and (out / "points.csv").is_file()
    _same_tree(ref, out)
    _same_tree(tmp_path / "local2", tmp_path / "dask2")
    # a report over both pairs, and one in each pair's folder
    assert all((tmp_path / "dask2" / sub / "report.html").is_file() for sub in ("", "llama2-7b-u280", "llama2-7b-u55c"))


def test_dask_local_cluster_parquet_same_bytes_and_resume(tmp_path, space, capsys, monkeypatch, engines_seen):
    ref = tmp_path / "local"
    assert _sweep(["--space", space, "--out", str(ref), "--jobs", "2", "--format", "parquet"] + CHUNK, capsys)[0] == 0
    # --engine dask without --scheduler: a local cluster of --jobs workers; stopped after 3 chunks (Ctrl-C)
    real = dask_engine.DaskEngine.__call__

    def interrupted(self, sweeper, tasks, workers):
        for i, res in enumerate(real(self, sweeper, tasks, workers)):
            if i == 3:
                raise KeyboardInterrupt
            yield res

    monkeypatch.setattr(dask_engine.DaskEngine, "__call__", interrupted)
    out = tmp_path / "dask"
    args = ["--space", space, "--out", str(out), "--engine", "dask", "--jobs", "2", "--format", "parquet"] + CHUNK
    rc, err = _sweep(args, capsys)
    assert rc == 130 and "--resume" in err and not out.exists()
    assert engines_seen[0]["workers"] == 2
    monkeypatch.setattr(dask_engine.DaskEngine, "__call__", real)
    rc, err = _sweep(args + ["--resume"], capsys)
    assert rc == 0, err
    assert (out / "points.parquet").is_file() and not (out / "points.csv").exists()
    _same_tree(ref, out)


def test_parquet_typed_columns_same_values_as_csv(tmp_path, space, capsys):
    import pandas as pd
    import pyarrow.parquet as pq

    from codesign.search.engine import POINT_COLUMNS

    csv_dir, pq_dir = tmp_path / "csv", tmp_path / "pq"
    assert _sweep(["--space", space, "--out", str(csv_dir), "--jobs", "1"] + CHUNK, capsys)[0] == 0
    assert _sweep(["--space", space, "--out", str(pq_dir), "--jobs", "1", "--format", "parquet"] + CHUNK,
                  capsys)[0] == 0
    f = pq.ParquetFile(pq_dir / "points.parquet")
    assert f.metadata.num_row_groups == 8 and f.metadata.num_rows == 64   # one row group per chunk
    sch = f.schema_arrow
    assert sch.names == list(POINT_COLUMNS)
    assert str(sch.field("index").type) == "int64" and str(sch.field("rows").type) == "int32"
    assert str(sch.field("zero_point").type) == "bool" and str(sch.field("feasible").type) == "bool"
    assert str(sch.field("sparsity").type) == "string" and str(sch.field("energy_per_token_j").type) == "double"
    a = pd.read_parquet(pq_dir / "points.parquet")
    from codesign.api import load_sweep
    b = load_sweep(csv_dir).points
    assert list(a["sparsity"].unique()) == ["dense", "2:4"] and set(b["sparsity"]) == {"dense", "2:4"}
    for col in ("index", "rows", "freq_mhz", "feasible", "meets_constraints", "violations"):
        assert (a[col].astype(str) == b[col].astype(str)).all(), col
    for col in ("decode_tokens_per_s", "energy_per_token_j", "accuracy_loss_pct", "lut"):
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert (np.isnan(x) == np.isnan(y)).all(), col        # unknown accuracy: null in Parquet, empty in CSV
        assert np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-7), col   # CSV keeps 8 digits
    assert a["accuracy_loss_pct"].isna().any()   # the 2:4 points: not measured
    s = json.loads((pq_dir / "summary.json").read_text())
    assert s["points_csv"] == {"mode": "all", "rows": 64, "note": "every grid point", "file": "points.parquet"}
    # the other outputs do not depend on the points format
    for name in ("pareto.csv", "best.json", "report.html"):
        assert (pq_dir / name).read_bytes() == (csv_dir / name).read_bytes(), name


def test_engine_errors_one_line(tmp_path, space, capsys, monkeypatch):
    rc, err = _sweep(["--space", space, "--out", str(tmp_path / "r"), "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert rc == 2 and err.startswith("codesign sweep: error: --scheduler:") and err.count("\n") == 1, err
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT_S", 2)
    rc, err = _sweep(["--space", space, "--out", str(tmp_path / "r"), "--engine", "dask",
                      "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert rc == 2 and err.startswith("codesign sweep: error: --scheduler: cannot reach"), err
    assert err.count("\n") == 1 and not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()
