"""Fit the GPU model's few shared constants (``stacks.py``) from the calibration points.

Run ``python -m codesign.baselines.calibrate`` to print the fit; the numbers in ``stacks.py`` are
its output, rounded (tests/test_baselines_calibration.py checks they still agree).

* serving: per GPU, llama.cpp decode at two precisions (f16, q4_0) gives two equations
  t = bytes / (BW x eta_bw) + n_layers x layer_cycles / f_boost, solved exactly; eta_bw is kept per
  memory kind (A100 = HBM, RTX 4090 = GDDR) and layer_cycles is the geometric mean of the two GPUs.
* eager: the host-bound step time over the layer count (geometric mean of the ML.ENERGY points).
* power: ACTIVE_FLOOR solved from each ML.ENERGY point's measured power and the model's
  utilisation, averaged.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..workload import load_model_config
from . import gpu_model
from .gpu_specs import gpu_extra, is_hbm, resolve_gpu_device
from .gpu_validation import POINTS, GpuPoint
from .stacks import ACTIVE_FLOOR, SERVING


def _decode_bytes(pt: GpuPoint) -> tuple[float, int]:
    cfg = load_model_config(pt.model)
    dev = resolve_gpu_device(pt.device)
    ideal = replace(SERVING, eta_bw_hbm=1.0, eta_bw_gddr=1.0, layer_cycles=0.0)
    ph = gpu_model._phase(cfg, dev, pt.quant, ideal, "decode", 1, pt.workload.decode_context, 1)
    return ph.bytes, cfg.n_layers


def fit_serving(points=POINTS) -> dict:
    by_dev: dict[str, list[GpuPoint]] = {}
    for pt in points:
        if pt.calibration and pt.stack == "serving":
            by_dev.setdefault(pt.device, []).append(pt)
    eta, cycles = {}, []
    for name, pts in sorted(by_dev.items()):
        (a, b) = sorted(pts, key=lambda p: p.quant.wbits)[:2]
        dev = resolve_gpu_device(name)
        (ba, n), (bb, _) = _decode_bytes(a), _decode_bytes(b)
        ta, tb = 1 / a.published["decode_tokens_per_s"], 1 / b.published["decode_tokens_per_s"]
        # ta - tb = (ba - bb) / (BW eta)  ->  eta; then the fixed time from either equation.
        e = (ba - bb) / (dev.mem_bw_gbs * 1e9 * (ta - tb))
        fixed = ta - ba / (dev.mem_bw_gbs * 1e9 * e)
        eta["hbm" if is_hbm(dev) else "gddr"] = e
        cycles.append(fixed / n * gpu_extra(dev.name).boost_mhz * 1e6)
    return {"eta_bw_hbm": eta["hbm"], "eta_bw_gddr": eta["gddr"],
            "layer_cycles": math.exp(sum(math.log(c) for c in cycles) / len(cycles)), "per_gpu_cycles": cycles}


def fit_eager(points=POINTS) -> dict:
    per_layer = []
    for pt in points:
        if pt.calibration and pt.stack == "eager":
            n = load_model_config(pt.model).n_layers
            per_layer.append(1.0 / pt.published["decode_tokens_per_s"] / n)
    return {"host_layer_s": math.exp(sum(math.log(x) for x in per_layer) / len(per_layer))}


def fit_power(points=POINTS) -> dict:
    floors = []
    for pt in points:
        if pt.calibration and "power_w" in pt.published:
            dev = resolve_gpu_device(pt.device)
            pred = gpu_model.evaluate_gpu(load_model_config(pt.model), dev, pt.workload, pt.quant, pt.stack)
            u = min(1.0, pred["bandwidth_utilization"] + pred["compute_utilization"])
            frac = (pt.published["power_w"] - dev.idle_w) / (dev.tdp_w - dev.idle_w)
            floors.append((frac - u) / (1.0 - u))
    return {"active_floor": sum(floors) / len(floors), "per_point": floors}


def fit_all() -> dict:
    return {"serving": fit_serving(), "eager": fit_eager(), "power": fit_power(),
            "current_active_floor": ACTIVE_FLOOR}


if __name__ == "__main__":
    import json

    print(json.dumps(fit_all(), indent=2))
