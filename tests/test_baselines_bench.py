"""gpu-bench without a GPU: the decoder stack's KV-cache logic on CPU, the no-GPU error, records."""

import json

import pytest

from codesign.baselines.bench import RECORD_SCHEMA
from codesign.baselines.bench_model import DecoderStack, decode_flops
from codesign.baselines.records import check_record, find_record, load_records
from codesign.cli import main
from codesign.errors import CodesignError
from codesign.workload import load_model_config
from codesign.workload.config import ModelConfig

import torch  # noqa: E402  (pinned and installed by the bootstrap: a missing torch fails, not skips)



@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny matmuls on a shared 2-core machine: one thread avoids oversubscription (restored after)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TINY = ModelConfig(name="tiny", family="llama", n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, head_dim=16,
                   d_ffn=128, vocab=97, max_context=64)


def test_cached_decode_matches_a_full_forward():
    """Prefill 7 tokens then decode the 8th from the KV cache == one forward over all 8."""
    ids = torch.randint(0, TINY.vocab, (8,), generator=torch.Generator().manual_seed(1))
    a = DecoderStack(TINY, "bf16", max_seq=16, device="cpu", seed=3)
    full = a.forward(ids, torch.arange(8)).float()
    b = DecoderStack(TINY, "bf16", max_seq=16, device="cpu", seed=3)
    b.forward(ids[:7], torch.arange(7))
    step = b.forward(ids[7:], torch.tensor([7])).float()
    assert step.shape == (TINY.vocab,)
    assert torch.allclose(full, step, atol=2e-2, rtol=2e-2)
    # the cache really is used: a different cached prefix changes the decoded token's logits
    c = DecoderStack(TINY, "bf16", max_seq=16, device="cpu", seed=3)
    c.forward((ids[:7] + 1) % TINY.vocab, torch.arange(7))
    assert not torch.allclose(step, c.forward(ids[7:], torch.tensor([7])).float(), atol=1e-3)


def test_weight_bytes_and_flops_match_the_preset():
    net = DecoderStack(TINY, "fp16", max_seq=4, device="cpu")
    d, f = TINY.d_model, TINY.d_ffn
    per_layer = d * (4 + 2 * 2) * 16 + 4 * 16 * d + 3 * d * f + 2 * d
    assert net.weight_bytes() == 2 * (TINY.n_layers * per_layer + TINY.vocab * d + d)
    cfg = load_model_config("llama2-7b")
    assert decode_flops(cfg) == pytest.approx(2 * 6.607e9, rel=0.01)   # 6.74e9 minus the embedding table


def test_moe_and_bad_dtype_are_refused():
    with pytest.raises(CodesignError, match="mixture"):
        DecoderStack(load_model_config("mixtral-8x7b"), "fp16", 4, device="cpu")
    with pytest.raises(CodesignError, match="--dtype"):
        DecoderStack(TINY, "fp8", 4, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_gpu_bench_without_gpu_exits_nonzero_with_one_line(capsys):
    assert main(["gpu-bench", "--model", "llama2-7b"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no CUDA GPU" in err and err.startswith("codesign gpu-bench: error:")


def _record(device="h100-sxm", stamp="2026-01-01T00:00:00Z", tps=100.0, jpt=3.0):
    return {"schema": RECORD_SCHEMA, "command": "codesign gpu-bench --model llama2-7b", "model": "llama2-7b",
            "dtype": "fp16", "stack": "serving", "timestamp_utc": stamp,
            "gpu": {"name": "NVIDIA H100 80GB HBM3", "device": device, "driver": "580"},
            "software": {"torch": "2.11"},
            "decode": {"median": {"tokens_per_s": tps, "j_per_token": jpt, "avg_power_w": tps * jpt}}}


def test_records_load_check_and_pick_newest(tmp_path):
    assert load_records(tmp_path) == []
    (tmp_path / "a.json").write_text(json.dumps(_record(stamp="2026-01-01T00:00:00Z", tps=90.0)))
    (tmp_path / "b.json").write_text(json.dumps(_record(stamp="2026-02-01T00:00:00Z", tps=95.0)))
    recs = load_records(tmp_path)
    assert [r["_file"] for r in recs] == ["a.json", "b.json"]
    assert find_record("h100-sxm", "llama2-7b", "bf16", recs)["decode"]["median"]["tokens_per_s"] == 95.0
    assert find_record("a100-80gb", "llama2-7b", "fp16", recs) is None
    assert find_record("h100-sxm", "llama2-7b", "int4wo", recs) is None
    (tmp_path / "c.json").write_text(json.dumps({**_record(), "schema": "other/1"}))
    with pytest.raises(CodesignError, match="schema"):
        load_records(tmp_path)
    with pytest.raises(CodesignError, match="command"):
        check_record({k: v for k, v in _record().items() if k != "command"}, "x.json")


def test_committed_records_are_valid():
    for rec in load_records():
        assert rec["command"].startswith("codesign gpu-bench")


def test_real_weights_reproduce_the_reference_llama():
    """Canonical-name weights (as the GGUF/HF loaders give them) through the bench stack == the LLM
    helper's torch LLaMA (rotate-half RoPE, GQA), up to bf16 rounding."""
    from codesign.quant.llm.model import LlamaLM

    g = torch.Generator().manual_seed(5)
    d, hd, h, kv, f = TINY.d_model, TINY.head_dim, TINY.n_heads, TINY.n_kv_heads, TINY.d_ffn
    w = {"tok_embeddings": torch.randn(TINY.vocab, d, generator=g) * 0.5, "norm": 1 + 0.1 * torch.randn(d, generator=g),
         "output": torch.randn(TINY.vocab, d, generator=g) * 0.1}
    for i in range(TINY.n_layers):
        p = f"layers.{i}."
        for name, shape in (("attn.wq", (h * hd, d)), ("attn.wk", (kv * hd, d)), ("attn.wv", (kv * hd, d)),
                            ("attn.wo", (d, h * hd)), ("ffn.w_gate", (f, d)), ("ffn.w_up", (f, d)),
                            ("ffn.w_down", (d, f))):
            w[p + name] = torch.randn(*shape, generator=g) * 0.1
        w[p + "attn_norm"] = 1 + 0.1 * torch.randn(d, generator=g)
        w[p + "ffn_norm"] = 1 + 0.1 * torch.randn(d, generator=g)
    ref_cfg = {"n_layers": 2, "n_heads": h, "n_kv_heads": kv, "head_dim": hd, "norm_eps": 1e-5,
               "rope_theta": 10000.0, "tied_embeddings": False}
    ids = torch.randint(0, TINY.vocab, (9,), generator=g)
    ref = LlamaLM(ref_cfg, w).logits(ids[None])[0, -1]
    net = DecoderStack(TINY, "bf16", max_seq=16, device="cpu", weights=w, rope_theta=10000.0, norm_eps=1e-5)
    net.forward(ids[:8], torch.arange(8))
    got = net.forward(ids[8:], torch.tensor([8])).float()
    assert torch.allclose(got, ref, atol=0.05 * ref.abs().max().item())
    assert int(got.argmax()) == int(ref.argmax())
    with pytest.raises(CodesignError, match="lacks"):
        DecoderStack(TINY, "bf16", 4, device="cpu", weights={k: v for k, v in w.items() if k != "norm"})


class FakeNvml:
    """Stands in for the NVML handle: a 100 W draw on a millijoule energy counter."""

    def __init__(self, watts=100.0, counter=True):
        self.watts, self.counter, self.t0 = watts, counter, __import__("time").perf_counter()

    def energy_mj(self):
        if not self.counter:
            return None
        return int((__import__("time").perf_counter() - self.t0) * self.watts * 1000)

    def power_w(self):
        return self.watts

    def name(self):
        return "Fake GPU"

    def driver(self):
        return "0.0"

    def clocks(self):
        return {"sm_mhz": 1000}

    def power_limit_w(self):
        return 300.0

    def close(self):
        pass


def test_energy_meter_falls_back_to_power_sampling():
    from codesign.baselines.bench import EnergyMeter

    for counter, method in ((True, "nvml_energy_counter"), (False, "nvml_power_sampling")):
        meter = EnergyMeter(FakeNvml(counter=counter), sample_interval_s=0.005)
        assert meter.method == method
        secs, joules = meter.measure(lambda: __import__("time").sleep(0.05))
        assert joules == pytest.approx(100.0 * secs, rel=0.25, abs=0.002)
    assert EnergyMeter(None).measure(lambda: None)[1] is None


def test_bench_procedure_on_cpu_with_a_fake_meter(tmp_path):
    counter = True
    """The whole measurement procedure (prefill windows, warm-up, decode windows, record) on CPU."""
    from codesign.baselines.bench import run_bench

    cfg = {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
           "intermediate_size": 128, "num_hidden_layers": 2, "vocab_size": 97, "max_position_embeddings": 64}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    rec = run_bench(str(tmp_path / "config.json"), "bf16", tokens=6, prompt=5, warmup=2, repeats=2, mode="eager",
                    command="codesign gpu-bench --mode eager", min_window_s=0.02, device="cpu",
                    nvml=FakeNvml(counter=counter), idle_s=0.05)
    assert rec["schema"] == RECORD_SCHEMA and rec["gpu"]["name"] == "Fake GPU" and rec["gpu"]["device"] is None
    assert rec["gpu"]["energy_method"] == ("nvml_energy_counter" if counter else "nvml_power_sampling")
    dec = rec["decode"]
    assert len(dec["windows"]) == 2 and all(w["tokens"] == 6 * dec["passes_per_window"] for w in dec["windows"])
    assert isinstance(rec["stable"], bool)
    tps = rec["decode"]["median"]["tokens_per_s"]
    assert rec["decode"]["weight_stream_gbs"] == pytest.approx(rec["weight_bytes"] * tps / 1e9)
    med = dec["median"]
    assert med["tokens_per_s"] > 0
    assert med["avg_power_w"] == pytest.approx(100.0, rel=0.3)       # the fake meter's 100 W
    for w in dec["windows"]:
        assert w["j_per_token"] == pytest.approx(w["avg_power_w"] / w["tokens_per_s"])
    assert rec["prefill"]["passes_per_window"] >= 1 and rec["prefill"]["median"]["tokens_per_s"] > 0
    json.dumps(rec, allow_nan=False)
    with pytest.raises(CodesignError, match="--mode"):
        run_bench(str(tmp_path / "config.json"), "bf16", 2, 2, 0, 1, "graph", "x", device="cpu")


def test_int8_weight_only_linear_matches_dequantised_weights():
    from codesign.baselines.bench_model import QuantLinear, weight_only_available

    ok, why = weight_only_available("int8wo", "cpu")
    if not ok:
        pytest.skip(f"this torch has no CPU int8 weight-only kernel: {why}")
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 128, generator=g).to(torch.bfloat16)
    x = torch.randn(3, 128, generator=g).to(torch.bfloat16)
    q = QuantLinear.from_float(w, "int8wo")
    ref = x.float() @ (q.packed.float() * q.scales.float()[:, None]).t()
    assert torch.allclose(q(x).float(), ref, atol=0.05, rtol=0.02)
