"""Yosys ``synth_xilinx -family xcup`` of processor blocks; DSP/LUT/FF counts.

Yosys 0.23 (Debian) maps multipliers into DSP48E2 and builds accumulators and shifters in fabric,
so its LUT/FF are an upper bound of what Vivado would report (ARCHITECTURE.md, toolchain notes).
Large MPE arrays take Yosys a long time: past ``max_lanes`` multiply lanes the array is
synthesised as a slice (fewer rows, then fewer columns; same bits and group structure) and the
counts are scaled by lanes; the result says so (``scaled_from``). Scaling by lanes also scales the
per-row logic (group-scale multiply, int64 accumulate, requantize shifter) by cols/slice-cols, so a
scaled row over-counts it: read scaled figures as an upper bound. The SFU row uses the SFU
helper's ``hw/rtl/sfu/synth_report.synth_block`` (same flags, same cell classes).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ...errors import CodesignError

ROOT = Path(__file__).resolve().parents[3]
RTL_DIR = ROOT / "hw" / "rtl"
SFU_DIR = RTL_DIR / "sfu"


def _sfu_report():
    path = SFU_DIR / "synth_report.py"
    if not path.is_file():
        raise CodesignError("hw/rtl/sfu/synth_report.py not found (SFU blocks not present)",
                            field="--blocks")
    spec = importlib.util.spec_from_file_location("sfu_synth_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclass
class SynthResult:
    block: str
    params: dict
    dsp: int
    lut: int
    ff: int
    carry: int
    scaled_from: dict | None = None   # the slice actually synthesised, when scaled
    scale: float = 1.0


def _need_yosys() -> None:
    if shutil.which("yosys") is None:
        raise CodesignError("yosys not found on PATH (Debian: apt-get install --no-install-recommends "
                            "yosys)", field="synth")


def run_yosys(sources: list[Path], top: str, params: dict, workdir: Path,
              timeout: int = 3600) -> dict[str, float]:
    """Synthesise `top`; resource classes (dsp, lut, ff, carry, ...) as the SFU report counts them."""
    _need_yosys()
    workdir.mkdir(parents=True, exist_ok=True)
    stat = workdir / f"{top}_stat.json"
    chparam = " ".join(f"-set {k} {v}" for k, v in params.items())
    script = (f"read_verilog -defer {' '.join(str(s) for s in sources)}; "
              + (f"chparam {chparam} {top}; " if chparam else "")
              + f"synth_xilinx -family xcup -flatten -noiopad -top {top}; "
              f"tee -q -o {stat} stat -json")
    try:
        proc = subprocess.run(["yosys", "-q", "-p", script], cwd=workdir, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CodesignError(f"yosys on {top} {params} ran past {timeout} s; lower --max-lanes",
                            field="synth") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise CodesignError(f"yosys failed on {top}: {' | '.join(tail)}", field="synth")
    data = json.loads(stat.read_text())
    return _sfu_report().count_cells(data["design"]["num_cells_by_type"])


def mpe_slice(params: dict, max_lanes: int) -> dict:
    """Fewer rows first, then fewer columns (halving keeps cols | group or group | cols; N:M sparse
    MPEs keep whole blocks per beat, NM_N | cols)."""
    p = dict(params)
    nm_n = p.get("NM_N", 1)
    while p["ROWS"] * p["COLS"] > max_lanes and p["ROWS"] > 1:
        p["ROWS"] = max(1, p["ROWS"] // 2)
    while (p["ROWS"] * p["COLS"] > max_lanes and p["COLS"] > 1 and p["COLS"] % 2 == 0
           and (p["COLS"] // 2) % nm_n == 0):
        p["COLS"] //= 2
    return p


def synth_mpe(params: dict, max_lanes: int = 128, workdir: Path | None = None) -> SynthResult:
    s = mpe_slice(params, max_lanes)
    with tempfile.TemporaryDirectory(prefix="codesign_synth_") as tmp:
        c = run_yosys([RTL_DIR / "mpe.v"], "mpe", s, Path(workdir or tmp) / "mpe")
    scale = (params["ROWS"] * params["COLS"]) / (s["ROWS"] * s["COLS"])
    return SynthResult("mpe", params, dsp=round(c["dsp"] * scale), lut=round(c["lut"] * scale),
                       ff=round(c["ff"] * scale), carry=round(c["carry"] * scale),
                       scaled_from=None if s == params else s, scale=scale)


def synth_weight_beat(params: dict, workdir: Path | None = None) -> SynthResult:
    """weight_beat.v (lane widening and the wide-mode beat assembler) at the design's tile and modes."""
    with tempfile.TemporaryDirectory(prefix="codesign_synth_") as tmp:
        c = run_yosys([RTL_DIR / "weight_beat.v"], "weight_beat", params, Path(workdir or tmp) / "weight_beat")
    return SynthResult("wbeat", params, dsp=round(c["dsp"]), lut=round(c["lut"]), ff=round(c["ff"]),
                       carry=round(c["carry"]))


def synth_sfu(params: dict, workdir: Path | None = None) -> SynthResult:
    """The SFU helper's sfu_top at the design's lanes, bits and block size (XQUANT's GROUP)."""
    _need_yosys()
    p = {k: params[k] for k in ("SFU_LANES", "ABITS", "KVBITS", "GROUP") if k in params}
    try:
        c = _sfu_report().synth_block("sfu_top", p, workdir)
    except RuntimeError as e:
        raise CodesignError(f"yosys failed on sfu_top: {str(e).splitlines()[0]}", field="synth") from None
    return SynthResult("sfu", p, dsp=round(c["dsp"]), lut=round(c["lut"]), ff=round(c["ff"]),
                       carry=round(c["carry"]))
