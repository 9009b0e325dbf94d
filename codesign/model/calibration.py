"""The fitted constants of the model, and how they are fitted to published measurements.

Two constants of ``constants.py`` are fitted, every other one is sourced or measured:

- ``LAYER_SYNC_CYCLES`` (non-overlapped synchronisation per decoder layer and step) on the published
  FPGA decode tokens/s;
- ``LOGIC_POWER_CALIBRATION`` (one factor on the per-resource dynamic power) on the published FPGA
  board power, with the synchronisation constant of the same fit.

``fit(cases)`` fits both on a list of ``validation.Case``; ``leave_one_out(cases)`` refits them
without each case in turn and predicts that case, which is the figure ``codesign validate`` judges
the model on. The objective is the mean |log(predicted / published)| (a factor of 2 too high and
too low weigh the same). Each case is evaluated once per value of the synchronisation grid, with
the calibration factor at 0 and at 1: board power is exactly linear in the factor
(power.logic_power_w), so any factor is read off those two evaluations. No formula of the model is
restated here.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np

from . import constants as C

FITTED = ("LAYER_SYNC_CYCLES", "LOGIC_POWER_CALIBRATION")
# Candidate synchronisation per layer and step: none, then 100 cycles .. 1M cycles (about 0.4 us ..
# 4 ms at 250 MHz), 10 per decade. The factor is fitted continuously (a fine grid, no evaluation).
SYNC_GRID = np.concatenate([[0.0], np.logspace(2, 6, 41)])
FACTOR_GRID = np.linspace(0.05, 12.0, 2391)
TOKENS, POWER = "decode_tokens_per_s", "power_w"


@contextlib.contextmanager
def constants_set(**values):
    """Temporarily set fitted constants (names in FITTED) of the model."""
    unknown = set(values) - set(FITTED)
    if unknown:
        raise ValueError(f"not a fitted constant: {sorted(unknown)}")
    old = {k: getattr(C, k) for k in values}
    try:
        for k, v in values.items():
            setattr(C, k, float(v))
        yield
    finally:
        for k, v in old.items():
            setattr(C, k, v)


@dataclass
class Evaluations:
    """Per case (rows) and synchronisation grid value (columns): decode tokens/s, and board power
    at calibration factor 0 and 1. NaN where a case has no such published metric."""
    names: list
    published_tps: np.ndarray
    published_w: np.ndarray
    fit_rows: np.ndarray        # cases a constant may be fitted to (validation.Case.in_scope)
    tps: np.ndarray
    w0: np.ndarray
    w1: np.ndarray


def evaluate_grid(cases) -> Evaluations:
    """Every case on the synchronisation grid (cached per set of cases: ``codesign validate`` and
    its tests ask for the same table several times)."""
    key = tuple((c.name, repr(c.design()), tuple(sorted(c.published.items())), getattr(c, "in_scope", True))
                for c in cases)
    if key not in _GRID_CACHE:
        _GRID_CACHE[key] = _evaluate_grid(cases)
    return _GRID_CACHE[key]


_GRID_CACHE: dict = {}


def _evaluate_grid(cases) -> Evaluations:
    from .report import evaluate_design
    n, g = len(cases), len(SYNC_GRID)
    tps, w0, w1 = (np.full((n, g), np.nan) for _ in range(3))
    for i, case in enumerate(cases):
        design = case.design()
        for j, sync in enumerate(SYNC_GRID):
            with constants_set(LAYER_SYNC_CYCLES=sync, LOGIC_POWER_CALIBRATION=0.0):
                r0 = evaluate_design(design)
            tps[i, j] = r0[TOKENS]
            if POWER in case.published:
                with constants_set(LAYER_SYNC_CYCLES=sync, LOGIC_POWER_CALIBRATION=1.0):
                    w1[i, j] = evaluate_design(design)[POWER]
                w0[i, j] = r0[POWER]
    pub = lambda m: np.array([c.published.get(m, np.nan) for c in cases], dtype=float)  # noqa: E731
    # fitted to: in the template's scope and not a held-out (multi-card) case
    scope = np.array([getattr(c, "in_scope", True) and getattr(c, "fit", True) for c in cases], dtype=bool)
    return Evaluations([c.name for c in cases], pub(TOKENS), pub(POWER), scope, tps, w0, w1)


def _log_err(pred, pub):
    return np.abs(np.log(pred / pub))


def fit_on(ev: Evaluations, train: np.ndarray) -> dict:
    """The fitted constants from the cases ``train`` (a boolean mask) of ``ev`` that are in the
    template's scope."""
    train = train & ev.fit_rows
    t = train & np.isfinite(ev.published_tps)
    if t.any():
        cost = _log_err(ev.tps[t], ev.published_tps[t, None]).mean(axis=0)
        j = int(np.argmin(cost))                 # ties: the smallest synchronisation
    else:
        j = 0
    p = train & np.isfinite(ev.published_w)
    if p.any():
        w = ev.w0[p, j, None] + FACTOR_GRID[None, :] * (ev.w1[p, j, None] - ev.w0[p, j, None])
        k = float(FACTOR_GRID[int(np.argmin(_log_err(w, ev.published_w[p, None]).mean(axis=0)))])
    else:
        k = float(C.LOGIC_POWER_CALIBRATION)
    return {"LAYER_SYNC_CYCLES": float(SYNC_GRID[j]), "LOGIC_POWER_CALIBRATION": k, "_sync_index": j}


def _public(fitted: dict) -> dict:
    """The fitted constants without fit_on's bookkeeping (the grid index)."""
    return {k: v for k, v in fitted.items() if not k.startswith("_")}


def predict(ev: Evaluations, i: int, fitted: dict) -> dict:
    j, k = fitted["_sync_index"], fitted["LOGIC_POWER_CALIBRATION"]
    out = {TOKENS: float(ev.tps[i, j])}
    if math.isfinite(ev.published_w[i]):
        out[POWER] = float(ev.w0[i, j] + k * (ev.w1[i, j] - ev.w0[i, j]))
    return out


def fit(cases) -> dict:
    """Both constants fitted on every case."""
    ev = evaluate_grid(cases)
    return _public(fit_on(ev, np.ones(len(cases), dtype=bool)))


def leave_one_out(cases) -> dict:
    """{case name: {"in_sample": predictions, "loo": predictions, "loo_fit": constants}}: in-sample
    with the constants fitted on every case, leave-one-out with them refitted without the case."""
    ev = evaluate_grid(cases)
    n = len(cases)
    full = fit_on(ev, np.ones(n, dtype=bool))
    out = {"_fit": _public(full)}
    for i, name in enumerate(ev.names):
        train = np.ones(n, dtype=bool)
        train[i] = False
        f = fit_on(ev, train)
        out[name] = {"in_sample": predict(ev, i, full), "loo": predict(ev, i, f),
                     "loo_fit": _public(f)}
    return out
