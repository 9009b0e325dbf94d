"""Energy/throughput analysis of gpu-bench on recorded synthetic samples (no GPU needed)."""

import math
import time

import pytest

from codesign.baselines.energy import (energy_from_counter, energy_from_samples, phase_metrics, stats,
                                       summarize_repeats)
from codesign.baselines.nvml import PowerSampler
from codesign.errors import CodesignError


def _recorded_run():
    """A 100 Hz trace as NVML would give it: 0.5 s idle at 70 W, 2 s decode at 300 W with a 5 W
    ripple, 0.5 s idle; and the total-energy counter (integer mJ) read at the same instants."""
    times, watts, counter = [], [], []
    e_mj = 123_456_789.0                  # counter since driver load
    for i in range(301):
        t = i * 0.01
        p = 70.0 if (t < 0.5 or t > 2.5) else 300.0 + 5.0 * math.sin(40 * t)
        if times:
            e_mj += (t - times[-1]) * (p + watts[-1]) / 2 * 1000
        times.append(t)
        watts.append(p)
        counter.append(int(e_mj))
    return times, watts, counter


def test_counter_delta_is_joules():
    assert energy_from_counter(1_000, 351_000) == 350.0


def test_counter_going_backwards_is_an_error():
    with pytest.raises(CodesignError, match="backwards"):
        energy_from_counter(5_000, 4_000)


def test_samples_and_counter_agree_on_the_recorded_run():
    times, watts, counter = _recorded_run()
    i0, i1 = 50, 250                       # the decode window 0.5 s .. 2.5 s
    from_counter = energy_from_counter(counter[i0], counter[i1])
    from_samples = energy_from_samples(times, watts, times[i0], times[i1])
    assert from_counter == pytest.approx(from_samples, abs=2e-3)   # counter truncates to whole mJ
    assert from_samples == pytest.approx(600.0, rel=0.01)          # ~300 W x 2 s


def test_samples_window_interpolates_edges():
    # linear power 100 -> 300 W over 2 s: mean over [0.5, 1.5] is 200 W exactly
    assert energy_from_samples([0.0, 1.0, 2.0], [100.0, 200.0, 300.0], 0.5, 1.5) == pytest.approx(200.0)
    # irregular sampling of a constant draw
    assert energy_from_samples([0.0, 0.1, 0.35, 1.0], [50.0] * 4) == pytest.approx(50.0)


@pytest.mark.parametrize("times,watts,t0,t1", [([0.0], [1.0], None, None), ([0.0, 1.0], [1.0], None, None),
                                               ([1.0, 0.0], [1.0, 1.0], None, None),
                                               ([0.0, 1.0], [1.0, 1.0], -0.1, 0.5)])
def test_bad_samples_are_refused(times, watts, t0, t1):
    with pytest.raises(CodesignError):
        energy_from_samples(times, watts, t0, t1)


def test_phase_metrics_are_consistent():
    m = phase_metrics(tokens=200, seconds=2.0, joules=600.0, idle_w=70.0)
    assert m["tokens_per_s"] == 100.0 and m["avg_power_w"] == 300.0
    assert m["j_per_token"] == 3.0 and m["tokens_per_j"] == pytest.approx(1 / 3)
    assert m["j_per_token_above_idle"] == pytest.approx((600 - 140) / 200)
    none = phase_metrics(tokens=10, seconds=1.0, joules=None)
    assert none["j_per_token"] is None and none["tokens_per_s"] == 10.0
    with pytest.raises(CodesignError):
        phase_metrics(tokens=0, seconds=1.0, joules=1.0)


def test_repeats_summary_takes_medians_and_spread():
    windows = [phase_metrics(100, s, j) for s, j in ((1.0, 300.0), (1.1, 310.0), (0.9, 290.0))]
    summ = summarize_repeats(windows)
    assert summ["median"]["tokens_per_s"] == pytest.approx(100.0)
    assert summ["median"]["j_per_token"] == pytest.approx(3.0)
    assert 0 < summ["tokens_per_s"]["cv"] < 0.2
    s = stats([2.0, 4.0])
    assert (s.n, s.median, s.min, s.max) == (2, 3.0, 2.0, 4.0)


def test_power_sampler_integrates_a_constant_draw():
    with PowerSampler(lambda: 150.0, interval_s=0.005) as s:
        t0 = time.perf_counter()
        time.sleep(0.1)
        t1 = time.perf_counter()
    assert len(s.times) >= 5 and s.times[0] <= t0 and s.times[-1] >= t1
    assert energy_from_samples(s.times, s.watts, t0, t1) == pytest.approx(150.0 * (t1 - t0), rel=1e-9)
