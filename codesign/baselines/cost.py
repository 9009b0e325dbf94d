"""Cost convention shared with the FPGA model: hardware amortised over a lifetime plus electricity.

The FPGA model (``codesign.model``) owns the convention. When it exposes the two constants, the
GPU baselines use exactly those; until then (or if it names them differently) the fallback below
applies, and ``convention()`` says which is in force.
"""

from __future__ import annotations

# Fallback values (used only when codesign.model does not define them):
# 3-year service life: a stated assumption (no datasheet gives one), the same for FPGA and GPU.
FALLBACK_LIFETIME_YEARS = 3.0
# US average commercial electricity price 2023: 12.7 cents/kWh (US EIA, Electric Power Monthly,
# Table 5.3, 2023 annual average, commercial sector).
FALLBACK_USD_PER_KWH = 0.127

_LIFETIME_NAMES = ("LIFETIME_YEARS", "HW_LIFETIME_YEARS", "LIFETIME_Y")
_PRICE_NAMES = ("USD_PER_KWH", "ELECTRICITY_USD_PER_KWH", "ENERGY_USD_PER_KWH")


def _from_model(names: tuple[str, ...]):
    try:
        import codesign.model as m
    except Exception:  # the model package may be mid-edit by its owner; fall back
        return None
    for sub in (m, getattr(m, "cost", None), getattr(m, "constants", None)):
        for n in names:
            if sub is not None and isinstance(getattr(sub, n, None), (int, float)):
                return float(getattr(sub, n)), f"codesign.model {n}"
    return None


def convention() -> dict:
    """{'lifetime_years', 'usd_per_kwh', 'source'}"""
    life = _from_model(_LIFETIME_NAMES)
    price = _from_model(_PRICE_NAMES)
    return {
        "lifetime_years": life[0] if life else FALLBACK_LIFETIME_YEARS,
        "usd_per_kwh": price[0] if price else FALLBACK_USD_PER_KWH,
        "source": ("; ".join(s for s in (life and life[1], price and price[1]) if s)
                   or "codesign.baselines.cost fallback (assumed 3-year life, US EIA 2023 commercial 12.7 c/kWh)"),
    }


def usd_per_mtoken(price_usd: float, power_w: float, tokens_per_s: float) -> float:
    """Hardware price over the lifetime, plus electricity, per million tokens at full duty."""
    c = convention()
    if tokens_per_s <= 0:
        return float("inf")
    lifetime_s = c["lifetime_years"] * 365.25 * 24 * 3600
    usd_per_s = price_usd / lifetime_s + power_w * c["usd_per_kwh"] / 3.6e6
    return usd_per_s / tokens_per_s * 1e6
