"""The torch quantizers (fake_quant) are value-identical to the golden model's numpy ones, which
the accuracy sweep uses; and the power-of-two activation quantizer keeps its contract."""

from __future__ import annotations

import pytest
import torch

from codesign.quant import numerics as N
from codesign.quant.llm import fake_quant as F
from codesign.quant.llm.quantized import numerics_source, quantize_blocks, quantize_rows, quantize_weight


def test_sweep_uses_the_golden_quantizers():
    assert numerics_source() == "codesign.quant.numerics"


@pytest.mark.parametrize("bits", [4, 8, 16])
def test_activation_quantizer_matches_golden(bits):
    g = torch.Generator().manual_seed(bits)
    x = torch.randn(3, 7, 96, generator=g) * 4
    x[..., 5] *= 60   # an outlier channel
    x[1, 2] = 0       # an all-zero token
    ours = F.quantize_activation(x, bits)
    assert torch.equal(ours, quantize_rows(x, bits))
    q = ours * 2.0 ** N.ACT_FRAC
    # levels per token are a power-of-two step times integers within +-(2^(bits-1) - 1)
    step = q.abs().amax(-1, keepdim=True).clamp(min=1) / (2 ** (bits - 1) - 1)
    assert torch.all(q.abs() <= step * (2 ** (bits - 1) - 1) + 1e-6)


@pytest.mark.parametrize("bits,group", [(4, 32), (8, 64), (8, 128), (16, 128)])
def test_block_activation_quantizer_matches_golden(bits, group):
    g = torch.Generator().manual_seed(bits + group)
    x = torch.randn(2, 5, 200, generator=g) * 4      # 200: a short last block
    x[..., 7] *= 60
    ours = F.quantize_activation(x, bits, group=group)
    assert torch.equal(ours, quantize_blocks(x, bits, group))
    # an outlier in block 0 leaves the other blocks' resolution alone
    assert torch.equal(ours[..., group:], F.quantize_activation(x[..., group:], bits, group=group))


@pytest.mark.parametrize("bits,group,zp", [(2, 32, False), (3, 64, True), (4, 128, False), (8, 128, True), (16, 32, False)])
def test_weight_quantizer_matches_golden(bits, group, zp):
    w = torch.randn(48, 200, generator=torch.Generator().manual_seed(bits)) * 0.05   # 200: a short last group
    ours = F.quantize_weight(w, bits, group, zp)
    assert torch.equal(ours, quantize_weight(w, bits, group, zp))
    levels = 2 ** bits
    for row in ours[:4]:
        for s in range(0, 200, group):
            assert len(torch.unique(row[s:s + group])) <= levels
