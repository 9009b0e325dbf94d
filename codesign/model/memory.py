"""The memory system the cycle formulas price: one named description, two instances.

* ``None`` (the default everywhere, sweeps included): the device database's real memory: the
  design's ``weight_channels`` / ``kv_channels`` channels, each giving min(port word, its sustained
  DRAM share) per cycle, the DRAM page-hit + fabric latency (constants.py), paid once per
  instruction phase chain (requests kept outstanding, ``overlapped_requests``).
* ``SIMULATED_AXIRAM``: what the RTL cross-check simulates (sim/test_core_layer.py): one
  cocotbext-axi ``AxiRam`` per m_axi port (gmem_w, gmem_kv, gmem_io), so ONE channel per image, one
  port word per cycle, no DRAM efficiency, a few cycles from AR to the first R beat.

Same formulas, different parameters: no per-instruction factor anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemorySystem:
    name: str
    latency_cycles: float          # AR accepted -> first R beat, kernel cycles, incl. the read mover
    one_port_per_image: bool       # weights / KV cache each on a single port (the RTL as built)
    port_word_per_cycle: bool      # every port delivers a full word per cycle (no DRAM cap)
    # The movers keep requests outstanding across an instruction's phases (the next K/V read or
    # KV write is issued before the previous one returns), so an instruction pays the latency once.
    # The RTL's movers (hw/rtl/axi_read_master.v, axi_write_master.v) take one command at a time:
    # every phase pays its round trip. The device default keeps the overlapped description of a
    # production design (FlightLLM-class movers; the validate cases).
    overlapped_requests: bool = True


# cocotbext-axi AxiRam answers a read burst ~3 cycles after AR; the core's read mover adds its
# AR handshake register: 4 cycles from the command to the first word in the core, measured as the
# LOAD of tests/data/rtl_cycles/smollm2_l0_best_verilator.json (52 cycles = fetch + 4 + 36 words + 3).
SIMULATED_AXIRAM = MemorySystem("cocotbext-axi AxiRam (RTL simulation)", latency_cycles=4.0,
                                one_port_per_image=True, port_word_per_cycle=True,
                                overlapped_requests=False)
