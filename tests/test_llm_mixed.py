"""Per-layer mixed precision on the reference model (codesign/quant/llm/mixed.py): splicing keeps every
linear a valid contract integer at its own bits, the ranking is a sorted permutation of every unit,
profile rows equal a direct evaluation of the spliced model, and the profile names the table uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codesign.quant.llm import mixed as MX
from codesign.quant.llm import wquant as WQ
from codesign.quant.llm.model import LlamaLM
from codesign.quant.llm.perplexity import window_nll
from codesign.quant.llm.quantized import PrequantizedWeights, QuantScheme

from test_llm_gptq_awq import assert_valid, tiny  # noqa: F401  (the shared tiny-model fixture)


@pytest.fixture(scope="module")
def two_precisions(tiny):  # noqa: F811
    cfg, weights, cal, toks = tiny
    q_lo, wq_lo = WQ.quantize_model("gptq", cfg, weights, 3, 16, True, cal)
    q_hi, wq_hi = WQ.quantize_model("gptq", cfg, weights, 8, 16, True, cal)
    return cfg, q_lo, wq_lo, q_hi, wq_hi, cal, toks


def test_units_cover_every_linear_once(tiny):  # noqa: F811
    cfg, weights, _, _ = tiny
    us = MX.units(cfg["n_layers"])
    assert len(us) == 2 * cfg["n_layers"] and len(set(us)) == len(us)
    names = [f"layers.{i}.{lin}" for i, c in us for lin in MX.CLASS_LINEARS[c]]
    assert len(names) == len(set(names)) and all(n in weights for n in names)
    assert sum(1 for n in weights if n.startswith("layers.") and n.endswith(("wq", "wk", "wv", "wo", "w_gate",
                                                                                "w_up", "w_down"))) == len(names)


def test_splice_takes_exactly_the_raised_units(two_precisions):
    cfg, q_lo, wq_lo, q_hi, wq_hi, _, _ = two_precisions
    raised = [(1, "ffn"), (0, "attn")]
    out = MX.splice(q_lo, q_hi, raised)
    assert set(out) == set(q_lo)
    for name in out:
        hi = any(name == f"layers.{i}.{lin}" for i, c in raised for lin in MX.CLASS_LINEARS[c])
        assert out[name] is (q_hi[name] if hi else q_lo[name]), name
    # each spliced linear is its own precision's contract integers
    for name, wq in wq_lo.items():
        assert_valid(wq, 3, 16, True, wq.in_features)
        assert_valid(wq_hi[name], 8, 16, True, wq.in_features)
    assert MX.splice(q_lo, q_hi, []) == q_lo


def test_ranking_and_profiles(two_precisions):
    cfg, q_lo, _, q_hi, _, cal, toks = two_precisions
    scheme = PrequantizedWeights(QuantScheme(3, 16, 16, 16, True))
    ranking = MX.rank_units(cfg, q_lo, q_hi, scheme, cal[:2])
    assert sorted((r["layer"], r["unit"]) for r in ranking) == sorted(MX.units(cfg["n_layers"]))
    b = [r["benefit_nats_per_token"] for r in ranking]
    assert b == sorted(b, reverse=True)
    # the top unit's benefit is what raising it alone does on the ranking windows
    top = [(ranking[0]["layer"], ranking[0]["unit"])]
    tokens = 2 * (cal.shape[1] - 1)
    base = window_nll(LlamaLM(cfg, q_lo, scheme), cal[:2]).sum()
    alone = window_nll(LlamaLM(cfg, MX.splice(q_lo, q_hi, top), scheme), cal[:2]).sum()
    assert ranking[0]["benefit_nats_per_token"] == pytest.approx((base - alone) / tokens, abs=1e-7)
    n = len(ranking)
    res = MX.measure_profiles(cfg, q_lo, q_hi, scheme, toks, ranking, [1, n])
    assert set(res) == {1, n}
    all_hi = window_nll(LlamaLM(cfg, q_hi, scheme), toks)
    assert np.allclose(res[n]["window_nll"], all_hi, atol=1e-5)      # every unit raised = the uniform high row
    one = window_nll(LlamaLM(cfg, MX.splice(q_lo, q_hi, top), scheme), toks)
    assert np.allclose(res[1]["window_nll"], one, atol=1e-5)


def test_profile_names():
    assert MX.profile_method("gptq", 0) == "gptq"
    assert MX.profile_method("gptq", 8) == "gptq+mp8"
    assert "awq" not in MX.SPLICEABLE_METHODS and torch is not None
