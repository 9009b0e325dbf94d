"""Energy and throughput analysis of a GPU benchmark (no GPU needed: pure functions on samples).

Two ways to get the energy of a timed window:
* NVML's total-energy counter (millijoules since the driver loaded, Volta and newer): the
  difference of two readings; a reading that goes backwards (driver reload) is an error.
* power samples (watts at timestamps, from a sampling thread): the trapezoid integral over the
  window, the samples linearly interpolated at the window's edges.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from ..errors import CodesignError


def energy_from_counter(start_mj: int, end_mj: int) -> float:
    """Joules between two NVML total-energy readings (millijoules)."""
    if end_mj < start_mj:
        raise CodesignError(f"NVML energy counter went backwards ({start_mj} -> {end_mj} mJ); "
                            "the driver was reloaded during the run", field="energy")
    return (end_mj - start_mj) / 1000.0


def _interp(t: float, ts: Sequence[float], ps: Sequence[float]) -> float:
    if t <= ts[0]:
        return ps[0]
    if t >= ts[-1]:
        return ps[-1]
    lo, hi = 0, len(ts) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ts[mid] <= t:
            lo = mid
        else:
            hi = mid
    f = (t - ts[lo]) / (ts[hi] - ts[lo]) if ts[hi] > ts[lo] else 0.0
    return ps[lo] + f * (ps[hi] - ps[lo])


def energy_from_samples(times_s: Sequence[float], power_w: Sequence[float],
                        t0: float | None = None, t1: float | None = None) -> float:
    """Trapezoid integral of power over [t0, t1] (default: the samples' span), in joules.

    The window must lie within the samples (a sampler starts before and stops after the timed
    window), so that no energy is extrapolated."""
    if len(times_s) != len(power_w) or len(times_s) < 2:
        raise CodesignError(f"need >= 2 (time, power) samples of equal count, got {len(times_s)} and "
                            f"{len(power_w)}", field="samples")
    if any(b < a for a, b in zip(times_s, times_s[1:])):
        raise CodesignError("sample times must be non-decreasing", field="samples")
    t0 = times_s[0] if t0 is None else t0
    t1 = times_s[-1] if t1 is None else t1
    if not times_s[0] <= t0 <= t1 <= times_s[-1]:
        raise CodesignError(f"window [{t0}, {t1}] not inside the samples [{times_s[0]}, {times_s[-1]}]",
                            field="samples")
    pts = [(t0, _interp(t0, times_s, power_w))]
    pts += [(t, p) for t, p in zip(times_s, power_w) if t0 < t < t1]
    pts.append((t1, _interp(t1, times_s, power_w)))
    return sum((tb - ta) * (pa + pb) / 2.0 for (ta, pa), (tb, pb) in zip(pts, pts[1:]))


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    mean: float
    stdev: float
    cv: float          # stdev / mean: the run's stability
    min: float
    max: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def stats(values: Sequence[float]) -> Stats:
    if not values:
        raise CodesignError("no measurements", field="repeats")
    vals = [float(v) for v in values]
    mean = statistics.fmean(vals)
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return Stats(len(vals), statistics.median(vals), mean, sd, sd / mean if mean else math.inf, min(vals), max(vals))


def phase_metrics(tokens: int, seconds: float, joules: float | None, idle_w: float | None = None) -> dict:
    """tokens/s, J/token, tokens/J and mean power of one timed window (None where no energy was
    metered); with ``idle_w`` also the J/token above the idle draw."""
    if tokens <= 0 or seconds <= 0:
        raise CodesignError(f"tokens {tokens} and seconds {seconds} must be positive", field="window")
    out = {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds, "energy_j": joules,
           "avg_power_w": None, "j_per_token": None, "tokens_per_j": None}
    if joules is not None:
        if joules <= 0:
            raise CodesignError(f"energy {joules} J over {seconds} s is not positive", field="energy")
        out.update(avg_power_w=joules / seconds, j_per_token=joules / tokens, tokens_per_j=tokens / joules)
        if idle_w is not None:
            out["j_per_token_above_idle"] = max(0.0, joules - idle_w * seconds) / tokens
    return out


def summarize_repeats(windows: Sequence[dict]) -> dict:
    """Median-of-repeats figures plus the spread of each (the record's stability check);
    energy figures are None when no window was metered."""
    out: dict = {}
    for k in ("tokens_per_s", "j_per_token", "tokens_per_j", "avg_power_w"):
        vals = [w[k] for w in windows if w.get(k) is not None]
        out[k] = stats(vals).as_dict() if vals else None
    out["median"] = {k: (v["median"] if v else None) for k, v in list(out.items())}
    return out
