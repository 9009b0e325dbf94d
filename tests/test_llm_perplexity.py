"""SmolLM2-135M end to end on a tiny sample: coherent greedy text, plausible perplexity, and
perplexity that grows as bits fall (the full table is `codesign accuracy`, not a test)."""

from __future__ import annotations

import pytest
import torch

from codesign.quant.llm import load_checkpoint, smollm2_gguf_path
from codesign.quant.llm.model import LlamaLM
from codesign.quant.llm.perplexity import perplexity
from codesign.quant.llm.sweep import measure
from codesign.quant.llm.text_sample import DOCSTRINGS, build_sample, docstring_text
from codesign.quant.llm.tokenizer import tokenizer_from_gguf


@pytest.fixture(scope="module")
def smol():
    torch.set_num_threads(2)
    path = smollm2_gguf_path()
    cfg, weights = load_checkpoint(path)
    tok = tokenizer_from_gguf(path)
    sample, calib = build_sample(tok, n_windows=1, window=64, calibration=1)
    return cfg, weights, tok, sample, calib


def test_config_from_gguf(smol):
    cfg = smol[0]
    assert (cfg["n_layers"], cfg["d_model"], cfg["n_heads"], cfg["n_kv_heads"], cfg["d_ffn"]) == (30, 576, 9, 3, 1536)
    assert cfg["rope_theta"] == 100000.0 and cfg["tied_embeddings"]


def test_greedy_continuation_is_coherent(smol):
    cfg, weights, tok = smol[:3]
    out = LlamaLM(cfg, weights).generate(tok.encode("The capital of France is"), 2)
    assert "Paris" in tok.decode(out)


def test_sample_is_deterministic_and_disjoint(smol):
    tok, sample, calib = smol[2], smol[3], smol[4]
    again, _ = build_sample(tok, n_windows=1, window=64, calibration=1)
    assert torch.equal(sample.windows, again.windows)
    assert sample.windows.shape == (1, 64) and calib.shape == (1, 64)
    assert not any(torch.equal(calib[0], w) for w in sample.windows)
    assert sample.describe()["text"]["name"] == "alice29"          # the default text is the prose
    text, used = docstring_text()                                   # still read by codesign.quant.real_layer
    assert "argparse" in used and len(text) > 50_000
    doc, _ = build_sample(tok, n_windows=1, window=64, text=DOCSTRINGS)
    assert doc.describe()["text"]["modules"] == used


@pytest.mark.slow
def test_float_and_quantized_perplexity(smol):
    cfg, weights, _, sample, calib = smol
    base = perplexity(LlamaLM(cfg, weights), sample.windows)
    assert 5 < base < 60, base
    b2, res = measure(cfg, weights, sample.windows, [(8, 8, 8, 128), (2, 8, 8, 128)], calib, alpha=0.5)
    w8, w2 = res["w8a8kv8g128"]["ppl"], res["w2a8kv8g128"]["ppl"]
    assert abs(b2["ppl"] / base - 1) < 1e-9 and len(b2["window_nll"]) == 1
    assert res["w8a8kv8g128"]["method"] == "rtn" and len(res["w8a8kv8g128"]["window_nll"]) == 1
    assert abs(w8 / base - 1) < 0.10, (w8, base)   # one 64-token window: noisier than the table
    assert w2 > 2 * base, (w2, base)


@pytest.mark.slow
def test_command_measures_caches_then_reuses_committed_table(tmp_path, monkeypatch, capsys):
    """One configuration measured on one window into the cache; that table committed as package
    data; with an empty cache the command reuses it (measures nothing) and prints it."""
    from codesign.cli import main
    from codesign.quant import accuracy_table as at

    one = ["accuracy", "--model", "smollm2-135m", "--wbits", "8", "--abits", "8", "--kvbits", "8",
           "--group", "128", "--zero-point", "false", "--sample", "1", "--calibration", "1"]
    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(at, "DATA_DIR", tmp_path / "pkg")
    assert main(one) == 0
    measured = at.read_table(at.cache_path("smollm2-135m"))
    assert list(measured.results) == [(8, 8, 8, 128)] and measured.results_zp == {}
    capsys.readouterr()
    at.packaged_path("smollm2-135m").parent.mkdir()
    at.cache_path("smollm2-135m").rename(at.packaged_path("smollm2-135m"))
    assert main(one) == 0
    out = capsys.readouterr().out
    assert "reusing 1 configuration(s)" in out and "the committed table" in out
    assert not at.cache_path("smollm2-135m").exists()           # nothing measured, nothing cached
    assert f"{measured.results[(8, 8, 8, 128)]:.2f}" in out
