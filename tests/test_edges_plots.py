"""The sweep's and compare's plots say what they show (issue 20, point 6): constraint-failing points
apart and named, best-design labels that do not overlap, each distinct design labelled once with its
ridge and arithmetic intensity, compare bars marked modelled with units and precision."""

import numpy as np
import pytest

from codesign.design import Workload
from codesign.devices import get_device
from codesign.search import plots
from codesign.search.accuracy import AccuracySource
from codesign.search.constraints import Constraints
from codesign.search.defaults import default_space
from codesign.search.engine import Sweeper
from codesign.search.outputs import write_results
from codesign.search.runner import SweepJob, run_job

SPACE = {"wbits": [3, 4, 8], "abits": [8, 16], "kvbits": [8], "group": [128], "zero_point": [False],
         "rows": [8, 16, 32, 64], "cols": [32, 128], "weight_channels": [4, 8, 28], "kv_channels": [2, 4],
         "port_bits": [512], "freq_mhz": [150, 225, 300], "sfu_lanes": [32]}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plots")
    job = SweepJob("llama2-7b", "u280", Workload(), default_space(get_device("u280"), SPACE),
                   Constraints(min_tokens_per_s=30.0, max_power_w=45.0), 4096, "all")
    sw = Sweeper(job.model, job.device, job.workload, job.space, job.constraints,
                 AccuracySource(None, "not yet measured"))
    sw, state, ckpt = run_job(job, tmp / "r.partial", resume=False, sweeper=sw)
    res = write_results(tmp / "r", job, sw, state, ckpt)
    return tmp, job, sw, state, res["chosen"]


def _png(path):
    import matplotlib.image as mpimg
    return mpimg.imread(path)[..., :3]


def test_pareto_shows_constraint_failures_apart_and_names_them(swept):
    tmp, job, sw, state, chosen = swept
    assert state.n_feasible > state.n_ok > 0          # some feasible points fail a constraint
    info = plots.pareto_plot(plots._plt(), tmp / "p.png", job, sw, state, chosen)
    outside = [t for t in info["legend"] if t.startswith("feasible, outside the constraints")]
    assert len(outside) == 1, info["legend"]
    assert f"({state.n_feasible - state.n_ok:,})" in outside[0]
    assert f"tokens_per_s >= 30 rejects {int(state.constraint_fail[1]):,}" in outside[0]
    assert f"power_w <= 45 rejects {int(state.constraint_fail[2]):,}" in outside[0]
    # the orange layer is drawn (pixels of its colour, blended), apart from the grey cloud
    img = _png(tmp / "p.png")
    orange = np.array([0xf4, 0xa2, 0x61]) / 255
    blend = 1 - 0.35 * (1 - orange)      # alpha 0.35 over white
    assert (np.abs(img - blend).max(axis=-1) < 0.03).sum() > 200


def test_pareto_best_labels_do_not_overlap(swept):
    # (the default sweep's three bests near 43 tokens/s, 1.2 J drew their labels on top of each other)
    tmp, job, sw, state, chosen = swept
    info = plots.pareto_plot(plots._plt(), tmp / "p.png", job, sw, state, chosen)
    best = [c.label for c in chosen if c.label.startswith("best")]
    assert sorted(" + ".join(info["labels"]).split(" + ")) == sorted(best)   # every best, once
    boxes = info["boxes"]
    assert len(boxes) == len(info["labels"]) >= 2
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (x0, y0, w0, h0), (x1, y1, w1, h1) = boxes[i], boxes[j]
            apart = x0 + w0 <= x1 or x1 + w1 <= x0 or y0 + h0 <= y1 or y1 + h1 <= y0
            assert apart, (info["labels"][i], info["labels"][j], boxes[i], boxes[j])


def test_roofline_labels_each_design_once_with_ridge_and_intensity(swept):
    tmp, job, sw, state, chosen = swept
    info = plots.roofline_plot(plots._plt(), tmp / "r.png", job, sw, state, chosen)
    text = "\n".join(info["designs"])
    for c in chosen:
        if c.label.startswith("best"):
            assert text.count(f"{c.label}:") == 1, c.label    # once, not once per collapsed dot
        else:
            assert f"{c.label}:" not in text                 # the ranked runners-up stay in the table
    assert len(info["designs"]) <= len({c.index for c in chosen if c.label.startswith("best")})
    assert info["ridges"] and all(r > 0 for r in info["ridges"])
    assert info["intensities"] and all(0 < a < 1000 for a in info["intensities"])
    # one ridge and one intensity per best design drawn (designs sharing a spot are each drawn)
    assert len(info["ridges"]) == len(info["intensities"]) == len({c.index for c in chosen
                                                                   if c.label.startswith("best")})


def test_compare_chart_marks_every_modelled_bar_with_units_and_precision(tmp_path):
    from codesign.baselines.compare import compare
    from codesign.baselines.compare_report import bar_chart
    from codesign.design import Design, Hardware, Quant

    design = Design(model="llama2-7b", device="u280", quant=Quant(wbits=4, abits=8, kvbits=8),
                    hw=Hardware(abuf_depth=65536))
    res = compare(design, ["a100", "h100"], "fp16", "serving")
    info = bar_chart(res, tmp_path / "c.png")
    fpga, *gpus = info["labels"]
    assert "FPGA, modelled" in fpga and "W4A8KV8" in fpga
    for label, g in zip(gpus, res["gpus"]):
        assert f"GPU, {g['source']}" in label and "fp16" in label
    assert info["hatches"][0] == "//"                       # the FPGA figure is modelled too
    assert "USD / M tokens" in info["units"] and "USD" not in [u for u in info["units"] if u != "USD / M tokens"]
