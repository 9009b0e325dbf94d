"""GPU facts the GPU performance model needs beyond the device database.

``codesign.devices`` (the model helper's database) owns each GPU's bandwidth, peaks, TDP, idle
power and price. The GPU model also needs the SM boost clock (per-layer launch/synchronisation
latency is a fixed number of GPU cycles, see ``stacks.py``) and the DRAM energy per bit (for the
minimum memory energy per token). Those two facts live here, keyed by
the database's names, each with its source (the memory kind comes from the database).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CodesignError


@dataclass(frozen=True)
class GpuExtra:
    boost_mhz: float       # SM boost clock
    mem_pj_per_bit: float  # DRAM access energy per bit moved (device + interface)
    sources: dict


# DRAM energy per bit. HBM2: 3.9 pJ/bit (O'Connor et al., "Fine-Grained DRAM", MICRO 2017, Table 1,
# HBM2 row); used for HBM2e/HBM3 too (no lower published figure at the same level of detail).
# GDDR6X: 7.25 pJ/bit (Micron GDDR6X product brief, 2020: "7.25 picojoules per bit").
# GDDR6: Micron states GDDR6X uses 15% less energy per bit than GDDR6 (same brief) -> 7.25/0.85.
HBM_PJ_BIT = 3.9
GDDR6X_PJ_BIT = 7.25
GDDR6_PJ_BIT = round(GDDR6X_PJ_BIT / 0.85, 2)

GPU_EXTRA: dict[str, GpuExtra] = {
    "v100s": GpuExtra(1597, HBM_PJ_BIT,
                      {"boost_mhz": "NVIDIA V100S PCIe datasheet (2019): boost 1597 MHz",
                       "mem_pj_per_bit": "O'Connor et al. MICRO 2017 Table 1 (HBM2 3.9 pJ/bit)"}),
    "a100-80gb": GpuExtra(1410, HBM_PJ_BIT,
                     {"boost_mhz": "NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020) Table 3: 1410 MHz",
                      "mem_pj_per_bit": "O'Connor et al. MICRO 2017 Table 1 (HBM2 3.9 pJ/bit)"}),
    "h100-sxm": GpuExtra(1980, HBM_PJ_BIT,
                     {"boost_mhz": "NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022) Table 3, H100 SXM5: 1980 MHz",
                      "mem_pj_per_bit": "O'Connor et al. MICRO 2017 Table 1 (HBM2 3.9 pJ/bit, used for HBM3)"}),
    "l4": GpuExtra(2040, GDDR6_PJ_BIT,
                   {"boost_mhz": "NVIDIA L4 Tensor Core GPU datasheet (2023): boost 2040 MHz",
                    "mem_pj_per_bit": "Micron GDDR6X product brief (7.25 pJ/bit, GDDR6 15% higher)"}),
    "rtx4090": GpuExtra(2520, GDDR6X_PJ_BIT,
                        {"boost_mhz": "NVIDIA Ada Lovelace architecture whitepaper v1.0 (2022) Table 1, RTX 4090: 2520 MHz",
                         "mem_pj_per_bit": "Micron GDDR6X product brief (2020): 7.25 pJ/bit"}),
}

def gpu_extra(name: str) -> GpuExtra:
    if name not in GPU_EXTRA:
        raise CodesignError(f"no GPU-model data for '{name}'; GPUs with a model: {sorted(GPU_EXTRA)}", field="--gpu")
    return GPU_EXTRA[name]


def is_hbm(dev) -> bool:
    return dev.mem_kind.upper().startswith("HBM")


def resolve_gpu_device(name: str):
    """The database's ``GpuDevice`` for a GPU name or alias (``a100`` -> ``a100-80gb``)."""
    from ..devices import GpuDevice, get_device

    dev = get_device(name)
    if not isinstance(dev, GpuDevice):
        raise CodesignError(f"'{name}' is an FPGA, not a GPU; GPUs: {', '.join(sorted(GPU_EXTRA))}", field="--gpu")
    gpu_extra(dev.name)
    return dev


def db_name_for_gpu(gpu_name: str) -> str | None:
    """The database name of the GPU NVML reports (``"NVIDIA H100 80GB HBM3"`` -> ``"h100-sxm"``);
    None for a GPU the database does not hold (e.g. an H100 PCIe, whose bandwidth differs)."""
    n = gpu_name.upper().replace("-", " ")
    if "H100" in n and ("HBM3" in n or "SXM" in n):
        return "h100-sxm"
    if "A100" in n and "80GB" in n.replace(" ", "") and "PCIE" not in n.replace(" ", ""):
        return "a100-80gb"
    if "V100S" in n:
        return "v100s"
    if "4090" in n:
        return "rtx4090"
    if n.split()[-1:] == ["L4"]:
        return "l4"
    return None
