"""The Python API for notebooks: ``from codesign import evaluate, sweep, load_sweep, Design``.

Each function runs the same code as its command (``codesign evaluate``, ``codesign sweep``) with the
same defaults and checks, so a notebook and the command line give the same numbers and files; errors
are the same one-line ``CodesignError`` (``.field`` names the argument). Sweep results load as pandas
DataFrames.

    >>> from codesign import evaluate, sweep
    >>> r = evaluate(model="llama2-7b", device="u280", wbits=4, abits=8)   # dict of `codesign evaluate --json`
    >>> s = sweep(model="llama2-7b", device="u280", space={"wbits": [4, 8]}, out="runs/nb")
    >>> s.pareto.sort_values("energy_per_token_j").head()                  # the Pareto front, a DataFrame
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .design import Design, Hardware, Quant, Workload
from .errors import CodesignError

__all__ = ["Design", "SweepResult", "evaluate", "load_sweep", "sweep"]


def _parser(command) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"codesign {command.NAME}")
    command.add_arguments(p)
    return p


def evaluate(design: Design | str | Path | None = None, *, model: str | None = None, device: str | None = None,
             stack: str = "serving", **params: Any) -> dict:
    """One design point through the model: the dict `codesign evaluate --json` prints.

    ``design`` is a ``Design`` or a design.json path (optional); ``model`` / ``device`` and any
    Quant, Hardware or Workload field (``wbits=4, sparsity="2:4", rows=32, prompt=1024``) set or
    override its values, with the command's defaults for the rest (the device's channels split 7:1
    between weights and KV, the smallest activation buffer that fits).
    """
    from .commands import evaluate as cmd

    known = {f.name for k in (Quant, Hardware, Workload) for f in fields(k)}
    bad = sorted(set(params) - known)
    if bad:
        raise CodesignError(f"unknown parameter(s) {bad}; allowed: model, device, stack and the fields of "
                            f"Quant, Hardware, Workload: {sorted(known)}", field=bad[0])
    if isinstance(design, Design):
        d = design
        if model or device:
            d = replace(d, model=model or d.model, device=device or d.device)
        for part, klass in (("quant", Quant), ("hw", Hardware), ("workload", Workload)):
            mine = {f.name: params[f.name] for f in fields(klass) if f.name in params}
            if mine:
                d = replace(d, **{part: replace(getattr(d, part), **mine)})
        return cmd.predict(d.validate(), stack)
    argv = []
    if design is not None:
        argv += ["--design", str(design)]
    if model:
        argv += ["--model", model]
    if device:
        argv += ["--device", device]
    for name, value in params.items():
        flag = "--" + name.replace("_", "-")
        if name == "zero_point":
            if value:
                argv.append(flag)
        elif value is not None:
            argv += [flag, str(value)]
    args = _parser(cmd).parse_args(argv)
    return cmd.predict(cmd.build_design(args), stack)


@dataclass
class SweepResult:
    """A finished sweep: summary.json, best.json and the Pareto front (and points, when written)."""

    summary: dict
    best: Design
    pareto: Any                 # pandas.DataFrame of pareto.csv
    dir: Path | None = None     # the sweep folder (None: a temporary one, already removed)
    _points: Any = None

    @property
    def points(self):
        """Every point written (points.csv or points.parquet) as a DataFrame; None when none was written."""
        if self._points is None and self.dir is not None:
            self._points = _read_points(self.dir, self.summary)
        return self._points

    @property
    def report(self) -> Path | None:
        return self.dir / "report.html" if self.dir is not None else None


def _read_csv(path: Path):
    import pandas as pd

    from .search.engine import FLOAT_COLUMNS
    # an empty field is an unknown number (accuracy not measured); an empty violations field is "none"
    return pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in FLOAT_COLUMNS})


def _read_points(folder: Path, summary: dict):
    import pandas as pd

    pts = summary.get("points_csv", {})
    if pts.get("mode") == "none":
        return None
    name = pts.get("file", "points.csv")
    return pd.read_parquet(folder / name) if name.endswith(".parquet") else _read_csv(folder / name)


def load_sweep(folder: str | Path) -> SweepResult | list[SweepResult]:
    """A sweep folder written by `codesign sweep` (a multi-pair folder: one result per model x device)."""
    import json

    from .design import load_design
    from .search.report_html import sweep_folders

    folder = Path(folder)
    if not folder.is_dir():
        raise CodesignError(f"'{folder}' is not a folder", field="folder")
    found = sweep_folders([folder])
    out = []
    for f in found:
        summary = json.loads((f / "summary.json").read_text())
        out.append(SweepResult(summary=summary, best=load_design(f / "best.json"),
                               pareto=_read_csv(f / "pareto.csv"), dir=f))
    return out[0] if len(out) == 1 and found[0] == folder else out


def sweep(model: str | list[str] = "llama2-7b", device: str | list[str] = "u280", *,
          space: dict | str | Path | None = None, out: str | Path | None = None, **options: Any
          ) -> SweepResult | list[SweepResult]:
    """`codesign sweep` from Python; returns the loaded result (a list for several models x devices).

    ``space``: a space file's path, or its content as a dict (``{"wbits": [4, 8], "rows": {"min": 8,
    "max": 64, "factor": 2}}``, optionally ``{"space": ..., "constraints": ...}``). ``out``: the output
    folder (kept); None sweeps into a temporary folder, loads everything and removes it.
    ``options`` are the command's flags by their Python names: ``batch``, ``prompt``, ``generate``,
    ``context``, ``max_accuracy_loss_pct``, ``min_tokens_per_s``, ``max_power_w``, ``resource_cap``,
    ``points``, ``points_format`` ("csv" / "parquet"), ``engine`` ("local" / "dask"), ``scheduler``,
    ``jobs``, ``chunk``, ``force``, ``resume``.
    """
    import yaml

    from .commands import sweep as cmd

    allowed = {"batch", "prompt", "generate", "context", "max_accuracy_loss_pct", "min_tokens_per_s",
               "max_power_w", "resource_cap", "points", "points_format", "engine", "scheduler", "jobs",
               "chunk", "force", "resume"}
    bad = sorted(set(options) - allowed)
    if bad:
        raise CodesignError(f"unknown option(s) {bad}; allowed: {sorted(allowed)}", field=bad[0])
    tmp = Path(tempfile.mkdtemp(prefix="codesign-sweep-"))
    try:
        argv = ["--quiet", "--model", model if isinstance(model, str) else ",".join(model),
                "--device", device if isinstance(device, str) else ",".join(device)]
        if isinstance(space, dict):
            doc = space if set(space) <= {"space", "constraints"} else {"space": space}
            (tmp / "space.yaml").write_text(yaml.safe_dump(doc, sort_keys=True))
            argv += ["--space", str(tmp / "space.yaml")]
        elif space is not None:
            argv += ["--space", str(space)]
        dest = Path(out) if out is not None else tmp / "sweep"
        argv += ["--out", str(dest)]
        for name, value in options.items():
            flag = "--format" if name == "points_format" else "--" + name.replace("_", "-")
            if isinstance(value, bool):
                if value:
                    argv.append(flag)
            elif value is not None:
                argv += [flag, str(value)]
        cmd.run(_parser(cmd).parse_args(argv))
        res = load_sweep(dest)
        if out is None:   # the folder goes away: load what it held now
            for r in (res if isinstance(res, list) else [res]):
                r._points = r.points
                r.dir = None
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
