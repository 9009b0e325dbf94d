"""FPGA design versus GPUs: tokens/s, J/token, tokens/J, USD per million tokens, and the ratios
stated the way published FPGA accelerators state them ("N x energy efficiency, M x cost efficiency
versus GPU G").

For each GPU the figure is a measured ``gpu-bench`` record when one exists for that GPU, model and
precision (``records.py``), else the analytical GPU model's prediction; every row says which.
"""

from __future__ import annotations

from ..design import Design
from ..errors import CodesignError
from ..workload import load_model_config
from .cost import usd_per_mtoken
from .gpu_model import evaluate_gpu, quant_for_dtype
from .gpu_specs import resolve_gpu_device
from .records import find_record

METRICS = (  # key, label, unit, higher is better
    ("decode_tokens_per_s", "decode tokens/s", "tokens/s", True),
    ("energy_per_token_j", "J/token", "J", False),
    ("tokens_per_j", "tokens/J", "tokens/J", True),
    ("usd_per_mtoken", "USD / M tokens", "USD", False),
)


def gpu_baseline(gpu: str, design: Design, dtype: str = "fp16", stack: str = "serving",
                 records: list[dict] | None = None) -> dict:
    """One GPU's figures for the design's model and workload: measured if recorded, else modelled."""
    dev = resolve_gpu_device(gpu)
    rec = find_record(dev.name, load_model_config(design.model).name, dtype, records)
    if rec is not None:
        med = rec["decode"]["median"]
        tps, jpt = float(med["tokens_per_s"]), float(med["j_per_token"])
        power = float(med["avg_power_w"]) if med.get("avg_power_w") is not None else jpt * tps
        return {"gpu": dev.name, "source": "measured", "stack": rec["stack"], "dtype": rec["dtype"],
                "decode_tokens_per_s": tps, "energy_per_token_j": jpt, "tokens_per_j": 1.0 / jpt,
                "power_w": power, "usd_per_mtoken": usd_per_mtoken(dev.price_usd, power, tps),
                "provenance": f"{rec['_file']}: {rec['command']} ({rec['gpu']['name']}, driver "
                              f"{rec['gpu'].get('driver')}, torch {rec['software'].get('torch')})"}
    cfg = load_model_config(design.model)
    pred = evaluate_gpu(cfg, dev, design.workload, quant_for_dtype(dtype), stack)
    return {"gpu": dev.name, "source": "modelled", "stack": stack, "dtype": dtype,
            "decode_tokens_per_s": pred["decode_tokens_per_s"], "energy_per_token_j": pred["energy_per_token_j"],
            "tokens_per_j": 1.0 / pred["energy_per_token_j"], "power_w": pred["power_w"],
            "usd_per_mtoken": pred["usd_per_mtoken"], "feasible": pred["feasible"],
            "provenance": f"codesign.baselines.gpu_model ({stack} stack)"}


def ratios(fpga: dict, gpu: dict) -> dict:
    """FPGA over GPU, each oriented so that > 1 means the FPGA is better."""
    r = {"speedup": fpga["decode_tokens_per_s"] / gpu["decode_tokens_per_s"],
         "energy_efficiency": gpu["energy_per_token_j"] / fpga["energy_per_token_j"],
         "cost_efficiency": gpu["usd_per_mtoken"] / fpga["usd_per_mtoken"]}
    r["statement"] = (f"{r['energy_efficiency']:.2f}x energy efficiency, {r['cost_efficiency']:.2f}x cost "
                      f"efficiency, {r['speedup']:.2f}x decode speed versus {gpu['gpu']} "
                      f"({gpu['source']}, {gpu['dtype']}, {gpu['stack']})")
    return r


def fpga_figures(design: Design) -> dict:
    from ..model import evaluate_design
    res = evaluate_design(design)
    if not res.get("feasible", True):
        raise CodesignError(f"the design is infeasible on {design.device}: {'; '.join(res.get('violations', []))}",
                            field="--design")
    return {"device": design.device, "source": "modelled",
            "decode_tokens_per_s": float(res["decode_tokens_per_s"]),
            "energy_per_token_j": float(res["energy_per_token_j"]),
            "tokens_per_j": 1.0 / float(res["energy_per_token_j"]),
            "power_w": float(res["power_w"]), "usd_per_mtoken": float(res["usd_per_mtoken"])}


def compare(design: Design, gpus: list[str], dtype: str = "fp16", stack: str = "serving",
            fpga: dict | None = None, records: list[dict] | None = None) -> dict:
    """The whole comparison as a JSON-able dict (``fpga`` may be given, e.g. by tests)."""
    if not gpus:
        raise CodesignError("name at least one GPU", field="--gpu")
    fpga = fpga_figures(design) if fpga is None else fpga
    rows = []
    for g in gpus:
        base = gpu_baseline(g, design, dtype, stack, records)
        rows.append({**base, "ratios": ratios(fpga, base)})
    return {"model": design.model, "workload": design.workload.__dict__, "quant": design.quant.__dict__,
            "fpga": fpga, "gpus": rows}
