"""Each command names its own flag and offers exactly what it accepts; a workload whose KV cache
cannot fit says so (issue 20, point 5)."""

import re

import pytest

from codesign.cli import main
from codesign.design import Design
from codesign.devices import get_device, list_devices
from codesign.export.boards import BOARDS

GPUS = sorted(d.name for d in list_devices() if d.kind == "gpu")
FPGAS = sorted(d.name for d in list_devices() if d.kind == "fpga")


def _err(args, capsys):
    rc = main(args)
    cap = capsys.readouterr()
    assert rc == 2 and cap.err.count("\n") == 1, cap.err
    return cap.err.strip()


@pytest.fixture
def design(tmp_path):
    def make(device):
        p = tmp_path / f"design-{device}.json"
        Design(model="llama2-7b", device=device).save(p)
        return p
    return make


def _listed(err, label):
    """The names after 'label: ' up to the next ' or ' / ';' / '('."""
    m = re.search(rf"{label}: ([a-z0-9., -]+?)(?: or | \(|;|$)", err)
    assert m, err
    return [n.strip() for n in m.group(1).split(",")]


def test_compare_unknown_gpu_names_gpu_and_lists_only_gpus(design, capsys):
    err = _err(["compare", "--design", str(design("u280")), "--gpu", "v999"], capsys)
    assert err.startswith("codesign compare: error: --gpu: unknown GPU 'v999'"), err
    listed = _listed(err, "GPUs")
    assert listed == GPUS and not set(listed) & set(FPGAS)
    for g in listed:                      # every name offered is accepted
        assert get_device(g).kind == "gpu"
    err = _err(["compare", "--design", str(design("u280")), "--gpu", "a100,u280"], capsys)
    assert "--gpu: 'u280' is an FPGA, not a GPU" in err and "--device" not in err


def test_sweep_unknown_device_lists_only_fpgas(capsys, tmp_path):
    err = _err(["sweep", "--quiet", "--device", "v999", "--out", str(tmp_path / "o")], capsys)
    assert err.startswith("codesign sweep: error: --device: unknown FPGA 'v999'"), err
    assert _listed(err, "FPGAs") == FPGAS
    assert not (tmp_path / "o").exists()


def test_export_offers_only_boards_it_accepts(design, capsys, tmp_path):
    out = str(tmp_path / "o")
    # a board export does not write: the list is export's own, and the hint fits the design
    err = _err(["export", "--design", str(design("u280")), "--board", "vcu128", "--out", out], capsys)
    assert "--board: unknown board 'vcu128'" in err
    assert _listed(err, "boards") == sorted(BOARDS)
    assert "--board vcu128" not in err and "--board u280" in err
    # a design for a device no board has: never suggests a board export refuses
    err = _err(["export", "--design", str(design("vcu128")), "--board", "u280", "--out", out], capsys)
    suggested = re.findall(r"--board ([a-z0-9]+)", err)
    assert all(b in BOARDS for b in suggested), err
    assert "vcu128" in err and "--device u280" in err
    err = _err(["export", "--design", str(design("u280")), "--board", "u55c", "--out", out], capsys)
    assert err.endswith("--board u280"), err
    assert not (tmp_path / "o").exists()


def test_kv_cache_that_cannot_fit_says_so(capsys, tmp_path):
    out = str(tmp_path / "o")
    err = _err(["sweep", "--quiet", "--model", "llama3.2-1b", "--device", "kv260", "--batch", "64",
                "--prompt", "60000", "--generate", "60000", "--out", out], capsys)
    assert "the KV cache of 120000 tokens" in err and "kv260's 4 GB" in err and "at KV4" in err, err
    err = _err(["evaluate", "--model", "llama3.2-1b", "--device", "kv260", "--wbits", "4", "--abits", "8",
                "--batch", "64", "--prompt", "60000", "--generate", "60000"], capsys)
    assert "the KV cache of 120000 tokens" in err and "at KV8" in err, err
    # a context longer than the tokens the cache holds, or than the model's limit: the flag that is wrong
    err = _err(["sweep", "--quiet", "--context", "2000000", "--out", out], capsys)
    assert "--context: 2000000 is more than --prompt + --generate (1024)" in err, err
    err = _err(["sweep", "--quiet", "--prompt", "3000", "--generate", "2000", "--out", out], capsys)
    assert "--prompt: prompt + generate = 5000 tokens exceed llama2-7b's maximum context of 4096" in err, err
    assert not (tmp_path / "o").exists()


def test_sweep_that_fails_on_memory_names_the_kv_cache(capsys, tmp_path):
    # weights + KV cache beyond the board for most points: the error says so, with the KV-cache size
    err = _err(["sweep", "--quiet", "--device", "kv260", "--prompt", "2000", "--generate", "2000",
                "--out", str(tmp_path / "o")], capsys)
    assert "weights + KV cache exceed the off-chip memory capacity" in err, err
    assert re.search(r"the KV cache of 4000 tokens \(prompt \+ generate\) x batch 1 takes [0-9.]+ GB", err), err
