"""`codesign csim DIR`: build the project's testbench + kernel with g++ and run the C-simulation.

The testbench prints one JSON line per instruction; this module parses them into a report and
names the first mismatch (instruction, index, expected, actual)."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import CodesignError
from .toolchain import compile_command, compile_csim


@dataclass
class CsimResult:
    rows: list = field(default_factory=list)     # one dict per instruction
    summary: dict = field(default_factory=dict)
    final: dict = field(default_factory=dict)    # check of the final off-chip images (KV, output)
    returncode: int = 0
    build_s: float = 0.0
    run_s: float = 0.0
    stderr: str = ""

    @property
    def passed(self) -> bool:
        return (self.returncode == 0 and self.summary.get("mismatches", 1) == 0 and bool(self.rows)
                and self.final.get("mismatches", 1) == 0)

    @property
    def first_mismatch(self) -> dict | None:
        return next((r for r in self.rows if r.get("mismatches")), None)


def check_project(folder: Path) -> None:
    for rel in ("src/llm_proc.cpp", "src/codesign_config.h", "tb/tb_llm_proc.cpp", "vectors/checks.txt"):
        if not (folder / rel).is_file():
            raise CodesignError(f"'{folder}' is not an emit-hls project ({rel} missing)", field="DIR")


def build(folder: Path, opt: str = "-O2") -> Path:
    """Compile src/ + tb/ into build/csim; an executable newer than every source, built with the
    same command, is reused (like make)."""
    folder = Path(folder)
    check_project(folder)
    (folder / "build").mkdir(exist_ok=True)
    exe = folder / "build" / "csim"
    stamp = folder / "build" / "csim.cmd"
    srcs = [str(folder / "src" / "llm_proc.cpp"), str(folder / "tb" / "tb_llm_proc.cpp")]
    cmd = " ".join(compile_command(["src/llm_proc.cpp", "tb/tb_llm_proc.cpp"], ["src"], "build/csim", opt))
    inputs = list((folder / "src").iterdir()) + list((folder / "tb").iterdir())
    if exe.is_file() and stamp.is_file() and stamp.read_text() == cmd and \
            exe.stat().st_mtime >= max(p.stat().st_mtime for p in inputs):
        return exe
    compile_csim(srcs, [str(folder / "src")], exe, opt=opt)
    stamp.write_text(cmd)
    return exe


def run(folder: Path, opt: str = "-O2", exe: Path | None = None, timeout: float | None = None) -> CsimResult:
    folder = Path(folder)
    res = CsimResult()
    t0 = time.perf_counter()
    if exe is None:
        exe = build(folder, opt)
    res.build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        proc = subprocess.run([str(exe), str(folder / "vectors")], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CodesignError(f"C-simulation did not finish within {timeout} s", field="csim") from None
    res.run_s = time.perf_counter() - t1
    res.returncode = proc.returncode
    res.stderr = proc.stderr.strip()
    for line in proc.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        if rec.get("summary"):
            res.summary = rec
        elif rec.get("final"):
            res.final = rec
        else:
            res.rows.append(rec)
    if proc.returncode not in (0, 1) or not res.summary:
        raise CodesignError(f"testbench failed (exit {proc.returncode}): {res.stderr or 'no summary line'}",
                            field="csim")
    return res


def model_cycles(folder: Path) -> list[float] | None:
    """The analytical model's cycles per instruction (codesign.model.cycles.instruction_cycles) for the
    project's design and instruction words, to print next to the kernel's measured loop beats."""
    import numpy as np

    from ...design import Design
    from ...devices import get_device
    from ...isa.encoding import decode
    from ...model.cycles import instruction_cycles

    man = json.loads((Path(folder) / "project.json").read_text())
    d = Design.from_dict(man["design"])
    words = np.fromfile(Path(folder) / "golden" / "instr.bin", dtype="<u4")
    out = instruction_cycles(decode(words), d.quant, d.hw, get_device(d.device))
    return [float(v) for v in np.asarray(out["cycles"]).reshape(-1)]
