"""Which memory banks each kernel port is linked to, from the design's channel plan.

The analytical model priced the design with ``weight_channels`` channels streaming weights and
``kv_channels`` holding the KV cache; the link must give the kernel exactly those channels, or
the bitstream would not be the design that was chosen. Banks are allocated in order: weights
first (each weight port its own contiguous slice, so bursts stay within a channel), then the KV
cache, then one bank for instructions/activations (their traffic is a few KB per token; when no
bank is left they share the last KV bank).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..design import Design
from ..errors import CodesignError
from .boards import Board
from ..gen.ports import KernelArg


@dataclass(frozen=True)
class PortBanks:
    port: str      # kernel port, e.g. m_axi_gmem_w
    arg: str       # kernel argument bound to it
    role: str      # "weights" | "kv" | "io"
    first: int
    last: int

    def sptag(self, tag: str) -> str:
        return f"{tag}[{self.first}]" if self.first == self.last else f"{tag}[{self.first}:{self.last}]"


def port_role(bundle: str) -> str:
    b = bundle.lower()
    if b.startswith("gmem_kv") or b.endswith("_kv") or b == "kv":
        return "kv"
    if b.startswith("gmem_w") or b.endswith("_w") or b == "w":
        return "weights"
    return "io"


def _split(first: int, count: int, parts: int) -> list[tuple[int, int]]:
    """Split ``count`` banks starting at ``first`` into ``parts`` contiguous, near-equal slices."""
    out, start = [], first
    for i in range(parts):
        n = count // parts + (1 if i < count % parts else 0)
        n = max(n, 1)
        out.append((start, min(start + n - 1, first + count - 1)))
        start += n
    return out


def plan_banks(design: Design, board: Board, args: list[KernelArg]) -> list[PortBanks]:
    if board.mem_banks <= 0:
        return []
    wch, kvch = design.hw.weight_channels, design.hw.kv_channels
    if wch + kvch > board.mem_banks:
        raise CodesignError(
            f"weight_channels + kv_channels = {wch + kvch} exceeds the {board.mem_banks} {board.mem_tag} "
            f"banks of {board.name}; allowed: a sum of at most {board.mem_banks}", field="hw.weight_channels")
    maxis = [a for a in args if a.kind == "m_axi"]
    by_role = {r: [a for a in maxis if port_role(a.bundle) == r] for r in ("weights", "kv", "io")}
    if not by_role["weights"]:
        raise CodesignError("the kernel has no weight port (m_axi bundle gmem_w*)", field="hls.top")
    plan: list[PortBanks] = []
    seen_ports: set[str] = set()

    def add(role: str, slices: list[tuple[int, int]]):
        for a, (lo, hi) in zip(by_role[role], slices):
            if a.port in seen_ports:
                continue  # several arguments on one bundle share one port and one mapping
            seen_ports.add(a.port)
            plan.append(PortBanks(a.port, a.name, role, lo, hi))

    add("weights", _split(0, wch, len(by_role["weights"])))
    if by_role["kv"]:
        # kv_channels 0 (unified memory): the KV ports reach the weight banks
        add("kv", _split(wch, kvch, len(by_role["kv"])) if kvch else _split(0, wch, len(by_role["kv"])))
    io_bank = wch + kvch if wch + kvch < board.mem_banks else wch + kvch - 1
    add("io", [(io_bank, io_bank)] * len(by_role["io"]))
    return plan
