"""Perplexity by the hardware's own arithmetic, against the accuracy table (issue 17).

The accuracy table (``codesign/quant/data/accuracy_<model>.json``) is measured by a torch emulation:
the golden quantizers on every linear input, weight and KV entry, but float RMSNorm, RoPE, softmax,
SiLU and requantization. This module scores the same windows of the same text with the golden
integer pipeline (``model_run.IntModel.forward``: every ``IntLayer`` and the final RMSNorm in
integer arithmetic, bit-exact with the instruction stream the HLS and RTL run; host LM head in
float64, as the table keeps the LM head float) and compares it with the table's row.

Cheapest real check: the table stores every window's summed NLL, for every row and for the float
reference, so a few windows (a 256-token prefill each, one vectorised pass per window) are scored
and compared window by window with the row's own NLL on the same windows. The tolerance is the
row's bootstrap half-width turned into nats per window, widened by the emulation's own float
rounding on that window: the emulation re-run here in float32 and in float64 (the same quantizers;
only the float parts' rounding differs) moves a window's NLL by a few nats, because a rounding
difference flips activation quantizers downstream. The committed figures were measured in float32
on another machine; they lie within that spread of today's re-run, and so must the hardware.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CodesignError


def window_nll(model, ids) -> float:
    """Summed next-token NLL (nats) of one window, every position but the first (the table's
    convention, ``quant.llm.perplexity.window_nll``), on the golden integer pipeline."""
    ids = [int(i) for i in ids]
    caches = [layer.new_cache(len(ids)) for layer in model.layers]
    h = model.forward(model.embed(ids), 0, caches)
    logits = model.logits(h[:-1])
    mx = logits.max(axis=1)
    lse = mx + np.log(np.exp(logits - mx[:, None]).sum(axis=1))
    return float((lse - logits[np.arange(len(ids) - 1), ids[1:]]).sum())


def emulation_nll(src, quant, ids, dtype) -> float:
    """The table's own measurement of one window (``quant.llm``: the RTN weights of the smoothed
    checkpoint, the golden quantizers on activations, queries and KV, float RMSNorm / RoPE / softmax /
    SiLU), with the float parts in ``dtype`` (torch.float32 as the table, or torch.float64)."""
    import torch

    from ..quant.llm.model import LlamaLM
    from ..quant.llm.naming import LINEARS
    from ..quant.llm.perplexity import window_nll as emu_window_nll
    from ..quant.llm.quantized import PrequantizedWeights, QuantScheme

    cfg = src.ckpt_cfg
    scheme = QuantScheme(quant.wbits, quant.abits, quant.kvbits, quant.group, quant.zero_point)
    w = {k: torch.from_numpy(v) for k, v in src.weights.items()}
    for i in range(cfg["n_layers"]):
        for lin in LINEARS:
            n = f"layers.{i}.{lin}"
            w[n] = scheme.weight(n, w[n])
    w = {k: v.to(dtype) for k, v in w.items()}

    class InDtype(PrequantizedWeights):
        """The same quantizers; their float32 results carried on in ``dtype``."""

        def activation(self, x):
            return self.scheme.activation(x.float()).to(dtype)

        def query(self, x):
            return self.scheme.query(x.float()).to(dtype)

        def kv(self, x):
            return self.scheme.kv(x.float()).to(dtype)

    return float(emu_window_nll(LlamaLM(cfg, w, InDtype(scheme)), torch.tensor([ids]))[0])


def table_row(table: dict, wbits: int, abits: int, kvbits: int, group: int, zero_point: bool = False,
              method: str = "rtn") -> dict:
    for r in table["results"]:
        if (r["wbits"], r["abits"], r["kvbits"], r["group"], bool(r["zero_point"]), r.get("method", "rtn")) == \
                (wbits, abits, kvbits, group, zero_point, method):
            return r
    raise CodesignError(f"no accuracy-table row W{wbits}A{abits}KV{kvbits} g{group} zero_point={zero_point} "
                        f"method={method}", field="quant")


def compare(src, table: dict, quant, windows: list[int]) -> dict:
    """Score ``windows`` (indices into the table's sample) of the table's text with the golden integer
    pipeline at ``quant`` and compare with the table's row (see the module docstring)."""
    from ..quant.llm.text_sample import build_sample
    from .model_run import prepare_model

    sample_desc = table["sample"]
    sample, _ = build_sample(src.tokenizer, sample_desc["n_windows"], sample_desc["window_tokens"],
                             text=sample_desc["text"]["name"])
    if sample.text_sha256 != sample_desc["text_sha256"]:
        raise CodesignError("the text sample differs from the one the table was measured on", field="--text")
    row = table_row(table, quant.wbits, quant.abits, quant.kvbits, quant.group, quant.zero_point)
    import torch

    model = prepare_model(src, quant)
    tpw = sample_desc["window_tokens"] - 1
    ids = [sample.windows[i].tolist() for i in windows]
    hw = [window_nll(model, w) for w in ids]
    emu32 = [emulation_nll(src, quant, w, torch.float32) for w in ids]
    emu64 = [emulation_nll(src, quant, w, torch.float64) for w in ids]
    table_nll = [row["window_nll"][i] for i in windows]
    base = [table["baseline"]["window_nll"][i] for i in windows]
    tokens = tpw * len(windows)

    def loss_pct(nll):
        return 100.0 * (math.exp((sum(nll) - sum(base)) / tokens) - 1.0)

    # the interval's half-width as NLL of one window: d ln(ppl) = dL / (1 + L) per scored token
    half_pct = (row["ci_high_pct"] - row["ci_low_pct"]) / 2.0
    half_nats = tpw * (half_pct / 100.0) / (1.0 + row["loss_pct"] / 100.0)
    per_window = []
    for h, t, a, b in zip(hw, table_nll, emu32, emu64):
        spread = max(t, a, b) - min(t, a, b)
        per_window.append({"hardware": h, "table": t, "emulation_f32": a, "emulation_f64": b,
                           "difference": h - t, "tolerance": half_nats + spread,
                           "within": abs(h - t) <= half_nats + spread})
    return {"quant": f"W{quant.wbits}A{quant.abits}KV{quant.kvbits} g{quant.group}"
                     + (" zp" if quant.zero_point else ""),
            "windows": list(windows), "scored_tokens": tokens, "reference_nll": base,
            "per_window": per_window, "ci_half_width_pct": half_pct, "ci_half_width_nats_per_window": half_nats,
            "hardware_ppl": math.exp(sum(hw) / tokens), "table_ppl_same_windows": math.exp(sum(table_nll) / tokens),
            "hardware_loss_pct": loss_pct(hw), "table_loss_pct_same_windows": loss_pct(table_nll),
            "emulation_f32_loss_pct": loss_pct(emu32), "table_loss_pct": row["loss_pct"],
            "table_ci_pct": [row["ci_low_pct"], row["ci_high_pct"]],
            "within": all(p["within"] for p in per_window)}


def main(argv=None) -> int:
    """python -m codesign.vectors.hw_perplexity [--windows 0,16] [--quant w4a8kv8g32,w8a8kv8g32]"""
    import argparse
    import json

    from ..design import Quant
    from ..quant.accuracy_table import packaged_path
    from .model_run import real_model

    p = argparse.ArgumentParser(description="hardware (golden integer) perplexity against the accuracy table")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--windows", default="0", help="window indices of the table's sample (default: 0)")
    p.add_argument("--quant", default="4,8,8,32;8,8,8,32", help="W,A,KV,group entries separated by ';'")
    a = p.parse_args(argv)
    table = json.loads(packaged_path(a.model).read_text())   # the committed table
    src = real_model(a.model)
    res = []
    for q in a.quant.split(";"):
        w, ab, kv, g = (int(v) for v in q.split(","))
        res.append(compare(src, table, Quant(wbits=w, abits=ab, kvbits=kv, group=g), [int(i) for i in a.windows.split(",")]))
        print(json.dumps(res[-1], indent=1), flush=True)
    return 0 if all(r["within"] for r in res) else 1


if __name__ == "__main__":
    raise SystemExit(main())
