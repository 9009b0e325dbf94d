"""Cost convention shared with the FPGA model: hardware amortised over a lifetime plus electricity.

The FPGA model owns the convention (``codesign.model.constants``: LIFETIME_YEARS, USD_PER_KWH, PUE;
``codesign.model.power.usd_per_mtoken``). The GPU baselines call exactly that function, so an FPGA
and a GPU are costed the same way.
"""

from __future__ import annotations

from ..model import constants as C
from ..model import power as P


def convention() -> dict:
    """{'lifetime_years', 'usd_per_kwh', 'pue', 'source'}"""
    return {"lifetime_years": float(C.LIFETIME_YEARS), "usd_per_kwh": float(C.USD_PER_KWH),
            "pue": float(C.PUE), "source": "codesign.model.constants"}


def usd_per_mtoken(price_usd: float, power_w: float, tokens_per_s: float) -> float:
    """Hardware price over the lifetime, plus electricity, per million tokens at full duty."""
    return float(P.usd_per_mtoken(price_usd, power_w, tokens_per_s))
