"""A quantization configuration applied to the torch LLaMA (see ``model.LlamaLM`` hooks)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import fake_quant


def numerics_source() -> str:
    """Which implementation of the contract's quantizers is in use."""
    return "codesign.quant.llm.fake_quant"


@dataclass(frozen=True)
class QuantScheme:
    """One accuracy-table configuration. 16 activation / KV bits still pass through the INT16 quantizer."""

    wbits: int
    abits: int
    kvbits: int
    group: int
    zero_point: bool = False

    def key(self) -> str:
        return f"w{self.wbits}a{self.abits}kv{self.kvbits}g{self.group}"

    def weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        return fake_quant.quantize_weight(w, self.wbits, self.group, self.zero_point)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        return fake_quant.quantize_activation(x, self.abits)

    def kv(self, x: torch.Tensor) -> torch.Tensor:
        return fake_quant.quantize_activation(x, self.kvbits)
