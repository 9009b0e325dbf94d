"""FPGA and GPU device records, the built-in database (``data/*.yaml``) and user device files.

Every figure carries its source in ``sources`` (field -> data sheet / user guide / paper). A user
adds a device with a YAML or JSON file holding one record with the same fields (``kind: fpga`` or
``kind: gpu``); ``get_device`` takes a name from the database or such a file's path. Errors name
the offending field.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import CodesignError

DATA = Path(__file__).parent / "data"
DSP_KINDS = ("DSP48E2", "DSP58", "MULT18X18D")   # MULT18X18D: Lattice ECP5 sysDSP 18x18 multiplier
MEM_KINDS = ("HBM2", "HBM2e", "HBM3", "HBM3e", "DDR4", "DDR5", "LPDDR4", "LPDDR5", "GDDR6", "GDDR6X", "SDR")


@dataclass(frozen=True)
class FpgaDevice:
    name: str
    part: str
    dsp_kind: str
    dsp: int
    lut: int
    ff: int
    bram36: int
    uram: int
    mem_kind: str
    mem_gb: float
    mem_channels: int
    mem_bw_gbs: float
    static_w: float
    kernel_mhz: int
    price_usd: float
    platform: str | None = None
    mem_shared: bool = False       # channels are ports into ONE controller (Zynq PS DDR): a stream over
                                   # c ports may use the whole bandwidth, not c / mem_channels of it
    mem_port_max_bits: int = 512   # widest native AXI port of one memory channel
    mem_port_mhz: int = 300        # clock of that native port
    shell_lut: float = 0.0
    shell_ff: float = 0.0
    shell_bram36: float = 0.0
    shell_uram: float = 0.0
    shell_dsp: float = 0.0
    tdp_w: float = 0.0
    description: str = ""
    sources: dict = field(default_factory=dict, compare=False)
    kind: str = "fpga"

    @property
    def channel_bw_gbs(self) -> float:
        return self.mem_bw_gbs / self.mem_channels

    def available(self, resource: str) -> float:
        """Resources left to kernels after the vendor shell."""
        return getattr(self, resource) * (1.0 - getattr(self, f"shell_{resource}"))


@dataclass(frozen=True)
class GpuDevice:
    name: str
    mem_kind: str
    mem_gb: float
    mem_bw_gbs: float
    peak_fp16_tflops: float
    peak_int8_tops: float
    tdp_w: float
    idle_w: float
    price_usd: float
    description: str = ""
    sources: dict = field(default_factory=dict, compare=False)
    kind: str = "gpu"


# Bounds far above any real device, low enough that a typo (an extra three zeros) is caught
# and the model's arithmetic stays in range.
MAX_NUMBER = 1e15
MAX_INT = {"mem_channels": 1024, "kernel_mhz": 10_000, "mem_port_max_bits": 4096, "mem_port_mhz": 10_000}
_INT = {"dsp", "lut", "ff", "bram36", "uram", "mem_channels", "kernel_mhz", "mem_port_max_bits", "mem_port_mhz"}
_FRACTION = {"shell_lut", "shell_ff", "shell_bram36", "shell_uram", "shell_dsp"}
_STR_OPT = {"platform"}
_STR = {"name", "part", "dsp_kind", "mem_kind", "description", "kind"}
_BOOL = {"mem_shared"}


def _check_record(rec: Any, where: str) -> FpgaDevice | GpuDevice:
    if not isinstance(rec, dict):
        raise CodesignError("must be a mapping of field -> value", field=where)
    odd = [k for k in rec if not isinstance(k, str)]
    if odd:
        raise CodesignError(f"got the key {odd[0]!r}; keys are field names", field=where)
    kind = rec.get("kind", "gpu" if "peak_fp16_tflops" in rec else "fpga")
    if not isinstance(kind, str) or kind not in ("fpga", "gpu"):
        raise CodesignError(f"got {kind!r}; allowed: fpga, gpu", field=f"{where}.kind")
    cls = FpgaDevice if kind == "fpga" else GpuDevice
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(rec) - names)
    if unknown:
        raise CodesignError(f"unknown field(s) {unknown}; allowed: {sorted(names)}", field=f"{where}.{unknown[0]}")
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    for r in required:
        if r not in rec:
            raise CodesignError("missing", field=f"{where}.{r}")
    out = {}
    for k, v in rec.items():
        fld = f"{where}.{k}"
        if k == "sources":
            if not isinstance(v, dict) or not all(isinstance(s, str) for s in v.values()):
                raise CodesignError("must map field names to source strings", field=fld)
        elif k in _BOOL:
            if not isinstance(v, bool):
                raise CodesignError(f"must be true or false, got {v!r}", field=fld)
        elif k in _STR_OPT:
            if v is not None and not isinstance(v, str):
                raise CodesignError(f"must be a string or null, got {v!r}", field=fld)
        elif k in _STR:
            if not isinstance(v, str) or (k == "name" and not v):
                raise CodesignError(f"must be a non-empty string, got {v!r}", field=fld)
        elif k in _INT:
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if k in ("uram", "bram36") else 1):
                raise CodesignError(f"must be a positive integer, got {v!r}", field=fld)
            if v > MAX_INT.get(k, MAX_NUMBER):
                raise CodesignError(f"got {v}; at most {MAX_INT.get(k, MAX_NUMBER):g} (a typo?)", field=fld)
        elif k in _FRACTION:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:   # NaN fails too
                raise CodesignError(f"must be a fraction in [0, 1), got {v!r}", field=fld)
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (
                    v == 0 and k in ("mem_bw_gbs", "mem_gb", "peak_fp16_tflops", "peak_int8_tops")):
                raise CodesignError(f"must be a positive number, got {v!r}", field=fld)
            if v > MAX_NUMBER:
                raise CodesignError(f"got {v!r}; at most {MAX_NUMBER:g} (a typo?)", field=fld)
        out[k] = v
    if kind == "fpga" and out["dsp_kind"] not in DSP_KINDS:
        raise CodesignError(f"got {out['dsp_kind']!r}; allowed: {', '.join(DSP_KINDS)}", field=f"{where}.dsp_kind")
    if out["mem_kind"] not in MEM_KINDS:
        raise CodesignError(f"got {out['mem_kind']!r}; allowed: {', '.join(MEM_KINDS)}", field=f"{where}.mem_kind")
    out["kind"] = kind
    return cls(**out)


@lru_cache(maxsize=None)
def _database() -> dict[str, FpgaDevice | GpuDevice]:
    db: dict[str, FpgaDevice | GpuDevice] = {}
    for fname, kind in (("fpga.yaml", "fpga"), ("gpu.yaml", "gpu")):
        data = yaml.safe_load((DATA / fname).read_text())
        for key, rec in data.items():
            if key.startswith("_"):
                continue
            rec = {k: v for k, v in rec.items()}
            rec["kind"] = kind
            db[key] = _check_record(rec, f"{fname}:{key}")
    return db


def load_device_file(path: str | Path) -> FpgaDevice | GpuDevice:
    """A user device: one record in a YAML or JSON file."""
    from ..fsutil import load_user_file

    path = Path(path)
    return _check_record(load_user_file(path, "--device"), path.name)


def list_devices() -> list[FpgaDevice | GpuDevice]:
    return list(_database().values())


ALIASES = {"a100": "a100-80gb", "h100": "h100-sxm", "h200": "h200-sxm", "4090": "rtx4090", "v100": "v100s"}


def get_device(name: str) -> FpgaDevice | GpuDevice:
    """A device by database name (case-insensitive) or the path of a YAML/JSON device file."""
    if not isinstance(name, str) or not name:
        raise CodesignError("must be a device name or a device file", field="--device")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    db = _database()
    if key in db:
        return db[key]
    if name.lower().endswith((".yaml", ".yml", ".json")) or Path(name).is_file():
        return load_device_file(name)
    raise CodesignError(f"unknown device {name!r}; allowed: {', '.join(sorted(db))} or a .yaml/.json file",
                        field="--device")
