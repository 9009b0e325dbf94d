"""`codesign emit-hls --backend hls4ml`: a decode-step SwiGLU FFN block through hls4ml.

For blocks small enough to sit fully on chip. The block is written only with operations hls4ml's
PyTorch frontend accepts (ARCHITECTURE.md): Linear on a 1-D input, sigmoid and element-wise
multiply for SiLU (silu(g) = g * sigmoid(g)):  y = down((gate(x) * sigmoid(gate(x))) * up(x)).

Per-layer precisions come from design.json. hls4ml's precisions are static ap_fixed types, one per
layer tensor: it cannot express group-wise weight scales nor the processor's data-dependent
activation exponents (one power-of-two exponent per block of GROUP inputs, per token, chosen at run
time from the block's max |x|: numerics.quantize_activation). So this path models a static per-tensor
mapping, calibrated on the block's sample inputs:
  * gate/up/down weights: ap_fixed<wbits, I> with I the integer bits of the layer's max |w|;
  * the block input x: ap_fixed<abits, I> with I the integer bits of the sample's max |x|;
  * Linear accumulators ap_fixed<48, 24>; Linear, multiply results ap_fixed<32, 16> -- the golden
    model's int32 activations with ACT_FRAC = 16 fractional bits; sigmoid ap_fixed<18, 2> (Q.16, SIG_FRAC).
Only the block input is quantized to ``abits``: the down projection's input (the SwiGLU product)
stays ap_fixed<32,16>, where the processor re-quantizes it to ``abits`` with block exponents.
The block is C-simulated through hls4ml ``compile()``/``predict()`` (g++), and its error is reported
against the float block and against the golden integer FFN (codesign.quant.numerics: gemv with its
per-block activation exponents, swiglu) on the same inputs: the comparison measures what the static
per-tensor mapping costs against the processor's arithmetic, not a bit-exact match. A layer hls4ml cannot express is a CodesignError naming the layer.
"""

from __future__ import annotations

import contextlib
import io
import math
import os

import numpy as np

from ...design import Design
from ...errors import CodesignError
from ...fsutil import atomic_output_dir, atomic_write_text, dumps_json
from .parts import device_part

# Largest block (gate + up + down weights) this path C-simulates: hls4ml writes every weight into a
# C++ header and g++ compiles the fully unrolled dense layers; 32 x 64 takes ~30 s on one core.
MAX_BLOCK_WEIGHTS = 3 * 128 * 256
SAMPLES = 8          # decode-step input vectors (real tokens) pushed through predict()
ACC_PRECISION = "ap_fixed<48,24>"
ACT_PRECISION = "ap_fixed<32,16>"   # int32 with ACT_FRAC = 16 (codesign.quant.numerics)
SIG_PRECISION = "ap_fixed<18,2>"    # Q.16 sigmoid (SIG_FRAC = 16)


def _int_bits(max_abs: float) -> int:
    """Integer bits (sign included) of an ap_fixed that holds +-max_abs."""
    if max_abs <= 0:
        return 1
    return max(1, int(math.floor(math.log2(max_abs))) + 2)


def ffn_module(d_model: int, d_ffn: int, act: str = "sigmoid-mul"):
    """The torch block. act="sigmoid-mul" is what hls4ml accepts; act="silu" uses torch.nn.SiLU
    (which hls4ml's PyTorch frontend rejects -- kept to show the clear error)."""
    import torch
    import torch.nn as nn

    class SwiGLUBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = nn.Linear(d_model, d_ffn, bias=False)
            self.up = nn.Linear(d_model, d_ffn, bias=False)
            self.down = nn.Linear(d_ffn, d_model, bias=False)
            if act == "silu":
                self.silu = nn.SiLU()

        def forward(self, x):
            g = self.gate(x)
            a = self.silu(g) if act == "silu" else g * torch.sigmoid(g)
            return self.down(a * self.up(x))

    return SwiGLUBlock().eval()


def block_data(design: Design, dims: tuple[int, int] | None, seed: int = 0) -> dict:
    """Float weights + decode-step inputs of the block: the real layer-0 FFN of SmolLM2-135M (sliced
    to ``dims`` = (d_model, d_ffn) when given), or seeded random weights for models without a
    checkpoint on this machine."""
    from ...quant import numerics as N
    from ...workload import load_model_config

    cfg = load_model_config(design.model)
    if cfg.ffn_kind != "swiglu":
        raise CodesignError(f"model '{cfg.name}' has a {cfg.ffn_kind} FFN; the hls4ml block is the SwiGLU FFN "
                            "(LLaMA family)", field="model")
    d, f = dims if dims else (cfg.d_model, cfg.d_ffn)
    if d > cfg.d_model or f > cfg.d_ffn or d < 2 or f < 2:
        raise CodesignError(f"({d}, {f}) must lie within the model's (d_model, d_ffn) = ({cfg.d_model}, "
                            f"{cfg.d_ffn})", field="--ffn-dims")
    if 3 * d * f > MAX_BLOCK_WEIGHTS:
        raise CodesignError(f"an FFN block of {d} x {f} ({3 * d * f} weights) is too large for the hls4ml "
                            f"on-chip path (at most {MAX_BLOCK_WEIGHTS} weights); pass --ffn-dims D,F for a "
                            "slice, or use --backend vitis (the streaming processor)", field="--ffn-dims")
    source = "random"
    if cfg.name.lower().startswith("smollm2"):
        from ...quant.real_layer import load_layers, real_token_ids

        real = load_layers(cfg.name, upto=0)     # the golden helper's real-weight loader
        w = real.layers[0]
        wg = np.asarray(w["ffn.w_gate"], dtype=np.float64)[:f, :d]
        wu = np.asarray(w["ffn.w_up"], dtype=np.float64)[:f, :d]
        wd = np.asarray(w["ffn.w_down"], dtype=np.float64)[:d, :f]
        ids = real_token_ids(real.path, SAMPLES)
        emb = np.asarray(real.embeddings, dtype=np.float64)[np.asarray(ids)][:, :d]
        gamma = np.asarray(w["ffn_norm"], dtype=np.float64)[:d]
        # the block's input is the FFN's: RMSNorm of the residual (here: real token embeddings)
        x = emb / np.sqrt((emb ** 2).mean(axis=1, keepdims=True) + 1e-5) * gamma
        source = f"{cfg.name} layer 0 FFN, rows/cols sliced to d_model={d}, d_ffn={f}; inputs: RMSNorm'd " \
                 f"embeddings of {len(ids)} real tokens"
    else:
        rng = np.random.default_rng(seed)
        wg, wu = rng.normal(0, d ** -0.5, (f, d)), rng.normal(0, d ** -0.5, (f, d))
        wd = rng.normal(0, f ** -0.5, (d, f))
        x = rng.normal(0, 1.0, (SAMPLES, d))
        source = f"random weights (seed {seed}) with {cfg.name}'s shape sliced to {d} x {f}"
    x = N.from_fixed(N.to_fixed(x))            # inputs exactly representable in the golden int32 format
    return {"cfg": cfg, "d": d, "f": f, "w_gate": wg, "w_up": wu, "w_down": wd, "x": x, "source": source}


def golden_ffn(data: dict, design: Design) -> np.ndarray:
    """The golden integer FFN (the processor's arithmetic) on the same inputs, as floats."""
    from ...quant import numerics as N

    q = design.quant
    mats = {k: N.quantize_weight_groups(data[k], q.wbits, q.group, q.zero_point) for k in ("w_gate", "w_up", "w_down")}
    xi = N.to_fixed(data["x"])
    a = N.swiglu(N.gemv(mats["w_gate"], xi, q.abits), N.gemv(mats["w_up"], xi, q.abits))
    return N.from_fixed(N.gemv(mats["w_down"], a, q.abits))


def float_ffn(data: dict) -> np.ndarray:
    g = data["x"] @ data["w_gate"].T
    return ((g / (1.0 + np.exp(-g))) * (data["x"] @ data["w_up"].T)) @ data["w_down"].T


def hls_config(model, data: dict, design: Design) -> dict:
    import hls4ml

    try:
        with contextlib.redirect_stdout(io.StringIO()):   # hls4ml prints its topology walk
            cfg = hls4ml.utils.config_from_pytorch_model(model, input_shape=(data["d"],), granularity="name",
                                                         backend="Vitis")
    except Exception as e:  # hls4ml raises a bare Exception('Unsupported layer X')
        raise _layer_error(model, e) from None
    q = design.quant
    layers = cfg["LayerName"]
    for name, key in (("gate", "w_gate"), ("up", "w_up"), ("down", "w_down")):
        p = layers[name]["Precision"]
        p["weight"] = f"ap_fixed<{q.wbits},{_int_bits(float(np.abs(data[key]).max()))}>"
        p["accum"] = ACC_PRECISION
        p["result"] = ACT_PRECISION
        p["bias"] = ACT_PRECISION
    layers["x"]["Precision"]["result"] = f"ap_fixed<{q.abits},{_int_bits(float(np.abs(data['x']).max()))}>"
    for name, layer in layers.items():
        if name.startswith("sigmoid"):
            layer["Precision"]["result"] = SIG_PRECISION
        elif name.startswith("mul"):
            layer["Precision"]["result"] = ACT_PRECISION
    cfg["Model"]["Precision"]["default"] = ACT_PRECISION
    return cfg


def _layer_error(model, e: Exception) -> CodesignError:
    msg = str(e)
    if "Unsupported layer" in msg:
        kind = msg.split("Unsupported layer", 1)[1].strip()
        names = [n for n, mod in model.named_modules() if type(mod).__name__ == kind]
        where = f"layer '{names[0]}' ({kind})" if names else f"layer type {kind}"
        return CodesignError(f"hls4ml's PyTorch frontend cannot express {where}; write SiLU as x * sigmoid(x) "
                             "and use Linear on 1-D inputs", field="hls4ml")
    return CodesignError(f"hls4ml conversion failed: {msg}", field="hls4ml")


def _errors(a: np.ndarray, ref: np.ndarray) -> dict:
    diff = a - ref
    return {"max_abs": float(np.abs(diff).max()), "rms": float(np.sqrt((diff ** 2).mean())),
            "rel_rms": float(np.sqrt((diff ** 2).mean() / max((ref ** 2).mean(), 1e-30)))}


def emit_hls4ml_ffn(design: Design, out, force: bool = False, dims: tuple[int, int] | None = None,
                    console=None, act: str = "sigmoid-mul") -> dict:
    """Convert, C-simulate and report; writes the hls4ml project + report.json into ``out``."""
    import torch

    import hls4ml

    part, _ = device_part(design.device)
    data = block_data(design, dims)
    model = ffn_module(data["d"], data["f"], act=act)
    with torch.no_grad():
        model.gate.weight.copy_(torch.from_numpy(data["w_gate"]).float())
        model.up.weight.copy_(torch.from_numpy(data["w_up"]).float())
        model.down.weight.copy_(torch.from_numpy(data["w_down"]).float())
    cfg = hls_config(model, data, design)
    with atomic_output_dir(out, force) as stage:
        prj = stage / "hls4ml_prj"
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                hm = hls4ml.converters.convert_from_pytorch_model(
                    model, hls_config=cfg, output_dir=str(prj), project_name="swiglu_ffn", backend="Vitis",
                    io_type="io_parallel", part=part, clock_period=round(1000.0 / design.hw.freq_mhz, 3))
        except Exception as e:
            raise _layer_error(model, e) from None
        if console is not None:
            console.print(f"hls4ml: compiling the {data['d']} x {data['f']} SwiGLU block (g++)...")
        cwd = os.getcwd()
        try:
            hm.compile()
        finally:
            os.chdir(cwd)
        y_hls = np.asarray(hm.predict(np.ascontiguousarray(data["x"], dtype=np.float32)), dtype=np.float64)
        y_hls = y_hls.reshape(data["x"].shape[0], data["d"])
        y_float = float_ffn(data)
        y_gold = golden_ffn(data, design)
        report = {
            "block": {"d_model": data["d"], "d_ffn": data["f"], "source": data["source"],
                      "layers": [(l.name, l.class_name) for l in hm.get_layers()]},
            "precisions": {n: v["Precision"] for n, v in cfg["LayerName"].items()},
            "part": part, "samples": int(data["x"].shape[0]),
            "numerics": {
                "hls4ml": f"static per-tensor ap_fixed: weights {design.quant.wbits}-bit per layer, block input "
                          f"{design.quant.abits}-bit, SwiGLU product (down input) {ACT_PRECISION}",
                "golden": f"W{design.quant.wbits} group {design.quant.group} scales; every GEMV input "
                          f"A{design.quant.abits} with one power-of-two exponent per block of "
                          f"{design.quant.group} inputs (numerics.gemv)"},
            "error": {"hls4ml_vs_float": _errors(y_hls, y_float), "hls4ml_vs_golden": _errors(y_hls, y_gold),
                      "golden_vs_float": _errors(y_gold, y_float)},
        }
        atomic_write_text(stage / "report.json", dumps_json(report))
        atomic_write_text(stage / "README.md", (
            f"# hls4ml SwiGLU FFN block ({data['d']} x {data['f']}) for {design.model} on {design.device}\n\n"
            f"Generated by `codesign emit-hls --backend hls4ml`. Source: {data['source']}.\n"
            f"`hls4ml_prj/` is the hls4ml Vitis project (part {part}); `report.json` holds the per-layer "
            "precisions and the C-simulation error against the float block and the golden integer FFN.\n"))
    if console is not None:
        from rich.table import Table
        t = Table(title=f"hls4ml C-simulation of the SwiGLU block ({data['d']} x {data['f']}, {report['samples']} "
                        "decode-step inputs)")
        for c in ("comparison", "max |err|", "rms err", "relative rms"):
            t.add_column(c)
        for k, v in report["error"].items():
            t.add_row(k.replace("_", " "), f"{v['max_abs']:.4g}", f"{v['rms']:.4g}", f"{v['rel_rms']:.4g}")
        console.print(t)
    return report
