"""Default design space per device.

The device entry bounds what is worth searching: memory channels up to the
device's; port widths from the memory's native port width to twice that (a
wide kernel port at a lower clock); the kernel clock from half the device's
kernel clock up to it (a lower clock trades speed for power, which matters
when decode is memory-bound). Array sizes are powers of two that span
small embedded arrays to ones that exceed a U280's DSPs, so the resource
limit itself shows up in the sweep (infeasible points are counted, not hidden).
A GPU has no hardware template: only quantization varies, and the hardware
fields hold their ``design.Hardware`` defaults.
"""

from __future__ import annotations

from dataclasses import fields

from ..design import Hardware, Quant
from .space import HW_FIELDS, Space

# Quantization choices: those the accuracy table measures (codesign/quant, issue 4:
# W in {2,3,4,8}, group in {32,64,128}, A and KV in {4,8,16}, symmetric or with zero
# points); the user's space file can add W16 or group 256, whose accuracy then shows
# as not measured. N:M sparsity: dense and 2:4 (4:8 through a space file); the table has no sparse
# rows, so sparse points show accuracy as not measured.
DEFAULT_QUANT = {
    "wbits": [2, 3, 4, 8],
    "abits": [4, 8, 16],
    "kvbits": [4, 8, 16],
    "group": [32, 64, 128],
    "zero_point": [False, True],
    "sparsity": ["dense", "2:4"],
    "method": ["rtn", "gptq", "awq"],
}

# MPE array shape and SFU width (powers of two).
DEFAULT_ARRAY = {
    "rows": [8, 16, 32, 64, 128],
    "cols": [16, 32, 64, 128, 256],
    "sfu_lanes": [32],        # matters for small models (norm/softmax share); widen in a space file
}

# On-chip buffers: they cost BRAM/URAM and bound which models fit, but barely
# move speed, so one value each: a double-buffered weight tile, an activation
# buffer holding one decode step's live vectors of 7B-class models (LLaMA-2-7B
# needs ~46.6k elements: 3 x d_model + (heads + 2 kv_heads) x head_dim + 2 x d_ffn),
# and a KV tile. The space file widens them for larger models.
DEFAULT_BUFFERS = {
    "wbuf_depth": [512],
    "abuf_depth": [65536],
    "kvbuf_depth": [1024],
}

# Small open-flow parts (Lattice ECP5: MULT18X18D multipliers, LUT4 fabric; the ULX3S's LFE5U-85F):
# the whole processor fits with a few MPE rows and lanes and one or two SFU lanes: one SFU lane alone
# takes 31 of the 156 MULT18X18D (Debian Yosys 0.23 synth_ecp5 of hw/rtl/sfu sfu_top, SFU_LANES 1:
# 31 MULT18X18D, 7,921 LUT4 + 1,786 CCU2C, 1,947 FF; measured 2026-12-06) and every MPE lane one more
# (Yosys maps each product of >= 2-bit operands into its own). Buffers: an activation buffer
# for a small model's decode step (stories15M needs ~2.6k elements), a KV tile of 16 tokens. One KV
# channel and 64-bit ports: what the generated RTL builds (no unified memory, no mixed precision).
SMALL_ARRAY = {"rows": [1, 2, 4], "cols": [4, 8, 16], "sfu_lanes": [1, 2]}
SMALL_BUFFERS = {"wbuf_depth": [512], "abuf_depth": [4096], "kvbuf_depth": [16]}


def is_small_fabric(device) -> bool:
    return getattr(device, "dsp_kind", "") == "MULT18X18D"


N_CLOCKS = 3  # kernel clocks tried: evenly from kernel_mhz / 2 to kernel_mhz


def _weight_channel_choices(n: int) -> list[int]:
    """Powers of two from n/8 to n/2, all channels but the KV cache's (n - 4, or n - 1 when small),
    and all n (unified memory: the KV cache on the weight channels, kv_channels 0)."""
    vals, c = set(), 1
    while c <= n // 2:
        if c >= n // 8:
            vals.add(c)
        c *= 2
    vals.add(n - 4 if n > 8 else max(1, n - 1))
    vals.add(n)
    return sorted(vals)


def _kv_channel_choices(n: int) -> list[int]:
    """0 (unified memory: the KV cache interleaved over the weight channels, ATTN on the MPE) and a
    dedicated slice: 4 channels (the 7:1 split of a 32-channel HBM), or 1 on small memories."""
    return sorted({0, 4 if 4 <= n // 8 else 1})


def _clock_unit(mhz: int) -> int:
    """Clock choices are multiples of 5 MHz, as clock wizards are usually set; 1 MHz steps below 50 MHz
    (the clocks an ECP5 build of the whole processor reaches: docs/EXPORT.md)."""
    return 5 if mhz >= 50 else 1


def _clock_choices(kernel_mhz: float) -> list[int]:
    hi = int(kernel_mhz)
    unit = _clock_unit(hi)
    lo = max(50, hi // 2) if hi >= 50 else max(1, hi // 2)
    if N_CLOCKS == 1 or hi <= lo:
        return [hi]
    step = (hi - lo) / (N_CLOCKS - 1)
    return sorted({int(round((lo + i * step) / unit)) * unit for i in range(N_CLOCKS)} | {hi})


def is_fpga(device) -> bool:
    return getattr(device, "kind", "fpga") == "fpga" and hasattr(device, "mem_channels")


def _port_choices(device) -> list[int]:
    """The memory's native port width and twice that (a kernel port at half the clock)."""
    native = int(getattr(device, "mem_port_max_bits", 512))
    return sorted({b for b in (native, 2 * native) if b in (64, 128, 256, 512)}) or [512]


def mixed_choices() -> dict[str, list]:
    """Per-layer mixed precision: uniform (0) and every profile the accuracy table measured, at
    its hi_wbits (quant.mixed_precision); uniform only when the table has no ranking."""
    from ..quant.mixed_precision import ranking
    rk = ranking()
    if rk is None:
        return {"mixed": [0], "hi_wbits": [Quant().hi_wbits]}
    return {"mixed": [0, *rk["profiles"]], "hi_wbits": [rk["hi_wbits"]]}


def default_space_dict(device) -> dict[str, list]:
    d: dict[str, list] = {**DEFAULT_QUANT, **mixed_choices()}
    if not is_fpga(device):
        hw = Hardware()
        d.update({f.name: [getattr(hw, f.name)] for f in fields(Hardware)})
        return d
    channels = int(device.mem_channels)
    d.update(DEFAULT_ARRAY)
    d.update(DEFAULT_BUFFERS)
    # Weights stream from a wide slice of the channels; the KV cache from a few, or from the same ones.
    d["weight_channels"] = _weight_channel_choices(channels)
    d["kv_channels"] = _kv_channel_choices(channels)
    d["port_bits"] = _port_choices(device)
    d["freq_mhz"] = _clock_choices(float(device.kernel_mhz))
    if is_small_fabric(device):
        d.update(SMALL_ARRAY)
        d.update(SMALL_BUFFERS)
        d.update({"kv_channels": [1], "mixed": [0], "port_bits": [64]})
        # the device's kernel clock and 25% above it: the clock model (fitted on post-route Fmax)
        # marks the points whose array cannot reach their clock
        hi = int(device.kernel_mhz)
        d["freq_mhz"] = sorted({*_clock_choices(float(hi)), hi * 5 // 4 // _clock_unit(hi) * _clock_unit(hi)})
    assert set(d) == set(DEFAULT_QUANT) | {"mixed", "hi_wbits"} | set(HW_FIELDS)
    return d


def default_space(device, overrides: dict[str, list] | None = None) -> Space:
    d = default_space_dict(device)
    d.update(overrides or {})
    return Space.from_mapping(d)
