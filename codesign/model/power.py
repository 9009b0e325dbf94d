"""Power, energy and cost (vectorised).

Board power = static (device database, card idle with shell) + dynamic logic power per used
resource at the kernel clock (constants.UW_PER_MHZ, x VERSAL_DYNAMIC_SCALE on 7 nm Versal) scaled by
how busy the logic is + off-chip memory energy per bit moved (constants.MEM_PJ_PER_BIT).
Cost per million tokens = (hardware price / lifetime + electricity) / tokens per second.
"""

from __future__ import annotations

import numpy as np

from . import constants as C

SECONDS_PER_YEAR = 365.25 * 24 * 3600


def logic_power_w(used: dict, device, freq_mhz, activity):
    """Dynamic power of the used resources; ``activity`` in [0, 1]: share of time the units toggle."""
    scale = C.VERSAL_DYNAMIC_SCALE if device.dsp_kind == "DSP58" else 1.0
    uw = sum(C.UW_PER_MHZ[r] * used[r] for r in C.UW_PER_MHZ)
    # clock tree and idle registers burn ~ a quarter of the full-activity power even when stalled
    return C.LOGIC_POWER_CALIBRATION * scale * uw * freq_mhz * 1e-6 * (0.25 + 0.75 * activity)


def memory_power_w(device, bytes_per_s):
    return bytes_per_s * 8 * C.MEM_PJ_PER_BIT[device.mem_kind] * 1e-12


def usd_per_mtoken(price_usd, power_w, tokens_per_s):
    hw_per_s = price_usd / (C.LIFETIME_YEARS * SECONDS_PER_YEAR)
    energy_per_s = power_w * C.PUE / 1000 / 3600 * C.USD_PER_KWH
    return (hw_per_s + energy_per_s) / np.maximum(tokens_per_s, 1e-30) * 1e6
