"""Perplexity by the hardware's own arithmetic, against the accuracy table (issue 17).

The accuracy table (``codesign/quant/data/accuracy_<model>.json``) is measured by a torch emulation:
the golden quantizers on every linear input, weight and KV entry, but float RMSNorm, RoPE, softmax,
SiLU and requantization. This module scores the same windows of the same text with the golden
integer pipeline (``model_run.IntModel.forward``: every ``IntLayer`` and the final RMSNorm in
integer arithmetic, bit-exact with the instruction stream the HLS and RTL run; host LM head in
float64, as the table keeps the LM head float) and compares it with the table's row.

The table's figure is a whole-sample one: the row's perplexity increase over the float reference
on all its windows, with a paired bootstrap interval over windows. The hardware's figure is
measured the same way on the same windows (``--windows all``) and must lie inside that interval.
One window's NLL is no such figure: a single rounding difference in the emulation's float parts
flips activation quantizers downstream and moves a window by a few nats either way, noise that
averages out over the sample (docs/RUN.md, "Hardware perplexity").

``python -m codesign.vectors.hw_perplexity --windows all --out FILE`` writes the record
(``codesign/quant/data/hw_perplexity_<model>.json`` is the committed one).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ..errors import CodesignError

SCHEMA = "codesign.hw_perplexity/1"
DEFAULT_ENTRIES = "8,8,8,32;4,8,8,32"


def record_path(model: str):
    from ..quant.accuracy_table import DATA_DIR
    return DATA_DIR / f"hw_perplexity_{model}.json"


def window_nll(model, ids) -> float:
    """Summed next-token NLL (nats) of one window, every position but the first (the table's
    convention, ``quant.llm.perplexity.window_nll``), on the golden integer pipeline."""
    return window_score(model, ids)[0]


def window_score(model, ids) -> tuple[float, str]:
    """(``window_nll``, sha256 of the pipeline's final int32 hidden states [T, d_model]): the hash
    pins the integer part bit for bit, the NLL adds the host's float64 LM head."""
    import hashlib

    ids = [int(i) for i in ids]
    caches = [layer.new_cache(len(ids)) for layer in model.layers]
    h = model.forward(model.embed(ids), 0, caches)
    digest = hashlib.sha256(np.ascontiguousarray(h, dtype="<i4").tobytes()).hexdigest()
    logits = model.logits(h[:-1])
    mx = logits.max(axis=1)
    lse = mx + np.log(np.exp(logits - mx[:, None]).sum(axis=1))
    return float((lse - logits[np.arange(len(ids) - 1), ids[1:]]).sum()), digest


def model_sha256(model) -> str:
    """sha256 of the integer model the processor holds (every layer's quantized matrices and gains,
    the final gain and eps): the compiler's output. Its float preparation (the SmoothQuant factors
    come from a float32 torch pass) can round differently on another CPU, and then so do a few
    weights; the record keeps this hash so that a bit-for-bit comparison knows its input."""
    import hashlib

    h = hashlib.sha256()

    def put(*arrays):
        for a in arrays:
            h.update(np.ascontiguousarray(np.asarray(a, dtype=np.int64)).tobytes())

    for layer in model.layers:
        for name in sorted(layer.mats):
            w = layer.mats[name]
            h.update(name.encode())
            put(w.q, w.zero, w.mant, [w.shift, w.bits, w.group, int(w.zero_point), w.in_features])
        for name in sorted(layer.gammas):
            put(layer.gammas[name][0], [layer.gammas[name][1]])
        put([layer.eps_q])
    put(model.final_gamma[0], [model.final_gamma[1], model.eps_q])
    return h.hexdigest()


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
                        f"method={method}", field="--quant")


def parse_entries(spec: str) -> list:
    """'W,A,KV,group[,zp]' entries separated by ';' -> Quant (zp: 1 = a zero point, 0 = symmetric)."""
    from ..design import Quant

    out = []
    for part in (p.strip() for p in spec.split(";")):
        try:
            vals = [int(v) for v in part.split(",")]
        except ValueError:
            vals = []
        if len(vals) not in (4, 5) or (len(vals) == 5 and vals[4] not in (0, 1)):
            raise CodesignError(f"'{part}': expected W,A,KV,group or W,A,KV,group,zp (zp 0 or 1)", field="--quant")
        w, a, kv, g = vals[:4]
        out.append(Quant(wbits=w, abits=a, kvbits=kv, group=g, zero_point=bool(vals[4]) if len(vals) == 5 else False))
    return out


def parse_windows(spec: str, n: int) -> list[int]:
    """'all' or comma-separated indices into the table's n windows."""
    if spec.strip() == "all":
        return list(range(n))
    try:
        idx = [int(v) for v in spec.split(",")]
    except ValueError:
        raise CodesignError(f"'{spec}': expected 'all' or window indices like 0,16", field="--windows") from None
    bad = [i for i in idx if not 0 <= i < n]
    if bad or not idx or len(set(idx)) != len(idx):
        raise CodesignError(f"'{spec}': indices must be distinct, in 0..{n - 1}", field="--windows")
    return idx


def table_sample(src, table: dict):
    """The table's windows of its text (token ids), checked against the hash the table records."""
    from ..quant.llm.text_sample import build_sample

    desc = table["sample"]
    sample, _ = build_sample(src.tokenizer, desc["n_windows"], desc["window_tokens"], text=desc["text"]["name"])
    if sample.text_sha256 != desc["text_sha256"]:
        raise CodesignError("the text sample differs from the one the table was measured on", field="--text")
    return sample


def score(src, table: dict, quant, windows: list[int], *, emulation: bool = False, sample=None,
          progress=None) -> dict:
    """Score ``windows`` of the table's sample with the golden integer pipeline at ``quant`` and set
    the figures beside the table row's (``emulation``: also re-run the table's torch emulation on
    each window in float32 and float64, a diagnostic of its rounding spread)."""
    import time

    from ..quant.accuracy_table import BOOTSTRAP, paired_loss_interval
    from .model_run import prepare_model

    sample = table_sample(src, table) if sample is None else sample
    row = table_row(table, quant.wbits, quant.abits, quant.kvbits, quant.group, quant.zero_point)
    boot = {**BOOTSTRAP, **table.get("bootstrap", {})}
    t0 = time.perf_counter()
    model = prepare_model(src, quant)
    digest_model = model_sha256(model)
    t1 = time.perf_counter()
    hw, digests = [], []
    for i in windows:
        nll, digest = window_score(model, sample.windows[i].tolist())
        hw.append(nll)
        digests.append(digest)
        if progress:
            progress(i, hw[-1])
    seconds = time.perf_counter() - t1
    tpw = table["sample"]["window_tokens"] - 1
    tokens = tpw * len(windows)
    base = [table["baseline"]["window_nll"][i] for i in windows]
    tab = [row["window_nll"][i] for i in windows]

    def loss_pct(nll):
        return 100.0 * math.expm1((sum(nll) - sum(base)) / tokens)

    def ci(ref, nll):
        lo, hi = paired_loss_interval(ref, nll, tpw, boot["seed"], boot["resamples"], boot["level"])
        return [round(lo, 4), round(hi, 4)]

    whole = sorted(windows) == list(range(table["sample"]["n_windows"]))
    lo, hi = row["ci_low_pct"], row["ci_high_pct"]
    hw_loss = loss_pct(hw)
    out = {"entry": label(quant), "wbits": quant.wbits, "abits": quant.abits, "kvbits": quant.kvbits,
           "group": quant.group, "zero_point": bool(quant.zero_point), "method": "rtn",
           "windows": list(windows), "scored_tokens": tokens,
           "model_sha256": digest_model, "window_nll": hw, "window_hidden_sha256": digests, "total_nll": sum(hw),
           "ppl": math.exp(sum(hw) / tokens), "reference_ppl": math.exp(sum(base) / tokens),
           "loss_pct": hw_loss, "loss_ci_pct": ci(base, hw) if len(windows) > 1 else None,
           "table": {"ppl": row["ppl"], "loss_pct": row["loss_pct"], "ci_pct": [lo, hi],
                     "loss_pct_same_windows": loss_pct(tab)},
           # the paired interval of hardware ppl / table ppl - 1 on the same windows: 0 inside it means
           # no systematic difference between the integer pipeline and the emulation is resolved
           "hardware_vs_table_pct": 100.0 * math.expm1((sum(hw) - sum(tab)) / tokens),
           "hardware_vs_table_ci_pct": ci(tab, hw) if len(windows) > 1 else None,
           "within_table_ci": (lo <= hw_loss <= hi) if whole else None,
           "prepare_seconds": round(t1 - t0, 1), "seconds": round(seconds, 1),
           "seconds_per_window": round(seconds / len(windows), 2)}
    if emulation:
        import torch
        ids = [sample.windows[i].tolist() for i in windows]
        out["emulation_f32_window_nll"] = [emulation_nll(src, quant, w, torch.float32) for w in ids]
        out["emulation_f64_window_nll"] = [emulation_nll(src, quant, w, torch.float64) for w in ids]
        out["emulation_f32_loss_pct"] = loss_pct(out["emulation_f32_window_nll"])
        out["emulation_f64_loss_pct"] = loss_pct(out["emulation_f64_window_nll"])
    return out


def pipeline_check(model_name: str, sample, window: int = 0) -> dict:
    """The CPU-independent fingerprint of the pipeline: W8 A8 KV8 g32 on the checkpoint without
    SmoothQuant (its integer model comes from numpy's correctly rounded float64 element-wise
    operations only, so every machine prepares the same one), one window's NLL and hidden-state hash."""
    from ..design import Quant
    from .model_run import prepare_model, real_model

    quant = Quant(wbits=8, abits=8, kvbits=8, group=32)
    model = prepare_model(real_model(model_name, smooth=False), quant)
    nll, digest = window_score(model, sample.windows[window].tolist())
    return {"smoothing": False, "entry": label(quant), "window": window, "model_sha256": model_sha256(model),
            "window_nll": nll, "window_hidden_sha256": digest}


def label(quant) -> str:
    return (f"W{quant.wbits}A{quant.abits}KV{quant.kvbits} g{quant.group} RTN "
            + ("zero point" if quant.zero_point else "symmetric"))


def main(argv=None) -> int:
    """python -m codesign.vectors.hw_perplexity [--windows all] [--quant '8,8,8,32;4,8,8,32'] [--out FILE]"""
    import argparse

    p = argparse.ArgumentParser(
        prog="python -m codesign.vectors.hw_perplexity",
        description="Perplexity of the golden integer pipeline (bit-exact with the HLS/RTL) on the accuracy "
                    "table's text, against the table's rows. Exit 0 when every whole-sample entry lies inside "
                    "its row's bootstrap interval, 1 when one lies outside, 2 on bad input.")
    p.add_argument("--model", default="smollm2-135m", help="checkpoint whose committed accuracy table is compared")
    p.add_argument("--windows", default="all", help="'all' (the table's figure) or window indices, e.g. 0,16")
    p.add_argument("--quant", default=DEFAULT_ENTRIES,
                   help="table entries W,A,KV,group[,zp] separated by ';' (RTN; zp 1 = zero point)")
    p.add_argument("--emulation", action="store_true",
                   help="also re-run the table's torch emulation per window in float32 and float64 (slow)")
    p.add_argument("--out", help="write the JSON record here (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    a = p.parse_args(argv)
    try:
        return _run(a, argv)
    except CodesignError as e:
        print(f"hw_perplexity: error: {e}", file=sys.stderr)
        return 2


def _run(a, argv) -> int:
    import datetime
    import hashlib
    import json
    import os
    import platform
    import shlex
    import time
    from pathlib import Path

    from ..fsutil import atomic_write_json, check_output_dir
    from ..quant.accuracy_table import packaged_path
    from .model_run import real_model

    entries = parse_entries(a.quant)
    tpath = packaged_path(a.model)
    if not tpath.is_file():
        raise CodesignError(f"no committed accuracy table for '{a.model}' ({tpath})", field="--model")
    table = json.loads(tpath.read_text())
    windows = parse_windows(a.windows, table["sample"]["n_windows"])
    for q in entries:                      # every entry has a row before the long part starts
        table_row(table, q.wbits, q.abits, q.kvbits, q.group, q.zero_point)
    out = Path(a.out) if a.out else None
    if out is not None:
        if out.is_dir():
            raise CodesignError(f"'{out}' is a folder; give a file name", field="--out")
        if out.exists() and not a.force:
            raise CodesignError(f"'{out}' already exists; pass --force to overwrite it", field="--out")
        if not out.exists():
            check_output_dir(out, field="--out")     # a writable place, checked before the long part
    t0 = time.perf_counter()
    src = real_model(a.model)
    sample = table_sample(src, table)
    res = []
    for q in entries:
        def progress(i, v, q=q):
            print(f"{label(q)}: window {i}: {v:.4f} nats", file=sys.stderr, flush=True)
        r = score(src, table, q, windows, emulation=a.emulation, sample=sample, progress=progress)
        res.append(r)
        t = r["table"]
        print(f"{r['entry']}: hardware ppl {r['ppl']:.4f}, loss {r['loss_pct']:+.4f} % over {len(windows)} windows "
              f"({r['scored_tokens']} tokens); table {t['loss_pct']:+.4f} % [{t['ci_pct'][0]}, {t['ci_pct'][1]}]"
              + ("" if r["within_table_ci"] is None else (", inside" if r["within_table_ci"] else ", OUTSIDE"))
              + f"; {r['seconds_per_window']} s/window", flush=True)
    if out is not None:
        import numpy
        rec = {"schema": SCHEMA, "model": a.model,
               "what": "perplexity of the golden integer pipeline (codesign.vectors.model_run.IntModel: every "
                       "decoder layer and the final RMSNorm in the processor's integer arithmetic, bit-exact with "
                       "the HLS/RTL instruction stream; LM head on the host in float64) on the accuracy table's "
                       "windows, against the table's rows",
               "table": {"file": f"codesign/quant/data/{tpath.name}",
                         "sha256": hashlib.sha256(tpath.read_bytes()).hexdigest()},
               "sample": {k: table["sample"][k] for k in ("n_windows", "window_tokens", "text_sha256")},
               "checkpoint": src.description, "bootstrap": table.get("bootstrap"),
               "entries": res, "pipeline_check": pipeline_check(a.model, sample),
               "provenance": {"command": shlex.join(["python", "-m", "codesign.vectors.hw_perplexity",
                                                     *(sys.argv[1:] if argv is None else argv)]),
                              "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                              "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                              "seconds": round(time.perf_counter() - t0, 1),
                              "python": platform.python_version(), "numpy": numpy.__version__,
                              "machine": platform.machine()}}
        atomic_write_json(out, rec, field="--out")
    whole = [r["within_table_ci"] for r in res if r["within_table_ci"] is not None]
    return 0 if all(whole) else 1


if __name__ == "__main__":
    raise SystemExit(main())
