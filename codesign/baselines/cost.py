"""Cost convention shared with the FPGA model: hardware amortised over a lifetime plus electricity.

The FPGA model owns the convention (``codesign.model.constants``: LIFETIME_YEARS, USD_PER_KWH, PUE;
``codesign.model.power.usd_per_mtoken``). The GPU baselines call exactly that function, so an FPGA
and a GPU are costed the same way. Only if that module cannot be imported (a checkout without the
model) does the fallback below apply; ``convention()`` says which is in force.
"""

from __future__ import annotations

# Fallback, the same values the model states: an assumed 3-year service life, and the US average
# commercial electricity price 2023, 12.7 cents/kWh (US EIA, Electric Power Monthly, Table 5.3).
FALLBACK_LIFETIME_YEARS = 3.0
FALLBACK_USD_PER_KWH = 0.127
SECONDS_PER_YEAR = 365.25 * 24 * 3600


def _model():
    try:
        from ..model import constants, power
        return constants, power
    except ImportError:
        return None


def convention() -> dict:
    """{'lifetime_years', 'usd_per_kwh', 'pue', 'source'}"""
    m = _model()
    if m is not None:
        c = m[0]
        return {"lifetime_years": float(c.LIFETIME_YEARS), "usd_per_kwh": float(c.USD_PER_KWH),
                "pue": float(getattr(c, "PUE", 1.0)), "source": "codesign.model.constants"}
    return {"lifetime_years": FALLBACK_LIFETIME_YEARS, "usd_per_kwh": FALLBACK_USD_PER_KWH, "pue": 1.0,
            "source": "codesign.baselines.cost fallback"}


def usd_per_mtoken(price_usd: float, power_w: float, tokens_per_s: float) -> float:
    """Hardware price over the lifetime, plus electricity, per million tokens at full duty."""
    m = _model()
    if m is not None:
        return float(m[1].usd_per_mtoken(price_usd, power_w, tokens_per_s))
    c = convention()
    usd_per_s = price_usd / (c["lifetime_years"] * SECONDS_PER_YEAR) + power_w * c["pue"] * c["usd_per_kwh"] / 3.6e6
    return usd_per_s / max(tokens_per_s, 1e-30) * 1e6
