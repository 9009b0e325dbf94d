"""Published GPU measurements beside the GPU model's predictions (rows for ``codesign validate``).

Each point names the GPU, model, precision, software stack and workload as published, and its
source. Measured ``gpu-bench`` records committed under ``data/measured/`` join as further points. Points marked ``calibration`` fitted the constants in ``stacks.py`` (``calibrate.py``);
the others are out of sample. ``rows()`` returns one dict per (point, metric):
{case, device, model, metric, published, predicted, error_pct, source, stack, calibration}.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..design import Quant, Workload
from ..workload import load_model_config
from .gpu_model import evaluate_gpu
from .gpu_specs import resolve_gpu_device

XIONGJIE = ("XiongjieDai/GPU-Benchmarks-on-LLM-Inference README (llama.cpp CUDA, batch 1), "
            "LLaMA 2 table, mean TG (Dec 2023)")
XIONGJIE_L3 = ("XiongjieDai/GPU-Benchmarks-on-LLM-Inference README (llama.cpp CUDA, batch 1), "
               "LLaMA 3 table, tg 512 (May 2024)")
MLENERGY = ("ML.ENERGY leaderboard v1, ml-energy/leaderboard@4717739 data/A100_chat_benchmark.csv "
            "(HF transformers + FastChat, PyTorch 2.0.1, batch 1, chat task)")
FLIGHTLLM = ("FlightLLM (Zeng et al., FPGA 2024) abstract, arXiv 2401.03868: vLLM + SmoothQuant W8A8, "
             "batch 1, LLaMA2-7B")

FP16 = Quant(wbits=16, abits=16, kvbits=16, group=128)
Q4_0 = Quant(wbits=4, abits=16, kvbits=16, group=32)     # llama.cpp Q4_0: 32 weights + one fp16 scale
W8A8 = Quant(wbits=8, abits=8, kvbits=16, group=256)     # SmoothQuant: per-channel int8 weights


@dataclass(frozen=True)
class GpuPoint:
    case: str
    device: str
    model: str
    quant: Quant
    stack: str
    workload: Workload
    published: dict            # metric -> value
    source: str
    calibration: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict)


# llama-bench / main text generation: short prompt, tokens generated from an empty-ish context.
_TG = Workload(batch=1, prompt=16, generate=512)
_TG512 = Workload(batch=1, prompt=1, generate=512)
# ML.ENERGY chat prompts: the measured response lengths were 66 (LLaMA-7B) and 420 (Llama-2-chat)
# tokens; "throughput" = response length / latency (so it includes the short prefill).
_ME_L1 = Workload(batch=1, prompt=64, generate=66)
_ME_L2 = Workload(batch=1, prompt=64, generate=420)
# FlightLLM's decode comparison: prefill 128, decode 512 (its Figure 13 setting; batch 1).
_FL = Workload(batch=1, prompt=128, generate=512)

POINTS: tuple[GpuPoint, ...] = (
    GpuPoint("llama.cpp LLaMA-2-7B f16", "a100-80gb", "llama2-7b", FP16, "serving", _TG,
             {"decode_tokens_per_s": 73.83}, XIONGJIE, calibration=True, note="RunPod 'A100 80GB'"),
    GpuPoint("llama.cpp LLaMA-2-7B q4_0", "a100-80gb", "llama2-7b", Q4_0, "serving", _TG,
             {"decode_tokens_per_s": 136.24}, XIONGJIE, calibration=True),
    GpuPoint("llama.cpp LLaMA-2-7B f16", "rtx4090", "llama2-7b", FP16, "serving", _TG,
             {"decode_tokens_per_s": 60.78}, XIONGJIE, calibration=True),
    GpuPoint("llama.cpp LLaMA-2-7B q4_0", "rtx4090", "llama2-7b", Q4_0, "serving", _TG,
             {"decode_tokens_per_s": 149.37}, XIONGJIE, calibration=True),
    GpuPoint("llama.cpp LLaMA-2-13B f16", "a100-80gb", "llama2-13b", FP16, "serving", _TG,
             {"decode_tokens_per_s": 45.01}, XIONGJIE),
    GpuPoint("llama.cpp LLaMA-2-13B q4_0", "a100-80gb", "llama2-13b", Q4_0, "serving", _TG,
             {"decode_tokens_per_s": 92.12}, XIONGJIE),
    GpuPoint("llama.cpp LLaMA-2-13B q4_0", "rtx4090", "llama2-13b", Q4_0, "serving", _TG,
             {"decode_tokens_per_s": 88.56}, XIONGJIE),
    GpuPoint("llama.cpp LLaMA-3-8B F16", "rtx4090", "llama3-8b", FP16, "serving", _TG512,
             {"decode_tokens_per_s": 54.84}, XIONGJIE_L3),
    GpuPoint("llama.cpp LLaMA-3-8B Q4_K_M", "rtx4090", "llama3-8b", Q4_0, "serving", _TG512,
             {"decode_tokens_per_s": 130.58}, XIONGJIE_L3,
             note="Q4_K_M (~4.8 bit/weight incl. some Q6_K tensors) modelled as 4-bit, group 32"),
    GpuPoint("HF eager LLaMA-7B (ML.ENERGY)", "a100-80gb", "llama2-7b", FP16, "eager", _ME_L1,
             # energy 345.37 J / latency 1.9355 s = 178.4 W; 345.37 J / 65.85 tokens = 5.245 J/token
             {"decode_tokens_per_s": 32.16, "power_w": 178.4, "energy_per_token_j": 5.245},
             MLENERGY, calibration=True,
             note="LLaMA-1 7B has LLaMA-2-7B's dimensions; the leaderboard's A100 is modelled as A100-80GB"),
    GpuPoint("HF eager Llama-2-7B-chat (ML.ENERGY)", "a100-80gb", "llama2-7b", FP16, "eager", _ME_L2,
             # energy 1828.77 J / latency 9.4421 s = 193.7 W; 1828.77 J / 420.07 tokens = 4.353 J/token
             {"decode_tokens_per_s": 44.47, "power_w": 193.7, "energy_per_token_j": 4.353},
             MLENERGY, calibration=True),
    GpuPoint("vLLM+SmoothQuant LLaMA2-7B (FlightLLM baseline)", "a100-80gb", "llama2-7b", W8A8, "serving", _FL,
             # FlightLLM on VHK158 decodes 92.5 tokens/s and is "1.2x higher throughput" than A100.
             {"decode_tokens_per_s": round(92.5 / 1.2, 2)}, FLIGHTLLM,
             note="derived: 92.5 tok/s (FlightLLM on VHK158, the paper's evaluation) / 1.2 (abstract)"),
    GpuPoint("vLLM+SmoothQuant LLaMA2-7B (FlightLLM baseline)", "v100s", "llama2-7b", W8A8, "serving", _FL,
             # FlightLLM on U280: 55 tokens/s at 45 W, "6.0x higher energy efficiency" than V100S.
             {"energy_per_token_j": round(45.0 / 55.0 * 6.0, 3)}, FLIGHTLLM,
             note="derived: U280 45 W / 55 tok/s x 6.0 (abstract); a ratio averaged over the paper's cases"),
)


def predict(point: GpuPoint) -> dict:
    cfg = load_model_config(point.model)
    return evaluate_gpu(cfg, resolve_gpu_device(point.device), point.workload, point.quant, point.stack)


def measured_points(records: list[dict] | None = None) -> tuple[GpuPoint, ...]:
    """Committed ``gpu-bench`` records (CUDA-graph mode, on a GPU the database holds) as points:
    the measured H100 (or other) figures beside the model's prediction for the same run."""
    from .gpu_model import quant_for_dtype
    from .records import load_records

    pts = []
    for rec in load_records() if records is None else records:
        dev, med = rec["gpu"].get("device"), rec["decode"]["median"]
        if rec.get("mode", "graph") != "graph" or dev is None:
            continue
        published = {"decode_tokens_per_s": med["tokens_per_s"]}
        if med.get("j_per_token") is not None:
            published.update(energy_per_token_j=med["j_per_token"], power_w=med["avg_power_w"])
        wl = Workload(batch=1, prompt=int(rec.get("prompt", 1)), generate=int(rec.get("tokens", 1)))
        pts.append(GpuPoint(f"gpu-bench {rec['model']} {rec['dtype']} (measured here)", dev, rec["model"],
                            quant_for_dtype(rec["dtype"]), "serving", wl, published,
                            f"codesign/baselines/data/measured/{rec.get('_file', '?')}: {rec['command']} "
                            f"({rec['gpu']['name']}, driver {rec['gpu'].get('driver')}, torch "
                            f"{rec['software'].get('torch')})"))
    return tuple(pts)


def rows(points: tuple[GpuPoint, ...] | None = None) -> list[dict]:
    """Every published point (and every committed measured record) with the model's prediction."""
    points = POINTS + measured_points() if points is None else points
    out = []
    for pt in points:
        pred = predict(pt)
        for metric, published in pt.published.items():
            p = float(pred[metric])
            out.append({
                "case": pt.case, "device": pt.device, "model": pt.model, "metric": metric,
                "published": published, "predicted": p, "error_pct": 100.0 * (p - published) / published,
                "source": pt.source + (f"; {pt.note}" if pt.note else ""), "stack": pt.stack,
                "calibration": pt.calibration,
            })
    return out


def summary(table: list[dict] | None = None) -> dict:
    """Median |error| per metric, over all rows and over the out-of-sample rows."""
    import statistics

    table = rows() if table is None else table
    out = {}
    for metric in sorted({r["metric"] for r in table}):
        errs = [abs(r["error_pct"]) for r in table if r["metric"] == metric]
        oos = [abs(r["error_pct"]) for r in table if r["metric"] == metric and not r["calibration"]]
        out[metric] = {"n": len(errs), "median_abs_error_pct": statistics.median(errs),
                       "n_out_of_sample": len(oos),
                       "median_abs_error_pct_out_of_sample": statistics.median(oos) if oos else None}
    return out


def print_table(table: list[dict] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = rows() if table is None else table
    t = Table(title="GPU model vs published / measured GPU figures")
    for col in ("case", "device", "metric", "published", "predicted", "error %", "calib."):
        t.add_column(col, justify="right" if col in ("published", "predicted", "error %") else "left")
    for r in table:
        t.add_row(r["case"], r["device"], r["metric"], f"{r['published']:.4g}", f"{r['predicted']:.4g}",
                  f"{r['error_pct']:+.1f}", "yes" if r["calibration"] else "")
    con = Console()
    con.print(t)
    for metric, s in summary(table).items():
        oos = s["median_abs_error_pct_out_of_sample"]
        con.print(f"{metric}: median |error| {s['median_abs_error_pct']:.1f}% over {s['n']} rows"
                  + (f", {oos:.1f}% over the {s['n_out_of_sample']} out-of-sample" if oos is not None else ""))
    con.print("sources:")
    for src in sorted({r["source"] for r in table}):
        con.print(f"  - {src}")


if __name__ == "__main__":
    print_table()
