"""The design point: one ``design.json`` read by every stage.

A design names the model, the device, the workload it was chosen for, the
quantization, and the hardware template parameters of the LLM processor
(see docs/ARCHITECTURE.md). Every generator reads it; nothing downstream
re-derives a parameter. This module owns the parameter names, their allowed
values, and (de)serialisation. Feasibility against a device (resources, buffer
sizes for a model) belongs to ``codesign.model``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import CodesignError
from .fsutil import atomic_write_json

SCHEMA = "codesign.design/1"

# Allowed values of each parameter. Sets are exact choices; tuples are inclusive
# (lo, hi) integer ranges. The CLI, the sweep's space file and design.json all
# check against this one table.
# N:M structured weight sparsity (docs/NUMERICS.md, "N:M sparse weight stream"): of every M
# consecutive inputs of a weight row N are kept. 2:4 is the pattern sparse tensor cores and the
# pruning literature (SparseGPT, Wanda) use; 4:8 keeps the same density with a freer choice (an
# 8-input block, 3 index bits per kept weight). The sweep's parameter arrays are numeric: a point's
# ``sparsity`` there is its index in this tuple (``numeric_value`` / ``from_numeric``); design.json
# keeps the name.
SPARSITY_CODES: tuple[str, ...] = ("dense", "2:4", "4:8")
# Weight quantizer (docs/ACCURACY.md): round-to-nearest, GPTQ, AWQ. All three produce the same integer
# format (the numerics contract), so the hardware and the model do not depend on it; the accuracy
# table does. Numeric codes in the sweep's arrays, like sparsity.
METHOD_CODES: tuple[str, ...] = ("rtn", "gptq", "awq")
QUANT_ALLOWED: dict[str, Any] = {
    "wbits": {2, 3, 4, 8, 16},
    "abits": {4, 8, 16},
    "kvbits": {4, 8, 16},
    "group": {32, 64, 128, 256},
    "zero_point": {False, True},
    "sparsity": set(SPARSITY_CODES),
    "method": set(METHOD_CODES),
    # per-layer mixed precision (docs/MODEL.md "Mixed precision"): the k most sensitive units (a layer's
    # attention or FFN projections, ranked in the accuracy table) run at hi_wbits, the rest at wbits;
    # 0 = uniform. The processor runs each GEMV at its instruction's precision (a run-time mode).
    "mixed": (0, 1024),
    "hi_wbits": {4, 8, 16},
}
HW_ALLOWED: dict[str, Any] = {
    "rows": (1, 1024),            # MPE output lanes (output features per cycle)
    "cols": (1, 1024),            # MPE input lanes (dot-product width per cycle)
    "sfu_lanes": (1, 256),        # SFU elements per cycle
    "wbuf_depth": (2, 65536),     # weight ping-pong buffer depth, in rows x cols tiles per half
    "abuf_depth": (64, 1 << 20),  # activation buffer depth, in elements
    "kvbuf_depth": (16, 1 << 20), # KV tile buffer depth, in tokens
    "weight_channels": (1, 64),   # off-chip memory channels streaming weights
    "kv_channels": (0, 64),       # off-chip memory channels holding the KV cache (0: unified memory,
                                  # the KV cache interleaved over the weight channels, ATTN on the MPE)
    "port_bits": {64, 128, 256, 512},  # AXI data width of each memory port
    "freq_mhz": (1, 800),         # kernel clock (an ECP5 build of the whole processor routes at a few MHz)
}
WORKLOAD_ALLOWED: dict[str, Any] = {
    "batch": (1, 4096),
    "prompt": (1, 1 << 20),
    "generate": (1, 1 << 20),
}


def _describe(allowed: Any) -> str:
    if isinstance(allowed, set):
        order = SPARSITY_CODES + METHOD_CODES
        vals = sorted(allowed, key=lambda v: (order.index(v), v) if v in order else (0, v))
        return "one of {" + ", ".join(str(v).lower() if isinstance(v, bool) else str(v) for v in vals) + "}"
    lo, hi = allowed
    return f"an integer in [{lo}, {hi}]"


def check_value(name: str, value: Any, allowed: Any) -> Any:
    """Validate one parameter; raise a one-line error naming it and the allowed values."""
    if isinstance(allowed, set):
        if all(isinstance(v, bool) for v in allowed):
            ok = isinstance(value, bool) and value in allowed
        elif all(isinstance(v, str) for v in allowed):
            ok = isinstance(value, str) and value in allowed
            if not ok and isinstance(value, int) and not isinstance(value, bool) and 60 <= value < 3600:
                # YAML 1.1 reads an unquoted 2:4 as the base-60 integer 124
                raise CodesignError(f"got {value!r} (YAML reads an unquoted {value // 60}:{value % 60} as a "
                                    f"base-60 number: quote it); allowed: {_describe(allowed)}", field=name)
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and value in allowed
        if not ok:
            raise CodesignError(f"got {value!r}; allowed: {_describe(allowed)}", field=name)
        return value
    lo, hi = allowed
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CodesignError(f"got {value!r}; allowed: {_describe(allowed)}", field=name)
    return value


@dataclass(frozen=True)
class Workload:
    batch: int = 1
    prompt: int = 512        # prefill tokens P
    generate: int = 512      # decoded tokens
    context: int | None = None  # decode context L; None = prompt + generate // 2 (mean over the generation)

    @property
    def decode_context(self) -> int:
        return self.context if self.context is not None else self.prompt + self.generate // 2

    def validate(self) -> "Workload":
        for f in ("batch", "prompt", "generate"):
            check_value(f, getattr(self, f), WORKLOAD_ALLOWED[f])
        if self.context is not None:
            check_value("context", self.context, (1, 1 << 21))
        return self


@dataclass(frozen=True)
class Quant:
    wbits: int = 4
    abits: int = 8
    kvbits: int = 8
    group: int = 128
    zero_point: bool = False   # asymmetric weights (per-group zero-point) if True
    sparsity: str = "dense"    # N:M structured weight sparsity: "dense", "2:4" or "4:8" (SPARSITY_CODES)
    method: str = "rtn"        # weight quantizer: "rtn", "gptq" or "awq" (METHOD_CODES)
    mixed: int = 0             # units (layer attention / FFN projections) raised to hi_wbits; 0 = uniform
    hi_wbits: int = 8          # weight bits of the raised units

    def label(self) -> str:
        """One line for tables: W4A8KV8 g128 zp 2:4 gptq +8 W8 (mixed: units raised and their bits)."""
        return (f"W{self.wbits}A{self.abits}KV{self.kvbits} g{self.group}{' zp' if self.zero_point else ''}"
                f"{' ' + self.sparsity if self.sparsity != 'dense' else ''} {self.method}"
                f"{f' +{self.mixed} W{self.hi_wbits}' if self.mixed else ''}")

    def weight_modes(self) -> tuple[int, ...]:
        """The weight widths the processor is built to run, one per GEMV instruction (Instr.wbits):
        wbits, and hi_wbits for the raised units of a mixed design (docs/ISA.md)."""
        return (self.wbits, self.hi_wbits) if self.mixed and self.hi_wbits != self.wbits else (self.wbits,)

    def validate(self) -> "Quant":
        for f in fields(self):
            check_value(f.name, getattr(self, f.name), QUANT_ALLOWED[f.name])
        return self


# Quant fields added after space files and parameter dicts existed: a space or a parameter mapping
# that leaves one out holds its Quant default
QUANT_OPTIONAL: tuple[str, ...] = ("method", "mixed", "hi_wbits")

# fields whose design.json value is a name and whose sweep value is its index here
CODED_FIELDS: dict[str, tuple[str, ...]] = {"sparsity": SPARSITY_CODES, "method": METHOD_CODES}


def numeric_value(name: str, value: Any) -> Any:
    """A Quant/Hardware field's value as the sweep's numeric parameter arrays hold it: ``sparsity``
    and ``method`` by their index in CODED_FIELDS, every other field as it is."""
    codes = CODED_FIELDS.get(name)
    if codes is not None:
        if value not in codes:
            raise CodesignError(f"got {value!r}; allowed: {_describe(QUANT_ALLOWED[name])}", field=name)
        return codes.index(value)
    return value


def from_numeric(name: str, x: Any) -> Any:
    """The inverse of ``numeric_value`` for one array element (a dataclass field's Python value)."""
    if name == "zero_point":
        return bool(x)
    codes = CODED_FIELDS.get(name)
    if codes is not None:
        return codes[int(x)]
    return int(x)


@dataclass(frozen=True)
class Hardware:
    rows: int = 32
    cols: int = 64
    sfu_lanes: int = 16
    wbuf_depth: int = 512
    abuf_depth: int = 16384
    kvbuf_depth: int = 1024
    weight_channels: int = 16
    kv_channels: int = 4
    port_bits: int = 512
    freq_mhz: int = 225

    def validate(self) -> "Hardware":
        for f in fields(self):
            check_value(f.name, getattr(self, f.name), HW_ALLOWED[f.name])
        return self


# Multi-card designs (docs/MODEL.md "Multi-FPGA"): tensor parallel degree x pipeline stages = cards.
PARALLEL_ALLOWED: dict[str, Any] = {"devices": (1, 64), "tp": (1, 64), "pp": (1, 64)}


@dataclass(frozen=True)
class Parallel:
    """How a design spans cards: ``tp`` cards split every layer's projections and heads (an
    all-reduce per layer over ``link``), ``pp`` pipeline stages of consecutive layers; each card
    runs the same ``Hardware``. ``link``: a links.yaml name, None = the board's default."""
    devices: int = 1
    tp: int = 1
    pp: int = 1
    link: str | None = None

    def validate(self) -> "Parallel":
        for f in ("devices", "tp", "pp"):
            check_value(f"parallel.{f}", getattr(self, f), PARALLEL_ALLOWED[f])
        if self.devices != self.tp * self.pp:
            raise CodesignError(f"got devices {self.devices} with tp {self.tp} x pp {self.pp}; allowed: "
                                "devices = tp x pp", field="parallel.devices")
        if self.link is not None and (not isinstance(self.link, str) or not self.link):
            raise CodesignError(f"got {self.link!r}; allowed: a link name (codesign devices --links) or null",
                                field="parallel.link")
        return self


@dataclass(frozen=True)
class Design:
    model: str
    device: str
    workload: Workload = field(default_factory=Workload)
    quant: Quant = field(default_factory=Quant)
    hw: Hardware = field(default_factory=Hardware)
    prediction: dict = field(default_factory=dict)
    # per decoder layer {"attn": bits, "ffn": bits} when quant.mixed > 0 (quant.mixed_precision.layer_wbits,
    # written by the sweep; empty: uniform quant.wbits)
    layer_wbits: list = field(default_factory=list)
    parallel: Parallel = field(default_factory=Parallel)

    def validate(self) -> "Design":
        if not isinstance(self.model, str) or not self.model:
            raise CodesignError("must be a non-empty preset name or config path", field="model")
        if not isinstance(self.device, str) or not self.device:
            raise CodesignError("must be a non-empty device name", field="device")
        self.workload.validate()
        self.quant.validate()
        self.hw.validate()
        self.parallel.validate()
        if not isinstance(self.layer_wbits, list):
            raise CodesignError("must be a list of {\"attn\": bits, \"ffn\": bits}", field="layer_wbits")
        ok = {self.quant.wbits, self.quant.hi_wbits} if self.quant.mixed else {self.quant.wbits}
        for i, lw in enumerate(self.layer_wbits):
            if not isinstance(lw, dict) or set(lw) != {"attn", "ffn"} or not set(lw.values()) <= ok:
                raise CodesignError(f"got {lw!r}; allowed: {{\"attn\": b, \"ffn\": b}} with b in {sorted(ok)}",
                                    field=f"layer_wbits[{i}]")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.parallel == Parallel():
            del d["parallel"]      # a one-card design.json reads as it did before multi-card designs
        d = {"schema": SCHEMA, **d}
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "design") -> "Design":
        if not isinstance(d, dict):
            raise CodesignError("must be a JSON object", field=where)
        if d.get("schema", SCHEMA) != SCHEMA:
            raise CodesignError(f"unsupported schema {d.get('schema')!r}; expected {SCHEMA!r}", field=f"{where}.schema")
        known = {"schema", "model", "device", "workload", "quant", "hw", "prediction", "layer_wbits", "parallel"}
        unknown = set(d) - known
        if unknown:
            raise CodesignError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}", field=where)
        for req in ("model", "device"):
            if req not in d:
                raise CodesignError("missing", field=f"{where}.{req}")
        parts = {}
        for key, klass in (("workload", Workload), ("quant", Quant), ("hw", Hardware), ("parallel", Parallel)):
            sub = d.get(key, {})
            if not isinstance(sub, dict):
                raise CodesignError("must be a JSON object", field=f"{where}.{key}")
            names = {f.name for f in fields(klass)}
            bad = set(sub) - names
            if bad:
                raise CodesignError(f"unknown key(s) {sorted(bad)}; allowed: {sorted(names)}", field=f"{where}.{key}")
            parts[key] = klass(**sub)
        prediction = d.get("prediction", {})
        if not isinstance(prediction, dict):
            raise CodesignError("must be a JSON object", field=f"{where}.prediction")
        return cls(model=d["model"], device=d["device"], prediction=prediction,
                   layer_wbits=d.get("layer_wbits", []), **parts).validate()

    def save(self, path: str | Path, field: str | None = None) -> None:
        atomic_write_json(path, self.to_dict(), field=field)


def load_design(path: str | Path) -> Design:
    from .fsutil import load_user_file

    return Design.from_dict(load_user_file(path, "--design", "json"))
