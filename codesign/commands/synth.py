"""codesign synth: Yosys synth_xilinx (xcup) of the MPE and the SFU beside the model's prediction."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "synth"
HELP = "synthesise the MPE / SFU / weight-mode beat with Yosys (synth_xilinx -family xcup); DSP/LUT/FF vs the model"

# wbeat: hw/rtl/weight_beat.v, the MPE's beat at the GEMV's weight mode (mixed-precision designs)
BLOCKS = ("mpe", "sfu", "wbeat")


def add_arguments(p) -> None:
    p.add_argument("--design", required=True, action="append",
                   help="design.json (repeat for several design points)")
    p.add_argument("--blocks", default="mpe,sfu", help="comma-separated subset of: " + ", ".join(BLOCKS))
    p.add_argument("--max-lanes", type=int, default=128,
                   help="MPE arrays with more rows*cols are synthesised as a slice and scaled")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def _blocks(text: str) -> list[str]:
    from ..errors import CodesignError

    out = [b.strip() for b in text.split(",") if b.strip()]
    bad = [b for b in out if b not in BLOCKS]
    if not out or bad:
        raise CodesignError(f"got {text!r}; allowed: comma-separated subset of {{{', '.join(BLOCKS)}}}",
                            field="--blocks")
    return out


def model_prediction(design, block: str) -> tuple[dict | None, str]:
    """The analytical model's resources for one block, or the whole design when the model has
    no per-block split; (None, reason) when the model is not available."""
    try:
        from .. import model
    except ImportError as e:
        return None, f"model unavailable ({e})"
    per_block = getattr(model, "block_resources", None)
    if per_block is not None:
        try:
            res = per_block(design)
            if block in res:
                return {k: res[block].get(k) for k in ("dsp", "lut", "ff")}, "model, per block"
        except Exception as e:  # noqa: BLE001 - report, never hide, a model failure
            return None, f"model error: {e}"
    evaluate = getattr(model, "evaluate_design", None)
    if evaluate is None:
        return None, "model has no evaluate_design yet"
    try:
        res = evaluate(design)["resources"]
    except Exception as e:  # noqa: BLE001
        return None, f"model error: {e}"
    return {k: res.get(k) for k in ("dsp", "lut", "ff")}, "model, whole design"


def wbeat_prediction(design) -> tuple[dict, str]:
    """The model's terms for weight_beat.v (codesign.model.resources: the wide-lane muxes and the
    gathered words' registers): a mixed design's LUT/FF minus the same design at one mode."""
    from dataclasses import replace

    from ..model import evaluate_design
    if not design.quant.mixed:
        return {"dsp": 0, "lut": 0, "ff": 0}, "model: one mode, a wire"
    one = replace(design, quant=replace(design.quant, mixed=0, wbits=max(design.quant.wbits, design.quant.hi_wbits)),
                  layer_wbits=[])
    a, b = evaluate_design(design)["resources"], evaluate_design(one)["resources"]
    return {k: round(a[k] - b[k]) for k in ("dsp", "lut", "ff")}, "model terms (mixed minus uniform wide)"


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..design import load_design
    from ..errors import CodesignError
    from ..gen.rtl.params import core_params, mpe_params, weight_beat_params
    from ..gen.rtl.synth import synth_mpe, synth_sfu, synth_weight_beat

    if args.max_lanes < 1:
        raise CodesignError(f"got {args.max_lanes}; allowed: an integer >= 1", field="--max-lanes")
    blocks = _blocks(args.blocks)
    rows = []
    for path in args.design:
        design = load_design(path)
        params = core_params(design)
        for b in blocks:
            if b == "mpe":
                r = synth_mpe(mpe_params(design), max_lanes=args.max_lanes)
            elif b == "wbeat":
                r = synth_weight_beat(weight_beat_params(design))
            else:
                r = synth_sfu(params)
            pred, basis = model_prediction(design, b) if b != "wbeat" else wbeat_prediction(design)
            rows.append({"design": path, "block": b, "params": r.params, "dsp": r.dsp, "lut": r.lut,
                         "ff": r.ff, "carry": r.carry, "scaled_from": r.scaled_from,
                         "model": pred, "model_basis": basis})
    if args.json:
        print(json.dumps(rows, indent=1, sort_keys=True))
        return 0
    t = Table(title="Yosys synth_xilinx -family xcup (LUT/FF: upper bound) vs analytical model")
    for c in ("design", "block", "params", "DSP", "LUT", "FF", "model DSP", "model LUT", "model FF",
              "model basis"):
        t.add_column(c, justify="left" if c in ("design", "block", "params", "model basis") else "right")
    for r in rows:
        p = r["params"]
        if r["block"] == "wbeat":
            desc = "{ROWS}x{COLS} W{WBITS}/W{WBITS_HI} zp{ZP} M{NM_M}".format(**p)
        elif r["block"] == "mpe":
            desc = "{ROWS}x{COLS} W{WBITS}A{ABITS} g{GROUP} zp{ZP}".format(**p)
            if r["scaled_from"]:
                desc += " (slice {ROWS}x{COLS} scaled)".format(**r["scaled_from"])
        else:
            desc = "lanes {SFU_LANES} A{ABITS} KV{KVBITS}".format(**p)
        m = r["model"] or {}
        t.add_row(Path(r["design"]).name, r["block"], desc, str(r["dsp"]), str(r["lut"]), str(r["ff"]),
                  *(str(m.get(k, "n/a")) for k in ("dsp", "lut", "ff")), r["model_basis"])
    Console(width=max(160, Console().width)).print(t)
    return 0
