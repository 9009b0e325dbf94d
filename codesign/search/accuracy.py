"""Accuracy loss per design point, from the measured accuracy table (issue 4).

The sweep never invents accuracy: without a table every point's loss is NaN
and the sweep says "accuracy: not yet measured". A table measured on another
model (SmolLM2-135M standing in for LLaMA-2-7B) is used as a proxy and
labelled as such everywhere the numbers appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NOT_MEASURED = "not yet measured"
# The table holds dense weights only: N:M sparse points read NaN (not measured), so an applied
# accuracy constraint rejects them (--max-accuracy-loss-pct inf keeps them).
SPARSE_NOTE = "N:M sparse weights: not measured (the table has dense rows only)"
# How the accuracy bound reads the table's intervals (constraints.accuracy_meets_bound).
TIE_NOTE = ("a point whose bootstrap interval of the loss contains the bound ties with it and meets it; "
            "only a whole interval above the bound fails")


@dataclass(frozen=True)
class AccuracySource:
    table: Any                  # AccuracyTable or None
    status: str                 # "measured" | "proxy" | NOT_MEASURED
    measured_on: str | None = None
    baseline_ppl: float | None = None

    @property
    def known(self) -> bool:
        return self.table is not None

    def _methods(self, params: dict[str, np.ndarray], n: int):
        """Each point's row name in the table: its quantizer ("rtn", "gptq", "awq"), with mixed
        precision the profile ("gptq+mp8"); and a mask of the points the table cannot hold (a
        mixed point whose hi_wbits is not the one the profiles were measured at)."""
        from ..design import METHOD_CODES
        code = np.asarray(params.get("method", np.zeros(n, dtype=np.int64))).astype(np.int64).reshape(n)
        k = np.asarray(params.get("mixed", np.zeros(n, dtype=np.int64))).astype(np.int64).reshape(n)
        names = np.array([m if kk == 0 else f"{m}+mp{kk}" for m, kk in
                          ((METHOD_CODES[c], kk) for c, kk in zip(code.tolist(), k.tolist()))], dtype=object)
        mp = (getattr(self.table, "meta", None) or {}).get("mixed_precision") or {}
        hi = np.asarray(params.get("hi_wbits", np.full(n, mp.get("hi_wbits", 0)))).reshape(n)
        return names, (k > 0) & (hi != mp.get("hi_wbits", -1))

    def loss_pct(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """Relative perplexity increase in % per point; NaN where not measured.

        The table is indexed by (wbits, abits, kvbits, group, zero_point, sparsity, method: the
        quantizer, or its mixed-precision profile "gptq+mp8" when ``mixed`` > 0); a point whose
        configuration it does not hold reads NaN (never a neighbour's value): every N:M sparse point
        (``sparsity`` code != 0), since no sparse row has been measured.
        """
        n = len(params["wbits"])
        if self.table is None:
            return np.full(n, np.nan)
        zp = params.get("zero_point", np.zeros(n, dtype=bool))
        sp = params.get("sparsity", np.zeros(n, dtype=np.int64))
        methods, unheld = self._methods(params, n)
        loss = self.table.loss_pct(params["wbits"], params["abits"], params["kvbits"], params["group"], zp, sp,
                                   methods)
        return np.where(unheld, np.nan, np.asarray(loss, dtype=np.float64).reshape(n))

    def loss_ci_low(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """The low end of each point's bootstrap interval of the loss, %; NaN where the table has
        none (then the accuracy bound judges the loss alone: constraints.accuracy_meets_bound)."""
        n = len(params["wbits"])
        if self.table is None or not hasattr(self.table, "loss_interval"):
            return np.full(n, np.nan)
        zp = params.get("zero_point", np.zeros(n, dtype=bool))
        sp = params.get("sparsity", np.zeros(n, dtype=np.int64))
        methods, unheld = self._methods(params, n)
        lo, _ = self.table.loss_interval(params["wbits"], params["abits"], params["kvbits"], params["group"], zp, sp,
                                         methods)
        return np.where(unheld, np.nan, np.asarray(lo, dtype=np.float64).reshape(n))

    def describe(self) -> str:
        if self.status == NOT_MEASURED:
            return f"accuracy: {NOT_MEASURED}"
        if self.status == "proxy":
            return f"accuracy proxy: measured on {self.measured_on} (perplexity increase, %); {SPARSE_NOTE}; {TIE_NOTE}"
        return f"accuracy: measured on {self.measured_on} (perplexity increase, %); {SPARSE_NOTE}; {TIE_NOTE}"

    def as_dict(self) -> dict:
        d: dict[str, Any] = {"status": self.status, "note": self.describe()}
        if self.known:
            d["measured_on"] = self.measured_on
            d["baseline_ppl"] = self.baseline_ppl
        return d


def load_accuracy(model: str) -> AccuracySource:
    """The table for ``model``, else any measured table as a labelled proxy, else none."""
    from ..quant.accuracy_table import load_accuracy_table
    table = load_accuracy_table(model)
    if table is None:
        table = load_accuracy_table(None)
    if table is None:
        return AccuracySource(None, NOT_MEASURED)
    measured_on = str(getattr(table, "measured_on", "") or "unknown model")
    ppl = getattr(table, "baseline_ppl", None)
    status = "measured" if _same_model(measured_on, model) else "proxy"
    return AccuracySource(table, status, measured_on, float(ppl) if ppl is not None else None)


def _same_model(a: str, b: str) -> bool:
    norm = lambda s: "".join(ch for ch in s.lower() if ch.isalnum())  # noqa: E731
    return norm(a) == norm(b)
