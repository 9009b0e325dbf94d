"""The analytical GPU model: roofline bound, stacks, power range, memory capacity, output keys."""

import pytest

from codesign.baselines.calibrate import fit_all
from codesign.baselines.cost import convention
from codesign.baselines.gpu_model import GPU_DTYPES, evaluate_gpu, evaluate_gpu_design, quant_for_dtype
from codesign.baselines.gpu_specs import GPU_EXTRA, db_name_for_gpu, resolve_gpu_device
from codesign.baselines import stacks
from codesign.design import Design, Quant, Workload
from codesign.devices import GpuDevice, list_devices
from codesign.errors import CodesignError
from codesign.workload import load_model_config

GPUS = ("v100s", "a100-80gb", "h100-sxm", "h200-sxm", "l4", "rtx4090")
FPGA_KEYS = {"feasible", "violations", "decode_tokens_per_s", "prefill_latency_s", "energy_per_token_j",
             "power_w", "usd_per_mtoken", "resources", "utilization", "roofline_tokens_per_s",
             "roofline_fraction", "min_memory_energy_per_token_j", "ops"}
WL = Workload(prompt=128, generate=128)


def _eval(gpu, dtype="fp16", stack="serving", model="llama2-7b", wl=WL):
    return evaluate_gpu(load_model_config(model), resolve_gpu_device(gpu), wl, quant_for_dtype(dtype), stack)


def test_every_database_gpu_has_model_data():
    db_gpus = {d.name for d in list_devices() if isinstance(d, GpuDevice)}
    assert set(GPUS) <= db_gpus and set(GPU_EXTRA) == set(GPUS)


@pytest.mark.parametrize("gpu", GPUS)
@pytest.mark.parametrize("dtype", GPU_DTYPES)
def test_decode_below_roofline_and_power_in_range(gpu, dtype):
    dev = resolve_gpu_device(gpu)
    for stack in stacks.STACKS:
        r = _eval(gpu, dtype, stack, model="llama3.2-1b")
        assert FPGA_KEYS <= set(r)
        assert 0 < r["decode_tokens_per_s"] <= r["roofline_tokens_per_s"]
        assert dev.idle_w < r["power_w"] <= dev.tdp_w
        assert r["energy_per_token_j"] == pytest.approx(r["power_w"] / r["decode_tokens_per_s"])
        assert r["min_memory_energy_per_token_j"] < r["energy_per_token_j"]
        assert r["prefill_latency_s"] > 0


def test_roofline_is_bandwidth_over_bytes():
    r = _eval("a100-80gb")
    cfg = load_model_config("llama2-7b")
    # 6.74e9 parameters at 2 bytes, minus the 131M-entry embedding table (one row gathered per token)
    weights = (6.738e9 - cfg.vocab * cfg.d_model) * 2
    assert r["roofline_tokens_per_s"] == pytest.approx(2039e9 / weights, rel=0.03)


def test_eager_is_host_bound_and_about_half_the_serving_speed():
    eager, serving = _eval("a100-80gb", stack="eager"), _eval("a100-80gb", stack="serving")
    assert eager["host_bound"] and not serving["host_bound"]
    assert 1.5 < serving["decode_tokens_per_s"] / eager["decode_tokens_per_s"] < 2.5
    # host-bound: the GPU does not matter
    assert _eval("h100-sxm", stack="eager")["decode_tokens_per_s"] == pytest.approx(eager["decode_tokens_per_s"])


def test_fewer_weight_bits_decode_faster_on_serving():
    tps = [_eval("h100-sxm", d)["decode_tokens_per_s"] for d in ("fp16", "int8wo", "int4wo")]
    assert tps[0] < tps[1] < tps[2]


def test_memory_capacity_violation():
    r = _eval("l4", model="llama2-13b")          # 26 GB of fp16 weights on a 24 GB card
    assert not r["feasible"] and "memory" in r["violations"][0]
    assert _eval("l4", "int4wo", model="llama2-13b")["feasible"]
    assert not _eval("rtx4090", model="mixtral-8x7b")["feasible"]


def test_cost_follows_the_shared_convention():
    r = _eval("h100-sxm")
    c = convention()
    dev = resolve_gpu_device("h100")
    per_s = dev.price_usd / (c["lifetime_years"] * 365.25 * 86400) + r["power_w"] * c["pue"] * c["usd_per_kwh"] / 3.6e6
    assert r["usd_per_mtoken"] == pytest.approx(per_s / r["decode_tokens_per_s"] * 1e6)


def test_design_entry_point_and_errors():
    d = Design(model="llama2-7b", device="h100", quant=Quant(wbits=4, abits=16, kvbits=16, group=128))
    assert evaluate_gpu_design(d)["device"] == "h100-sxm"
    with pytest.raises(CodesignError, match="not a GPU"):
        evaluate_gpu_design(Design(model="llama2-7b", device="u280"))
    with pytest.raises(CodesignError, match="--stack"):
        evaluate_gpu_design(d, stack="turbo")
    with pytest.raises(CodesignError, match="--dtype"):
        quant_for_dtype("fp8")


def test_nvml_names_map_to_database():
    assert db_name_for_gpu("NVIDIA H100 80GB HBM3") == "h100-sxm"
    assert db_name_for_gpu("NVIDIA H100 PCIe") is None
    assert db_name_for_gpu("NVIDIA H200") == "h200-sxm"
    assert db_name_for_gpu("NVIDIA H200 NVL") is None
    assert db_name_for_gpu("NVIDIA A100-SXM4-80GB") == "a100-80gb"
    assert db_name_for_gpu("NVIDIA GeForce RTX 4090") == "rtx4090"
    assert db_name_for_gpu("NVIDIA L4") == "l4"


def test_stack_constants_are_the_calibration_fit():
    fit = fit_all()
    s = fit["serving"]
    assert stacks.SERVING.eta_bw_hbm == pytest.approx(s["eta_bw_hbm"], rel=0.01)
    assert stacks.SERVING.eta_bw_gddr == pytest.approx(s["eta_bw_gddr"], rel=0.01)
    assert stacks.SERVING.layer_cycles == pytest.approx(s["layer_cycles"], rel=0.01)
    # the per-layer latency in cycles agrees across the two calibration GPUs (clock scaling holds)
    a, b = s["per_gpu_cycles"]
    assert a == pytest.approx(b, rel=0.05)
    assert stacks.EAGER.host_layer_s == pytest.approx(fit["eager"]["host_layer_s"], rel=0.01)
    assert stacks.ACTIVE_FLOOR == pytest.approx(fit["power"]["active_floor"], abs=0.01)


@pytest.mark.parametrize("model", ["llama2-7b", "mixtral-8x7b", "gpt2-355m"])
def test_resident_weights_are_all_parameters_at_16_bits(model):
    from codesign.baselines.gpu_model import _weights_resident_bytes
    from codesign.workload import param_counts

    cfg = load_model_config(model)
    assert _weights_resident_bytes(cfg, quant_for_dtype("fp16")) == pytest.approx(2 * param_counts(cfg)["total"], rel=2e-3)
