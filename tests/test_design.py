import json

import pytest

from codesign.design import Design, Hardware, Quant, Workload, load_design
from codesign.errors import CodesignError
from codesign.fsutil import atomic_output_dir


def test_roundtrip(tmp_path):
    d = Design(model="llama2-7b", device="u280", quant=Quant(wbits=3), hw=Hardware(rows=16)).validate()
    p = tmp_path / "design.json"
    d.save(p)
    assert load_design(p) == d


@pytest.mark.parametrize("field,kw,msg", [
    ("wbits", dict(quant=Quant(wbits=5)), "wbits"),
    ("rows", dict(hw=Hardware(rows=0)), "rows"),
    ("batch", dict(workload=Workload(batch=0)), "batch"),
])
def test_bad_values_name_field(field, kw, msg):
    with pytest.raises(CodesignError) as e:
        Design(model="m", device="d", **kw).validate()
    assert str(e.value).startswith(msg) and "allowed" in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_key_rejected(tmp_path):
    p = tmp_path / "d.json"
    p.write_text(json.dumps({"model": "m", "device": "d", "hw": {"rowz": 3}}))
    with pytest.raises(CodesignError, match="design.hw"):
        load_design(p)


def test_malformed_json(tmp_path):
    p = tmp_path / "d.json"
    p.write_text("{not json")
    with pytest.raises(CodesignError, match="--design"):
        load_design(p)


def test_output_dir_atomic_and_force(tmp_path):
    out = tmp_path / "o"
    with atomic_output_dir(out) as st:
        (st / "a").write_text("1")
    assert (out / "a").read_text() == "1"
    with pytest.raises(CodesignError, match="--force"):
        with atomic_output_dir(out):
            pass
    with pytest.raises(RuntimeError):
        with atomic_output_dir(out, force=True) as st:
            (st / "b").write_text("2")
            raise RuntimeError("boom")
    assert (out / "a").exists() and not (out / "b").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["o"]
