"""A quantization configuration applied to the torch LLaMA (see ``model.LlamaLM`` hooks).

The quantizers are the golden model's (``codesign.quant.numerics``: ``to_fixed``,
``quantize_activation`` (per token, one power-of-two exponent per weight group) / ``quantize_kv``
(per token-head), and
``quantize_weight_groups``), run on numpy int64 and converted back to float32 values. Those values
are exactly the integers the hardware holds times their scales, so a float matmul on them differs
from the integer GEMV only by float32 accumulation rounding (relative ~1e-7 per dot product).
What stays float here: RMSNorm, RoPE, softmax, SiLU and the requantization of unit outputs, whose
integer approximations are bounded and tested by the golden model (docs/NUMERICS.md).

Sites, per decoder layer: the input of every linear layer (per token, one exponent per block of
``group`` inputs, ABITS), the query heads
(per token-head, ABITS, as the ATTN unit reads them), K after RoPE and V (per token-head, KVBITS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

try:  # the golden helper's definition of the arithmetic
    from .. import numerics as _numerics
except ImportError:  # pragma: no cover - only before codesign/quant/numerics.py exists
    _numerics = None
from . import fake_quant


def numerics_source() -> str:
    """Which implementation of the contract's quantizers is in use."""
    return "codesign.quant.numerics" if _numerics is not None else "codesign.quant.llm.fake_quant"


def quantize_rows(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-row (last dim) dynamic power-of-two INT-``bits`` quantization, as float32 values: one
    block spanning the whole row."""
    return quantize_blocks(x, bits, x.shape[-1])


def quantize_blocks(x: torch.Tensor, bits: int, group: int) -> torch.Tensor:
    """Per-row dynamic INT-``bits`` quantization with one power-of-two exponent per block of ``group``
    elements of the last dim (the GEMV input quantizer), as float32 values."""
    if _numerics is None:
        return fake_quant.quantize_activation(x, bits, group=group)
    xi = _numerics.to_fixed(x.detach().numpy())
    q, e = _numerics.quantize_activation(xi, bits, group)
    return torch.from_numpy(_numerics.from_fixed(_numerics.dequantize_activation(q, e, group)).astype(np.float32))


def quantize_weight(w: torch.Tensor, bits: int, group: int, zero_point: bool) -> torch.Tensor:
    """Group-wise INT-``bits`` weights ([out, in], groups along ``in``), as float32 values."""
    if _numerics is None:
        return fake_quant.quantize_weight(w, bits, group, zero_point)
    wq = _numerics.quantize_weight_groups(w.detach().numpy(), bits, group, zero_point)
    return torch.from_numpy(_numerics.dequantize_weight_groups(wq).astype(np.float32))


@dataclass(frozen=True)
class QuantScheme:
    """One accuracy-table configuration. 16 activation / KV bits still pass through the INT16 quantizer."""

    wbits: int
    abits: int
    kvbits: int
    group: int
    zero_point: bool = False

    def key(self) -> str:
        return f"w{self.wbits}a{self.abits}kv{self.kvbits}g{self.group}" + ("z" if self.zero_point else "")

    def weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        return quantize_weight(w, self.wbits, self.group, self.zero_point)

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_blocks(x, self.abits, self.group)

    def query(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_rows(x, self.abits)

    def kv(self, x: torch.Tensor) -> torch.Tensor:
        return quantize_rows(x, self.kvbits)


@dataclass(frozen=True)
class PrequantizedWeights:
    """A scheme whose weights were already quantized (shared by every A/KV setting of one W/group)."""

    scheme: QuantScheme

    def weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        return w

    def activation(self, x):
        return self.scheme.activation(x)

    def query(self, x):
        return self.scheme.query(x)

    def kv(self, x):
        return self.scheme.kv(x)
