"""The sweep's PNGs: Pareto front, roofline with the chosen designs, best design's breakdown.

matplotlib with the Agg backend, fixed figure size and DPI, and no metadata in
the PNG (``metadata={"Software": None}``), so identical inputs give identical
bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine import HIST_BINS, HIST_RANGE

DPI = 110
PNG_META = {"Software": None}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _log_axes(ax) -> None:
    """Log-log axes with major ticks only (minor log ticks dominate the drawing time)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_locator(NullLocator())
    ax.grid(True, which="major", alpha=0.25)


def _save(fig, path: Path) -> None:
    import io

    from ..fsutil import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata=PNG_META)
    atomic_write_bytes(path, buf.getvalue())


def write_all(dest: Path, job, sweeper, state, chosen, summary) -> None:
    plt = _plt()
    try:
        pareto_plot(plt, dest / "pareto.png", job, sweeper, state, chosen)
        roofline_plot(plt, dest / "roofline.png", job, sweeper, state, chosen)
        breakdown_plot(plt, dest / "breakdown.png", job, sweeper, chosen, summary)
    finally:
        plt.close("all")


def _title(job, sweeper) -> str:
    w = job.workload
    return (f"{job.model} on {job.device} (batch {w.batch}, prompt {w.prompt}, generate {w.generate})\n"
            f"{sweeper.accuracy.describe()}")


def pareto_plot(plt, path: Path, job, sweeper, state, chosen) -> None:
    from matplotlib.colors import LogNorm

    fig, ax = plt.subplots(figsize=(8, 5.5))
    (x0, x1), (y0, y1) = HIST_RANGE
    hist = state.hist_feasible.T.astype(float)
    if hist.sum() > 0:
        ys, xs = np.nonzero(hist)
        # crop the fixed histogram to where points are, one bin of margin
        bx = (max(xs.min() - 1, 0), min(xs.max() + 2, HIST_BINS))
        by = (max(ys.min() - 1, 0), min(ys.max() + 2, HIST_BINS))
        ex = 10 ** np.linspace(x0, x1, HIST_BINS + 1)
        ey = 10 ** np.linspace(y0, y1, HIST_BINS + 1)
        sub = np.ma.masked_equal(hist[by[0]:by[1], bx[0]:bx[1]], 0)
        mesh = ax.pcolormesh(ex[bx[0]:bx[1] + 1], ey[by[0]:by[1] + 1], sub, cmap="Greys", alpha=0.45,
                             norm=LogNorm(vmin=1, vmax=max(2.0, float(sub.max()))), shading="flat",
                             rasterized=True)
        fig.colorbar(mesh, ax=ax, label="feasible design points per bin")
    ids = sweeper.ranked_front(state)
    cols = sweeper.evaluate_indices(ids)
    tps, jpt, wb = cols["decode_tokens_per_s"], cols["energy_per_token_j"], cols["wbits"]
    colours = {2: "#d62728", 3: "#ff7f0e", 4: "#2ca02c", 8: "#1f77b4", 16: "#9467bd"}  # by weight bits
    for w in sorted(set(int(v) for v in wb)):
        sel = wb == w
        ax.scatter(tps[sel], jpt[sel], s=16, color=colours.get(w, "black"), label=f"Pareto front, W{w}",
                   edgecolors="black", linewidths=0.3, zorder=3)
    best = [c for c in chosen if c.label.startswith("best")]
    for k, c in enumerate(best):
        xy = (c.values["decode_tokens_per_s"], c.values["energy_per_token_j"])
        ax.scatter([xy[0]], [xy[1]], marker="*", s=170, facecolors="none", edgecolors="black", linewidths=1.0,
                   zorder=4)
        # labels fanned out upwards-left so that bests sharing a point stay readable
        ax.annotate(c.label, xy, textcoords="offset points", xytext=(-10 - 4 * k, 10 + 11 * k), ha="right",
                    fontsize=7, arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.3"})
    _log_axes(ax)
    ax.set_xlabel("decode tokens/s")
    ax.set_ylabel("energy per token, J")
    ax.set_title(_title(job, sweeper), fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.9)
    _save(fig, path)
    plt.close(fig)


def roofline_plot(plt, path: Path, job, sweeper, state, chosen) -> None:
    """Decode roofline: tokens/s against off-chip bytes per token.

    Batch-1 decode reads every weight (and the KV cache) once per token, so no
    design beats tokens/s = device bandwidth / bytes per token: the diagonal.
    Bytes per token come from the model's roofline (``roofline_tokens_per_s`` =
    batch x device bandwidth / bytes per decode step). Fewer weight bits move a
    design left (a higher roof); the gap below the line is what the design
    leaves on the table (its ``roofline_fraction``). Grey: the Pareto front.
    """
    bw = float(sweeper.device.mem_bw_gbs) * 1e9
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ids = sweeper.ranked_front(state)
    cols = sweeper.evaluate_indices(ids)
    roof = np.asarray(cols["roofline_tokens_per_s"], dtype=float)
    bpt = bw / roof / 1e9
    tps = np.asarray(cols["decode_tokens_per_s"], dtype=float)
    xs_c = np.array([bw / c.values["roofline_tokens_per_s"] / 1e9 for c in chosen], dtype=float)
    ys_c = np.array([c.values["decode_tokens_per_s"] for c in chosen], dtype=float)
    allx = np.concatenate([bpt, xs_c])
    ally = np.concatenate([tps, ys_c])
    x_lo, x_hi = float(allx.min()) / 3, float(allx.max()) * 3  # at least a decade of bytes/token
    line = np.geomspace(x_lo, x_hi, 50)
    ax.plot(line, bw / 1e9 / line, color="black", lw=1.3,
            label=f"roofline: {sweeper.device.mem_bw_gbs:g} GB/s / bytes per token")
    for f, ls in ((0.5, "--"), (0.2, ":")):
        ax.plot(line, f * bw / 1e9 / line, color="grey", lw=0.9, ls=ls, label=f"{f:.0%} of roofline")
    ax.scatter(bpt, tps, s=8, color="0.6", edgecolors="none", label="Pareto front", zorder=2)
    cmap = plt.get_cmap("tab10")
    for i, c in enumerate(chosen):
        q, h = c.design.quant, c.design.hw
        ax.scatter([xs_c[i]], [ys_c[i]], s=46, color=cmap(i % 10), zorder=3, edgecolors="black", linewidths=0.4,
                   label=f"{c.label}: W{q.wbits}A{q.abits}KV{q.kvbits} {h.rows}x{h.cols} "
                         f"{h.weight_channels}ch {h.freq_mhz}MHz ({c.values['roofline_fraction']:.0%})")
    _log_axes(ax)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(float(ally.min()) / 3, float(bw / 1e9 / x_lo) * 1.5)
    ax.set_xlabel("off-chip bytes per decoded token, GB (weights + KV cache)")
    ax.set_ylabel("decode tokens/s")
    ax.set_title(_title(job, sweeper), fontsize=9)
    ax.legend(fontsize=6, loc="lower left")
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.1, top=0.9)
    _save(fig, path)
    plt.close(fig)


RESOURCES = ("dsp", "lut", "ff", "bram36", "uram")


def energy_parts(pred: dict, device, batch: int) -> dict[str, float]:
    """Decode energy per token split the way the model builds board power (codesign/model/power.py):
    static (the device's idle power) + off-chip memory (the model's ``memory_power_w`` for the bytes a
    decode step moves) + logic (the rest: dynamic power of the used DSP/LUT/FF/BRAM/URAM)."""
    from ..model.power import memory_power_w

    tps = float(pred["decode_tokens_per_s"])
    total = float(pred["energy_per_token_j"])
    if tps <= 0 or "decode_bytes_per_step" not in pred:
        return {}
    step_s = batch / tps
    memory = float(memory_power_w(device, float(pred["decode_bytes_per_step"]) / step_s)) / tps
    static = float(device.static_w) / tps
    return {"static (idle board)": static, "off-chip memory": memory,
            "logic (dynamic)": max(total - static - memory, 0.0)}


def breakdown_plot(plt, path: Path, job, sweeper, chosen, summary) -> None:
    primary = next(c for c in chosen if c.index == summary["best_design"]["index"])
    pred = primary.design.prediction
    dev = sweeper.device
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.5))
    used = pred.get("resources") or {r: primary.values.get(r) for r in RESOURCES}
    names, fracs = [], []
    for r in RESOURCES:
        total = getattr(dev, r, None)
        if total and used.get(r) is not None:
            names.append(r)
            fracs.append(100.0 * float(used[r]) / float(total))
    bars = ax1.barh(names[::-1], fracs[::-1], color="#4c72b0")
    for b, f in zip(bars, fracs[::-1]):
        ax1.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {f:.1f}%", va="center", fontsize=8)
    ax1.set_xlabel(f"% of the {dev.name} device")
    ax1.set_xlim(0, max(100.0, max(fracs, default=0) * 1.15))
    ax1.set_title("resources (best J/token design)", fontsize=9)
    parts = energy_parts(pred, dev, job.workload.batch)
    if parts:
        keys = list(parts)
        vals = [parts[k] for k in keys]
        bars = ax2.bar(keys, vals, color=["#8c8c8c", "#dd8452", "#55a868"])
        for b, v in zip(bars, vals):
            ax2.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{v:.3g} J", ha="center", va="bottom",
                     fontsize=8)
        ax2.set_ylim(0, max(vals) * 1.35)
        floor = pred.get("min_memory_energy_per_token_j")
        if floor:
            ax2.axhline(float(floor), color="black", lw=0.9, ls="--",
                        label=f"memory-energy floor {float(floor):.3g} J (weights + KV at the device's pJ/bit)")
            ax2.legend(fontsize=7, loc="upper right")
        ax2.set_ylabel("J per decoded token")
        ax2.tick_params(axis="x", labelsize=8)
        ax2.set_title(f"decode energy per token: {primary.values['energy_per_token_j']:.4g} J", fontsize=9)
    else:
        ax2.axis("off")
        ax2.text(0.5, 0.5, "no energy breakdown in the prediction", ha="center", va="center")
    q, h = primary.design.quant, primary.design.hw
    fig.suptitle(f"{job.model} on {job.device}: W{q.wbits}A{q.abits}KV{q.kvbits} g{q.group}, "
                 f"{h.rows}x{h.cols} MPE, {h.weight_channels} weight ch, {h.freq_mhz} MHz", fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.97, bottom=0.22, top=0.86, wspace=0.3)
    _save(fig, path)
    plt.close(fig)
