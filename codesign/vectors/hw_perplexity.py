"""Perplexity by the hardware's own arithmetic, against the accuracy table (issue 17).

The accuracy table (``codesign/quant/data/accuracy_<model>.json``) is measured by a torch emulation:
the golden quantizers on every linear input, weight and KV entry, but float RMSNorm, RoPE, softmax,
SiLU and requantization. This module scores the same windows of the same text with the golden
integer pipeline (``model_run.IntModel.forward``: every ``IntLayer`` and the final RMSNorm in
integer arithmetic, bit-exact with the instruction stream the HLS and RTL run; host LM head in
float64, as the table keeps the LM head float) and compares it with the table's row.

Cheapest real check: the table stores every window's summed NLL, for the row and for the float
reference. A few windows (a 256-token prefill each, one vectorised pass per window) are scored and
compared paired, window by window, with the row's own NLL on the same windows: the loss the
hardware gives on those windows (against the reference on the same windows) must lie within the
half-width of the row's bootstrap interval of the loss the table gives on them.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CodesignError
from ..quant import numerics as N


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
    model = prepare_model(src, quant)
    tpw = sample_desc["window_tokens"] - 1
    hw = [window_nll(model, sample.windows[i].tolist()) for i in windows]
    emu = [row["window_nll"][i] for i in windows]
    base = [table["baseline"]["window_nll"][i] for i in windows]
    tokens = tpw * len(windows)

    def loss_pct(nll):
        return 100.0 * (math.exp((sum(nll) - sum(base)) / tokens) - 1.0)

    half_width = (row["ci_high_pct"] - row["ci_low_pct"]) / 2.0
    out = {"quant": f"W{quant.wbits}A{quant.abits}KV{quant.kvbits} g{quant.group}"
                    + (" zp" if quant.zero_point else ""),
           "windows": list(windows), "scored_tokens": tokens,
           "hardware_nll": hw, "table_nll": emu, "reference_nll": base,
           "hardware_ppl": math.exp(sum(hw) / tokens), "table_ppl_same_windows": math.exp(sum(emu) / tokens),
           "hardware_loss_pct": loss_pct(hw), "table_loss_pct_same_windows": loss_pct(emu),
           "table_loss_pct": row["loss_pct"], "table_ci_pct": [row["ci_low_pct"], row["ci_high_pct"]],
           "ci_half_width_pct": half_width}
    out["difference_pct"] = out["hardware_loss_pct"] - out["table_loss_pct_same_windows"]
    out["within_ci"] = abs(out["difference_pct"]) <= half_width
    return out


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
    return 0 if all(r["within_ci"] for r in res) else 1


if __name__ == "__main__":
    raise SystemExit(main())
