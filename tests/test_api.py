"""The Python API (codesign/api.py): the README's notebook example runs as a doctest; evaluate and sweep give
what the commands give (same dict, same files); results load as DataFrames."""

import doctest
import json
import re
from pathlib import Path

import pytest

import codesign
from codesign.cli import main
from codesign.errors import CodesignError

ROOT = Path(__file__).resolve().parents[1]
SPACE = {"wbits": [4, 8], "abits": [8], "kvbits": [8], "group": [128], "zero_point": [False],
         "sparsity": ["dense", "2:4"], "method": ["rtn"], "mixed": [0], "rows": [16, 64], "cols": [64, 256],
         "weight_channels": [16, 28], "kv_channels": [2], "port_bits": [512], "freq_mhz": [225, 300]}


def test_readme_notebook_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([ln for ln in block.splitlines() if ln.startswith(">>> ")]) == 5   # the five-line example
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(block, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
    assert runner.summarize(verbose=False).attempted == 5


def test_evaluate_is_the_command(capsys):
    from codesign import evaluate
    assert main(["evaluate", "--model", "llama2-7b", "--device", "u280", "--wbits", "3", "--sparsity", "2:4",
                 "--rows", "64", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    r = evaluate(model="llama2-7b", device="u280", wbits=3, sparsity="2:4", rows=64)
    assert json.loads(json.dumps(r)) == cli
    # a Design with overrides, and the GPU path
    from codesign import Design
    d = Design(model="llama2-7b", device="u280")
    assert evaluate(d, wbits=8)["decode_tokens_per_s"] < evaluate(d, wbits=4)["decode_tokens_per_s"]
    assert evaluate(model="llama2-7b", device="a100-80gb")["decode_tokens_per_s"] > 0
    with pytest.raises(CodesignError) as e:
        evaluate(model="llama2-7b", device="u280", wbitz=4)
    assert e.value.field == "wbitz"
    with pytest.raises(CodesignError) as e:
        evaluate(model="llama2-7b", device="u280", wbits=5)
    assert e.value.field == "--wbits"


def test_sweep_is_the_command_and_loads_dataframes(tmp_path, capsys):
    import yaml

    from codesign import load_sweep, sweep
    (tmp_path / "space.yaml").write_text(yaml.safe_dump({"space": SPACE}))
    assert main(["sweep", "--quiet", "--jobs", "1", "--space", str(tmp_path / "space.yaml"),
                 "--out", str(tmp_path / "cli"), "--format", "parquet"]) == 0
    s = sweep(space=SPACE, out=tmp_path / "api", jobs=1, points_format="parquet")
    for f in ("summary.json", "pareto.csv", "best.json", "points.parquet", "report.html"):
        assert (tmp_path / "api" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    assert len(s.pareto) == s.summary["pareto"]["size"] and len(s.points) == s.summary["counts"]["points"] == 64
    assert s.best == codesign.design.load_design(tmp_path / "cli" / "best.json")
    assert str(s.points["rows"].dtype) == "int32" and s.report == tmp_path / "api" / "report.html"
    again = load_sweep(tmp_path / "cli")
    assert again.summary == s.summary and again.pareto.equals(s.pareto)
    # no out: a temporary folder, loaded and removed
    t = sweep(space=SPACE, jobs=1)
    assert t.dir is None and t.report is None and len(t.points) == 64 and t.pareto.equals(s.pareto)
    with pytest.raises(CodesignError) as e:
        sweep(space=SPACE, jobz=1)
    assert e.value.field == "jobz"
    with pytest.raises(CodesignError) as e:
        sweep(space={"rowz": [8]})
    assert e.value.field == "space.rowz"
