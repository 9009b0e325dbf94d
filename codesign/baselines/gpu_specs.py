"""GPU facts the GPU performance model needs beyond the device database.

``codesign.devices`` (the model helper's database) owns each GPU's bandwidth, peaks, TDP, idle
power and price. The GPU model also needs each GPU's SM boost clock (per-layer launch/synchronisation
latency is a fixed number of GPU cycles, see ``stacks.py``); it lives here, keyed by the
database's names, with its source. DRAM energy per bit comes from ``codesign.model.constants``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CodesignError


@dataclass(frozen=True)
class GpuExtra:
    boost_mhz: float       # SM boost clock
    sources: dict


def mem_pj_per_bit(dev) -> float:
    """DRAM energy per bit of the GPU's memory: codesign.model.constants owns these figures for FPGA
    and GPU alike (one table, each entry sourced there)."""
    from ..model.constants import MEM_PJ_PER_BIT
    if dev.mem_kind not in MEM_PJ_PER_BIT:
        raise CodesignError(f"{dev.name}: mem_kind {dev.mem_kind!r} has no energy per bit in "
                            f"codesign.model.constants; known: {', '.join(MEM_PJ_PER_BIT)}", field="mem_kind")
    return float(MEM_PJ_PER_BIT[dev.mem_kind])


GPU_EXTRA: dict[str, GpuExtra] = {
    "v100s": GpuExtra(1597,
                      {"boost_mhz": "NVIDIA V100S PCIe datasheet (2019): boost 1597 MHz"}),
    "a100-80gb": GpuExtra(1410,
                     {"boost_mhz": "NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020) Table 3: 1410 MHz"}),
    "h100-sxm": GpuExtra(1980,
                     {"boost_mhz": "NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022) Table 3, H100 SXM5: 1980 MHz"}),
    "h200-sxm": GpuExtra(1980,
                         {"boost_mhz": "the H100 SXM5's GH100 boost clock (NVIDIA H100 whitepaper Table 3: 1980 MHz); "
                                       "the H200 product page lists the same tensor throughput"}),
    "l4": GpuExtra(2040,
                   {"boost_mhz": "NVIDIA L4 Tensor Core GPU datasheet (2023): boost 2040 MHz"}),
    "rtx4090": GpuExtra(2520,
                        {"boost_mhz": "NVIDIA Ada Lovelace architecture whitepaper v1.0 (2022) Table 1, RTX 4090: 2520 MHz"}),
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
    if "H200" in n and "NVL" not in n:     # NVML: "NVIDIA H200" (SXM); the H200 NVL PCIe card is 600 W
        return "h200-sxm"
    if "A100" in n and "80GB" in n.replace(" ", "") and "PCIE" not in n.replace(" ", ""):
        return "a100-80gb"
    if "V100S" in n:
        return "v100s"
    if "4090" in n:
        return "rtx4090"
    if n.split()[-1:] == ["L4"]:
        return "l4"
    return None
