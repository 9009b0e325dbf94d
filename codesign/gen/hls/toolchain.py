"""The C-simulation tool chain: g++ against the HLS headers that ship inside hls4ml.

No vendor tool exists on these machines. hls4ml 1.3 carries the Xilinx ``ap_int.h``,
``ap_fixed.h`` and ``hls_stream.h`` headers under ``templates/vivado/ap_types``; they are
included with ``-isystem`` so that ``-Wall -Wextra -Werror`` applies to the project's own
code only (issue 5, point 6).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ...errors import CodesignError

# Warnings are errors on the project's own code; vendor headers come in through -isystem.
WARN_FLAGS = ("-Wall", "-Wextra", "-Werror",
              # "#pragma HLS" is for Vitis HLS; g++ must ignore it.
              "-Wno-unknown-pragmas",
              # ap_private.h (vendor, -isystem) leaves ap_int storage uninitialised by design; g++'s
              # flow-based uninitialised-use diagnostics fire inside it after inlining despite -isystem.
              "-Wno-maybe-uninitialized", "-Wno-uninitialized")
STD_FLAG = "-std=c++14"


def ap_types_dir() -> Path:
    """The folder holding ap_int.h / ap_fixed.h / hls_stream.h (from the hls4ml package)."""
    try:
        import hls4ml  # noqa: F401  (only its location is needed)
    except ImportError:
        raise CodesignError("the hls4ml package (which ships ap_int.h/ap_fixed.h/hls_stream.h) "
                            "is not installed; pip install hls4ml==1.3.0", field="hls4ml") from None
    d = Path(hls4ml.__file__).resolve().parent / "templates" / "vivado" / "ap_types"
    if not (d / "ap_int.h").is_file():
        raise CodesignError(f"ap_int.h not found under {d}", field="hls4ml")
    return d


def cxx() -> str:
    exe = os.environ.get("CXX") or shutil.which("g++")
    if not exe:
        raise CodesignError("no C++ compiler found (install g++ or set CXX)", field="CXX")
    return exe


def compile_command(sources: list[str], include_dirs: list[str], out: str, opt: str = "-O2") -> list[str]:
    cmd = [cxx(), STD_FLAG, opt, *WARN_FLAGS, "-isystem", str(ap_types_dir())]
    for inc in include_dirs:
        cmd += ["-I", inc]
    return cmd + list(sources) + ["-o", out]


def compile_csim(sources: list[str], include_dirs: list[str], out: Path, opt: str = "-O2",
                 cwd: Path | None = None) -> Path:
    """Compile the testbench + kernel into ``out``; a compiler error is a CodesignError with its log."""
    cmd = compile_command(sources, include_dirs, str(out), opt)
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        log = (proc.stderr or proc.stdout).strip().splitlines()
        head = " | ".join(log[:6])
        raise CodesignError(f"C-simulation build failed ({' '.join(cmd[:6])} ...): {head}", field="csim")
    return out
